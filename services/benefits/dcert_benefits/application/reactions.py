"""Reactions to other services' events: certificates issued, held and closed, partners registered.

Each handler runs in the consumer's unit of work with the inbox row, so a redelivered event has
no second effect; a handler that fails raises, and the message is retried, then dead-lettered.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta, timezone

from pydantic import BaseModel, ConfigDict, Field

from dcert_shared import agencies
from dcert_shared.consumer import Subscription
from dcert_shared.envelope import EventEnvelope
from dcert_shared.ids import IdentityNumber, keyed_hash
from dcert_shared.regions import NATIONAL
from dcert_shared.uow import UnitOfWork
from dcert_shared.working_days import WorkingCalendar

from ..adapters import writes
from ..domain.calendar import next_month_start
from ..domain.holding import CertificateOnFile, HandoffDeadlines, Holding
from ..domain.policies import Catalogue
from .facts import checked_report, holding_of, jurisdictions_of, record_fact

_CHINA = timezone(timedelta(hours=8))
PARTNERS = "partners"  # the intake stream partner agencies publish their facts into
# 跨省: passed on within 3 working days, decided within 10, the person told within 3 (DOMAIN.md).
HANDOFF_WORKING_DAYS = (3, 10, 3)


class CertificateNotOnFile(Exception):
    """A change of a certificate this service has not recorded: its issue came first in the
    stream, so something before it failed. Raised, never dropped: the consumer parks the
    person's events behind it and tries again (then an operator sees a dead letter)."""


class CertificateIssuedData(BaseModel):
    """The part of `certificate.events.CertificateIssued` the benefits depend on."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    certificate_number: str = Field(min_length=20)
    person_ref: str = Field(min_length=16)
    agent_refs: list[str] = []
    category: str
    level: int = Field(ge=1, le=4)
    issued_on: date
    expires_on: date
    household_region: str = Field(pattern=r"^[0-9]{6}$")
    residence_region: str | None = Field(default=None, pattern=r"^[0-9]{6}$")
    applied_on: date | None = None

    @property
    def birth_date(self) -> date | None:
        """From the identity number the certificate number begins with."""
        try:
            return IdentityNumber.parse(self.certificate_number[:18]).birth_date
        except ValueError:
            return None


class CertificateRenewedData(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    certificate_number: str = Field(min_length=20)
    person_ref: str = Field(min_length=16)
    issued_on: date
    expires_on: date


class CertificateTransferredData(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    certificate_number: str = Field(min_length=20)
    person_ref: str = Field(min_length=16)
    to_region: str = Field(pattern=r"^[0-9]{6}$")


class CertificateClosedData(BaseModel):
    """`CertificateCancelled` (with `effective_date`) or `CertificateExpired` (with `expired_on`)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    certificate_number: str = Field(min_length=20)
    person_ref: str = Field(min_length=16)
    reason: str = "expired"
    effective_date: date | None = None
    expired_on: date | None = None

    @property
    def last_day(self) -> date:
        """The last day the certificate counted."""
        if self.effective_date is not None:
            return self.effective_date
        assert self.expired_on is not None
        return self.expired_on - timedelta(days=1)


class PartnerRegisteredData(BaseModel):
    """The part of `notification.events.PartnerRegistered` this service needs: its fact types
    and its jurisdiction (absent in events from before jurisdictions: the whole country, as
    those partners then had)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    partner_id: str = Field(min_length=1)
    facts: list[str] = []
    policy_version: int = 1
    regions: list[str] = Field(default_factory=lambda: [NATIONAL])


class CertificateHeldData(BaseModel):
    """`CertificatePutOnHold`: a death reported on `effective_date` waits for a reviewer."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    certificate_number: str = Field(min_length=20)
    person_ref: str = Field(min_length=16)
    reason_code: str
    effective_date: date

    @property
    def suspended_from(self) -> date:
        """Paid through the month of the reported death, as a confirmed one would be."""
        return next_month_start(self.effective_date)


class CertificateChangedData(BaseModel):
    """`CertificateHoldLifted` and `CertificateReinstated`: which certificate, and why."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    certificate_number: str = Field(min_length=20)
    person_ref: str = Field(min_length=16)
    reason_code: str


def handoff_deadlines(calendar: WorkingCalendar, opened_on: date) -> HandoffDeadlines:
    pass_on, decide, notify = HANDOFF_WORKING_DAYS
    pass_on_by = calendar.add_working_days(opened_on, pass_on)
    decide_by = calendar.add_working_days(pass_on_by, decide)
    return HandoffDeadlines(pass_on_by, decide_by, calendar.add_working_days(decide_by, notify))


def subscriptions(
    catalogue: Catalogue, calendar: WorkingCalendar, identity_hash_key: bytes
) -> list[Subscription]:
    async def on_certificate_issued(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        issued = CertificateIssuedData.model_validate(envelope.payload)
        holding = await holding_of(uow, issued.person_ref)
        certificate = CertificateOnFile(
            number=issued.certificate_number,
            category=issued.category,
            level=issued.level,
            issued_on=issued.issued_on,
            expires_on=issued.expires_on,
            household_region=issued.household_region,
            agent_refs=tuple(issued.agent_refs),
            residence_region=issued.residence_region,
            birth_date=issued.birth_date,
            applied_on=issued.applied_on,
        )
        holding.record_certificate(certificate, catalogue, await jurisdictions_of(uow, holding))

    async def on_file(uow: UnitOfWork, person_ref: str, number: str) -> Holding:
        holding = await uow.load(Holding, person_ref)
        if holding is None or holding.certificate is None or holding.certificate.number != number:
            raise CertificateNotOnFile()
        return holding

    async def on_certificate_renewed(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        renewed = CertificateRenewedData.model_validate(envelope.payload)
        holding = await on_file(uow, renewed.person_ref, renewed.certificate_number)
        holding.renewed(renewed.certificate_number, renewed.issued_on, renewed.expires_on, catalogue)

    async def on_certificate_transferred(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        moved = CertificateTransferredData.model_validate(envelope.payload)
        holding = await on_file(uow, moved.person_ref, moved.certificate_number)
        on = envelope.occurred_at.astimezone(_CHINA).date()
        # The handoff's id follows from the event, so a redelivery names the same handoff.
        handoff_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"handoff:{envelope.event_id}"))
        holding.transferred(
            moved.certificate_number,
            moved.to_region,
            on,
            catalogue,
            (handoff_id, handoff_deadlines(calendar, on)),
        )

    async def on_certificate_closed(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        closed = CertificateClosedData.model_validate(envelope.payload)
        holding = await on_file(uow, closed.person_ref, closed.certificate_number)
        holding.certificate_closed(closed.certificate_number, f"certificate_{closed.reason}", closed.last_day)

    async def on_certificate_held(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        held = CertificateHeldData.model_validate(envelope.payload)
        holding = await on_file(uow, held.person_ref, held.certificate_number)
        holding.hold(held.certificate_number, held.reason_code, held.suspended_from)

    async def on_hold_lifted(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        lifted = CertificateChangedData.model_validate(envelope.payload)
        holding = await on_file(uow, lifted.person_ref, lifted.certificate_number)
        holding.lift_hold(lifted.certificate_number, lifted.reason_code, catalogue)

    async def on_certificate_reinstated(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        reinstated = CertificateChangedData.model_validate(envelope.payload)
        holding = await on_file(uow, reinstated.person_ref, reinstated.certificate_number)
        holding.reinstated(reinstated.certificate_number, reinstated.reason_code, catalogue)

    async def on_partner_fact(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        """A fact published on NATS: its subject (`<partner id>.<fact type>`) says who and what.
        The same rules as over HTTP, jurisdiction included; no one is told what became of it."""
        partner_id, _, fact_type = envelope.event_type.partition(".")
        report = checked_report(partner_id, {**envelope.payload, "type": fact_type})
        report = report.without_identity_numbers(identity_hash_key)
        await record_fact(uow, catalogue, report, report.person_ref(identity_hash_key))

    async def on_partner_registered(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        """A partner registered, or a new version of its policy: the fact types it may report,
        and where (its jurisdiction)."""
        partner = PartnerRegisteredData.model_validate(envelope.payload)
        await writes.record_partner_policy(
            uow.conn,
            partner.partner_id,
            partner.facts,
            envelope.occurred_at,
            partner.policy_version,
            partner.regions,
        )

    def fact_lane(envelope: EventEnvelope) -> str:
        """A partner's facts about one person in the order the partner sent them (the person
        is named by identity number: its keyed hash, as the holding is keyed)."""
        id_number = envelope.payload.get("id_number")
        if isinstance(id_number, str) and id_number:
            return keyed_hash(identity_hash_key, id_number.strip().upper())
        return envelope.stream_id

    return [
        # One consumer of the certificate stream: a person's certificate events in their order
        # (a cancellation of a replacement never before its issue).
        Subscription.reacting(
            "certificates",
            "certificate",
            {
                "CertificateIssued": on_certificate_issued,
                "CertificateRenewed": on_certificate_renewed,
                "CertificateTransferred": on_certificate_transferred,
                "CertificateCancelled": on_certificate_closed,
                "CertificateExpired": on_certificate_closed,
                "CertificatePutOnHold": on_certificate_held,
                "CertificateHoldLifted": on_hold_lifted,
                "CertificateReinstated": on_certificate_reinstated,
                # Who acts for whom, as the certificate service verifies it.
                **agencies.HANDLERS,
            },
            formerly=(
                "certificates-issued",
                "certificates-renewed",
                "certificates-transferred",
                "certificates-closed",
            ),
        ),
        Subscription(
            "partners-registered",
            "notification",
            ["PartnerRegistered", "PartnerPolicyChanged"],
            on_partner_registered,
        ),
        Subscription("partner-facts", PARTNERS, [">"], on_partner_fact, lane=fact_lane),
    ]
