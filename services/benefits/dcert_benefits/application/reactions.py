"""Reactions to other services' events: certificates issued, held and closed, partners registered.

Each handler runs in the consumer's unit of work with the inbox row, so a redelivered event has
no second effect; a handler that fails raises, and the message is retried, then dead-lettered.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta, timezone

from dcert_shared import agencies
from dcert_shared.consumer import Subscription, typed
from dcert_shared.envelope import EventEnvelope
from dcert_shared.ids import keyed_hash
from dcert_shared.uow import UnitOfWork
from dcert_shared.working_days import WorkingCalendar

from ..adapters import writes
from ..domain.holding import CertificateOnFile, HandoffDeadlines, Holding
from ..domain.policies import Catalogue
from .facts import checked_report, holding_of, jurisdictions_of, record_fact
from .inbound import (
    CertificateChanged,
    CertificateClosed,
    CertificateHeld,
    CertificateImported,
    CertificateIssued,
    CertificateRenewed,
    CertificateTransferred,
    PartnerFact,
    PartnerRegistered,
)

_CHINA = timezone(timedelta(hours=8))
PARTNERS = "partners"  # the intake stream partner agencies publish their facts into
# 跨省: passed on within 3 working days, decided within 10, the person told within 3
# (docs/domain.md, benefits that hang on the certificate).
HANDOFF_WORKING_DAYS = (3, 10, 3)


class CertificateNotOnFile(Exception):
    """A change of a certificate this service has not recorded: its issue came first in the
    stream, so something before it failed. Raised, never dropped: the consumer parks the
    person's events behind it and tries again (then an operator sees a dead letter)."""


def handoff_deadlines(calendar: WorkingCalendar, opened_on: date) -> HandoffDeadlines:
    pass_on, decide, notify = HANDOFF_WORKING_DAYS
    pass_on_by = calendar.add_working_days(opened_on, pass_on)
    decide_by = calendar.add_working_days(pass_on_by, decide)
    return HandoffDeadlines(pass_on_by, decide_by, calendar.add_working_days(decide_by, notify))


class BenefitsReactions:
    """Every reaction of the benefits service, with what they need: the catalogue of benefit
    rules, the working calendar of handoff deadlines, the key of people's keyed hashes."""

    def __init__(self, catalogue: Catalogue, calendar: WorkingCalendar, identity_hash_key: bytes) -> None:
        self.catalogue = catalogue
        self.calendar = calendar
        self.identity_hash_key = identity_hash_key

    def subscriptions(self) -> list[Subscription]:
        return [
            # One consumer of the certificate stream: a person's certificate events in their order
            # (a cancellation of a replacement never before its issue).
            Subscription.reacting(
                "certificates",
                "certificate",
                {
                    "CertificateIssued": typed(CertificateIssued, self.on_certificate_issued),
                    "CertificateImported": typed(CertificateImported, self.on_certificate_imported),
                    "CertificateRenewed": typed(CertificateRenewed, self.on_certificate_renewed),
                    "CertificateTransferred": typed(CertificateTransferred, self.on_certificate_transferred),
                    "CertificateCancelled": typed(CertificateClosed, self.on_certificate_closed),
                    "CertificateExpired": typed(CertificateClosed, self.on_certificate_closed),
                    "CertificatePutOnHold": typed(CertificateHeld, self.on_certificate_held),
                    "CertificateHoldLifted": typed(CertificateChanged, self.on_hold_lifted),
                    "CertificateReinstated": typed(CertificateChanged, self.on_certificate_reinstated),
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
                typed(PartnerRegistered, self.on_partner_registered),
            ),
            Subscription(
                "partner-facts",
                PARTNERS,
                [">"],
                typed(PartnerFact, self.on_partner_fact),
                lane=self.fact_lane,
            ),
        ]

    async def on_certificate_issued(
        self, uow: UnitOfWork, issued: CertificateIssued, envelope: EventEnvelope
    ) -> None:
        await self._record(uow, issued, None)

    async def on_certificate_imported(
        self, uow: UnitOfWork, imported: CertificateImported, envelope: EventEnvelope
    ) -> None:
        await self._record(uow, imported, imported.benefits_from)

    async def _record(self, uow: UnitOfWork, issued: CertificateIssued, paid_from: date | None) -> None:
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
        holding.record_certificate(
            certificate, self.catalogue, await jurisdictions_of(uow, holding), paid_from=paid_from
        )

    async def on_certificate_renewed(
        self, uow: UnitOfWork, renewed: CertificateRenewed, envelope: EventEnvelope
    ) -> None:
        holding = await _on_file(uow, renewed.person_ref, renewed.certificate_number)
        holding.renewed(renewed.certificate_number, renewed.issued_on, renewed.expires_on, self.catalogue)

    async def on_certificate_transferred(
        self, uow: UnitOfWork, moved: CertificateTransferred, envelope: EventEnvelope
    ) -> None:
        holding = await _on_file(uow, moved.person_ref, moved.certificate_number)
        on = envelope.occurred_at.astimezone(_CHINA).date()
        # The handoff's id follows from the event, so a redelivery names the same handoff.
        handoff_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"handoff:{envelope.event_id}"))
        holding.transferred(
            moved.certificate_number,
            moved.to_region,
            on,
            self.catalogue,
            (handoff_id, handoff_deadlines(self.calendar, on)),
        )

    async def on_certificate_closed(
        self, uow: UnitOfWork, closed: CertificateClosed, envelope: EventEnvelope
    ) -> None:
        holding = await _on_file(uow, closed.person_ref, closed.certificate_number)
        holding.certificate_closed(closed.certificate_number, f"certificate_{closed.reason}", closed.last_day)

    async def on_certificate_held(
        self, uow: UnitOfWork, held: CertificateHeld, envelope: EventEnvelope
    ) -> None:
        holding = await _on_file(uow, held.person_ref, held.certificate_number)
        holding.hold(held.certificate_number, held.reason_code, held.suspended_from)

    async def on_hold_lifted(
        self, uow: UnitOfWork, lifted: CertificateChanged, envelope: EventEnvelope
    ) -> None:
        holding = await _on_file(uow, lifted.person_ref, lifted.certificate_number)
        holding.lift_hold(lifted.certificate_number, lifted.reason_code, self.catalogue)

    async def on_certificate_reinstated(
        self, uow: UnitOfWork, reinstated: CertificateChanged, envelope: EventEnvelope
    ) -> None:
        holding = await _on_file(uow, reinstated.person_ref, reinstated.certificate_number)
        holding.reinstated(reinstated.certificate_number, reinstated.reason_code, self.catalogue)

    async def on_partner_fact(self, uow: UnitOfWork, fact: PartnerFact, envelope: EventEnvelope) -> None:
        """A fact published on NATS: its subject (`<partner id>.<fact type>`) says who and what.
        The same rules as over HTTP, jurisdiction included; no one is told what became of it."""
        partner_id, _, fact_type = envelope.event_type.partition(".")
        report = checked_report(partner_id, fact.body(fact_type))
        report = report.without_identity_numbers(self.identity_hash_key)
        await record_fact(uow, self.catalogue, report, report.person_ref(self.identity_hash_key))

    async def on_partner_registered(
        self, uow: UnitOfWork, partner: PartnerRegistered, envelope: EventEnvelope
    ) -> None:
        """A partner registered, or a new version of its policy: the fact types it may report,
        and where (its jurisdiction)."""
        await writes.record_partner_policy(
            uow.conn,
            partner.partner_id,
            partner.facts,
            envelope.occurred_at,
            partner.policy_version,
            partner.regions,
        )

    def fact_lane(self, envelope: EventEnvelope) -> str:
        """A partner's facts about one person in the order the partner sent them (the person
        is named by identity number: its keyed hash, as the holding is keyed)."""
        id_number = PartnerFact.model_validate(envelope.payload).id_number
        if isinstance(id_number, str) and id_number:
            return keyed_hash(self.identity_hash_key, id_number.strip().upper())
        return envelope.stream_id


async def _on_file(uow: UnitOfWork, person_ref: str, number: str) -> Holding:
    """The holding whose certificate the event is about; raised when it is not on file."""
    holding = await uow.load(Holding, person_ref)
    if holding is None or holding.certificate is None or holding.certificate.number != number:
        raise CertificateNotOnFile()
    return holding
