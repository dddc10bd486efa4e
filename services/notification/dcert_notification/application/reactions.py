"""Reactions to other services' published events: queue one delivery per matching subscription."""

from __future__ import annotations

import hashlib

import asyncpg

from dcert_shared.consumer import Subscription as EventSubscription
from dcert_shared.envelope import EventEnvelope
from dcert_shared.regions import covers
from dcert_shared.uow import UnitOfWork

from ..adapters.deliveries import NewDelivery, enqueue
from ..domain.catalogue import SOURCE_CONTEXTS
from ..domain.delivery import order_key, partner_event, webhook_body, webhook_id
from ..domain.partner import DataSharingPolicy


async def queue_deliveries(uow: UnitOfWork, envelope: EventEnvelope) -> None:
    """Every subscription to this event type whose partner's policy grants it, within the
    policy's jurisdiction (and within the subscription's regions, if it names any), gets one
    delivery, holding only the granted fields. Runs in the inbox's transaction: a redelivered
    event is skipped by the inbox, and the unique (subscription, event) stops any second row."""
    rows = await uow.conn.fetch(
        "SELECT s.id, s.partner_id, s.regions AS narrowed_to, p.event_types, p.fields, p.facts, p.regions,"
        " p.policy_version FROM subscription_view s JOIN partner_view p ON p.id = s.partner_id"
        " WHERE s.event_types ? $1 AND p.event_types ? $1 ORDER BY s.id",
        envelope.event_type,
    )
    region = await event_region(uow.conn, envelope)
    key = order_key(envelope)
    person = envelope.payload.get("person_ref")  # whose access log records the delivery
    queued = []
    for row in rows:
        policy = DataSharingPolicy(
            tuple(row["event_types"]), tuple(row["fields"]), tuple(row["facts"]), tuple(row["regions"])
        )
        if not policy.covers(region) or not _within(row["narrowed_to"], region):
            continue
        queued.append(
            NewDelivery(
                id=webhook_id(row["id"], envelope.event_id),
                subscription_id=row["id"],
                partner_id=row["partner_id"],
                event_id=envelope.event_id,
                event_type=envelope.event_type,
                body=webhook_body(partner_event(envelope, policy)),
                order_key=key,
                policy_version=row["policy_version"],
                person_ref=person if isinstance(person, str) else None,
                region=region,
            )
        )
    await enqueue(uow.conn, queued)


def _within(regions: list[str], region: str | None) -> bool:
    """A subscription's own narrowing: none names the policy's whole jurisdiction."""
    return not regions or (region is not None and any(covers(area, region) for area in regions))


REGION_FIELDS = ("household_region", "region", "to_region")


async def event_region(conn: asyncpg.Connection, envelope: EventEnvelope) -> str | None:
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
        await conn.executemany(
            "INSERT INTO event_regions (key, region) VALUES ($1, $2)"
            " ON CONFLICT (key) DO UPDATE SET region = EXCLUDED.region",
            [(key, named) for key in keys],
        )
        return named
    if not keys:
        return None
    found: str | None = await conn.fetchval(
        "SELECT region FROM event_regions WHERE key = ANY($1::text[]) LIMIT 1", keys
    )
    return found


def _region_key(field: str, value: str) -> str:
    """Certificate numbers hold identity numbers: the table keeps only a hash of them."""
    return hashlib.sha256(f"{field}:{value}".encode()).hexdigest()


def subscriptions() -> list[EventSubscription]:
    """One durable consumer per context whose events partners may receive, taking all of them."""
    return [
        EventSubscription(f"partner-deliveries-{context}", context, [">"], queue_deliveries)
        for context in SOURCE_CONTEXTS
    ]
