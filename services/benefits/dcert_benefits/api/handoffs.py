"""跨省转移 of benefits: the handoffs of a region with their deadlines, and the notice step."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from dcert_shared.access_log import Reads
from dcert_shared.api import Pool, principal_context
from dcert_shared.ids import mask_numbers

from ..adapters import queries
from ..adapters.read_models import HandoffView
from ..application.handoffs import complete_handoff_step
from ..domain.calendar import significant_digits
from ..domain.errors import HandoffNotFound
from .access import record_shown
from .dependencies import Commands, Staff
from .policy import require_handoff_notifier, shows_numbers, staff_region

router = APIRouter(prefix="/v1", tags=["handoffs"])


class HandoffPublic(BaseModel):
    id: str
    certificate_number: str
    from_region: str
    to_region: str
    opened_on: date
    pass_on_by: date = Field(description="passed on by the old region: 3 working days")
    decide_by: date = Field(description="decided by the new region: 10 working days more")
    notify_by: date = Field(description="the person told: 3 working days more")
    passed_on_on: date | None
    decided_on: date | None
    notified_on: date | None
    late_steps: list[str] = Field(description="steps done after their deadline")
    overdue_steps: list[str] = Field(description="steps not done and past their deadline")


class HandoffList(BaseModel):
    items: list[HandoffPublic]


def _public(handoff: HandoffView, today: date, numbers_shown: bool = True) -> HandoffPublic:
    row = handoff.model_dump()
    if not numbers_shown:
        row["certificate_number"] = mask_numbers(handoff.certificate_number)
    overdue = [
        step
        for step, due in (("passed_on", "pass_on_by"), ("decided", "decide_by"), ("notified", "notify_by"))
        if row[f"{step}_on"] is None and row[due] < today
    ]
    return HandoffPublic(id=row["handoff_id"], overdue_steps=overdue, **row)


@router.get("/handoffs", response_model=HandoffList)
async def list_handoffs(
    principal: Staff,
    db: Pool,
    reads: Reads,
    service: Commands,
    region: Annotated[str | None, Query(pattern=r"^[0-9]{6}$")] = None,
    overdue: bool = False,
) -> HandoffList:
    """Handoffs leaving or reaching a region, the late and overdue ones first."""
    area = staff_region(principal, region)
    today = service.today()
    handoffs = await queries.handoffs_in(db, None if area is None else significant_digits(area))
    items = [_public(handoff, today, shows_numbers(principal)) for handoff in handoffs]
    if overdue:
        items = [item for item in items if item.overdue_steps or item.late_steps]
    items.sort(key=lambda item: not (item.overdue_steps or item.late_steps))
    await record_shown(
        reads,
        db,
        "benefit_transfer",
        [(handoff.person_ref, handoff.handoff_id) for handoff in handoffs],
        (item.id for item in items),
        "transfer",
    )
    return HandoffList(items=items)


@router.post("/handoffs/{handoff_id}/notified", response_model=HandoffPublic)
async def handoff_notified(handoff_id: str, principal: Staff, db: Pool, service: Commands) -> HandoffPublic:
    """The new region told the person of its decisions: the handoff's last step."""
    handoff = require_handoff_notifier(principal, await queries.handoff(db, handoff_id))
    await complete_handoff_step(
        service.runtime.es,
        principal_context(principal),
        handoff.person_ref,
        handoff_id,
        "notified",
        service.today(),
    )
    updated = await queries.handoff(db, handoff_id)
    if updated is None:  # a handoff is never removed
        raise HandoffNotFound()
    return _public(updated, service.today())
