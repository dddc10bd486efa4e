"""The steps of a cross-province benefit handoff that people complete."""

from __future__ import annotations

from datetime import date

from dcert_shared.envelope import CommandContext
from dcert_shared.uow import EventSourcing, UnitOfWork

from ..domain.errors import HandoffNotFound
from ..domain.holding import Holding


async def complete_handoff_step(
    es: EventSourcing, context: CommandContext, person_ref: str, handoff_id: str, step: str, on: date
) -> bool:
    """Record the step once; False when it was already done."""

    async def decide(uow: UnitOfWork) -> bool:
        holding = await uow.load(Holding, person_ref)
        if holding is None or handoff_id not in holding.handoffs:
            raise HandoffNotFound()
        return holding.complete_handoff_step(handoff_id, step, on)

    return await es.execute(context, decide)
