"""HTTP routes of the notification service (docs/api.md): partners, subscriptions, deliveries."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from dcert_shared.api import IsoDateTime, idempotency, mark_replayed, principal_context

from ..adapters import deliveries, queries
from ..adapters.deliveries import DeliveryFilter
from ..adapters.read_models import PartnerPolicyVersionView, PartnerView
from ..application.commands import NewPartner, NewSubscription
from ..domain.errors import PartnerNotFound, ReplayTooBroad
from ..domain.partner import DataSharingPolicy, Onboarding
from .dependencies import Commands, CurrentPrincipal, IdempotencyKey, Pool, Settings
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


def _policy(view: PartnerView | PartnerPolicyVersionView) -> PolicyPublic:
    return PolicyPublic(
        event_types=view.event_types,
        fields=view.fields,
        facts=view.facts,
        regions=view.regions,
        version=view.policy_version,
        legal_basis=view.legal_basis,
        purpose=view.purpose,
    )


def _partner(view: PartnerView) -> PartnerPublic:
    return PartnerPublic(id=view.id, name=view.name, policy=_policy(view))


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
    return PartnerList(items=[_partner(view) for view in await queries.partners(db)])


@router.get("/partners/me/policy", response_model=PolicyPublic, tags=["partners"])
async def my_policy(principal: CurrentPrincipal, db: Pool) -> PolicyPublic:
    """A partner's own data-sharing policy: what it receives and which facts it may report."""
    view = await queries.partner(db, require_partner(principal))
    if view is None:
        raise PartnerNotFound()
    return _policy(view)


# A partner id is a UUID: `/partners/me/policy` is the partner's own GET, never this PUT.
@router.put("/partners/{partner_id:uuid}/policy", response_model=PartnerPublic, tags=["partners"])
async def change_policy(
    partner_id: uuid.UUID, body: PolicyChange, principal: CurrentPrincipal, service: Commands, db: Pool
) -> PartnerPublic:
    """A new version of a partner's data-sharing policy. It governs every delivery not made yet,
    those already queued included: a field taken away is never sent after the change."""
    require_admin(principal)
    given = body.policy
    policy = DataSharingPolicy.of(given.event_types, given.fields, given.facts, given.regions)
    await service.change_policy(
        principal_context(principal),
        str(partner_id),
        policy,
        body.legal_basis,
        body.purpose,
        keep_regions=given.regions is None,
    )
    view = await queries.partner(db, str(partner_id))
    assert view is not None
    return _partner(view)


@router.get("/partners/{partner_id}/policy/versions", response_model=PolicyVersionList, tags=["partners"])
async def policy_versions(partner_id: str, principal: CurrentPrincipal, db: Pool) -> PolicyVersionList:
    """Every version of a partner's policy: what it was granted, on which basis, from when."""
    require_admin(principal)
    versions = await queries.policy_versions(db, partner_id)
    if not versions:
        raise PartnerNotFound()
    return PolicyVersionList(
        items=[
            PolicyVersionPublic(**_policy(view).model_dump(), recorded_at=view.recorded_at)
            for view in versions
        ]
    )


@router.get("/partners/{partner_id}", response_model=PartnerPublic, tags=["partners"])
async def get_partner(partner_id: str, principal: CurrentPrincipal, db: Pool) -> PartnerPublic:
    require_admin(principal)
    view = await queries.partner(db, partner_id)
    if view is None:
        raise PartnerNotFound()
    return _partner(view)


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
    listed = await queries.subscriptions_of(db, require_partner(principal))
    return SubscriptionList(items=[SubscriptionPublic(**asdict(subscription)) for subscription in listed])


@router.post("/subscriptions/{subscription_id}/secret", response_model=SecretRotated, tags=["subscriptions"])
async def rotate_secret(
    subscription_id: str, principal: CurrentPrincipal, service: Commands, settings: Settings, db: Pool
) -> dict[str, Any]:
    """A new signing secret for one of the partner's subscriptions; until `previous_valid_until`
    every delivery carries a signature by each secret, so the receiver can switch at leisure."""
    partner_id = require_partner(principal)
    require_own_subscription(partner_id, await queries.subscription_owner(db, subscription_id))
    overlap = timedelta(hours=settings.webhook_secret_overlap_hours)
    return await service.rotate_secret(principal_context(principal), partner_id, subscription_id, overlap)


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
        require_own_subscription(partner_id, await queries.subscription_owner(db, subscription_id))
    which = DeliveryFilter(
        partner_id=partner_id,
        subscription_id=subscription_id,
        event_type=event_type,
        status=status,
        since=since,
    )
    return DeliveryList(
        items=[DeliveryPublic(**asdict(entry)) for entry in await queries.deliveries(db, which, limit)]
    )


@router.post("/deliveries/replay", response_model=Replayed, tags=["deliveries"])
async def replay_my_deliveries(body: PartnerReplayRequest, principal: CurrentPrincipal, db: Pool) -> Replayed:
    """A partner asks for everything queued for it since a time again (after losing data on its
    side): delivered and dead ones are sent again, in order, with their original webhook-id."""
    partner_id = require_partner(principal)
    if body.subscription_id is not None:
        require_own_subscription(partner_id, await queries.subscription_owner(db, body.subscription_id))
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
        items=[DeliveryPublic(**asdict(entry)) for entry in await queries.deliveries(db, which, limit)]
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
