"""A policy rule taking effect decides again the benefits of every holder it reaches.

Each rule a recorded version adds, changes or removes (application/policy_versions.py) is
applied once, as soon as it is recorded, from the day it takes effect (its start, or the day
after its end): the holders of its region are decided again from that month, in batches of their `person_ref` with
the place reached kept in `policy_effects`, so a job stopped half-way (a crash, a restart)
goes on from there. Decisions that come out the same record nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import asyncpg

from dcert_shared.envelope import CommandContext
from dcert_shared.uow import EventSourcing, UnitOfWork

from ..domain.calendar import significant_digits
from ..domain.holding import Holding
from ..domain.policies import Catalogue
from ..domain.policy_history import RuleEffect


async def register_effects(
    conn: asyncpg.Connection, benefit: str, version: int, effects: Iterable[RuleEffect]
) -> None:
    """Note the days a recorded version's changed rules decide their holders again."""
    await conn.executemany(
        "INSERT INTO policy_effects (benefit, version, rule_id, region, effective_from)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        [(benefit, version, effect.key, effect.region, effect.takes_effect) for effect in effects],
    )


async def apply_policy_effects(
    es: EventSourcing, catalogue: Catalogue, context: CommandContext, batch_size: int = 200
) -> dict[str, int]:
    """Apply every rule change recorded and not applied yet: {"rules": n, "holders": n}. One that
    starts later is decided now all the same, from its day on: people see the change coming and
    the runs of those months pay it."""
    due = await es.pool.fetch(
        "SELECT benefit, version, rule_id, region, effective_from, reached FROM policy_effects"
        " WHERE applied_at IS NULL ORDER BY effective_from, benefit, rule_id"
    )
    holders = 0
    for rule in due:
        holders += await _apply_rule(es, catalogue, dict(rule), context, batch_size)
    return {"rules": len(due), "holders": holders}


async def _apply_rule(
    es: EventSourcing,
    catalogue: Catalogue,
    rule: dict[str, Any],
    context: CommandContext,
    batch_size: int,
) -> int:
    reached: str = rule["reached"]
    key = (rule["benefit"], rule["version"], rule["rule_id"])
    count = 0
    while True:

        async def decide(uow: UnitOfWork, after: str = reached) -> tuple[str | None, int]:
            people = await uow.conn.fetch(
                "SELECT person_ref FROM holding_view WHERE household_region LIKE $1 || '%' AND person_ref > $2"
                " ORDER BY person_ref LIMIT $3",
                significant_digits(rule["region"]),
                after,
                batch_size,
            )
            for person in people:
                holding = await uow.load(Holding, person["person_ref"])
                if holding is not None:
                    holding.reconsider(catalogue, rule["effective_from"])
            last = people[-1]["person_ref"] if people else None
            await uow.conn.execute(
                "UPDATE policy_effects SET reached = coalesce($4, reached), holders = holders + $5,"
                " applied_at = CASE WHEN $4::text IS NULL THEN now() END"
                " WHERE benefit = $1 AND version = $2 AND rule_id = $3",
                *key,
                last,
                len(people),
            )
            return last, len(people)

        last, done = await es.execute(context, decide)
        count += done
        if last is None:
            return count
        reached = last
