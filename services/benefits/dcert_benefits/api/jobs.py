"""Jobs an operator may start now instead of waiting for their worker."""

from __future__ import annotations

from fastapi import APIRouter

from dcert_shared.api import principal_context

from .dependencies import Admin, Versions

router = APIRouter(prefix="/v1", tags=["jobs"])


@router.post("/jobs/policy-effects")
async def policy_effects(principal: Admin, versions: Versions) -> dict[str, int]:
    """Take up policy versions other replicas recorded, and apply the rule changes not applied yet:
    their holders' benefits decided again from the day each takes effect."""
    return await versions.keep_current(principal_context(principal))
