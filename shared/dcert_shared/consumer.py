"""Durable JetStream consumers: effects once, in order per person, through outages, never lost.

- **Once.** A handler's effects and the id of the event it handled (the inbox) commit in one
  transaction; the message is acknowledged after that commit, so a redelivery has no effect.
- **In order.** One durable consumer per reaction takes the event types it needs from one
  source stream in stream order (the publisher's commit order). Messages are handled in
  *lanes*, one per ordering key (the person: `EventEnvelope.ordering_key`); lanes go side by
  side, the messages of one lane one after the other.
- **Outages are not failures.** When the database or the broker is away, the message is tried
  again in place, with growing waits, for as long as it takes; the lane waits with it. Nothing
  of that counts as a try (docs/adr/0007).
- **A failing event holds its lane, never drops.** When the handler itself fails, the event is
  *parked* (kept in `parked_events`, then acknowledged) and later events of its lane are
  parked behind it, in order; the parked head is tried again on the retry ladder. After the
  last try it becomes a dead letter (`dead_letters`, and the service's dead-letter subject) and
  the lane stays parked until an operator replays (or discards) it: a later event of that
  person is never applied before the one it may depend on.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import asyncpg
import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from opentelemetry import metrics, trace
from pydantic import BaseModel, ConfigDict

from .broker import Naming, Topology
from .db import is_outage
from .envelope import Actor, EventEnvelope
from .errors import ConcurrencyConflict
from .loops import Run
from .telemetry import command_context, context_from_headers, tracer
from .uow import EventSourcing, UnitOfWork

log = logging.getLogger(__name__)

Handler = Callable[[UnitOfWork, EventEnvelope], Awaitable[None]]
Lane = Callable[[EventEnvelope], str]


class InboundEvent(BaseModel):
    """Another service's event as this service reads it: only the fields it uses, typed.
    Fields the publisher adds later are ignored, so a new field never breaks a reader."""

    model_config = ConfigDict(extra="ignore", frozen=True)


Inbound = TypeVar("Inbound", bound=InboundEvent)


def typed(
    model: type[Inbound], reaction: Callable[[UnitOfWork, Inbound, EventEnvelope], Awaitable[None]]
) -> Handler:
    """The one way a service reacts to another's event: its payload parsed into `model`
    (a payload that does not fit fails the handler, so the event is parked, never dropped)."""

    async def handle(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        await reaction(uow, model.model_validate(envelope.payload), envelope)

    return handle


_meter = metrics.get_meter("dcert")
_handled = _meter.create_counter("dcert.consumer.handled", description="Events handled")
_duplicates = _meter.create_counter("dcert.consumer.duplicates", description="Redelivered events skipped")
_parked = _meter.create_counter("dcert.consumer.parked", description="Events parked behind a failure")
_retries = _meter.create_counter("dcert.consumer.retries", description="Parked events tried again")
_outages = _meter.create_counter("dcert.consumer.outage_waits", description="Waits for the database")
_dead_letters = _meter.create_counter("dcert.consumer.dead_letters", description="Events dead-lettered")


def by_ordering_key(envelope: EventEnvelope) -> str:
    """The default lane: the person the event is about (its partition key), else its stream."""
    return envelope.ordering_key


@dataclass(frozen=True)
class Subscription:
    """What a service reacts to: some event types of another context, the handler, and what
    keeps their order (`lane`: events of one lane are handled one after the other)."""

    name: str
    source_context: str
    event_types: Sequence[str]
    handler: Handler
    lane: Lane = by_ordering_key
    # The names this reaction's consumers had before (their inbox rows say what they handled):
    # a new durable consumer starts from the stream's first message and skips those events.
    formerly: Sequence[str] = ()

    @classmethod
    def reacting(
        cls,
        name: str,
        source_context: str,
        handlers: Mapping[str, Handler],
        lane: Lane = by_ordering_key,
        formerly: Sequence[str] = (),
    ) -> Subscription:
        """One consumer for several event types of one stream, each with its handler: their
        order across types is the stream's (a cancellation never before the issue it ends)."""

        async def dispatch(uow: UnitOfWork, envelope: EventEnvelope) -> None:
            await handlers[envelope.event_type](uow, envelope)

        return cls(name, source_context, list(handlers), dispatch, lane, formerly)


class EarlierEventNotHereYet(Exception):
    """A reaction needs an event of another stream that has not arrived yet: streams are not
    ordered with each other, and one may lag (a broker node lost, a consumer taken over). The
    event waits for it in place, uncounted, for `dependency_wait_seconds`; only then is it tried
    on the retry ladder like a failure, so a dependency that never comes still dead-letters."""


@dataclass(frozen=True)
class RedeliveryPolicy:
    """The retry ladder of an event whose handler fails: waits between tries; after
    `max_attempts` tries it is a dead letter. Outages never count as tries."""

    max_attempts: int = 6
    retry_delays_seconds: tuple[float, ...] = (1, 5, 30, 120, 600)
    ack_wait_seconds: float = 60
    # How long an event waits, uncounted, for an earlier one of another stream (EarlierEventNotHereYet).
    dependency_wait_seconds: float = 600

    def delay_after(self, attempts: int) -> float:
        return self.retry_delays_seconds[min(max(attempts, 1), len(self.retry_delays_seconds)) - 1]


class EventConsumer:
    """One durable pull consumer feeding one reaction, in lanes."""

    def __init__(
        self,
        es: EventSourcing,
        js: JetStreamContext,
        naming: Naming,
        service: str,
        subscription: Subscription,
        policy: RedeliveryPolicy = RedeliveryPolicy(),
        batch_size: int = 50,
        topology: Topology | None = None,
    ) -> None:
        self.es = es
        self.js = js
        self.naming = naming
        self.service = service
        self.subscription = subscription
        self.policy = policy
        self.batch_size = batch_size
        self.topology = topology  # makes the source stream again when it is this service's own
        self.durable = naming.durable(service, subscription.name)
        self._former_durables = [naming.durable(service, name) for name in subscription.formerly]
        self.stream = naming.event_stream(subscription.source_context)
        self.ready = asyncio.Event()  # bound to the broker at least once
        self._parked_lanes: set[str] = set()
        self._lane_locks: dict[str, asyncio.Lock] = {}
        self._wake_retrier = asyncio.Event()

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
            # The broker never gives a message up: tries are counted here, outages are not.
            max_deliver=-1,
            max_ack_pending=1000,
            filter_subjects=subjects,
        )

    # -- the loop ----------------------------------------------------------------------------

    async def run(self, run: Run) -> None:
        """Bind (making the durable consumer again if it is gone) and handle messages until told
        to stop; any broker failure ends this run and the supervisor binds again."""
        subscription = await self._bind()
        self.ready.set()
        await self._load_parked_lanes()
        retrier = asyncio.create_task(self._retry_parked(run), name=f"{self.durable} parked")
        try:
            idle_since = time.monotonic()
            while not run.stopping.is_set():
                try:
                    messages = await subscription.fetch(self.batch_size, timeout=0.5)
                except (nats.errors.TimeoutError, TimeoutError):  # nats-py raises either when idle
                    run.progress(0, 0)
                    if time.monotonic() - idle_since > 10:
                        await self._check_bound()  # a deleted consumer may stay silent
                        idle_since = time.monotonic()
                    continue
                if not messages:  # a status the client turned into nothing
                    continue
                idle_since = time.monotonic()
                newest = messages[-1].metadata
                run.progress(newest.num_pending or 0, _age(messages[0]))
                await self._handle_batch(messages)  # finished even when stopping: drained, not dropped
        finally:
            retrier.cancel()
            with contextlib.suppress(BaseException):
                await retrier
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    async def _bind(self) -> Any:
        """Bind to the durable consumer, made (or updated) first. When messages were delivered
        to an earlier holder and never acknowledged (it died, or lost its lease, mid-batch), the
        consumer is rewound to its acknowledgement floor: the broker would otherwise hand this
        holder the later messages first and keep those until their ack wait ran out, and a
        person's later event would be applied before an earlier one. What comes again that
        was already handled, the inbox skips."""
        info = await self._consumer_info()
        config = self.config()
        if info is not None:
            # Kept from the consumer as it is: the broker cannot change where it starts.
            config.deliver_policy = info.config.deliver_policy
            config.opt_start_seq = info.config.opt_start_seq
        if info is not None and info.num_ack_pending:
            await self._rewind(info)
        else:
            await self._add(config)
        return await self.js.pull_subscribe_bind(self.durable, self.stream)

    async def _consumer_info(self) -> Any:
        try:
            return await self.js.consumer_info(self.stream, self.durable)
        except NotFoundError:
            return None

    async def _add(self, config: ConsumerConfig) -> None:
        try:
            await self.js.add_consumer(self.stream, config)
        except NotFoundError:
            if self.topology is None or not await self.topology.ensure(self.stream):
                raise StreamMissing(self.stream) from None
            await self.js.add_consumer(self.stream, config)

    async def _rewind(self, info: Any) -> None:
        start = info.ack_floor.stream_seq + 1 if info.ack_floor is not None else 1
        log.warning(
            "consumer %s: %s message(s) of an earlier holder never acknowledged; rewound to %s",
            self.durable,
            info.num_ack_pending,
            start,
        )
        config = self.config()
        config.deliver_policy = DeliverPolicy.BY_START_SEQUENCE
        config.opt_start_seq = start
        with contextlib.suppress(NotFoundError):
            await self.js.delete_consumer(self.stream, self.durable)
        await self._add(config)

    async def _check_bound(self) -> None:
        try:
            await self.js.consumer_info(self.stream, self.durable)
        except NotFoundError:
            raise ConsumerMissing(self.durable) from None

    async def _handle_batch(self, messages: list[Msg]) -> None:
        lanes: dict[str, list[tuple[Msg, EventEnvelope]]] = {}
        pending: dict[int, Msg] = {}
        for message in messages:
            envelope = await self._readable(message)
            if envelope is not None:
                lanes.setdefault(_lane_key(self.subscription.lane(envelope)), []).append((message, envelope))
                pending[id(message)] = message
        keep_alive = asyncio.create_task(self._keep_alive(pending))
        try:
            await asyncio.gather(*(self._handle_lane(lane, items, pending) for lane, items in lanes.items()))
        finally:
            keep_alive.cancel()

    async def _readable(self, message: Msg) -> EventEnvelope | None:
        """The message's event, or None when it cannot be one (dead-lettered and acknowledged)."""
        envelope: EventEnvelope | None = None
        try:
            envelope = EventEnvelope.from_cloudevent(json.loads(message.data))
        except (ValueError, KeyError, TypeError) as error:
            reason = f"unreadable message: {type(error).__name__}"
        else:
            if message.subject == self.naming.event_subject(
                self.subscription.source_context, envelope.event_type
            ):
                return envelope
            # The subject is what the broker's permissions hold a publisher to; a type claiming
            # another subject is not believed.
            reason = "type does not match the subject"
        body = _json_or_none(message.data)
        await self._outlasting(
            partial(self._record_dead_letter, message.subject, body, reason, 1, envelope, None)
        )
        await _ack(message, term=True)
        return None

    async def _handle_lane(
        self, lane: str, items: list[tuple[Msg, EventEnvelope]], pending: dict[int, Msg]
    ) -> None:
        for message, envelope in items:
            async with self._lane(lane):
                if lane in self._parked_lanes:
                    await self._outlasting(partial(self._park, lane, message.subject, envelope, None, 0))
                else:
                    await self._handle_live(lane, message, envelope)
            await _ack(message)
            pending.pop(id(message), None)

    async def _handle_live(self, lane: str, message: Msg, envelope: EventEnvelope) -> None:
        reason: str | None = None
        started = time.monotonic()
        while reason is None:
            try:
                await self._traced(envelope, message.headers, message.metadata.num_delivered)
                return
            except Exception as error:
                if _waits_out(error):
                    await self._wait_out(error)
                elif isinstance(error, EarlierEventNotHereYet) and (
                    time.monotonic() - started < self.policy.dependency_wait_seconds
                ):
                    await asyncio.sleep(0.5)
                else:
                    reason = type(error).__name__
        log.warning("consumer %s: %s failed (%s); parked", self.durable, envelope.event_type, reason)
        await self._outlasting(partial(self._park, lane, message.subject, envelope, reason, 1))

    async def _traced(self, envelope: EventEnvelope, headers: dict[str, str] | None, deliveries: int) -> bool:
        with tracer().start_as_current_span(
            f"consume {envelope.event_type}",
            context=context_from_headers(headers),
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
                return await self.handle_envelope(envelope)
            except Exception as error:
                span.record_exception(error, attributes={"exception.message": ""})
                span.set_status(trace.StatusCode.ERROR, type(error).__name__)
                raise

    async def handle_envelope(self, envelope: EventEnvelope, parked_id: int | None = None) -> bool:
        """Run the handler once per event id (and take the event off the parked list when it
        came from there, in the same transaction); False for an event already handled."""
        context = command_context(Actor(role="service", subject=self.service)).caused_by(envelope)

        async def decide(uow: UnitOfWork) -> bool:
            if parked_id is not None:
                await uow.conn.execute("DELETE FROM parked_events WHERE id = $1", parked_id)
            first_time = await uow.conn.fetchval(
                "INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING true",
                self.durable,
                envelope.event_id,
            )
            if not first_time or await self._handled_formerly(uow, envelope):
                return False
            await self.subscription.handler(uow, envelope)
            return True

        handled = await self.es.execute(context, decide)
        (_handled if handled else _duplicates).add(1, {"consumer": self.durable})
        return handled

    async def _handled_formerly(self, uow: UnitOfWork, envelope: EventEnvelope) -> bool:
        if not self._former_durables:
            return False
        handled: bool = await uow.conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM inbox WHERE consumer = ANY($1::text[]) AND event_id = $2)",
            self._former_durables,
            envelope.event_id,
        )
        return handled

    # -- parking -----------------------------------------------------------------------------

    async def _park(
        self, lane: str, subject: str, envelope: EventEnvelope, error: str | None, attempts: int
    ) -> None:
        """Keep the event in its lane's queue (after `attempts` failed tries; 0: never tried,
        it waits behind an earlier one)."""
        delay = self.policy.delay_after(attempts) if attempts else 0.0
        async with self.es.pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO parked_events (consumer, lane, event_id, event_type, subject, message,"
                " attempts, error, next_try_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9))"
                " ON CONFLICT ON CONSTRAINT parked_events_once DO NOTHING",
                self.durable,
                lane,
                envelope.event_id,
                envelope.event_type,
                subject,
                envelope.to_cloudevent(envelope.payload),
                attempts,
                error,
                delay,
            )
        self._parked_lanes.add(lane)
        _parked.add(1, {"consumer": self.durable})
        self._wake_retrier.set()

    async def _load_parked_lanes(self) -> None:
        async with self.es.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT DISTINCT lane FROM parked_events WHERE consumer = $1", self.durable
            )
        self._parked_lanes = {row["lane"] for row in rows}

    async def _retry_parked(self, run: Run) -> None:
        """Try each parked lane's head when it is due; a success lets the lane's next ones go."""
        while not run.stopping.is_set():
            next_due = 1.0
            if not self._parked_lanes:  # nothing parked here: wait until something is
                self._wake_retrier.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake_retrier.wait(), 5)
                continue
            try:
                async with self.es.pool.acquire() as conn:
                    heads = await conn.fetch(
                        "SELECT DISTINCT ON (lane) lane, dead, extract(epoch from next_try_at - now()) AS wait"
                        " FROM parked_events WHERE consumer = $1 ORDER BY lane, id",
                        self.durable,
                    )
                for head in heads:
                    if head["dead"]:
                        continue
                    if head["wait"] > 0:
                        next_due = min(next_due, float(head["wait"]))
                        continue
                    async with self._lane(head["lane"]):
                        await self._drain(head["lane"])
            except Exception as error:
                log.warning("consumer %s: parked events wait (%s)", self.durable, type(error).__name__)
            self._wake_retrier.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake_retrier.wait(), max(0.05, next_due))

    async def _drain(self, lane: str) -> None:
        """Handle the lane's parked events in order while they succeed (the lane lock held)."""
        while True:
            async with self.es.pool.acquire() as conn:
                head = await conn.fetchrow(
                    "SELECT id, event_type, subject, message, attempts, dead, next_try_at <= now() AS due"
                    " FROM parked_events WHERE consumer = $1 AND lane = $2 ORDER BY id LIMIT 1",
                    self.durable,
                    lane,
                )
            if head is None:
                self._parked_lanes.discard(lane)
                return
            if head["dead"] or not head["due"]:
                return
            if not await self._try_parked(lane, head):
                return

    async def _try_parked(self, lane: str, head: asyncpg.Record) -> bool:
        """One try of a parked event; True when it was handled (or had been before)."""
        envelope = EventEnvelope.from_cloudevent(head["message"])
        _retries.add(1, {"consumer": self.durable})
        try:
            await self.handle_envelope(envelope, parked_id=head["id"])
            return True
        except Exception as error:
            if _waits_out(error):
                raise
            reason = type(error).__name__
        attempts = head["attempts"] + 1
        if attempts >= self.policy.max_attempts:
            await self._dead(head, envelope, lane, reason, attempts)
            return False
        async with self.es.pool.acquire() as conn:
            await conn.execute(
                "UPDATE parked_events SET attempts = $2, error = $3,"
                " next_try_at = now() + make_interval(secs => $4) WHERE id = $1",
                head["id"],
                attempts,
                reason,
                self.policy.delay_after(attempts),
            )
        log.warning(
            "consumer %s: %s failed again (%s), try %d", self.durable, head["event_type"], reason, attempts
        )
        return False

    async def _dead(
        self, head: asyncpg.Record, envelope: EventEnvelope, lane: str, reason: str, attempts: int
    ) -> None:
        async with self.es.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE parked_events SET dead = true, attempts = $2, error = $3 WHERE id = $1",
                head["id"],
                attempts,
                reason,
            )
            await self._insert_dead_letter(
                conn, head["subject"], head["message"], reason, attempts, envelope, lane
            )
        await self._publish_dead_letter(head["message"], reason)
        log.error(
            "consumer %s: dead-lettered %s after %d tries (%s); its lane waits for an operator",
            self.durable,
            envelope.event_type,
            attempts,
            reason,
        )

    # -- dead letters --------------------------------------------------------------------------

    async def _record_dead_letter(
        self,
        subject: str,
        body: Any,
        reason: str,
        deliveries: int,
        envelope: EventEnvelope | None,
        lane: str | None,
    ) -> None:
        async with self.es.pool.acquire() as conn:
            await self._insert_dead_letter(conn, subject, body, reason, deliveries, envelope, lane)
        await self._publish_dead_letter(body, reason)
        log.error("consumer %s: dead-lettered a message (%s)", self.durable, reason)

    async def _insert_dead_letter(
        self,
        conn: asyncpg.Connection,
        subject: str,
        body: Any,
        reason: str,
        deliveries: int,
        envelope: EventEnvelope | None,
        lane: str | None,
    ) -> None:
        await conn.execute(
            "INSERT INTO dead_letters (consumer, event_id, event_type, subject, message, error, deliveries, lane)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            self.durable,
            envelope.event_id if envelope else None,
            envelope.event_type if envelope else None,
            subject,
            body,
            reason,
            deliveries,
            lane,
        )
        _dead_letters.add(1, {"consumer": self.durable})

    async def _publish_dead_letter(self, body: Any, reason: str) -> None:
        """A copy on the service's dead-letter subject for tools that watch the broker; the
        record that counts is the row in `dead_letters`."""
        headers = {"dcert-consumer": self.durable, "dcert-error": reason}
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else b""
        try:
            await self.js.publish(
                self.naming.dead_letter_subject(self.service, self.durable), data, headers=headers
            )
        except Exception as error:
            log.warning(
                "consumer %s: dead letter not copied to the broker (%s)", self.durable, type(error).__name__
            )

    async def discard_dead_letter(self, dead_letter_id: int) -> bool:
        """An operator gives the event up for good: its lane goes on without it. True when an
        open dead letter of this consumer was discarded."""
        async with self.es.pool.acquire() as conn, conn.transaction():
            event_id = await conn.fetchval(
                "UPDATE dead_letters SET discarded_at = now() WHERE id = $1 AND consumer = $2"
                " AND replayed_at IS NULL AND discarded_at IS NULL RETURNING coalesce(event_id::text, '')",
                dead_letter_id,
                self.durable,
            )
            if event_id is None:
                return False
            if event_id:
                await conn.execute(
                    "DELETE FROM parked_events WHERE consumer = $1 AND event_id = $2::uuid AND dead",
                    self.durable,
                    event_id,
                )
        self._wake_retrier.set()
        return True

    async def replay_dead_letter(self, dead_letter_id: int) -> bool:
        """Hand a dead-lettered event to the handler again; True when it was handled now. A dead
        letter that held its lane lets the lane go on once handled."""
        async with self.es.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT d.message, d.event_id, p.id AS parked_id FROM dead_letters d"
                " LEFT JOIN parked_events p ON p.consumer = d.consumer AND p.event_id = d.event_id AND p.dead"
                " WHERE d.id = $1 AND d.consumer = $2 AND d.replayed_at IS NULL AND d.discarded_at IS NULL",
                dead_letter_id,
                self.durable,
            )
        if row is None or row["message"] is None:
            return False
        handled = await self.handle_envelope(EventEnvelope.from_cloudevent(row["message"]), row["parked_id"])
        async with self.es.pool.acquire() as conn:
            await conn.execute("UPDATE dead_letters SET replayed_at = now() WHERE id = $1", dead_letter_id)
        self._wake_retrier.set()
        return handled

    # -- outages -------------------------------------------------------------------------------

    async def _outlasting(self, step: Callable[[], Awaitable[None]]) -> None:
        """Run `step` until it gets through an outage of the database."""
        while True:
            try:
                await step()
                return
            except Exception as error:
                if not _waits_out(error):
                    raise
                await self._wait_out(error)

    async def _wait_out(self, error: Exception) -> None:
        _outages.add(1, {"consumer": self.durable})
        log.warning("consumer %s waits for the database (%s)", self.durable, type(error).__name__)
        await asyncio.sleep(1)

    async def _keep_alive(self, pending: dict[int, Msg]) -> None:
        """While a batch waits (an outage), its messages stay ours: the broker is told they are
        in progress, so it does not send them again meanwhile."""
        while True:
            await asyncio.sleep(max(1.0, self.policy.ack_wait_seconds / 3))
            for message in list(pending.values()):
                with contextlib.suppress(Exception):
                    await message.in_progress()

    @contextlib.asynccontextmanager
    async def _lane(self, lane: str) -> AsyncIterator[None]:
        lock = self._lane_locks.setdefault(lane, asyncio.Lock())
        async with lock:
            yield
        if not lock.locked() and lane not in self._parked_lanes:
            self._lane_locks.pop(lane, None)


class StreamMissing(Exception):
    """The source stream is not on the broker (yet, or any more): bound again shortly."""

    waiting = True  # an expected wait (its publisher makes it), not a failure


class ConsumerMissing(Exception):
    """The durable consumer was deleted on the broker: made again."""


def _waits_out(error: BaseException) -> bool:
    """An outage (or a conflict that outlasted its retries): tried again in place, not counted."""
    return is_outage(error) or isinstance(error, ConcurrencyConflict)


def _lane_key(lane: str) -> str:
    # Hashed: a stream id may hold a certificate number, and so an identity number.
    return hashlib.sha256(lane.encode()).hexdigest()[:32]


def _age(message: Msg) -> float:
    return (datetime.now(UTC) - message.metadata.timestamp).total_seconds()


def _json_or_none(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


async def _ack(message: Msg, term: bool = False) -> None:
    """Acknowledge after the commit; if the broker is away the message comes again, and the
    inbox (or the parked list) knows it."""
    try:
        await (message.term() if term else message.ack())
    except Exception as error:
        log.warning("acknowledgement not sent (%s); the redelivery will be skipped", type(error).__name__)
