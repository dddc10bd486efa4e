"""HTTP routes of the notification service (API.md): partners, subscriptions, deliveries."""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Query, Request, Response

from dcert_shared.api import IdempotencyKey, Pool, idempotency, mark_replayed, principal_context
from dcert_shared.auth import CurrentPrincipal, Principal
from dcert_shared.problems import Forbidden

from ..adapters import deliveries
from ..application.commands import NewPartner, NewSubscription, NotificationCommands
from ..domain.errors import PartnerNotFound, PartnerNotRegistered
from .schemas import (
    DeliveryList,
    DeliveryPublic,
    DeliveryStatusName,
    PartnerCreate,
    PartnerList,
    PartnerPublic,
    PolicyPublic,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionList,
    SubscriptionPublic,
)

router = APIRouter(prefix="/v1")


def commands(request: Request) -> NotificationCommands:
    return request.app.state.commands  # type: ignore[no-any-return]


Commands = Annotated[NotificationCommands, Depends(commands)]


def _admin(principal: Principal) -> None:
    if principal.role != "admin":
        raise Forbidden()


def _partner_id(principal: Principal) -> str:
    if principal.role != "partner":
        raise Forbidden()
    if not principal.partner_id:
        raise PartnerNotRegistered()
    return principal.partner_id


def _partner(row: asyncpg.Record) -> PartnerPublic:
    policy = PolicyPublic(event_types=row["event_types"], fields=row["fields"], facts=row["facts"])
    return PartnerPublic(id=row["id"], name=row["name"], policy=policy)


@router.post("/partners", status_code=201, response_model=PartnerPublic, tags=["partners"])
async def register_partner(
    body: PartnerCreate,
    principal: CurrentPrincipal,
    service: Commands,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """合作单位: an admin registers a partner agency and its data-sharing policy."""
    _admin(principal)
    policy = body.policy
    created, replayed = await service.register_partner(
        principal_context(principal),
        idempotency(principal, idempotency_key, body),
        NewPartner(body.name, list(policy.event_types), list(policy.fields), list(policy.facts)),
    )
    mark_replayed(response, replayed)
    return created


@router.get("/partners", response_model=PartnerList, tags=["partners"])
async def list_partners(principal: CurrentPrincipal, db: Pool) -> PartnerList:
    _admin(principal)
    rows = await db.fetch("SELECT * FROM partner_view ORDER BY registered_at, id")
    return PartnerList(items=[_partner(row) for row in rows])


@router.get("/partners/me/policy", response_model=PolicyPublic, tags=["partners"])
async def my_policy(principal: CurrentPrincipal, db: Pool) -> PolicyPublic:
    """A partner's own data-sharing policy: what it receives and which facts it may report."""
    row = await db.fetchrow("SELECT * FROM partner_view WHERE id = $1", _partner_id(principal))
    if row is None:
        raise PartnerNotFound()
    return _partner(row).policy


@router.get("/partners/{partner_id}", response_model=PartnerPublic, tags=["partners"])
async def get_partner(partner_id: str, principal: CurrentPrincipal, db: Pool) -> PartnerPublic:
    _admin(principal)
    row = await db.fetchrow("SELECT * FROM partner_view WHERE id = $1", partner_id)
    if row is None:
        raise PartnerNotFound()
    return _partner(row)


@router.post("/subscriptions", status_code=201, response_model=SubscriptionCreated, tags=["subscriptions"])
async def create_subscription(
    body: SubscriptionCreate,
    principal: CurrentPrincipal,
    service: Commands,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """A partner subscribes a webhook to event types its policy grants; the answer holds the
    signing secret (Standard Webhooks), shown this once."""
    partner_id = _partner_id(principal)
    created, replayed = await service.create_subscription(
        principal_context(principal),
        idempotency(principal, idempotency_key, body),
        NewSubscription(partner_id, body.url, list(body.event_types)),
    )
    mark_replayed(response, replayed)
    return created


@router.get("/subscriptions", response_model=SubscriptionList, tags=["subscriptions"])
async def list_subscriptions(principal: CurrentPrincipal, db: Pool) -> SubscriptionList:
    """A partner's own subscriptions."""
    rows = await db.fetch(
        "SELECT id, url, event_types, created_at FROM subscription_view WHERE partner_id = $1"
        " ORDER BY created_at, id",
        _partner_id(principal),
    )
    return SubscriptionList(items=[SubscriptionPublic(**dict(row)) for row in rows])


@router.get("/deliveries", response_model=DeliveryList, tags=["deliveries"])
async def list_deliveries(
    principal: CurrentPrincipal,
    db: Pool,
    status: DeliveryStatusName | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> DeliveryList:
    """The delivery log, newest first: an admin sees all, a partner its own (dead ones included)."""
    partner_id = None if principal.role == "admin" else _partner_id(principal)
    rows = await deliveries.listed(db, partner_id, status, limit)
    return DeliveryList(items=[DeliveryPublic(**dict(row)) for row in rows])
