"""Every FastAPI dependency of the assessment service's routers: who calls, and what a route
works with (the commands, the policy, the pool, the vault). Routers import them from here only."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dcert_shared.access_log import Reads
from dcert_shared.api import Admin, IdempotencyKey, PersonalDataVault, Pool, from_app_state
from dcert_shared.auth import CurrentPrincipal, Principal, require_role
from dcert_shared.ids import keyed_hash

from ..application.commands import AssessmentCommands
from .policy import AssessmentPolicy

__all__ = [
    "Admin",
    "Commands",
    "CurrentPrincipal",
    "DoctorOrAdmin",
    "DoctorOrReviewer",
    "DoctorPrincipal",
    "IdempotencyKey",
    "Policy",
    "Pool",
    "Reads",
    "PersonalDataVault",
]

DoctorPrincipal = Annotated[Principal, Depends(require_role("doctor"))]
DoctorOrAdmin = Annotated[Principal, Depends(require_role("doctor", "admin"))]
DoctorOrReviewer = Annotated[Principal, Depends(require_role("doctor", "reviewer"))]
Commands = Annotated[AssessmentCommands, Depends(from_app_state("commands", AssessmentCommands))]


def assessment_policy(request: Request) -> AssessmentPolicy:
    key: bytes = request.app.state.runtime.settings.identity_hash_key_bytes
    return AssessmentPolicy(lambda id_number: keyed_hash(key, id_number))


Policy = Annotated[AssessmentPolicy, Depends(assessment_policy)]
