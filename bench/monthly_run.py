"""Monthly run benchmark: a large province's month of entitlements, against a plain INSERT ... SELECT.

1,000,000 generated holders in the counties of one province (every one with the nursing
subsidy, every third with the living subsidy too) are decided periods in `benefit_period`. The
baseline is one plain `INSERT ... SELECT` doing the same arithmetic (the months each period pays
for in the month) into a table of the same shape as the ledger. The run is the service's own
code (application/runs.py): batches that each commit with the run's cursor, the ledger's unique
(person, benefit, month) guarding every line, the run's events and its total. Printed: lines/s
of both and the ratio (target >= 30 %), then what a rerun and an overlapping run add (0 lines).

    make bench                                   # embedded PostgreSQL in .data/bench, or DATABASE_URL's
    .venv/bin/python bench/monthly_run.py --holders 200000
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import date

from system import bench_database

from dcert_benefits.adapters import read_models, tables
from dcert_benefits.application import runs
from dcert_benefits.domain.calendar import Month
from dcert_benefits.domain.events import registry
from dcert_shared.db import create_pool, migrate, migrate_schema
from dcert_shared.envelope import Actor, CommandContext
from dcert_shared.store import EventStore
from dcert_shared.uow import EventSourcing

CONTEXT = CommandContext(actor=Actor(role="admin", subject="bench"))
MONTH = Month(2026, 10)
PROVINCE = "330000"

GENERATE = """
INSERT INTO benefit_period (person_ref, benefit, certificate_number, household_region, monthly_amount_fen,
                            policy_version, active_from, active_to, recorded_at)
SELECT md5(n::text), b.benefit, 'C' || n, '33' || lpad((1 + n % 11)::text, 2, '0') || lpad((1 + n % 9)::text, 2, '0'),
       b.amount, b.benefit || '/v1/bench', DATE '2024-01-01', NULL, now() - interval '30 days'
FROM generate_series(1, $1) AS n
CROSS JOIN (VALUES ('nursing_subsidy', 27500), ('living_subsidy', 26200)) AS b(benefit, amount)
WHERE b.benefit = 'nursing_subsidy' OR n % 3 = 0
"""

BASELINE = """
INSERT INTO baseline_line (run_id, person_ref, benefit, for_month, paid_in_month, certificate_number,
                           household_region, amount_fen, policy_version, kind)
SELECT 'baseline', p.person_ref, p.benefit, m.for_month::date, $1::date, p.certificate_number,
       p.household_region, p.monthly_amount_fen, p.policy_version, 'regular'
FROM benefit_period p
CROSS JOIN LATERAL generate_series(
    greatest(date_trunc('month', p.active_from)::timestamp, $1::timestamp),
    date_trunc('month', least(coalesce(p.active_to, $1::date), $1::date))::timestamp,
    interval '1 month'
) AS m(for_month)
WHERE p.household_region LIKE '33%' AND p.monthly_amount_fen > 0
"""


async def nothing_due(context: CommandContext) -> None:
    """The bench's periods are decided already: no rule change is due."""


async def bench(dsn: str, holders: int, batch_size: int) -> None:
    await migrate_schema(dsn, "public", tables.HISTORY)
    pool = await create_pool(dsn, max_size=4)
    await migrate(pool, read_models.READ_MODELS.schema)
    await migrate(pool, ["CREATE TABLE IF NOT EXISTS baseline_line (LIKE entitlement_line INCLUDING ALL)"])
    es = EventSourcing(
        pool, EventStore(registry(), "/dcert/benefits", "benefits.events."), [read_models.project]
    )
    monthly_runs = runs.MonthlyRuns(lambda: es, lambda: date(2026, 11, 22), nothing_due, batch_size)

    started = time.perf_counter()
    await pool.execute(GENERATE, holders)
    await pool.execute("ANALYZE benefit_period")
    periods = await pool.fetchval("SELECT count(*) FROM benefit_period")
    print(f"{holders:,} holders, {periods:,} periods generated in {time.perf_counter() - started:.1f} s")
    await pool.fetchval("SELECT count(*) FROM benefit_period WHERE household_region LIKE '33%'")  # warm

    started = time.perf_counter()
    await pool.execute(BASELINE, MONTH.first_day)
    baseline_seconds = time.perf_counter() - started
    baseline_lines = await pool.fetchval("SELECT count(*) FROM baseline_line")

    started = time.perf_counter()
    outcome = await monthly_runs.run(CONTEXT, MONTH, PROVINCE)
    run_seconds = time.perf_counter() - started
    summary = await monthly_runs.summary(outcome.run_id)
    ledger_total = await pool.fetchval("SELECT sum(amount_fen) FROM entitlement_line")

    baseline_rate = baseline_lines / baseline_seconds
    run_rate = summary.line_count / run_seconds
    print(f"{'':26}{'lines':>12}{'seconds':>10}{'lines/s':>12}")
    print(
        f"{'plain INSERT ... SELECT':26}{baseline_lines:>12,}{baseline_seconds:>10.1f}{baseline_rate:>12,.0f}"
    )
    print(
        f"{'monthly run (batches ' + str(batch_size) + ')':26}{summary.line_count:>12,}{run_seconds:>10.1f}{run_rate:>12,.0f}"
    )
    print(f"ratio run / baseline: {run_rate / baseline_rate:.0%} (target >= 30 %)")
    print(
        f"run total {summary.total_fen:,} fen = sum of its lines {ledger_total:,} fen: {summary.total_fen == ledger_total}"
    )

    before = await pool.fetchval("SELECT count(*) FROM entitlement_line")
    again = await monthly_runs.run(CONTEXT, MONTH, PROVINCE)
    city = await monthly_runs.run(CONTEXT, MONTH, "330100")  # a city inside the province, same month
    added = await pool.fetchval("SELECT count(*) FROM entitlement_line") - before
    city_lines = (await monthly_runs.summary(city.run_id)).line_count
    print(
        f"rerun: same run {again.run_id == outcome.run_id}, made now {again.made_now};"
        f" a city's run of the same month: {city_lines} lines; lines added by both: {added}"
    )
    await pool.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--holders", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=20_000)
    args = parser.parse_args()
    async with bench_database() as dsn:
        await bench(dsn, args.holders, args.batch_size)


if __name__ == "__main__":
    asyncio.run(main())
