"""The service's clocks: 公示期满 moves results to the reviewer's queue on time, 到期 expires
certificates and reminds their holders, and a guardian's rights end when the child comes of age.

Each run finds what is due in the read models, then lets each record decide on its own state in
a transaction of its own, so a second run changes nothing."""

from __future__ import annotations

from datetime import timedelta

from dcert_shared.envelope import CommandContext
from dcert_shared.uow import UnitOfWork

from ..adapters import queries
from ..domain.application import Application
from ..domain.certificate import Certificate
from ..domain.person import Person
from .service import CertificateService


class ClockJobs:
    """The periodic jobs (and their runs on request)."""

    def __init__(self, service: CertificateService) -> None:
        self.service = service

    async def end_due_public_notices(self, context: CommandContext) -> int:
        """公示期满: move every application whose notice period has passed to the review queue."""
        service = self.service
        ended = 0
        for due in await queries.applications_past_public_notice(service.es.pool, service.today()):

            async def run(uow: UnitOfWork, application_id: str = due) -> bool:
                application = await uow.load(Application, application_id)
                return application is not None and application.end_public_notice(
                    service.today(), service.deadlines
                )

            ended += await service.es.execute(context, run)
        return ended

    async def run_expiry(self, context: CommandContext) -> dict[str, int]:
        """到期: record `CertificateExpired` after the last valid day and remind before the renewal
        window opens."""
        service = self.service
        today = service.today()
        reminder_horizon = today + timedelta(
            days=service.settings.renewal_reminder_days + 31 * service.settings.renewal_window_months
        )
        expiring = await queries.certificates_past_expiry(service.es.pool, today)
        reminding = await queries.certificates_to_remind(service.es.pool, reminder_horizon)
        expired = 0
        for due in expiring:

            async def expire(uow: UnitOfWork, number: str = due) -> bool:
                certificate = await uow.load(Certificate, number)
                if certificate is None or not certificate.expire(today):
                    return False
                person = await service.person(uow, certificate.person_ref)
                person.certificate_closed(certificate.id)
                for card in await service.counting_cards(uow, certificate.id):
                    card.invalidate("expired")
                return True

            expired += await service.es.execute(context, expire)
        reminded = 0
        for due in reminding:

            async def remind(uow: UnitOfWork, number: str = due) -> bool:
                certificate = await uow.load(Certificate, number)
                return certificate is not None and certificate.remind_renewal(today, service.renewal_rule)

            reminded += await service.es.execute(context, remind)
        return {"expired": expired, "reminded": reminded}

    async def end_agencies_run_out(self, context: CommandContext) -> int:
        """A guardian's rights end when the child comes of age (unless renewed meanwhile)."""
        service = self.service
        ended = 0
        for due in await queries.people_with_agencies_run_out(service.es.pool, service.today()):

            async def run(uow: UnitOfWork, person_ref: str = due) -> int:
                person = await uow.load(Person, person_ref)
                if person is None:
                    return 0
                run_out = person.agencies_run_out(service.today())
                for agent_ref in run_out:
                    person.end_agency(agent_ref, "came_of_age")
                return len(run_out)

            ended += await service.es.execute(context, run)
        return ended
