"""Writes to the tables no event projects: the ledger of monthly runs, the progress of rule
changes, partners' policies. Each runs on the connection of the caller's transaction (the
ledger's batches open their own), so it commits, or not, with what the caller decided."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import asyncpg

from ..domain.calendar import Month
from ..domain.monthly_run import COMPLETED, RUNNING, Reach
from ..domain.policy_history import RuleEffect
from .queries import RunTotals, monthly_run

# --- the ledger of monthly runs (application/runs.py) --------------------------------------------

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


async def record_run_start(
    conn: asyncpg.Connection,
    run_id: str,
    month: Month,
    region: str,
    prefix: str,
    own: Reach,
    within: Iterable[Reach],
) -> None:
    """The run's row, with where its arrears may reach: its own area's, and each area within it."""
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


def _stored(reach: Reach) -> dict[str, str | None]:
    return {
        "prefix": reach.prefix,
        "first_month": reach.first_month.first_day.isoformat(),
        "catch_up_from": reach.catch_up_from.first_day.isoformat(),
        "late_since": None if reach.late_since is None else reach.late_since.isoformat(),
    }


async def write_next_batch(pool: asyncpg.Pool, run_id: str, batch_size: int) -> bool:
    """The lines of the next `batch_size` holders after the run's cursor, committed with the
    cursor in one transaction that locks the run's row; False when no holder is left (or the
    run is no longer running)."""
    async with pool.acquire() as conn, conn.transaction():
        run = await monthly_run(conn, run_id, for_update=True)
        if run is None or run.status != RUNNING:
            return False
        upto: str | None = await conn.fetchval(_BATCH_END, run.prefix, run.cursor, batch_size)
        if upto is None:
            return False
        await conn.execute(
            _LINES,
            run_id,
            run.month,
            run.prefix,
            run.cursor,
            run.first_month,
            run.catch_up_from,
            run.late_since,  # none: the region's first run, where nothing is late
            upto,
            run.reach_within,
        )
        await conn.execute("UPDATE monthly_run SET cursor = $2 WHERE id = $1", run_id, upto)
        return True


async def record_run_completed(conn: asyncpg.Connection, run_id: str, totals: RunTotals) -> None:
    await conn.execute(
        "UPDATE monthly_run SET status = $2, line_count = $3, arrears_count = $4, total_fen = $5,"
        " completed_at = now() WHERE id = $1",
        run_id,
        COMPLETED,
        totals.lines,
        totals.arrears,
        totals.total_fen,
    )


async def record_run_closed(conn: asyncpg.Connection, run_id: str) -> None:
    await conn.execute("UPDATE monthly_run SET status = 'closed', closed_at = now() WHERE id = $1", run_id)


# --- rule changes of policy versions (application/policy_effects.py) ----------------------------


async def register_effects(
    conn: asyncpg.Connection, benefit: str, version: int, effects: Iterable[RuleEffect]
) -> None:
    """Note the days a recorded version's changed rules decide their holders again."""
    await conn.executemany(
        "INSERT INTO policy_effects (benefit, version, rule_id, region, effective_from)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        [(benefit, version, effect.key, effect.region, effect.takes_effect) for effect in effects],
    )


async def record_rule_progress(
    conn: asyncpg.Connection, benefit: str, version: int, rule_id: str, reached: str | None, holders: int
) -> None:
    """`holders` more decided again, up to `reached`; None: the rule is applied to all."""
    await conn.execute(
        "UPDATE policy_effects SET reached = coalesce($4, reached), holders = holders + $5,"
        " applied_at = CASE WHEN $4::text IS NULL THEN now() END"
        " WHERE benefit = $1 AND version = $2 AND rule_id = $3",
        benefit,
        version,
        rule_id,
        reached,
        holders,
    )


# --- partners' policies (notification.PartnerRegistered, PartnerPolicyChanged) ------------------


async def record_partner_policy(
    conn: asyncpg.Connection,
    partner_id: str,
    facts: list[str],
    registered_at: datetime,
    policy_version: int,
    regions: list[str],
) -> None:
    """A partner's fact types and jurisdiction, unless a newer version of its policy is kept."""
    await conn.execute(
        "INSERT INTO partner_fact_policy (partner_id, facts, registered_at, policy_version, regions)"
        " VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (partner_id) DO UPDATE SET facts = EXCLUDED.facts,"
        " registered_at = EXCLUDED.registered_at, policy_version = EXCLUDED.policy_version,"
        " regions = EXCLUDED.regions"
        " WHERE partner_fact_policy.policy_version < EXCLUDED.policy_version",  # never an older one
        partner_id,
        facts,
        registered_at,
        policy_version,
        regions,
    )
