"""The certificate (残疾人证): number, validity, status over its life, and the e-certificate serial.

One stream per number. A number can live again after it was closed (a new certificate of the
same category and grade years after a cancellation): `issue` starts a new life on the stream.
At most one matter (renewal, replacement, change, transfer, cancellation) is open at a time.
A death a partner reports puts it on hold (暂停, domain/holds.py) until a reviewer decides.
"""

from __future__ import annotations

import hashlib
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Final

from dcert_shared.aggregate import Aggregate
from dcert_shared.envelope import DomainEvent
from dcert_shared.ids import Category, keyed_hash
from dcert_shared.problems import Bilingual

from .application import Grade, MatterKind
from .errors import (
    AlreadyReportedLost,
    CertificateNotActive,
    GradeUnchanged,
    LiveCertificateExists,
    OpenMatterExists,
    RenewalWindowNotOpen,
    SameGrade,
    SameRegion,
)
from .events import (
    CertificateCancelled,
    CertificateExpired,
    CertificateGradeChanged,
    CertificateImported,
    CertificateIssued,
    CertificateRenewed,
    CertificateReplaced,
    CertificateReportedLost,
    CertificateTransferred,
    MatterClosed,
    MatterOpened,
    RenewalReminderDue,
)
from .holds import (
    DEATH_CORRECTED,
    CertificateHoldLifted,
    CertificatePutOnHold,
    CertificateReinstated,
    DeathConfirmed,
    DeathHold,
    NoDeathReportPending,
)
from .legacy_import import LegacyCertificate

VALIDITY_YEARS = 10

# A category's digit in the certificate number (GB/T 26341-2010), by name.
CATEGORY_CODES = {category.name: category.code for category in Category}


class CertificateStatus(StrEnum):
    ACTIVE = "active"
    LOST = "lost"
    REPLACED = "replaced"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    ON_HOLD = "on_hold"  # 暂停: a reported death waits for the reviewer; live, but verifies as not valid


LIVE_STATUSES = frozenset({CertificateStatus.ACTIVE, CertificateStatus.LOST, CertificateStatus.ON_HOLD})

# Which statuses a matter on the certificate is approved in.
_APPROVABLE: dict[MatterKind, tuple[CertificateStatus, ...]] = {
    MatterKind.RENEWAL: (CertificateStatus.ACTIVE, CertificateStatus.EXPIRED),
    MatterKind.REPLACEMENT: (CertificateStatus.ACTIVE, CertificateStatus.LOST),
    MatterKind.GRADE_CHANGE: (CertificateStatus.ACTIVE,),
    MatterKind.TRANSFER: (CertificateStatus.ACTIVE,),
    MatterKind.CANCELLATION: (CertificateStatus.ACTIVE, CertificateStatus.LOST),
}


def years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def months_before(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    for last_day in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, last_day)
        except ValueError:
            continue
    raise ValueError(day)


def mask_name(name: str) -> str:
    """王小明 -> 王*明, 王明 -> 王*: enough for a gate keeper, not enough to identify."""
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


# The card generations: the second (二代, 2008 on, no QR code) and the third (三代, today's, with
# the e-certificate's codes). A holder of a second-generation card is verified by number and name.
CURRENT_CARD_GENERATION: Final = 3

# Middle dots of transliterated and minority names (阿依古丽·买买提) as people type them.
_NAME_DOTS: Final = str.maketrans({dot: "·" for dot in "•・‧∙⋅･."})


def normalised_name(name: str) -> str:
    """A name as written on a card, whatever the typing: full-width forms folded (NFKC), no
    spaces, one kind of middle dot, Latin letters in upper case."""
    folded = unicodedata.normalize("NFKC", name).translate(_NAME_DOTS)
    return "".join(folded.split()).upper()


def holder_name_hash(key: bytes, name: str) -> str:
    """The keyed hash a certificate's holder name is looked up by: the name itself is never
    stored beside the certificate (it is sealed in the events)."""
    return keyed_hash(hashlib.sha256(b"dcert-holder-name\x00" + key).digest(), normalised_name(name))


def base_number(number: str) -> str:
    """The 20-character number without a replacement suffix `B<n>`."""
    return number[:20]


def compose_number(id_number: str, grade: Grade) -> str:
    """Identity number + category digit + grade digit (docs/domain.md, certificate number)."""
    return f"{id_number}{CATEGORY_CODES[grade.category]}{grade.level}"


@dataclass(frozen=True)
class Successor:
    """The certificate that takes a superseded one's place: its number, grade and validity
    (None: ten years from its issue), and how many replacements came before it."""

    number: str
    grade: Grade
    expires_on: date | None
    replacement_count: int


@dataclass(frozen=True)
class Holder:
    person_ref: str
    agent_refs: list[str]
    name: str
    mail_address: str
    age_years: int


@dataclass(frozen=True)
class RenewalRule:
    window_months: int
    reminder_days_before_window: int


class Certificate(Aggregate):
    stream_type = "certificate"

    @property
    def partition_key(self) -> str:
        """The person: every event about them is kept in order by consumers, whatever its stream."""
        return self.person_ref or self.stream_id

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.status = CertificateStatus.ACTIVE
        self.category = ""
        self.level = 0
        self.issued_on = date.min
        self.expires_on = date.min
        self.serial = ""
        self.person_ref = ""
        self.agent_refs: list[str] = []
        self.household_region = ""
        self.residence_region = ""
        self.holder_name = ""
        self.mail_address = ""
        self.replacement_count = 0
        self.open_matter: str | None = None
        self.reminded_for: date | None = None
        self.application_id = ""  # the application that made (or last remade) it
        self.hold: DeathHold | None = None
        self.closed_reason: str | None = None
        # The card the holder has: a second-generation one (no QR code) is replaced by a third at
        # the next renewal or replacement; every card this system orders is third-generation.
        self.card_generation = 3
        self.imported = False  # brought in from the national system (docs/import.md)

    @property
    def is_live(self) -> bool:
        return self.version + len(self.pending_events) > 0 and self.status in LIVE_STATUSES

    def issue(
        self,
        *,
        application_id: str,
        holder: Holder,
        category: str,
        level: int,
        household_region: str,
        residence_region: str,
        today: date,
        expires_on: date | None = None,
        previous_number: str | None = None,
        replacement_count: int = 0,
        applied_on: date | None = None,
    ) -> None:
        if self.is_live:
            raise LiveCertificateExists()
        self.trigger(
            CertificateIssued(
                certificate_number=self.id,
                application_id=application_id,
                person_ref=holder.person_ref,
                agent_refs=holder.agent_refs,
                category=category,
                level=level,
                issued_on=today,
                applied_on=applied_on,
                expires_on=expires_on or years_later(today, VALIDITY_YEARS),
                household_region=household_region,
                residence_region=residence_region,
                age_years=holder.age_years,
                holder_name_masked=mask_name(holder.name),
                serial=uuid.uuid4().hex,
                holder_name=holder.name,
                mail_address=holder.mail_address,
                previous_number=previous_number,
                replacement_count=replacement_count,
            )
        )

    def import_legacy(self, legacy: LegacyCertificate, holder: Holder, benefits_from: date) -> None:
        """存量导入: the certificate as the national system has it, live here from now on."""
        if self.is_live:
            raise LiveCertificateExists()
        self.trigger(
            CertificateImported(
                certificate_number=self.id,
                person_ref=holder.person_ref,
                agent_refs=holder.agent_refs,
                category=legacy.category,
                level=legacy.level,
                issued_on=legacy.issued_on,
                expires_on=legacy.expires_on,
                household_region=legacy.household_region,
                residence_region=legacy.residence_region,
                age_years=holder.age_years,
                replacement_count=legacy.replacement_count,
                card_generation=legacy.card_generation,
                card_status=legacy.card_status,
                benefits_from=benefits_from,
                serial=uuid.uuid4().hex,
                holder_name_masked=mask_name(holder.name),
                holder_name=holder.name,
                mail_address=holder.mail_address,
                holder_phone=legacy.phone,
                guardian_ref=legacy.guardian.ref if legacy.guardian else None,
                guardian_relationship=legacy.guardian.relationship if legacy.guardian else None,
                guardian_id_number=legacy.guardian.id_number if legacy.guardian else None,
                guardian_name=legacy.guardian.name if legacy.guardian else None,
            )
        )

    @property
    def grade(self) -> Grade:
        return Grade(self.category, self.level)

    @property
    def holder_id_number(self) -> str:
        return base_number(self.id)[:18]

    # -- matters ------------------------------------------------------------------------------
    def check_matter(
        self,
        matter: MatterKind,
        today: date,
        rule: RenewalRule,
        *,
        reason: str | None = None,
        declared: Grade | None = None,
        to_region: str | None = None,
    ) -> bool:
        """Each matter's own rules on the certificate's state (docs/domain.md, matters). True
        when the card is to be reported lost first (a replacement for a card lost now)."""
        match matter:
            case MatterKind.RENEWAL:
                self.require_renewable(today, rule)
            case MatterKind.REPLACEMENT if reason == "lost":
                if self.status is CertificateStatus.LOST and self.open_matter is not None:
                    raise AlreadyReportedLost()
                return self.status is not CertificateStatus.LOST
            case MatterKind.REPLACEMENT:
                self.require_status(CertificateStatus.ACTIVE)
            case MatterKind.GRADE_CHANGE:
                self.require_status(CertificateStatus.ACTIVE)
                if declared == self.grade:
                    raise SameGrade()
            case MatterKind.TRANSFER:
                self.require_status(CertificateStatus.ACTIVE)
                if to_region == self.household_region:
                    raise SameRegion()
            case MatterKind.CANCELLATION:
                self.require_status(CertificateStatus.ACTIVE, CertificateStatus.LOST)
        return False

    def require_approvable(self, matter: MatterKind) -> None:
        """The certificate may have changed since the submission (a death reported, an expiry)."""
        self.require_status(*_APPROVABLE[matter])

    def supersede_by_replacement(self, reason: str, application_id: str) -> Successor:
        """补领/换领 of the card: the next number `B<n>`, the same grade and validity."""
        successor = Successor(
            self.next_replacement_number(), self.grade, self.expires_on, self.replacement_count + 1
        )
        self.replaced_by(successor.number, reason, application_id)
        return successor

    def supersede_by_grade(self, grade: Grade, application_id: str) -> Successor:
        """A new grade is a new number, valid ten years from its issue."""
        if grade == self.grade:
            raise GradeUnchanged()
        successor = Successor(compose_number(self.holder_id_number, grade), grade, None, 0)
        self.grade_changed(successor.number, grade.category, grade.level, application_id)
        return successor

    def require_status(self, *allowed: CertificateStatus) -> None:
        if self.status not in allowed:
            raise CertificateNotActive(
                detail=Bilingual.status(self.status.value), certificate_status=self.status.value
            )

    def open_matter_for(self, application_id: str, matter: MatterKind) -> None:
        if self.open_matter is not None:
            raise OpenMatterExists()
        self.trigger(MatterOpened(certificate_number=self.id, application_id=application_id, matter=matter))

    def close_matter(self, application_id: str) -> None:
        if self.open_matter == application_id:
            self.trigger(MatterClosed(certificate_number=self.id, application_id=application_id))

    def renewal_window_opens(self, rule: RenewalRule) -> date:
        return months_before(self.expires_on, rule.window_months)

    def require_renewable(self, today: date, rule: RenewalRule) -> None:
        """换领: in the window before expiry, or after it."""
        self.require_status(CertificateStatus.ACTIVE, CertificateStatus.EXPIRED)
        opens = self.renewal_window_opens(rule)
        if self.status is CertificateStatus.ACTIVE and today < opens:
            raise RenewalWindowNotOpen(
                detail=Bilingual(f"{opens.isoformat()} 起可办理", f"opens on {opens.isoformat()}"),
                window_opens_on=opens.isoformat(),
            )

    def report_lost(self, today: date) -> None:
        if self.status is CertificateStatus.LOST:
            raise AlreadyReportedLost()
        self.require_status(CertificateStatus.ACTIVE)
        self.trigger(
            CertificateReportedLost(certificate_number=self.id, person_ref=self.person_ref, reported_on=today)
        )

    def renew(self, application_id: str, today: date) -> None:
        self.trigger(
            CertificateRenewed(
                certificate_number=self.id,
                person_ref=self.person_ref,
                application_id=application_id,
                issued_on=today,
                expires_on=years_later(today, VALIDITY_YEARS),
                serial=uuid.uuid4().hex,
            )
        )

    def next_replacement_number(self) -> str:
        return f"{base_number(self.id)}B{self.replacement_count + 1}"

    def replaced_by(self, new_number: str, reason: str, application_id: str) -> None:
        self.trigger(
            CertificateReplaced(
                certificate_number=self.id,
                person_ref=self.person_ref,
                replaced_by=new_number,
                reason=reason,
                application_id=application_id,
            )
        )

    def grade_changed(self, new_number: str, category: str, level: int, application_id: str) -> None:
        self.trigger(
            CertificateGradeChanged(
                certificate_number=self.id,
                person_ref=self.person_ref,
                new_number=new_number,
                previous_category=self.category,
                previous_level=self.level,
                category=category,
                level=level,
                application_id=application_id,
            )
        )

    def transfer(self, to_region: str, migration_number: str, application_id: str) -> None:
        self.trigger(
            CertificateTransferred(
                certificate_number=self.id,
                person_ref=self.person_ref,
                from_region=self.household_region,
                to_region=to_region,
                migration_number=migration_number,
                application_id=application_id,
                serial=uuid.uuid4().hex,
            )
        )

    def cancel(self, reason: str, effective_date: date, application_id: str | None = None) -> bool:
        """注销: close a live certificate; a certificate already closed stays as it is."""
        if not self.is_live:
            return False
        self.trigger(
            CertificateCancelled(
                certificate_number=self.id,
                person_ref=self.person_ref,
                reason=reason,
                effective_date=effective_date,
                application_id=application_id,
            )
        )
        return True

    # -- a reported death (domain/holds.py) ----------------------------------------------------
    def hold_for_death(self, fact_id: str, partner_id: str | None, died_on: date, today: date) -> bool:
        """暂停: a death a partner reported waits for the reviewer; the codes stop verifying at
        once. False when the certificate is not live, or already waits on a report."""
        if not self.is_live or self.hold is not None:
            return False
        self.trigger(
            CertificatePutOnHold(
                certificate_number=self.id,
                person_ref=self.person_ref,
                household_region=self.household_region,
                reason_code="death_reported",
                effective_date=died_on,
                fact_id=fact_id,
                partner_id=partner_id,
                held_on=today,
                previous_status=self.status.value,
            )
        )
        return True

    def require_death_report(self) -> DeathHold:
        if self.hold is None:
            raise NoDeathReportPending(
                detail=Bilingual.status(self.status.value), certificate_status=self.status.value
            )
        return self.hold

    def confirm_death(self, reason: str) -> date:
        """The reviewer confirms the reported death: the day of death, which the cancellation
        (注销, reason death) that must follow takes as its effective date."""
        hold = self.require_death_report()
        self.trigger(DeathConfirmed(certificate_number=self.id, fact_id=hold.fact_id, reason=reason))
        return hold.died_on

    def lift_hold(self, reason_code: str, today: date, reason: str = "") -> bool:
        """The report was wrong (rejected, or corrected by its sender): the certificate is as it
        was before the hold. False when nothing is held."""
        if self.hold is None:
            return False
        self.trigger(
            CertificateHoldLifted(
                certificate_number=self.id,
                person_ref=self.person_ref,
                household_region=self.household_region,
                reason_code=reason_code,
                fact_id=self.hold.fact_id,
                restored_status=self.hold.previous_status,
                lifted_on=today,
                reason=reason,
            )
        )
        return True

    def reinstate(self, fact_id: str, today: date) -> bool:
        """恢复: a certificate cancelled for a death that was a mistake lives again; False when it
        was not cancelled for a death."""
        if self.status is not CertificateStatus.CANCELLED or self.closed_reason != "death":
            return False
        self.trigger(
            CertificateReinstated(
                certificate_number=self.id,
                person_ref=self.person_ref,
                household_region=self.household_region,
                reason_code=DEATH_CORRECTED,
                fact_id=fact_id,
                reinstated_on=today,
            )
        )
        return True

    # -- the clock ----------------------------------------------------------------------------
    def expire(self, today: date) -> bool:
        """有效期届满: the day after `expires_on` the certificate is expired; once only. One on hold
        waits for the reviewer first."""
        if self.status not in LIVE_STATUSES or self.hold is not None or today <= self.expires_on:
            return False
        self.trigger(
            CertificateExpired(certificate_number=self.id, person_ref=self.person_ref, expired_on=today)
        )
        return True

    def remind_renewal(self, today: date, rule: RenewalRule) -> bool:
        """Tell the holder before the renewal window opens; once per validity period."""
        opens = self.renewal_window_opens(rule)
        if (
            self.status is not CertificateStatus.ACTIVE
            or self.reminded_for == self.expires_on
            or today < opens - timedelta(days=rule.reminder_days_before_window)
        ):
            return False
        self.trigger(
            RenewalReminderDue(
                certificate_number=self.id,
                person_ref=self.person_ref,
                window_opens_on=opens,
                expires_on=self.expires_on,
            )
        )
        return True

    def _became_live(self, event: CertificateIssued | CertificateImported) -> None:
        """Issued here, or imported as the national system had it: a new life of the number."""
        self.status = CertificateStatus.ACTIVE
        self.person_ref = event.person_ref
        self.agent_refs = list(event.agent_refs)
        self.category = event.category
        self.level = event.level
        self.issued_on = event.issued_on
        self.expires_on = event.expires_on
        self.serial = event.serial
        self.household_region = event.household_region
        self.residence_region = event.residence_region
        self.holder_name = event.holder_name or ""
        self.mail_address = event.mail_address or ""
        self.replacement_count = event.replacement_count
        self.open_matter = None
        self.reminded_for = None
        self.hold = self.closed_reason = None
        if isinstance(event, CertificateImported):
            self.application_id = ""  # no application made it
            self.card_generation = event.card_generation
            self.imported = True
            if event.card_status == "lost":
                self.status = CertificateStatus.LOST
        else:
            self.application_id = event.application_id
            self.card_generation = 3

    def apply(self, event: DomainEvent) -> None:
        match event:
            case CertificateIssued() | CertificateImported():
                self._became_live(event)
            case CertificateRenewed():
                self.status = CertificateStatus.ACTIVE
                self.card_generation = 3  # the renewal's card
                self.issued_on = event.issued_on
                self.expires_on = event.expires_on
                self.serial = event.serial
            case CertificateReportedLost():
                self.status = CertificateStatus.LOST
            case CertificateReplaced() | CertificateGradeChanged():
                self.status = CertificateStatus.REPLACED
            case CertificateTransferred():
                self.household_region = event.to_region
                self.serial = event.serial
            case CertificateCancelled():
                self.status = CertificateStatus.CANCELLED
                self.closed_reason, self.hold = event.reason, None
            case CertificatePutOnHold():
                self.status = CertificateStatus.ON_HOLD
                self.hold = DeathHold(
                    event.fact_id,
                    event.partner_id,
                    event.effective_date,
                    event.held_on,
                    event.previous_status,
                )
            case DeathConfirmed():
                pass  # the cancellation that follows ends the hold
            case CertificateHoldLifted():
                self.status, self.hold = CertificateStatus(event.restored_status), None
            case CertificateReinstated():
                self.status, self.closed_reason = CertificateStatus.ACTIVE, None
            case CertificateExpired():
                self.status = CertificateStatus.EXPIRED
            case RenewalReminderDue():
                self.reminded_for = event.expires_on
            case MatterOpened():
                self.open_matter = event.application_id
            case MatterClosed():
                self.open_matter = None
