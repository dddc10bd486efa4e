"""The monthly run (月度发放): each person's entitlements for a month, once and only once.

- The ledger `entitlement_line` holds one row per (person, benefit, month paid for), unique:
  every insert is `INSERT ... SELECT ... ON CONFLICT DO NOTHING`, so no rerun, resume or
  overlapping region can pay a month twice.
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
from typing import Any

import asyncpg

from dcert_shared.envelope import CommandContext
from dcert_shared.problems import Bilingual
from dcert_shared.uow import EventSourcing, UnitOfWork

from ..domain.calendar import Month, significant_digits
from ..domain.errors import MonthClosed, MonthNotBegun, RunNotFound
from ..domain.monthly_run import COMPLETED, RUNNING, MonthlyRun, Reach, RunDone, reaches

# One batch: the lines of the holders after the cursor up to `upto`, in one statement. Each
# period takes the reach of the most specific area it lies in: the region's, or one within it.
_LINES = """
WITH reach AS MATERIALIZED (
    SELECT $3::text AS prefix, $5::date AS first_month, $6::date AS catch_up_from, $7::timestamptz AS late_since
    UNION ALL
    SELECT * FROM jsonb_to_recordset($9::jsonb)
        AS within(prefix text, first_month date, catch_up_from date, late_since timestamptz)
)
INSERT INTO entitlement_line (run_id, person_ref, benefit, for_month, paid_in_month, certificate_number,
                              household_region, amount_fen, policy_version, kind)
SELECT $1, p.person_ref, p.benefit, m.for_month::date, $2::date, p.certificate_number, p.household_region,
       p.monthly_amount_fen, p.policy_version,
       CASE WHEN m.for_month::date = $2::date THEN 'regular' ELSE 'arrears' END
FROM benefit_period p
CROSS JOIN LATERAL (
    SELECT reach.* FROM reach WHERE p.household_region LIKE reach.prefix || '%'
    ORDER BY length(reach.prefix) DESC LIMIT 1
) AS r
CROSS JOIN LATERAL generate_series(
    greatest(
        date_trunc('month', p.active_from)::timestamp,
        CASE WHEN p.recorded_at > r.late_since THEN r.first_month ELSE r.catch_up_from END::timestamp
    ),
    date_trunc('month', least(coalesce(p.active_to, $2::date), $2::date))::timestamp,
    interval '1 month'
) AS m(for_month)
WHERE p.household_region LIKE $3 || '%' AND p.person_ref > $4 AND p.person_ref <= $8
  AND p.monthly_amount_fen > 0
  AND p.active_from <= ($2::date + interval '1 month' - interval '1 day')
  AND (p.active_to IS NULL OR p.active_to >= p.active_from)
ON CONFLICT (person_ref, benefit, for_month) DO NOTHING
"""

_BATCH_END = """
SELECT max(person_ref) FROM (
    SELECT DISTINCT person_ref FROM benefit_period
    WHERE household_region LIKE $1 || '%' AND person_ref > $2
    ORDER BY person_ref LIMIT $3
) AS batch
"""


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
            await self._record_start(uow.conn, run_id, month, region)
            return run_id, True

        run_id, made_now = await self.es.execute(context, begin)
        status = await self.es.pool.fetchval("SELECT status FROM monthly_run WHERE id = $1", run_id)
        if status == RUNNING:
            await self.before_run(context)
            await self._write_lines(run_id)
            await self._complete(context, run_id, month, region)
        return RunOutcome(run_id, made_now)

    async def close(self, context: CommandContext, run_id: str) -> None:
        row = await self._row(run_id)
        month, region = Month.of(row["month"]), row["region"]

        async def decide(uow: UnitOfWork) -> None:
            run = await uow.load(MonthlyRun, MonthlyRun.key(month, region))
            if run is None:
                raise RunNotFound()
            before = run.status
            run.close(month, region)
            if before != run.status:
                await uow.conn.execute(
                    "UPDATE monthly_run SET status = 'closed', closed_at = now() WHERE id = $1", run_id
                )

        await self.es.execute(context, decide)

    async def lines(self, run_id: str, after: int = 0, limit: int = 1000) -> list[asyncpg.Record]:
        return await self.es.pool.fetch(  # type: ignore[no-any-return]
            "SELECT * FROM entitlement_line WHERE run_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            run_id,
            after,
            limit,
        )

    async def all_lines(self, run_id: str) -> AsyncIterator[asyncpg.Record]:
        """Every line of the run in order, fetched a page at a time (an export of millions)."""
        after = 0
        while True:
            page = await self.lines(run_id, after, 5000)
            for line in page:
                yield line
            if len(page) < 5000:
                return
            after = page[-1]["id"]

    async def _row(self, run_id: str) -> asyncpg.Record:
        row = await self.es.pool.fetchrow("SELECT * FROM monthly_run WHERE id = $1", run_id)
        if row is None:
            raise RunNotFound()
        return row

    async def _refuse_closed(self, month: Month, region: str) -> None:
        prefix = significant_digits(region)
        closed = await self.es.pool.fetchval(
            "SELECT region FROM monthly_run WHERE month = $1 AND status = 'closed'"
            " AND ($2 LIKE prefix || '%' OR prefix LIKE $2 || '%') LIMIT 1",
            month.first_day,
            prefix,
        )
        if closed is not None:
            raise MonthClosed(
                detail=Bilingual(f"{closed} 地区 {month} 已结账", f"{month} is closed for region {closed}")
            )

    async def _record_start(self, conn: asyncpg.Connection, run_id: str, month: Month, region: str) -> None:
        """The run's row, with where its arrears may reach (see the module's docstring)."""
        prefix = significant_digits(region)
        done = await conn.fetch(
            "SELECT prefix, month, started_at FROM monthly_run WHERE status <> 'running'"
            " AND ($1 LIKE prefix || '%' OR prefix LIKE $1 || '%')",
            prefix,
        )
        own, *within = reaches(
            month, prefix, (RunDone(row["prefix"], Month.of(row["month"]), row["started_at"]) for row in done)
        )
        await conn.execute(
            "INSERT INTO monthly_run (id, month, region, prefix, status, first_month, catch_up_from, late_since,"
            " reach_within) VALUES ($1, $2, $3, $4, 'running', $5, $6, $7, $8)"
            # A run started at the same moment: the stream append after this fails and retries.
            " ON CONFLICT (month, region) DO NOTHING",
            run_id,
            month.first_day,
            region,
            prefix,
            own.first_month.first_day,
            own.catch_up_from.first_day,
            own.late_since,
            [_stored(reach) for reach in within],
        )

    async def _write_lines(self, run_id: str) -> None:
        """Batches until every holder of the region is done; each batch commits with the cursor."""
        while True:
            async with self.es.pool.acquire() as conn, conn.transaction():
                run = await conn.fetchrow("SELECT * FROM monthly_run WHERE id = $1 FOR UPDATE", run_id)
                if run is None or run["status"] != RUNNING:
                    return
                upto = await conn.fetchval(_BATCH_END, run["prefix"], run["cursor"], self.batch_size)
                if upto is None:
                    return
                await conn.execute(
                    _LINES,
                    run_id,
                    run["month"],
                    run["prefix"],
                    run["cursor"],
                    run["first_month"],
                    run["catch_up_from"],
                    run["late_since"],  # none: the region's first run, where nothing is late
                    upto,
                    run["reach_within"],
                )
                await conn.execute("UPDATE monthly_run SET cursor = $2 WHERE id = $1", run_id, upto)

    async def _complete(self, context: CommandContext, run_id: str, month: Month, region: str) -> None:
        async def decide(uow: UnitOfWork) -> None:
            run = await uow.load(MonthlyRun, MonthlyRun.key(month, region))
            if run is None or run.status != RUNNING:
                return
            totals = await uow.conn.fetchrow(
                "SELECT count(*) AS lines, count(*) FILTER (WHERE kind = 'arrears') AS arrears,"
                " coalesce(sum(amount_fen), 0) AS total FROM entitlement_line WHERE run_id = $1",
                run_id,
            )
            run.complete(month, region, totals["lines"], totals["arrears"], totals["total"])
            await uow.conn.execute(
                "UPDATE monthly_run SET status = $2, line_count = $3, arrears_count = $4, total_fen = $5,"
                " completed_at = now() WHERE id = $1",
                run_id,
                COMPLETED,
                totals["lines"],
                totals["arrears"],
                totals["total"],
            )

        await self.es.execute(context, decide)

    async def summary(self, run_id: str) -> dict[str, Any]:
        return dict(await self._row(run_id))


def _stored(reach: Reach) -> dict[str, str | None]:
    return {
        "prefix": reach.prefix,
        "first_month": reach.first_month.first_day.isoformat(),
        "catch_up_from": reach.catch_up_from.first_day.isoformat(),
        "late_since": None if reach.late_since is None else reach.late_since.isoformat(),
    }


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


async def csv_rows(lines: AsyncIterator[Any]) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    async for line in lines:
        writer.writerow(
            (
                str(Month.of(line["for_month"])),
                str(Month.of(line["paid_in_month"])),
                line["certificate_number"],
                line["benefit"],
                line["household_region"],
                line["amount_fen"],
                yuan(line["amount_fen"]),
                line["policy_version"],
                line["kind"],
            )
        )
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
