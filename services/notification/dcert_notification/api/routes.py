"""HTTP routes of the notification service (docs/api.md): partners, subscriptions, deliveries."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Query, Request, Response

from dcert_shared.api import IdempotencyKey, IsoDateTime, Pool, idempotency, mark_replayed, principal_context
from dcert_shared.auth import CurrentPrincipal

from ..adapters import deliveries
from ..adapters.deliveries import DeliveryFilter
from ..application.commands import NewPartner, NewSubscription, NotificationCommands
from ..domain.errors import PartnerNotFound, ReplayTooBroad
from ..domain.partner import DataSharingPolicy, Onboarding
from .policy import delivery_reader, require_admin, require_own_subscription, require_partner
from .schemas import (
    DeliveryList,
    DeliveryPublic,
    DeliveryStatusName,
    PartnerCreate,
    PartnerList,
    PartnerPublic,
    PartnerReplayRequest,
    PolicyChange,
    PolicyPublic,
    PolicyVersionList,
    PolicyVersionPublic,
    Replayed,
    ReplayRequest,
    SecretRotated,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionList,
    SubscriptionPublic,
)

router = APIRouter(prefix="/v1")


def commands(request: Request) -> NotificationCommands:
    return request.app.state.commands  # type: ignore[no-any-return]


Commands = Annotated[NotificationCommands, Depends(commands)]


def _policy(row: asyncpg.Record) -> PolicyPublic:
    return PolicyPublic(
        event_types=row["event_types"],
        fields=row["fields"],
        facts=row["facts"],
        regions=row["regions"],
        version=row["policy_version"],
        legal_basis=row["legal_basis"],
        purpose=row["purpose"],
    )


def _partner(row: asyncpg.Record) -> PartnerPublic:
    return PartnerPublic(id=row["id"], name=row["name"], policy=_policy(row))


@router.post("/partners", status_code=201, response_model=PartnerPublic, tags=["partners"])
async def register_partner(
    body: PartnerCreate,
    principal: CurrentPrincipal,
    service: Commands,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """合作单位: an admin registers a partner agency and its data-sharing policy."""
    require_admin(principal)
    policy = body.policy
    created, replayed = await service.register_partner(
        principal_context(principal),
        idempotency(principal, idempotency_key, body),
        NewPartner(
            body.name,
            list(policy.event_types),
            list(policy.fields),
            list(policy.facts),
            Onboarding(
                body.legal_basis,
                body.purpose,
                tuple(contact.model_dump(exclude_none=True) for contact in body.contacts),
            ),
            policy.regions,
        ),
    )
    mark_replayed(response, replayed)
    return created


@router.get("/partners", response_model=PartnerList, tags=["partners"])
async def list_partners(principal: CurrentPrincipal, db: Pool) -> PartnerList:
    require_admin(principal)
    rows = await db.fetch("SELECT * FROM partner_view ORDER BY registered_at, id")
    return PartnerList(items=[_partner(row) for row in rows])


@router.get("/partners/me/policy", response_model=PolicyPublic, tags=["partners"])
async def my_policy(principal: CurrentPrincipal, db: Pool) -> PolicyPublic:
    """A partner's own data-sharing policy: what it receives and which facts it may report."""
    row = await db.fetchrow("SELECT * FROM partner_view WHERE id = $1", require_partner(principal))
    if row is None:
        raise PartnerNotFound()
    return _partner(row).policy


@router.put("/partners/{partner_id}/policy", response_model=PartnerPublic, tags=["partners"])
async def change_policy(
    partner_id: str, body: PolicyChange, principal: CurrentPrincipal, service: Commands, db: Pool
) -> PartnerPublic:
    """A new version of a partner's data-sharing policy. It governs every delivery not made yet,
    those already queued included: a field taken away is never sent after the change."""
    require_admin(principal)
    given = body.policy
    policy = DataSharingPolicy.of(given.event_types, given.fields, given.facts, given.regions)
    await service.change_policy(
        principal_context(principal),
        partner_id,
        policy,
        body.legal_basis,
        body.purpose,
        keep_regions=given.regions is None,
    )
    row = await db.fetchrow("SELECT * FROM partner_view WHERE id = $1", partner_id)
    assert row is not None
    return _partner(row)


@router.get("/partners/{partner_id}/policy/versions", response_model=PolicyVersionList, tags=["partners"])
async def policy_versions(partner_id: str, principal: CurrentPrincipal, db: Pool) -> PolicyVersionList:
    """Every version of a partner's policy: what it was granted, on which basis, from when."""
    require_admin(principal)
    rows = await db.fetch(
        "SELECT * FROM partner_policy_version_view WHERE partner_id = $1 ORDER BY policy_version", partner_id
    )
    if not rows:
        raise PartnerNotFound()
    return PolicyVersionList(
        items=[
            PolicyVersionPublic(**_policy(row).model_dump(), recorded_at=row["recorded_at"]) for row in rows
        ]
    )


@router.get("/partners/{partner_id}", response_model=PartnerPublic, tags=["partners"])
async def get_partner(partner_id: str, principal: CurrentPrincipal, db: Pool) -> PartnerPublic:
    require_admin(principal)
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
    partner_id = require_partner(principal)
    created, replayed = await service.create_subscription(
        principal_context(principal),
        idempotency(principal, idempotency_key, body),
        NewSubscription(partner_id, body.url, list(body.event_types), list(body.regions or [])),
    )
    mark_replayed(response, replayed)
    return created


@router.get("/subscriptions", response_model=SubscriptionList, tags=["subscriptions"])
async def list_subscriptions(principal: CurrentPrincipal, db: Pool) -> SubscriptionList:
    """A partner's own subscriptions."""
    rows = await db.fetch(
        "SELECT id, url, event_types, regions, created_at FROM subscription_view WHERE partner_id = $1"
        " ORDER BY created_at, id",
        require_partner(principal),
    )
    return SubscriptionList(items=[SubscriptionPublic(**dict(row)) for row in rows])


@router.post("/subscriptions/{subscription_id}/secret", response_model=SecretRotated, tags=["subscriptions"])
async def rotate_secret(
    subscription_id: str, principal: CurrentPrincipal, service: Commands, request: Request, db: Pool
) -> dict[str, Any]:
    """A new signing secret for one of the partner's subscriptions; until `previous_valid_until`
    every delivery carries a signature by each secret, so the receiver can switch at leisure."""
    partner_id = require_partner(principal)
    require_own_subscription(partner_id, await _subscription_owner(db, subscription_id))
    overlap = timedelta(hours=request.app.state.settings.webhook_secret_overlap_hours)
    return await service.rotate_secret(principal_context(principal), partner_id, subscription_id, overlap)


async def _subscription_owner(db: asyncpg.Pool, subscription_id: str) -> str | None:
    """The partner a subscription is of; None when there is no such subscription."""
    owner: str | None = await db.fetchval(
        "SELECT partner_id FROM subscription_view WHERE id = $1", subscription_id
    )
    return owner


@router.get("/deliveries", response_model=DeliveryList, tags=["deliveries"])
async def list_deliveries(
    principal: CurrentPrincipal,
    db: Pool,
    status: DeliveryStatusName | None = None,
    subscription_id: str | None = None,
    event_type: str | None = None,
    since: IsoDateTime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> DeliveryList:
    """The delivery log, newest first: an admin sees all, a partner its own (dead ones included)."""
    partner_id = delivery_reader(principal)
    if partner_id is not None and subscription_id is not None:
        require_own_subscription(partner_id, await _subscription_owner(db, subscription_id))
    which = DeliveryFilter(
        partner_id=partner_id,
        subscription_id=subscription_id,
        event_type=event_type,
        status=status,
        since=since,
    )
    rows = await deliveries.listed(db, which, limit)
    return DeliveryList(items=[DeliveryPublic(**dict(row)) for row in rows])


@router.post("/deliveries/replay", response_model=Replayed, tags=["deliveries"])
async def replay_my_deliveries(body: PartnerReplayRequest, principal: CurrentPrincipal, db: Pool) -> Replayed:
    """A partner asks for everything queued for it since a time again (after losing data on its
    side): delivered and dead ones are sent again, in order, with their original webhook-id."""
    partner_id = require_partner(principal)
    if body.subscription_id is not None:
        require_own_subscription(partner_id, await _subscription_owner(db, body.subscription_id))
    which = DeliveryFilter(partner_id=partner_id, subscription_id=body.subscription_id, since=body.since)
    return Replayed(replayed=await deliveries.replay(db, which))


@router.get("/dead-letters", response_model=DeliveryList, tags=["dead letters"])
async def dead_letters(
    principal: CurrentPrincipal,
    db: Pool,
    partner_id: str | None = None,
    subscription_id: str | None = None,
    event_type: str | None = None,
    since: IsoDateTime | None = None,
    until: IsoDateTime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> DeliveryList:
    """死信: deliveries given up after the last try, newest first, for an operator to look into."""
    require_admin(principal)
    which = DeliveryFilter(
        partner_id=partner_id,
        subscription_id=subscription_id,
        event_type=event_type,
        status="dead",
        since=since,
        until=until,
    )
    return DeliveryList(
        items=[DeliveryPublic(**dict(row)) for row in await deliveries.listed(db, which, limit)]
    )


@router.post("/dead-letters/replay", response_model=Replayed, tags=["dead letters"])
async def replay_dead_letters(body: ReplayRequest, principal: CurrentPrincipal, db: Pool) -> Replayed:
    """Send dead deliveries again (those matching every criterion given; at least one is needed)."""
    require_admin(principal)
    if not body.model_dump(exclude_none=True):
        raise ReplayTooBroad()
    which = DeliveryFilter(
        ids=tuple(body.ids) if body.ids is not None else None,
        partner_id=body.partner_id,
        subscription_id=body.subscription_id,
        event_type=body.event_type,
        status="dead",
        since=body.since,
        until=body.until,
    )
    return Replayed(replayed=await deliveries.replay(db, which))
