"""Jobs an operator may start now instead of waiting for their worker."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from dcert_shared.api import principal_context
from dcert_shared.auth import Principal, require_role

from ..application.commands import BenefitsCommands
from ..application.policy_effects import apply_policy_effects

router = APIRouter(prefix="/v1", tags=["jobs"])
Admin = Annotated[Principal, Depends(require_role("admin"))]


@router.post("/jobs/policy-effects")
async def policy_effects(principal: Admin, request: Request) -> dict[str, int]:
    """Apply the policy rules that have taken effect: their holders' benefits decided again."""
    service: BenefitsCommands = request.app.state.commands
    return await apply_policy_effects(
        service.runtime, service.catalogue, service.today(), principal_context(principal)
    )
