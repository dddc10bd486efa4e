"""The read side of the benefits service: every query of its tables, typed.

Routers and use cases ask here and get read-model rows (`adapters/read_models.py`), domain
values or the small records below, never a database row. Each function takes the pool, or the
connection of the caller's transaction when what it reads must be seen in that transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeAlias

import asyncpg
from pydantic import BaseModel, ConfigDict

from ..domain.calendar import Month
from ..domain.eligibility import Circumstances
from ..domain.jurisdiction import NOWHERE, Jurisdiction
from ..domain.monthly_run import RunDone
from .read_models import (
    BenefitPeriod,
    BenefitView,
    HandoffView,
    PolicyVersionView,
    circumstances_in,
)

Database: TypeAlias = asyncpg.Pool | asyncpg.Connection  # the pool, or the connection of a transaction


# --- a certificate's benefits ------------------------------------------------------------------


@dataclass(frozen=True)
class HolderOnFile:
    """Who may read a certificate's benefits: its holder, their verified agents, its region."""

    person_ref: str
    household_region: str
    agent_refs: tuple[str, ...]


async def holder_of_certificate(db: Database, number: str) -> HolderOnFile | None:
    row = await db.fetchrow(
        "SELECT h.person_ref, h.household_region, (SELECT coalesce(array_agg(agent_ref), '{}') FROM agencies g"
        " WHERE g.person_ref = h.person_ref) AS agent_refs FROM holding_view h WHERE h.certificate_number = $1",
        number,
    )
    if row is None:
        return None
    return HolderOnFile(row["person_ref"], row["household_region"], tuple(row["agent_refs"]))


async def benefits_of(db: Database, person_ref: str) -> list[BenefitView]:
    rows = await db.fetch("SELECT * FROM benefit_view WHERE person_ref = $1 ORDER BY benefit", person_ref)
    return [BenefitView.model_validate(dict(row)) for row in rows]


async def periods_paying_on(db: Database, person_ref: str, day: date) -> dict[str, BenefitPeriod]:
    """The period of each benefit that pays `day`, by benefit."""
    rows = await db.fetch(
        "SELECT * FROM benefit_period WHERE person_ref = $1 AND active_from <= $2"
        " AND (active_to IS NULL OR active_to >= $2)",
        person_ref,
        day,
    )
    return {row["benefit"]: BenefitPeriod.model_validate(dict(row)) for row in rows}


# --- holders of a region: reports and simulations ----------------------------------------------


@dataclass(frozen=True)
class HolderCircumstances:
    person_ref: str
    certificate_number: str
    circumstances: Circumstances


async def living_holders_in(db: Database, prefix: str) -> list[HolderCircumstances]:
    """Living holders of a live certificate whose household region starts with `prefix`, by number."""
    rows = await db.fetch(
        "SELECT c.*, h.certificate_number FROM circumstances_view c JOIN holding_view h USING (person_ref)"
        " WHERE c.household_region LIKE $1 || '%' AND c.certificate_live AND c.deceased_on IS NULL"
        " ORDER BY h.certificate_number",
        prefix,
    )
    return [
        HolderCircumstances(row["person_ref"], row["certificate_number"], circumstances_in(row))
        for row in rows
    ]


async def benefit_statuses_in(db: Database, prefix: str) -> dict[str, dict[str, str]]:
    """person_ref -> benefit -> status, of the holders whose household region starts with `prefix`."""
    statuses: dict[str, dict[str, str]] = defaultdict(dict)
    for row in await db.fetch(
        "SELECT b.person_ref, b.benefit, b.status FROM benefit_view b"
        " JOIN circumstances_view c USING (person_ref) WHERE c.household_region LIKE $1 || '%'",
        prefix,
    ):
        statuses[row["person_ref"]][row["benefit"]] = row["status"]
    return statuses


async def live_certificate_circumstances(db: Database, prefix: str) -> list[Circumstances]:
    """The circumstances of every holder of a live certificate whose region starts with `prefix`."""
    rows = await db.fetch(
        "SELECT * FROM circumstances_view WHERE certificate_live AND household_region LIKE $1 || '%'", prefix
    )
    return [circumstances_in(row) for row in rows]


async def holders_after(db: Database, prefix: str, after: str, limit: int) -> list[str]:
    """The next `limit` holders (person_ref order) after `after` whose region starts with `prefix`."""
    rows = await db.fetch(
        "SELECT person_ref FROM holding_view WHERE household_region LIKE $1 || '%' AND person_ref > $2"
        " ORDER BY person_ref LIMIT $3",
        prefix,
        after,
        limit,
    )
    return [row["person_ref"] for row in rows]


# --- handoffs ----------------------------------------------------------------------------------


async def handoffs_in(db: Database, prefix: str | None) -> list[HandoffView]:
    """Handoffs leaving or reaching the area of `prefix` (None: every region), newest first."""
    rows = await db.fetch(
        # A national admin's area has no significant digits: every region.
        "SELECT * FROM handoff_view WHERE $1::text IS NULL"
        " OR from_region LIKE $1 || '%' OR to_region LIKE $1 || '%' ORDER BY opened_on DESC, handoff_id",
        prefix,
    )
    return [HandoffView.model_validate(dict(row)) for row in rows]


async def handoff(db: Database, handoff_id: str) -> HandoffView | None:
    row = await db.fetchrow("SELECT * FROM handoff_view WHERE handoff_id = $1", handoff_id)
    return None if row is None else HandoffView.model_validate(dict(row))


# --- policies ----------------------------------------------------------------------------------


async def policy_versions(db: Database, code: str) -> list[PolicyVersionView]:
    rows = await db.fetch("SELECT * FROM policy_version_view WHERE code = $1 ORDER BY version", code)
    return [PolicyVersionView.model_validate(dict(row)) for row in rows]


async def policy_version(db: Database, code: str, version: int) -> PolicyVersionView:
    """A version known to be recorded."""
    row = await db.fetchrow(
        "SELECT * FROM policy_version_view WHERE code = $1 AND version = $2", code, version
    )
    if row is None:
        raise LookupError(f"policy {code} v{version} is not recorded")
    return PolicyVersionView.model_validate(dict(row))


async def newest_policy_versions(db: Database) -> list[PolicyVersionView]:
    """The newest recorded version of each benefit."""
    rows = await db.fetch("SELECT DISTINCT ON (code) * FROM policy_version_view ORDER BY code, version DESC")
    return [PolicyVersionView.model_validate(dict(row)) for row in rows]


@dataclass(frozen=True)
class PendingRuleEffect:
    """A changed rule of a recorded version whose holders are not all decided again yet."""

    benefit: str
    version: int
    rule_id: str
    region: str
    effective_from: date
    reached: str  # the last person_ref decided again


async def pending_rule_effects(db: Database) -> list[PendingRuleEffect]:
    rows = await db.fetch(
        "SELECT benefit, version, rule_id, region, effective_from, reached FROM policy_effects"
        " WHERE applied_at IS NULL ORDER BY effective_from, benefit, rule_id"
    )
    return [PendingRuleEffect(**dict(row)) for row in rows]


# --- partners ----------------------------------------------------------------------------------


class PartnerFactPolicy(BaseModel):
    """The fact types a partner agency may report, and its jurisdiction (a row of
    `partner_fact_policy`, kept from `PartnerRegistered` and `PartnerPolicyChanged`)."""

    model_config = ConfigDict(frozen=True)

    partner_id: str
    facts: list[str]
    registered_at: datetime
    policy_version: int
    regions: list[str]


async def partner_fact_policy(db: Database, partner_id: str) -> PartnerFactPolicy | None:
    row = await db.fetchrow("SELECT * FROM partner_fact_policy WHERE partner_id = $1", partner_id)
    return None if row is None else PartnerFactPolicy.model_validate(dict(row))


async def jurisdictions(db: Database, partners: Sequence[str]) -> dict[str, Jurisdiction]:
    """The jurisdiction of each partner (one this service does not know (any more) has none)."""
    rows = await db.fetch(
        "SELECT partner_id, regions FROM partner_fact_policy WHERE partner_id = ANY($1::text[])",
        list(partners),
    )
    known = {row["partner_id"]: Jurisdiction.of(row["regions"]) for row in rows}
    return {partner: known.get(partner, NOWHERE) for partner in partners}


# --- monthly runs --------------------------------------------------------------------------------

_RUN_COLUMNS = (
    "id, month, region, prefix, status, cursor, first_month, catch_up_from, late_since, reach_within,"
    " line_count, arrears_count, total_fen, started_at, completed_at, closed_at"
)
_LINE_COLUMNS = (
    "id, run_id, person_ref, benefit, for_month, paid_in_month, certificate_number, household_region,"
    " amount_fen, policy_version, kind"
)


@dataclass(frozen=True)
class MonthlyRunRow:
    """A run as the ledger keeps it (application/runs.py tells what each column means)."""

    id: str
    month: date
    region: str
    prefix: str
    status: str
    cursor: str
    first_month: date
    catch_up_from: date
    late_since: datetime | None
    reach_within: list[dict[str, Any]]
    line_count: int
    arrears_count: int
    total_fen: int
    started_at: datetime
    completed_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True)
class EntitlementLine:
    """One month of one benefit paid to one person: a row of the ledger."""

    id: int
    run_id: str
    person_ref: str
    benefit: str
    for_month: date
    paid_in_month: date
    certificate_number: str
    household_region: str
    amount_fen: int
    policy_version: str
    kind: str  # regular or arrears


@dataclass(frozen=True)
class RunTotals:
    lines: int
    arrears: int
    total_fen: int


async def monthly_run(db: Database, run_id: str, *, for_update: bool = False) -> MonthlyRunRow | None:
    """The run; `for_update` locks its row until the caller's transaction ends."""
    lock = " FOR UPDATE" if for_update else ""
    row = await db.fetchrow(f"SELECT {_RUN_COLUMNS} FROM monthly_run WHERE id = $1{lock}", run_id)
    return None if row is None else MonthlyRunRow(**dict(row))


async def run_status(db: Database, run_id: str) -> str | None:
    status: str | None = await db.fetchval("SELECT status FROM monthly_run WHERE id = $1", run_id)
    return status


async def closed_region_overlapping(db: Database, month: Month, prefix: str) -> str | None:
    """The region of a closed run of `month` over or within the area of `prefix`, if any."""
    region: str | None = await db.fetchval(
        "SELECT region FROM monthly_run WHERE month = $1 AND status = 'closed'"
        " AND ($2 LIKE prefix || '%' OR prefix LIKE $2 || '%') LIMIT 1",
        month.first_day,
        prefix,
    )
    return region


async def runs_done_overlapping(db: Database, prefix: str) -> list[RunDone]:
    """Completed or closed runs over or within the area of `prefix`."""
    rows = await db.fetch(
        "SELECT prefix, month, started_at FROM monthly_run WHERE status <> 'running'"
        " AND ($1 LIKE prefix || '%' OR prefix LIKE $1 || '%')",
        prefix,
    )
    return [RunDone(row["prefix"], Month.of(row["month"]), row["started_at"]) for row in rows]


async def run_totals(db: Database, run_id: str) -> RunTotals:
    row = await db.fetchrow(
        "SELECT count(*) AS lines, count(*) FILTER (WHERE kind = 'arrears') AS arrears,"
        " coalesce(sum(amount_fen), 0) AS total FROM entitlement_line WHERE run_id = $1",
        run_id,
    )
    return RunTotals(row["lines"], row["arrears"], row["total"])


async def run_lines(db: Database, run_id: str, after: int = 0, limit: int = 1000) -> list[EntitlementLine]:
    """The run's lines after line `after`, in line order."""
    rows = await db.fetch(
        f"SELECT {_LINE_COLUMNS} FROM entitlement_line WHERE run_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        run_id,
        after,
        limit,
    )
    return [EntitlementLine(**dict(row)) for row in rows]


async def people_of_run_lines(
    db: Database, run_id: str, after: int = 0, limit: int | None = None
) -> list[str]:
    """The people of a run's lines after line `after` (up to `limit` lines; all: None)."""
    rows = await db.fetch(
        "SELECT DISTINCT person_ref FROM (SELECT person_ref FROM entitlement_line"
        " WHERE run_id = $1 AND id > $2 ORDER BY id LIMIT $3) shown",
        run_id,
        after,
        limit,
    )
    return [row["person_ref"] for row in rows]
