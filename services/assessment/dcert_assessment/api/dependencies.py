"""Every FastAPI dependency of the assessment service's routers: who calls, and what a route
works with (the commands, the policy, the pool, the vault). Routers import them from here only."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dcert_shared.access_log import Reads
from dcert_shared.api import IdempotencyKey, Pool
from dcert_shared.auth import CurrentPrincipal, Principal, require_role
from dcert_shared.ids import keyed_hash
from dcert_shared.vault import Vault

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
    "RecordVault",
]

Admin = Annotated[Principal, Depends(require_role("admin"))]
DoctorPrincipal = Annotated[Principal, Depends(require_role("doctor"))]
DoctorOrAdmin = Annotated[Principal, Depends(require_role("doctor", "admin"))]
DoctorOrReviewer = Annotated[Principal, Depends(require_role("doctor", "reviewer"))]


def assessment_commands(request: Request) -> AssessmentCommands:
    commands: AssessmentCommands = request.app.state.commands
    return commands


def assessment_policy(request: Request) -> AssessmentPolicy:
    key: bytes = request.app.state.runtime.settings.identity_hash_key_bytes
    return AssessmentPolicy(lambda id_number: keyed_hash(key, id_number))


def record_vault(request: Request) -> Vault:
    """Opens findings and measurements sealed with the person's data key."""
    vault: Vault = request.app.state.runtime.vault
    return vault


Commands = Annotated[AssessmentCommands, Depends(assessment_commands)]
Policy = Annotated[AssessmentPolicy, Depends(assessment_policy)]
RecordVault = Annotated[Vault, Depends(record_vault)]
