"""The monthly run (月度发放): each person's entitlements for a month, once and only once.

- The ledger `entitlement_line` holds one row per (person, benefit, month paid for), unique:
  every insert is `INSERT ... SELECT ... ON CONFLICT DO NOTHING` (adapters/writes.py), so no
  rerun, resume or overlapping region can pay a month twice.
- A run walks the holders of its region in `person_ref` order, one batch per transaction: the
  batch's lines and the run's `cursor` are committed together, so a process killed between
  batches (kill -9) loses nothing and repeats nothing; the next `run` (CLI or API) goes on from
  the cursor. Batches lock the run's row, so two processes resuming at once take turns.
- The lines come from the decisions (`benefit_period`: amount, region, from/to), with the rule
  changes due today applied first. Cash only: an in-kind benefit (amount 0) has no line.
- Arrears (补发): months before the run's month that were due but not paid: (a) months after
  the region's previous run that were never run; (b) months of periods decided after the
  previous run began (a late fact, a late decision), back to the period's start but not before
  the region's first run (before it this platform did not pay: the go-live month). Each holder
  gets the reach of the most specific area with runs of its own (domain/monthly_run.py).
- Runs stored by the first version (`MonthlyRunCompleted` v1, lines inside the event) are carried
  into the ledger once, at the first start of this one, so no later run pays those months again.
- The run's total is the sum of its lines, computed by the database when the run completes.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date

from dcert_shared.envelope import CommandContext
from dcert_shared.problems import Bilingual
from dcert_shared.uow import EventSourcing, UnitOfWork

from ..adapters import queries, writes
from ..adapters.queries import EntitlementLine, MonthlyRunRow
from ..domain.calendar import Month, significant_digits
from ..domain.errors import MonthClosed, MonthNotBegun, RunNotFound
from ..domain.monthly_run import RUNNING, MonthlyRun, reaches


@dataclass(frozen=True)
class RunOutcome:
    run_id: str
    made_now: bool


class MonthlyRuns:
    def __init__(
        self,
        event_sourcing: Callable[[], EventSourcing],
        today: Callable[[], date],
        before_run: Callable[[CommandContext], Awaitable[object]],
        batch_size: int = 20_000,
    ) -> None:
        self._event_sourcing = event_sourcing  # the runtime's, once it has started
        self.today = today
        self.before_run = before_run  # brings decisions up to date (rule changes due today)
        self.batch_size = batch_size

    @property
    def es(self) -> EventSourcing:
        return self._event_sourcing()

    async def run(self, context: CommandContext, month: Month, region: str) -> RunOutcome:
        """The month's run of `region`: made now, resumed, or the one made before."""
        if month > Month.of(self.today()):
            raise MonthNotBegun(detail=Bilingual(f"{month} 尚未开始", f"{month} has not begun"))
        await self._refuse_closed(month, region)
        key = MonthlyRun.key(month, region)

        async def begin(uow: UnitOfWork) -> tuple[str, bool]:
            run = await uow.load(MonthlyRun, key)
            if run is not None and run.run_id is not None:
                return run.run_id, False
            run = MonthlyRun(key)
            uow.track(run)
            run_id = str(uuid.uuid4())
            run.start(run_id, month, region)
            await self._record_start(uow, run_id, month, region)
            return run_id, True

        run_id, made_now = await self.es.execute(context, begin)
        if await queries.run_status(self.es.pool, run_id) == RUNNING:
            await self.before_run(context)
            while await writes.write_next_batch(self.es.pool, run_id, self.batch_size):
                pass  # each batch commits with the cursor (see the module's docstring)
            await self._complete(context, run_id, month, region)
        return RunOutcome(run_id, made_now)

    async def close(self, context: CommandContext, run_id: str) -> None:
        row = await self.summary(run_id)
        month, region = Month.of(row.month), row.region

        async def decide(uow: UnitOfWork) -> None:
            run = await uow.load(MonthlyRun, MonthlyRun.key(month, region))
            if run is None:
                raise RunNotFound()
            before = run.status
            run.close(month, region)
            if before != run.status:
                await writes.record_run_closed(uow.conn, run_id)

        await self.es.execute(context, decide)

    async def lines(self, run_id: str, after: int = 0, limit: int = 1000) -> list[EntitlementLine]:
        return await queries.run_lines(self.es.pool, run_id, after, limit)

    async def all_lines(self, run_id: str) -> AsyncIterator[EntitlementLine]:
        """Every line of the run in order, fetched a page at a time (an export of millions)."""
        after = 0
        while True:
            page = await self.lines(run_id, after, 5000)
            for line in page:
                yield line
            if len(page) < 5000:
                return
            after = page[-1].id

    async def summary(self, run_id: str) -> MonthlyRunRow:
        run = await queries.monthly_run(self.es.pool, run_id)
        if run is None:
            raise RunNotFound()
        return run

    async def _refuse_closed(self, month: Month, region: str) -> None:
        closed = await queries.closed_region_overlapping(self.es.pool, month, significant_digits(region))
        if closed is not None:
            raise MonthClosed(
                detail=Bilingual(f"{closed} 地区 {month} 已结账", f"{month} is closed for region {closed}")
            )

    async def _record_start(self, uow: UnitOfWork, run_id: str, month: Month, region: str) -> None:
        """The run's row, with where its arrears may reach (see the module's docstring)."""
        prefix = significant_digits(region)
        own, *within = reaches(month, prefix, await queries.runs_done_overlapping(uow.conn, prefix))
        await writes.record_run_start(uow.conn, run_id, month, region, prefix, own, within)

    async def _complete(self, context: CommandContext, run_id: str, month: Month, region: str) -> None:
        async def decide(uow: UnitOfWork) -> None:
            run = await uow.load(MonthlyRun, MonthlyRun.key(month, region))
            if run is None or run.status != RUNNING:
                return
            totals = await queries.run_totals(uow.conn, run_id)
            run.complete(month, region, totals.lines, totals.arrears, totals.total_fen)
            await writes.record_run_completed(uow.conn, run_id, totals)

        await self.es.execute(context, decide)


# The export for the paying agency (HTTP `lines.csv` and the CLI's `export`).
CSV_COLUMNS = (
    "for_month",
    "paid_in_month",
    "certificate_number",
    "benefit",
    "household_region",
    "amount_fen",
    "amount_yuan",
    "policy_version",
    "kind",
)


def yuan(fen: int) -> str:
    """An exact decimal of yuan from integer fen: 26200 -> "262.00"."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


async def csv_rows(lines: AsyncIterator[EntitlementLine]) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    async for line in lines:
        writer.writerow(
            (
                str(Month.of(line.for_month)),
                str(Month.of(line.paid_in_month)),
                line.certificate_number,
                line.benefit,
                line.household_region,
                line.amount_fen,
                yuan(line.amount_fen),
                line.policy_version,
                line.kind,
            )
        )
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
