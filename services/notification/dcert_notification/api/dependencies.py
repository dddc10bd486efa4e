"""Every FastAPI dependency of the notification service's routers: who calls (and, for a person,
the keyed hash their contact and notices are filed under), and what of the app a route works
with: its commands, its vault, its settings, its pool."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dcert_shared.api import IdempotencyKey, Pool
from dcert_shared.auth import CurrentPrincipal, Principal, require_role
from dcert_shared.ids import keyed_hash
from dcert_shared.vault import Vault

from ..application.commands import NotificationCommands
from ..settings import NotificationSettings

__all__ = [
    "Admin",
    "Applicant",
    "Commands",
    "CurrentPrincipal",
    "IdempotencyKey",
    "MyPersonRef",
    "Pool",
    "Settings",
    "AppVault",
]

Applicant = Annotated[Principal, Depends(require_role("applicant"))]
Admin = Annotated[Principal, Depends(require_role("admin"))]


def _commands(request: Request) -> NotificationCommands:
    commands: NotificationCommands = request.app.state.commands
    return commands


def _settings(request: Request) -> NotificationSettings:
    settings: NotificationSettings = request.app.state.settings
    return settings


def _vault(request: Request) -> Vault:
    vault: Vault = request.app.state.runtime.vault
    return vault


Commands = Annotated[NotificationCommands, Depends(_commands)]
Settings = Annotated[NotificationSettings, Depends(_settings)]
AppVault = Annotated[Vault, Depends(_vault)]


def _my_person_ref(principal: Applicant, settings: Settings) -> str:
    """The keyed hash the signed-in person's contact and notices are filed under."""
    assert principal.id_number is not None  # an applicant's token always carries it
    return keyed_hash(settings.identity_hash_key_bytes, principal.id_number.upper())


MyPersonRef = Annotated[str, Depends(_my_person_ref)]
