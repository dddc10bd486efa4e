"""存量导入: holders of the national certificate system become certificates here, a batch at a time.

A batch is one transaction (its events, outbox messages, sealed keys and read models commit
together or not at all), so a run killed at any point loses at most the batch in flight, which
the next run imports; what an earlier run imported is found on its streams and counted
`present`. The events leave through the outbox once the service runs (docs/import.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from dcert_shared.envelope import CommandContext
from dcert_shared.uow import UnitOfWork

from ..domain.certificate import Certificate
from ..domain.holder_import import ImportOutcome, import_holder
from ..domain.legacy_import import LegacyCertificate
from ..domain.person import Person
from .service import CertificateService


@dataclass
class BatchResult:
    """What became of each row of a batch: imported, present before, or refused (line, code)."""

    imported: list[int] = field(default_factory=list)
    present: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)


class ImportCommands:
    """The operator's import of legacy holders (the console's `dcert import holders`)."""

    def __init__(self, service: CertificateService) -> None:
        self.service = service

    def person_ref(self, id_number: str) -> str:
        return self.service.person_ref(id_number)

    def today(self) -> date:
        return self.service.today()

    async def import_batch(
        self,
        context: CommandContext,
        holders: Sequence[LegacyCertificate],
        benefits_from: date,
        *,
        dry_run: bool = False,
    ) -> BatchResult:
        """Import these holders in one transaction; with `dry_run`, decide the same and write
        nothing (the transaction is never opened for writing)."""

        async def run(uow: UnitOfWork) -> BatchResult:
            return await self._decide(uow, holders, benefits_from)

        if not dry_run:
            return await self.service.es.execute(context, run)
        async with self.service.es.pool.acquire() as conn, conn.transaction(readonly=True):
            return await run(UnitOfWork(conn, self.service.es.store, [], context))

    async def _decide(
        self, uow: UnitOfWork, holders: Sequence[LegacyCertificate], benefits_from: date
    ) -> BatchResult:
        today = self.service.today()
        people = await uow.load_many(Person, {holder.person_ref for holder in holders})
        certificates = await uow.load_many(Certificate, {holder.number for holder in holders})
        result = BatchResult()
        for holder in holders:
            person = people.get(holder.person_ref) or uow.track(Person(holder.person_ref))
            people[holder.person_ref] = person
            certificate = certificates.get(holder.number) or uow.track(Certificate(holder.number))
            certificates[holder.number] = certificate
            outcome = import_holder(person, certificate, holder, today, benefits_from)
            if outcome == ImportOutcome.IMPORTED:
                result.imported.append(holder.line)
            elif outcome == ImportOutcome.PRESENT:
                result.present.append(holder.line)
            else:
                result.refused.append((holder.line, str(outcome)))
        return result
