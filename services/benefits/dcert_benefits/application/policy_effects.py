"""A policy rule taking effect decides again the benefits of every holder it reaches.

Each rule a recorded version adds, changes or removes (application/policy_versions.py) is
applied once, as soon as it is recorded, from the day it takes effect (its start, or the day
after its end): the holders of its region are decided again from that month, in batches of their `person_ref` with
the place reached kept in `policy_effects`, so a job stopped half-way (a crash, a restart)
goes on from there. Decisions that come out the same record nothing.
"""

from __future__ import annotations

from dcert_shared.envelope import CommandContext
from dcert_shared.uow import EventSourcing, UnitOfWork

from ..adapters import queries, writes
from ..adapters.queries import PendingRuleEffect
from ..domain.calendar import significant_digits
from ..domain.holding import Holding
from ..domain.policies import Catalogue


async def apply_policy_effects(
    es: EventSourcing, catalogue: Catalogue, context: CommandContext, batch_size: int = 200
) -> dict[str, int]:
    """Apply every rule change recorded and not applied yet: {"rules": n, "holders": n}. One that
    starts later is decided now all the same, from its day on: people see the change coming and
    the runs of those months pay it."""
    due = await queries.pending_rule_effects(es.pool)
    holders = 0
    for rule in due:
        holders += await _apply_rule(es, catalogue, rule, context, batch_size)
    return {"rules": len(due), "holders": holders}


async def _apply_rule(
    es: EventSourcing,
    catalogue: Catalogue,
    rule: PendingRuleEffect,
    context: CommandContext,
    batch_size: int,
) -> int:
    reached = rule.reached
    count = 0
    while True:

        async def decide(uow: UnitOfWork, after: str = reached) -> tuple[str | None, int]:
            people = await queries.holders_after(uow.conn, significant_digits(rule.region), after, batch_size)
            for person_ref in people:
                holding = await uow.load(Holding, person_ref)
                if holding is not None:
                    holding.reconsider(catalogue, rule.effective_from)
            last = people[-1] if people else None
            await writes.record_rule_progress(
                uow.conn, rule.benefit, rule.version, rule.rule_id, last, len(people)
            )
            return last, len(people)

        last, done = await es.execute(context, decide)
        count += done
        if last is None:
            return count
        reached = last
