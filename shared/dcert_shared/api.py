"""The HTTP edge every service shares: the pool, vault and app-state dependencies, the admin
role, Idempotency-Key, command contexts, and the OpenAPI form of the identifiers every service
checks.

Each service's routers import these instead of defining their own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Final, TypeVar

import asyncpg
from fastapi import Depends, Header, Request, Response
from pydantic import AwareDatetime, BaseModel, BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from .auth import Principal, require_role
from .envelope import Actor, CommandContext
from .ids import IDENTITY_NUMBER_JSON_SCHEMA, REGION_CODE_JSON_SCHEMA
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
# PostgreSQL's bigint: a larger number in a parameter is refused (422), never sent to the database.
BIGINT_MAX: Final = 2**63 - 1


# The rules of ids.RegionCode and ids.IdentityNumber as the OpenAPI documents state them; the
# validators stay the services' own (their codes: region_province, id_check_digit, ...).
RegionCodeSchema = WithJsonSchema(REGION_CODE_JSON_SCHEMA)
IdentityNumberSchema = WithJsonSchema(IDENTITY_NUMBER_JSON_SCHEMA)
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


def _is_number(value: Any) -> bool:
    if isinstance(value, (int, float)):
        return True
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _written(kind: str, message: str) -> Any:
    def refuse_numbers(value: Any) -> Any:
        """pydantic reads a number (also 1e3 in a string) as a Unix time; the documents say
        RFC 3339 (format date, date-time)."""
        if _is_number(value):
            raise PydanticCustomError(kind, message)
        return value

    return BeforeValidator(refuse_numbers)


# A date or a time a caller sends, written as the OpenAPI document says: never a number.
IsoDate = Annotated[date, _written("date_parsing", "Input should be a valid date in the format YYYY-MM-DD")]
IsoDateTime = Annotated[datetime, _written("datetime_parsing", "Input should be a valid datetime")]
IsoAwareDateTime = Annotated[AwareDatetime, _written("datetime_parsing", "Input should be a valid datetime")]


# What pydantic's `str_strip_whitespace` strips (Unicode White_Space), as a JSON Schema class.
_WHITE_SPACE: Final = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# A string that holds something besides white space (and, as every string, no NUL: hardening).
CONTENT_PATTERN: Final = f"^[^\\u0000]*[^{_WHITE_SPACE}\\u0000][^\\u0000]*$"


def stripped_text_needs_content(schema: dict[str, Any]) -> None:
    """`json_schema_extra` of a model that strips white space: a string with a minimum length
    must hold more than white space, which the length alone does not say."""
    for field in schema.get("properties", {}).values():
        for option in [field, *field.get("anyOf", [])]:
            if option.get("type") == "string" and option.get("minLength", 0) > 0 and "pattern" not in option:
                option["pattern"] = CONTENT_PATTERN
