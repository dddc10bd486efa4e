"""死亡核实: a death a partner reported, from the hold to the reviewer's decision, and its correction.

- `DeathReported` (benefits service: a partner's death fact within its jurisdiction): the
  person's live certificate goes on hold. Nothing else ends yet: open applications wait too
  (a reviewer cannot approve a matter on a certificate on hold).
- The reviewer of the household area confirms (注销, reason death, with everything that hangs on
  it, as any cancellation; the person's open applications end) or rejects (the hold lifts).
- `DeathCorrected` (benefits service: a partner's correction): a hold lifts; a certificate
  cancelled for a death lives again, with a new card.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date

from dcert_shared.envelope import CommandContext, EventEnvelope
from dcert_shared.regions import covers
from dcert_shared.uow import UnitOfWork

from ..domain.application import Application
from ..domain.card import Card
from ..domain.certificate import Certificate
from ..domain.errors import CertificateNotFound
from ..domain.holds import DEATH_CORRECTED, DEATH_REJECTED
from ..domain.person import Person
from .commands import DECEASED_REASON, CertificateCommands

log = logging.getLogger(__name__)


class DeathReports:
    """The hold's use cases and reactions, over the certificate service's commands (whose
    cancellation, cards and person they share)."""

    def __init__(self, commands: CertificateCommands) -> None:
        self.commands = commands

    # -- reactions to the benefits service ---------------------------------------------------
    async def on_death_reported(self, uow: UnitOfWork, envelope: EventEnvelope) -> None:
        """A partner reported the holder's death: 暂停 the live certificate for the reviewer."""
        data = envelope.payload
        certificate = await self._live_certificate(uow, data["person_ref"])
        if certificate is None:
            log.info("a reported death names no live certificate: nothing to hold")
            return
        certificate.hold_for_death(
            data["fact_id"],
            data.get("partner_id"),
            date.fromisoformat(data["effective_date"]),
            self.commands.today(),
        )

    async def on_death_corrected(self, uow: UnitOfWork, envelope: EventEnvelope) -> None:
        """A partner corrected a death: the hold lifts, or a certificate cancelled for the death
        lives again (when the person holds no other)."""
        data, today = envelope.payload, self.commands.today()
        live = await self._live_certificate(uow, data["person_ref"])
        if live is not None:
            live.lift_hold(DEATH_CORRECTED, today)
            return
        number = data.get("certificate_number")
        certificate = await uow.load(Certificate, number) if isinstance(number, str) else None
        if certificate is None or certificate.person_ref != data["person_ref"]:
            return
        person = await uow.load(Person, certificate.person_ref)
        if person is None or person.erased_on is not None:
            return
        if certificate.reinstate(data["fact_id"], today):
            person.record_live(certificate.id)
            self._order_card(uow, certificate, today)

    # -- the reviewer -------------------------------------------------------------------------
    async def decide(
        self, context: CommandContext, number: str, decision: str, reason: str, region: str
    ) -> None:
        """The reviewer of the household area (`region`) confirms the reported death or rejects it."""

        async def run(uow: UnitOfWork) -> None:
            certificate = await uow.load(Certificate, number)
            if certificate is None or not covers(region, certificate.household_region):
                raise CertificateNotFound()
            if decision == "reject":
                certificate.require_death_report()
                certificate.lift_hold(DEATH_REJECTED, self.commands.today(), reason)
                return
            died_on = certificate.confirm_death(reason)
            # 注销 as every other: the person, the cards, an open matter of the certificate.
            await self.commands._close_certificate(uow, certificate, "death", None, died_on)
            await self._end_open_applications(uow, certificate.person_ref)

        await self.commands.es.execute(context, run)

    # -- helpers ------------------------------------------------------------------------------
    async def _live_certificate(self, uow: UnitOfWork, person_ref: str) -> Certificate | None:
        person = await uow.load(Person, person_ref)
        if person is None or person.live_certificate is None:
            return None
        return await uow.load(Certificate, person.live_certificate)

    async def _end_open_applications(self, uow: UnitOfWork, person_ref: str) -> None:
        """The person died: what they (or their agent) applied for ends, as moot."""
        person = await uow.load(Person, person_ref)
        if person is None:
            return
        for application_id in list(person.open_applications):
            pending = await uow.load(Application, application_id)
            if pending is not None:
                pending.end_as_moot(DECEASED_REASON)
            person.close_application(application_id)

    def _order_card(self, uow: UnitOfWork, certificate: Certificate, today: date) -> None:
        """The card was invalidated with the cancellation: a new one, under the certificate's own
        application (no application asked for this one)."""
        uow.track(
            Card.order(
                uuid.uuid4().hex,
                certificate_number=certificate.id,
                application_id=certificate.application_id,
                region=certificate.household_region,
                serial=certificate.serial,
                person_ref=certificate.person_ref,
                holder_name=certificate.holder_name,
                mail_address=certificate.mail_address,
                delivery="mail",
                today=today,
            )
        )
