"""跨省转移 of benefits: the handoffs of a region with their deadlines, and the notice step."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from dcert_shared.access_log import Reads
from dcert_shared.api import Pool, principal_context
from dcert_shared.ids import mask_numbers

from ..application.commands import BenefitsCommands
from ..application.handoffs import complete_handoff_step
from ..domain.calendar import significant_digits
from .access import record_shown
from .policy import Staff, require_handoff_notifier, shows_numbers, staff_region

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


def _public(row: dict[str, Any], today: date, numbers_shown: bool = True) -> HandoffPublic:
    if not numbers_shown:
        row = {**row, "certificate_number": mask_numbers(row["certificate_number"])}
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
    request: Request,
    region: Annotated[str | None, Query(pattern=r"^[0-9]{6}$")] = None,
    overdue: bool = False,
) -> HandoffList:
    """Handoffs leaving or reaching a region, the late and overdue ones first."""
    area = staff_region(principal, region)
    service: BenefitsCommands = request.app.state.commands
    today = service.today()
    rows = await db.fetch(
        # A national admin's area has no significant digits: every region.
        "SELECT * FROM handoff_view WHERE $1::text IS NULL"
        " OR from_region LIKE $1 || '%' OR to_region LIKE $1 || '%' ORDER BY opened_on DESC, handoff_id",
        None if area is None else significant_digits(area),
    )
    items = [_public(dict(row), today, shows_numbers(principal)) for row in rows]
    if overdue:
        items = [item for item in items if item.overdue_steps or item.late_steps]
    items.sort(key=lambda item: not (item.overdue_steps or item.late_steps))
    await record_shown(
        reads, db, "benefit_transfer", rows, "handoff_id", (item.id for item in items), "transfer"
    )
    return HandoffList(items=items)


@router.post("/handoffs/{handoff_id}/notified", response_model=HandoffPublic)
async def handoff_notified(handoff_id: str, principal: Staff, db: Pool, request: Request) -> HandoffPublic:
    """The new region told the person of its decisions: the handoff's last step."""
    row = require_handoff_notifier(
        principal, await db.fetchrow("SELECT * FROM handoff_view WHERE handoff_id = $1", handoff_id)
    )
    service: BenefitsCommands = request.app.state.commands
    await complete_handoff_step(
        service.runtime.es,
        principal_context(principal),
        row["person_ref"],
        handoff_id,
        "notified",
        service.today(),
    )
    updated = await db.fetchrow("SELECT * FROM handoff_view WHERE handoff_id = $1", handoff_id)
    return _public(dict(updated), service.today())
