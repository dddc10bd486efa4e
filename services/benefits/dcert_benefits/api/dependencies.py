"""Every FastAPI dependency the benefits routers take, in one place: who the caller must be,
and the service's objects the app keeps in `app.state` (bootstrap.py). The database pool, the
signed-in principal and the access log are the shared ones (dcert_shared.api, .auth,
.access_log)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from dcert_shared.api import Admin, from_app_state
from dcert_shared.auth import Principal, require_role

from ..application.commands import BenefitsCommands
from ..application.policy_versions import PolicyVersions
from ..application.runs import MonthlyRuns
from .policy import BenefitsPolicy

__all__ = ["Admin", "Commands", "Policy", "Runs", "Staff", "Versions"]

Staff = Annotated[Principal, Depends(require_role("reviewer", "admin"))]
Commands = Annotated[BenefitsCommands, Depends(from_app_state("commands", BenefitsCommands))]
Versions = Annotated[PolicyVersions, Depends(from_app_state("policy_versions", PolicyVersions))]
Runs = Annotated[MonthlyRuns, Depends(from_app_state("runs", MonthlyRuns))]


def benefits_policy(service: Commands) -> BenefitsPolicy:
    """The access rules, given how this service makes an identity number a keyed hash."""
    return BenefitsPolicy(service.person_ref)


Policy = Annotated[BenefitsPolicy, Depends(benefits_policy)]
