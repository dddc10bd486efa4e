"""死亡核实: a death a partner reported, from the hold to the reviewer's decision.

- `DeathReported` (benefits service: a partner's death fact within its jurisdiction): the
  person's live certificate goes on hold (application/reactions.py). Nothing else ends yet: open
  applications wait too (a reviewer cannot approve a matter on a certificate on hold).
- The reviewer of the household area confirms (注销, reason death, with everything that hangs on
  it, as any cancellation; the person's open applications end) or rejects (the hold lifts).
- `DeathCorrected` (benefits service: a partner's correction): a hold lifts; a certificate
  cancelled for a death lives again, with a new card (application/reactions.py).
"""

from __future__ import annotations

from dcert_shared.envelope import CommandContext
from dcert_shared.regions import covers
from dcert_shared.uow import UnitOfWork

from ..domain.application import DECEASED_REASON, Application
from ..domain.certificate import Certificate
from ..domain.errors import CertificateNotFound
from ..domain.holds import DEATH_REJECTED, DeathDecision
from ..domain.person import Person
from .service import CertificateService


class DeathReports:
    """The reviewer's decision on a reported death."""

    def __init__(self, service: CertificateService) -> None:
        self.service = service

    async def decide(
        self, context: CommandContext, number: str, decision: DeathDecision, reason: str, region: str
    ) -> None:
        """The reviewer of the household area (`region`) confirms the reported death or rejects it."""

        async def run(uow: UnitOfWork) -> None:
            certificate = await uow.load(Certificate, number)
            if certificate is None or not covers(region, certificate.household_region):
                raise CertificateNotFound()
            if decision == DeathDecision.REJECT:
                certificate.require_death_report()
                certificate.lift_hold(DEATH_REJECTED, self.service.today(), reason)
                return
            died_on = certificate.confirm_death(reason)
            # 注销 as every other: the person, the cards, an open matter of the certificate.
            await self.service.close_certificate(uow, certificate, "death", None, died_on)
            await self._end_open_applications(uow, certificate.person_ref)

        await self.service.es.execute(context, run)

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
