"""Durable, idempotent JetStream consumers with bounded redelivery and a dead-letter path.

A handler's effects and the id of the event it handled are committed in one transaction (the
inbox), and the message is acknowledged only after that commit. A redelivered event therefore
has no second effect. A failing event is redelivered with growing delays; after the last try it
is kept in `dead_letters` (and published on the service's dead-letter subject) where an
operator can read it and replay it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from opentelemetry import metrics, trace

from .broker import Naming
from .envelope import Actor, EventEnvelope
from .telemetry import command_context, context_from_headers, tracer
from .uow import EventSourcing, UnitOfWork

log = logging.getLogger(__name__)

Handler = Callable[[UnitOfWork, EventEnvelope], Awaitable[None]]

SCHEMA: list[str] = [
    """
    CREATE TABLE IF NOT EXISTS inbox (
        consumer text NOT NULL,
        event_id uuid NOT NULL,
        handled_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer, event_id)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS dead_letters (
        id bigserial PRIMARY KEY,
        consumer text NOT NULL,
        event_id uuid,
        event_type text,
        subject text NOT NULL,
        message jsonb,
        error text NOT NULL,
        deliveries integer NOT NULL,
        failed_at timestamptz NOT NULL DEFAULT now(),
        replayed_at timestamptz
    )
    """,
    "CREATE INDEX IF NOT EXISTS dead_letters_open ON dead_letters (consumer) WHERE replayed_at IS NULL",
]

_meter = metrics.get_meter("dcert")
_handled = _meter.create_counter("dcert.consumer.handled", description="Events handled")
_duplicates = _meter.create_counter("dcert.consumer.duplicates", description="Redelivered events skipped")
_redeliveries = _meter.create_counter("dcert.consumer.redeliveries", description="Events sent back for retry")
_dead_letters = _meter.create_counter("dcert.consumer.dead_letters", description="Events dead-lettered")
_pending = _meter.create_histogram("dcert.consumer.lag", description="Messages pending after this one")


@dataclass(frozen=True)
class Subscription:
    """What a service reacts to: some event types of another context, and the handler."""

    name: str
    source_context: str
    event_types: Sequence[str]
    handler: Handler


@dataclass(frozen=True)
class RedeliveryPolicy:
    """Delays between tries of a failing event; after `max_deliver` tries it is dead-lettered."""

    max_deliver: int = 6
    retry_delays_seconds: tuple[float, ...] = (1, 5, 30, 120, 600)
    ack_wait_seconds: float = 60

    def delay_after(self, deliveries: int) -> float:
        return self.retry_delays_seconds[min(deliveries, len(self.retry_delays_seconds)) - 1]


class EventConsumer:
    """One durable pull consumer feeding one handler."""

    def __init__(
        self,
        es: EventSourcing,
        js: JetStreamContext,
        naming: Naming,
        service: str,
        subscription: Subscription,
        policy: RedeliveryPolicy = RedeliveryPolicy(),
        batch_size: int = 20,
    ) -> None:
        self.es = es
        self.js = js
        self.naming = naming
        self.service = service
        self.subscription = subscription
        self.policy = policy
        self.batch_size = batch_size
        self.durable = naming.durable(service, subscription.name)
        self.stream = naming.event_stream(subscription.source_context)
        self.ready = asyncio.Event()

    def config(self) -> ConsumerConfig:
        subjects = [
            self.naming.event_subject(self.subscription.source_context, event_type)
            for event_type in self.subscription.event_types
        ]
        return ConsumerConfig(
            durable_name=self.durable,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.policy.ack_wait_seconds,
            max_deliver=self.policy.max_deliver,
            max_ack_pending=1000,
            filter_subjects=subjects,
        )

    async def _bind(self, stopping: asyncio.Event) -> Any:
        """Create or update the durable consumer, waiting for the source stream to exist."""
        while not stopping.is_set():
            try:
                await self.js.add_consumer(self.stream, self.config())
                return await self.js.pull_subscribe_bind(self.durable, self.stream)
            except (NotFoundError, nats.errors.TimeoutError, nats.errors.NoRespondersError):
                log.info("waiting for stream %s", self.stream)
                await asyncio.sleep(1)
        return None

    async def run(self, stopping: asyncio.Event) -> None:
        subscription = await self._bind(stopping)
        if subscription is None:
            return
        self.ready.set()
        while not stopping.is_set():
            try:
                messages = await subscription.fetch(self.batch_size, timeout=0.5)  # short: stops promptly
            except (nats.errors.TimeoutError, TimeoutError):  # nats-py raises either when idle
                continue
            except (nats.errors.ConnectionClosedError, nats.errors.ConnectionReconnectingError, OSError) as e:
                log.warning("consumer %s waiting for NATS: %s", self.durable, type(e).__name__)
                await asyncio.sleep(1)
                continue
            for message in messages:
                await self.handle(message)  # finish the batch even when stopping: drained, not dropped
        await subscription.unsubscribe()

    async def handle(self, message: Msg) -> None:
        deliveries = message.metadata.num_delivered
        _pending.record(message.metadata.num_pending, {"consumer": self.durable})
        try:
            envelope = EventEnvelope.from_cloudevent(json.loads(message.data))
        except (ValueError, KeyError, TypeError) as error:
            await self._dead_letter(message, None, f"unreadable message: {type(error).__name__}", deliveries)
            return
        if message.subject != self.naming.event_subject(
            self.subscription.source_context, envelope.event_type
        ):
            # The subject is what the broker's permissions hold a publisher to; a type claiming
            # another subject is not believed.
            await self._dead_letter(message, envelope, "type does not match the subject", deliveries)
            return
        span_context = context_from_headers(message.headers)
        with tracer().start_as_current_span(
            f"consume {envelope.event_type}",
            context=span_context,
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.consumer.group.name": self.durable,
                "dcert.event_type": envelope.event_type,
                "dcert.event_id": str(envelope.event_id),
                "dcert.deliveries": deliveries,
            },
        ) as span:
            try:
                await self.handle_envelope(envelope)
            except Exception as error:
                span.record_exception(error, attributes={"exception.message": ""})
                span.set_status(trace.StatusCode.ERROR, type(error).__name__)
                await self._failed(message, envelope, error, deliveries)
                return
        await message.ack()

    async def handle_envelope(self, envelope: EventEnvelope) -> bool:
        """Run the handler once per event id; returns False for an event already handled."""
        context = command_context(Actor(role="service", subject=self.service)).caused_by(envelope)

        async def decide(uow: UnitOfWork) -> bool:
            first_time = await uow.conn.fetchval(
                "INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING true",
                self.durable,
                envelope.event_id,
            )
            if not first_time:
                return False
            await self.subscription.handler(uow, envelope)
            return True

        handled = await self.es.execute(context, decide)
        (_handled if handled else _duplicates).add(1, {"consumer": self.durable})
        return handled

    async def _failed(self, message: Msg, envelope: EventEnvelope, error: Exception, deliveries: int) -> None:
        # The error's text may quote personal data from the payload: keep only its type.
        reason = type(error).__name__
        if deliveries >= self.policy.max_deliver:
            await self._dead_letter(message, envelope, reason, deliveries)
            return
        log.warning(
            "consumer %s: %s failed (%s), try %d", self.durable, envelope.event_type, reason, deliveries
        )
        _redeliveries.add(1, {"consumer": self.durable})
        await message.nak(delay=self.policy.delay_after(deliveries))

    async def _dead_letter(
        self, message: Msg, envelope: EventEnvelope | None, reason: str, deliveries: int
    ) -> None:
        try:
            body = json.loads(message.data)
        except ValueError:
            body = None
        async with self.es.pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO dead_letters (consumer, event_id, event_type, subject, message, error, deliveries)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                self.durable,
                envelope.event_id if envelope else None,
                envelope.event_type if envelope else None,
                message.subject,
                body,
                reason,
                deliveries,
            )
        headers = {"dcert-consumer": self.durable, "dcert-error": reason}
        await self.js.publish(
            self.naming.dead_letter_subject(self.service, self.durable), message.data, headers=headers
        )
        log.error(
            "consumer %s: dead-lettered %s after %d tries (%s)",
            self.durable,
            envelope.event_type if envelope else "?",
            deliveries,
            reason,
        )
        _dead_letters.add(1, {"consumer": self.durable})
        await message.term()

    async def replay_dead_letter(self, dead_letter_id: int) -> bool:
        """Hand a dead-lettered event to the handler again; True when it was handled now."""
        async with self.es.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT message FROM dead_letters WHERE id = $1 AND consumer = $2 AND replayed_at IS NULL",
                dead_letter_id,
                self.durable,
            )
        if row is None or row["message"] is None:
            return False
        handled = await self.handle_envelope(EventEnvelope.from_cloudevent(row["message"]))
        async with self.es.pool.acquire() as conn:
            await conn.execute("UPDATE dead_letters SET replayed_at = now() WHERE id = $1", dead_letter_id)
        return handled
