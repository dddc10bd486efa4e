"""The person: the consistency boundary of "one open `new` application, one live certificate".

Its stream is keyed by the keyed hash of the identity number (never the number itself), so two
requests for the same person, from any region, contend on one stream and one of them decides
again on fresh state. Every path that makes a certificate live (issue, replacement, grade
change, renewal after expiry) records it here, and a second live one is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta

from dcert_shared.aggregate import Aggregate
from dcert_shared.envelope import DomainEvent
from dcert_shared.problems import Bilingual
from dcert_shared.regions import NATIONAL, covers

from .application import MatterKind
from .errors import (
    LiveCertificateExists,
    OpenApplicationExists,
    PersonErasedError,
    PersonHasLiveRecords,
    ReapplicationBarredError,
)
from .events import (
    AgentClaimed,
    AgentEnded,
    AgentRefused,
    AgentVerified,
    GuardianRecorded,
    LiveCertificateClosed,
    LiveCertificateRecorded,
    OpenApplicationClosed,
    OpenApplicationRecorded,
    PersonErased,
    ReapplicationBarred,
)

# 监护人: who acts for a minor by law; approving the child's application confirms them (they are
# verified until the day before the child's 18th birthday).
GUARDIANS = frozenset({"parent", "guardian"})

# What refuses to issue a certificate on an application an unverified agent made (it was never
# opened for the person); another open application of the person's does not.
_REFUSED_AT_APPROVAL: dict[str, type[Exception]] = {
    "person_erased": PersonErasedError,
    "reapplication_barred": ReapplicationBarredError,
    "live_certificate_exists": LiveCertificateExists,
}


def last_day_as_minor(birth_date: date) -> date:
    """The day before the 18th birthday (29 February birthdays come of age on 1 March)."""
    try:
        birthday = birth_date.replace(year=birth_date.year + 18)
    except ValueError:
        birthday = date(birth_date.year + 18, 3, 1)
    return birthday - timedelta(days=1)


@dataclass(frozen=True)
class Agency:
    """代办: someone acting for the person. Claimed (named on an application: they see only the
    status of what they submitted) until verified; verified until `until`, refused, or ended."""

    agent_ref: str
    relationship: str
    status: str  # claimed | verified | refused | ended
    basis: str | None = None
    until: date | None = None
    region: str | None = None  # the household region of the application they claimed it on


@dataclass(frozen=True)
class Guardian:
    """监护人 as the household register names them, through a partner of `jurisdiction`."""

    relationship: str
    until: date | None
    jurisdiction: tuple[str, ...]

    def vouches_for(self, agency: Agency) -> bool:
        """Whether the register's word counts for this claim: the partner's jurisdiction must
        cover the region the claim was made in (a partner's fact counts nowhere else)."""
        if NATIONAL in self.jurisdiction:
            return True
        return agency.region is not None and any(covers(area, agency.region) for area in self.jurisdiction)


class Person(Aggregate):
    stream_type = "person"

    @property
    def partition_key(self) -> str:
        """The person: every event about them is kept in order by consumers, whatever its stream."""
        return self.id

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.open_applications: dict[str, str] = {}  # application id -> matter
        self.live_certificate: str | None = None
        self.barred_until: date | None = None
        self.erased_on: date | None = None
        self.agencies: dict[str, Agency] = {}
        self.guardians: dict[str, Guardian] = {}  # named by the household register

    def open_new_application(self, application_id: str, today: date) -> None:
        if self.erased_on is not None:
            raise PersonErasedError()
        if self.barred_until is not None and today <= self.barred_until:
            raise ReapplicationBarredError(detail=Bilingual.until(self.barred_until))
        if self.live_certificate is not None:
            raise LiveCertificateExists()
        if MatterKind.NEW in self.open_applications.values():
            raise OpenApplicationExists()
        self.trigger(OpenApplicationRecorded(application_id=application_id, matter=MatterKind.NEW))

    def close_application(self, application_id: str) -> None:
        if application_id in self.open_applications:
            self.trigger(OpenApplicationClosed(application_id=application_id))

    def record_live(self, certificate_number: str) -> None:
        """This certificate is now the person's one live certificate."""
        if self.live_certificate == certificate_number:
            return
        if self.live_certificate is not None:
            raise LiveCertificateExists()
        self.trigger(LiveCertificateRecorded(certificate_number=certificate_number))

    def certificate_issued(self, application_id: str, certificate_number: str) -> None:
        self.close_application(application_id)
        self.record_live(certificate_number)

    def certificate_closed(self, certificate_number: str) -> None:
        if self.live_certificate == certificate_number:
            self.trigger(LiveCertificateClosed(certificate_number=certificate_number))

    def certificate_superseded(self, old_number: str, new_number: str) -> None:
        """Replacement or grade change: the old number closes and the new one opens at once."""
        self.certificate_closed(old_number)
        self.record_live(new_number)

    def erase(self, legal_basis: str, today: date, *, reapplied: bool = False) -> bool:
        """Erase the person's data; only once nothing of theirs is open or live. False when
        already erased (a repeated request changes nothing). `reapplied`: the key is gone already
        (a restore from a backup older than the erasure), so the erasure is only recorded again."""
        if self.erased_on is not None:
            return False
        if not reapplied and (self.open_applications or self.live_certificate is not None):
            raise PersonHasLiveRecords()
        self.trigger(
            PersonErased(person_ref=self.id, legal_basis=legal_basis, erased_on=today, reapplied=reapplied)
        )
        return True

    def bar_reapplication(self, until: date) -> None:
        self.trigger(ReapplicationBarred(until=until))

    def new_application_refusal(self, today: date) -> str | None:
        """Why a new application of the person would be refused now (None: it would not)."""
        if self.erased_on is not None:
            return "person_erased"
        if self.barred_until is not None and today <= self.barred_until:
            return "reapplication_barred"
        if self.live_certificate is not None:
            return "live_certificate_exists"
        if MatterKind.NEW in self.open_applications.values():
            return "open_application_exists"
        return None

    def require_issuable_on_claim(self, today: date) -> None:
        """An application an unverified agent made was never opened for the person: its
        approval checks the person's state now."""
        refused = _REFUSED_AT_APPROVAL.get(self.new_application_refusal(today) or "")
        if refused is not None:
            raise refused()

    # -- agents -------------------------------------------------------------------------------
    @property
    def verified_agents(self) -> list[str]:
        return sorted(ref for ref, agency in self.agencies.items() if agency.status == "verified")

    def acts_for(self, agent_ref: str) -> bool:
        agency = self.agencies.get(agent_ref)
        return agency is not None and agency.status == "verified"

    def claim_agent(
        self, agent_ref: str, relationship: str, application_id: str, household_region: str
    ) -> bool:
        """An application names `agent_ref` as the person's agent. True when they act for the
        person already (or the household register names them now); else their claim is kept."""
        if self.acts_for(agent_ref):
            return True
        agency = self.agencies.get(agent_ref)
        if agency is None or agency.status != "claimed":
            self.trigger(
                AgentClaimed(
                    person_ref=self.id,
                    agent_ref=agent_ref,
                    relationship=relationship,
                    application_id=application_id,
                    household_region=household_region,
                )
            )
        self._verify_by_register(agent_ref)
        return self.acts_for(agent_ref)

    def _verify_by_register(self, agent_ref: str) -> None:
        guardian, agency = self.guardians.get(agent_ref), self.agencies.get(agent_ref)
        if (
            guardian is not None
            and agency is not None
            and agency.status == "claimed"
            and guardian.vouches_for(agency)
        ):
            self.verify_agent(agent_ref, "household_register", guardian.until)

    def verify_agent(self, agent_ref: str, basis: str, until: date | None) -> bool:
        """The evidence says `agent_ref` acts for the person (again, when renewed); False when
        nobody claimed it or nothing changes."""
        agency = self.agencies.get(agent_ref)
        if agency is None or agency.status == "refused":
            return False
        if agency.status == "verified" and (agency.basis, agency.until) == (basis, until):
            return False
        self.trigger(
            AgentVerified(
                person_ref=self.id,
                agent_ref=agent_ref,
                relationship=agency.relationship,
                basis=basis,
                until=until,
            )
        )
        return True

    def refuse_agent(self, agent_ref: str, reason: str) -> bool:
        agency = self.agencies.get(agent_ref)
        if agency is None or agency.status != "claimed":
            return False
        self.trigger(AgentRefused(person_ref=self.id, agent_ref=agent_ref, reason=reason))
        return True

    def end_agency(self, agent_ref: str, reason: str) -> bool:
        """Revoked (by the person or a reviewer) or run out; False when it was not in force."""
        agency = self.agencies.get(agent_ref)
        if agency is None or agency.status not in ("verified", "claimed"):
            return False
        self.trigger(AgentEnded(person_ref=self.id, agent_ref=agent_ref, reason=reason))
        return True

    def agencies_run_out(self, today: date) -> list[str]:
        """Verified agencies whose last day has passed (a child's guardian at 18)."""
        return [
            ref
            for ref, agency in sorted(self.agencies.items())
            if agency.status == "verified" and agency.until is not None and agency.until < today
        ]

    def guardian_recorded(
        self, guardian_ref: str, relationship: str, until: date | None, jurisdiction: Iterable[str]
    ) -> None:
        """The household register names a guardian: a claim of theirs made within the reporting
        partner's jurisdiction is verified by it, now or when they make it."""
        guardian = Guardian(relationship, until, tuple(sorted(jurisdiction)))
        if self.guardians.get(guardian_ref) != guardian:
            self.trigger(
                GuardianRecorded(
                    guardian_ref=guardian_ref,
                    relationship=relationship,
                    until=until,
                    jurisdiction=list(guardian.jurisdiction),
                )
            )
        self._verify_by_register(guardian_ref)

    def apply(self, event: DomainEvent) -> None:
        match event:
            case OpenApplicationRecorded(application_id=application_id, matter=matter):
                self.open_applications[application_id] = matter
            case OpenApplicationClosed(application_id=application_id):
                self.open_applications.pop(application_id, None)
            case LiveCertificateRecorded(certificate_number=number):
                self.live_certificate = number
            case LiveCertificateClosed():
                self.live_certificate = None
            case ReapplicationBarred(until=until):
                self.barred_until = until
            case PersonErased(erased_on=erased_on):
                self.erased_on = erased_on
            case AgentClaimed(agent_ref=agent_ref, relationship=relationship, household_region=region):
                self.agencies[agent_ref] = Agency(agent_ref, relationship, "claimed", region=region)
            case AgentVerified(agent_ref=agent_ref, basis=basis, until=until):
                before = self.agencies[agent_ref]
                self.agencies[agent_ref] = replace(before, status="verified", basis=basis, until=until)
            case AgentRefused(agent_ref=agent_ref):
                self.agencies[agent_ref] = replace(self.agencies[agent_ref], status="refused")
            case AgentEnded(agent_ref=agent_ref):
                self.agencies[agent_ref] = replace(self.agencies[agent_ref], status="ended")
            case GuardianRecorded(
                guardian_ref=guardian_ref, relationship=relationship, until=until, jurisdiction=jurisdiction
            ):
                self.guardians[guardian_ref] = Guardian(relationship, until, tuple(sorted(jurisdiction)))
