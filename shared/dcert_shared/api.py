"""The HTTP edge every service shares: the pool, vault and app-state dependencies, the admin
role, Idempotency-Key, command contexts.

Each service's routers import these instead of defining their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import asyncpg
from fastapi import Depends, Header, Request, Response
from pydantic import BaseModel

from .auth import Principal, require_role
from .envelope import Actor, CommandContext
from .telemetry import command_context
from .uow import Idempotency
from .vault import Vault

T = TypeVar("T")


def runtime_pool(request: Request) -> asyncpg.Pool:
    return request.app.state.runtime.pool


def runtime_vault(request: Request) -> Vault:
    """Seals and opens a person's data with their own key (crypto-shredded on erasure)."""
    vault: Vault = request.app.state.runtime.vault
    return vault


def from_app_state(attribute: str, kind: type[T]) -> Callable[[Request], T]:
    """A dependency answering the object the bootstrap keeps on `app.state` under `attribute`:
    the one way a router reaches the service's use cases."""

    def dependency(request: Request) -> T:
        value = getattr(request.app.state, attribute)
        if not isinstance(value, kind):
            raise TypeError(f"app.state.{attribute} is a {type(value).__name__}, not a {kind.__name__}")
        return value

    dependency.__name__ = attribute
    return dependency


Pool = Annotated[asyncpg.Pool, Depends(runtime_pool)]
PersonalDataVault = Annotated[Vault, Depends(runtime_vault)]
Admin = Annotated[Principal, Depends(require_role("admin"))]
IdempotencyKey = Annotated[str | None, Header(max_length=200)]


def principal_context(principal: Principal) -> CommandContext:
    """The context of a command a person runs over HTTP, carrying the request's trace."""
    return command_context(Actor(role=principal.role, subject=principal.subject))


def idempotency(principal: Principal, key: str | None, body: BaseModel | dict[str, Any]) -> Idempotency:
    """Keys are scoped to the caller: two people may use the same key for different requests."""
    request = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    return Idempotency(f"{principal.role}:{principal.subject}", key, request)


def mark_replayed(response: Response, replayed: bool) -> None:
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
