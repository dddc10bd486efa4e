"""Reactions to other services' published events: queue one delivery per matching subscription."""

from __future__ import annotations

from dcert_shared.consumer import Subscription as EventSubscription
from dcert_shared.envelope import EventEnvelope
from dcert_shared.uow import UnitOfWork

from ..adapters.deliveries import NewDelivery, enqueue
from ..domain.catalogue import SOURCE_CONTEXTS
from ..domain.delivery import partner_event, webhook_body, webhook_id
from ..domain.partner import DataSharingPolicy


async def queue_deliveries(uow: UnitOfWork, envelope: EventEnvelope) -> None:
    """Every subscription to this event type whose partner's policy grants it gets one delivery,
    holding only the granted fields. Runs in the inbox's transaction: a redelivered event is
    skipped by the inbox, and the unique (subscription, event) stops any second row anyway."""
    rows = await uow.conn.fetch(
        "SELECT s.id, s.partner_id, p.event_types, p.fields, p.facts"
        " FROM subscription_view s JOIN partner_view p ON p.id = s.partner_id"
        " WHERE s.event_types ? $1 AND p.event_types ? $1 ORDER BY s.id",
        envelope.event_type,
    )
    for row in rows:
        policy = DataSharingPolicy(tuple(row["event_types"]), tuple(row["fields"]), tuple(row["facts"]))
        await enqueue(
            uow.conn,
            NewDelivery(
                id=webhook_id(row["id"], envelope.event_id),
                subscription_id=row["id"],
                partner_id=row["partner_id"],
                event_id=envelope.event_id,
                event_type=envelope.event_type,
                body=webhook_body(partner_event(envelope, policy)),
            ),
        )


def subscriptions() -> list[EventSubscription]:
    """One durable consumer per context whose events partners may receive, taking all of them."""
    return [
        EventSubscription(f"partner-deliveries-{context}", context, [">"], queue_deliveries)
        for context in SOURCE_CONTEXTS
    ]
