"""The HTTP edge every service shares: the pool dependency, Idempotency-Key, command contexts.

Each service's routers import these instead of defining their own.
"""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Header, Request, Response
from pydantic import BaseModel

from .auth import Principal
from .envelope import Actor, CommandContext
from .telemetry import command_context
from .uow import Idempotency


def runtime_pool(request: Request) -> asyncpg.Pool:
    return request.app.state.runtime.pool


Pool = Annotated[asyncpg.Pool, Depends(runtime_pool)]
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
