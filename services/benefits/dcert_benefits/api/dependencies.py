"""Every FastAPI dependency the benefits routers take, in one place: who the caller must be,
and the service's objects the app keeps in `app.state` (bootstrap.py). The database pool, the
signed-in principal and the access log are the shared ones (dcert_shared.api, .auth,
.access_log)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dcert_shared.auth import Principal, require_role

from ..application.commands import BenefitsCommands
from ..application.policy_versions import PolicyVersions
from ..application.runs import MonthlyRuns
from .policy import BenefitsPolicy

Admin = Annotated[Principal, Depends(require_role("admin"))]
Staff = Annotated[Principal, Depends(require_role("reviewer", "admin"))]


def commands(request: Request) -> BenefitsCommands:
    service: BenefitsCommands = request.app.state.commands
    return service


Commands = Annotated[BenefitsCommands, Depends(commands)]


def policy_versions(request: Request) -> PolicyVersions:
    versions: PolicyVersions = request.app.state.policy_versions
    return versions


Versions = Annotated[PolicyVersions, Depends(policy_versions)]


def monthly_runs(request: Request) -> MonthlyRuns:
    runs: MonthlyRuns = request.app.state.runs
    return runs


Runs = Annotated[MonthlyRuns, Depends(monthly_runs)]


def benefits_policy(service: Commands) -> BenefitsPolicy:
    """The access rules, given how this service makes an identity number a keyed hash."""
    return BenefitsPolicy(service.person_ref)


Policy = Annotated[BenefitsPolicy, Depends(benefits_policy)]
