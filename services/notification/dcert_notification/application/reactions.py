"""Reactions to other services' published events: queue one delivery per matching subscription."""

from __future__ import annotations

import hashlib

from dcert_shared.consumer import Subscription as EventSubscription
from dcert_shared.envelope import EventEnvelope
from dcert_shared.regions import covers
from dcert_shared.uow import UnitOfWork

from ..adapters import queries
from ..adapters.deliveries import NewDelivery, enqueue, remember_region
from ..domain.catalogue import SOURCE_CONTEXTS
from ..domain.delivery import order_key, partner_event, webhook_body, webhook_id


async def queue_deliveries(uow: UnitOfWork, envelope: EventEnvelope) -> None:
    """Every subscription to this event type whose partner's policy grants it, within the
    policy's jurisdiction (and within the subscription's regions, if it names any), gets one
    delivery, holding only the granted fields. Runs in the inbox's transaction: a redelivered
    event is skipped by the inbox, and the unique (subscription, event) stops any second row."""
    reaches = await queries.subscribers(uow.conn, envelope.event_type)
    region = await event_region(uow, envelope)
    key = order_key(envelope)
    person = envelope.payload.get("person_ref")  # whose access log records the delivery
    queued = []
    for reach in reaches:
        if not reach.policy.covers(region) or not _within(reach.narrowed_to, region):
            continue
        queued.append(
            NewDelivery(
                id=webhook_id(reach.subscription_id, envelope.event_id),
                subscription_id=reach.subscription_id,
                partner_id=reach.partner_id,
                event_id=envelope.event_id,
                event_type=envelope.event_type,
                body=webhook_body(partner_event(envelope, reach.policy)),
                order_key=key,
                policy_version=reach.policy_version,
                person_ref=person if isinstance(person, str) else None,
                region=region,
            )
        )
    await enqueue(uow.conn, queued)


def _within(regions: tuple[str, ...], region: str | None) -> bool:
    """A subscription's own narrowing: none names the policy's whole jurisdiction."""
    return not regions or (region is not None and any(covers(area, region) for area in regions))


REGION_FIELDS = ("household_region", "region", "to_region")


async def event_region(uow: UnitOfWork, envelope: EventEnvelope) -> str | None:
    """The household region an event is about: named in it, or remembered from an earlier event
    of the same certificate or person (a cancellation names no region). None: not known, and a
    subscription limited to regions does not get it."""
    payload = envelope.payload
    keys = [
        _region_key(field, value)
        for field in ("certificate_number", "person_ref", "application_id")
        if isinstance(value := payload.get(field), str) and value
    ]
    named = next((value for field in REGION_FIELDS if isinstance(value := payload.get(field), str)), None)
    if named is not None:
        await remember_region(uow.conn, keys, named)
        return named
    if not keys:
        return None
    return await queries.remembered_region(uow.conn, keys)


def _region_key(field: str, value: str) -> str:
    """Certificate numbers hold identity numbers: the table keeps only a hash of them."""
    return hashlib.sha256(f"{field}:{value}".encode()).hexdigest()


def subscriptions() -> list[EventSubscription]:
    """One durable consumer per context whose events partners may receive, taking all of them."""
    return [
        EventSubscription(f"partner-deliveries-{context}", context, [">"], queue_deliveries)
        for context in SOURCE_CONTEXTS
    ]
