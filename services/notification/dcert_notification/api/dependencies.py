"""Every FastAPI dependency of the notification service's routers: who calls (and, for a person,
the keyed hash their contact and notices are filed under), and what of the app a route works
with: its commands, its vault, its settings, its pool."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from dcert_shared.api import Admin, IdempotencyKey, PersonalDataVault, Pool, from_app_state
from dcert_shared.auth import CurrentPrincipal, Principal, require_role
from dcert_shared.ids import keyed_hash

from ..application.commands import NotificationCommands
from ..settings import NotificationSettings

__all__ = [
    "Admin",
    "Applicant",
    "PersonalDataVault",
    "Commands",
    "CurrentPrincipal",
    "IdempotencyKey",
    "MyPersonRef",
    "Pool",
    "Settings",
]

Applicant = Annotated[Principal, Depends(require_role("applicant"))]
Commands = Annotated[NotificationCommands, Depends(from_app_state("commands", NotificationCommands))]
Settings = Annotated[NotificationSettings, Depends(from_app_state("settings", NotificationSettings))]


def _my_person_ref(principal: Applicant, settings: Settings) -> str:
    """The keyed hash the signed-in person's contact and notices are filed under."""
    assert principal.id_number is not None  # an applicant's token always carries it
    return keyed_hash(settings.identity_hash_key_bytes, principal.id_number.upper())


MyPersonRef = Annotated[str, Depends(_my_person_ref)]
