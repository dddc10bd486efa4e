"""The person's own record: erasure on a legal request (crypto-shredding, ADR 0005), and the
agencies a person or a reviewer ends or confirms (docs/agents.md)."""

from __future__ import annotations

from dcert_shared.envelope import SYSTEM, CommandContext
from dcert_shared.uow import UnitOfWork

from ..domain.person import Person
from .service import CertificateService


class PersonCommands:
    """Use cases on the person's stream alone."""

    def __init__(self, service: CertificateService) -> None:
        self.service = service

    async def erase_person(self, context: CommandContext, person_ref: str, legal_basis: str) -> bool:
        """Record the erasure and destroy the person's data key, in one transaction; False when
        the person was erased before (nothing changes)."""

        async def run(uow: UnitOfWork) -> bool:
            person = await self.service.person(uow, person_ref)
            if not person.erase(legal_basis, self.service.today()):
                return False
            await self.service.runtime.vault.erase(uow.conn, person_ref)
            return True

        return await self.service.es.execute(context, run)

    async def reapply_erasure(self, person_ref: str) -> None:
        """After a restore from an older backup: the erasure the broker remembers is recorded
        again, so that the read models forget the person too."""

        async def run(uow: UnitOfWork) -> None:
            person = await self.service.person(uow, person_ref)
            person.erase("restored_backup", self.service.today(), reapplied=True)

        await self.service.es.execute(CommandContext(actor=SYSTEM), run)

    async def end_agency(self, context: CommandContext, person_ref: str, agent_ref: str, reason: str) -> bool:
        """The person (or a reviewer) ends an agency; False when it was not in force."""

        async def run(uow: UnitOfWork) -> bool:
            person = await uow.load(Person, person_ref)
            return person is not None and person.end_agency(agent_ref, reason)

        return await self.service.es.execute(context, run)

    async def confirm_agency(
        self, context: CommandContext, person_ref: str, agent_ref: str, basis: str
    ) -> bool:
        """A reviewer confirms (or renews: a guardian of an adult without capacity) an agency on
        the evidence checked; without an end."""

        async def run(uow: UnitOfWork) -> bool:
            person = await uow.load(Person, person_ref)
            return person is not None and person.verify_agent(agent_ref, basis, None)

        return await self.service.es.execute(context, run)
