"""Jobs an operator may start now instead of waiting for their worker."""

from __future__ import annotations

from fastapi import APIRouter, Request

from dcert_shared.api import principal_context

from ..application.policy_versions import PolicyVersions
from .policy import Admin

router = APIRouter(prefix="/v1", tags=["jobs"])


@router.post("/jobs/policy-effects")
async def policy_effects(principal: Admin, request: Request) -> dict[str, int]:
    """Take up policy versions other replicas recorded, and apply the rule changes not applied yet:
    their holders' benefits decided again from the day each takes effect."""
    versions: PolicyVersions = request.app.state.policy_versions
    return await versions.keep_current(principal_context(principal))
