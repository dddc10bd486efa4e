"""Durable consumers on real JetStream: no second effect, bounded retries, dead letters, replay."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from nats.aio.client import Client as NATS

from dcert_shared.broker import (
    Naming,
    connect,
    dead_letter_stream_config,
    ensure_stream,
    event_stream_config,
)
from dcert_shared.consumer import EventConsumer, RedeliveryPolicy, Subscription
from dcert_shared.envelope import Actor, CommandContext, EventEnvelope
from dcert_shared.testing import eventually, publish_event
from dcert_shared.uow import EventSourcing, UnitOfWork

from .eventsourcing_fixtures import TEST_LIMITS, Ticket, TicketOpened, event_sourcing

FAST = RedeliveryPolicy(max_deliver=3, retry_delays_seconds=(0.05, 0.05), ack_wait_seconds=5)


@pytest.fixture
async def es(fresh_database: str, test_prefix: str) -> AsyncIterator[EventSourcing]:
    instance = await event_sourcing(fresh_database, prefix=test_prefix)
    async with instance.pool.acquire() as conn:
        await conn.execute("CREATE TABLE effects (event_id uuid NOT NULL, note text)")
    yield instance
    await instance.pool.close()


@pytest.fixture
async def nc(nats_url: str, test_prefix: str) -> AsyncIterator[NATS]:
    connection = await connect(nats_url, "consumer-test")
    naming = Naming(test_prefix)
    await ensure_stream(connection.jetstream(), event_stream_config(naming, "certificate", TEST_LIMITS))
    await ensure_stream(connection.jetstream(), dead_letter_stream_config(naming, "benefits", TEST_LIMITS))
    yield connection
    await connection.close()


def an_event(event_type: str = "CertificateIssued") -> EventEnvelope:
    opened = EventEnvelope.record(
        TicketOpened(owner="x"), "certificate-1", 1, "/dcert/certificate", CommandContext()
    )
    return EventEnvelope(**{**opened.__dict__, "event_type": event_type, "payload": {"level": 1}})


async def publish(nc: NATS, naming: Naming, envelope: EventEnvelope, message_id: str | None = None) -> None:
    """As the certificate service's outbox relay would."""
    await publish_event(nc.jetstream(), naming, "certificate", envelope, message_id)


async def count_effects(es: EventSourcing) -> int:
    async with es.pool.acquire() as conn:
        return int(await conn.fetchval("SELECT count(*) FROM effects"))


class Running:
    def __init__(self, consumer: EventConsumer) -> None:
        self.consumer = consumer
        self.stopping = asyncio.Event()
        self.task = asyncio.create_task(consumer.run(self.stopping))

    async def stop(self) -> None:
        self.stopping.set()
        await asyncio.wait_for(self.task, 10)


def start(
    es: EventSourcing, nc: NATS, prefix: str, handler: Callable[[UnitOfWork, EventEnvelope], Awaitable[None]]
) -> Running:
    subscription = Subscription("issued", "certificate", ["CertificateIssued"], handler)
    return Running(EventConsumer(es, nc.jetstream(), Naming(prefix), "benefits", subscription, FAST))


async def record_effect(uow: UnitOfWork, envelope: EventEnvelope) -> None:
    await uow.conn.execute("INSERT INTO effects VALUES ($1, 'done')", envelope.event_id)


async def test_a_redelivered_event_has_no_second_effect(
    es: EventSourcing, nc: NATS, test_prefix: str
) -> None:
    naming = Naming(test_prefix)
    running = start(es, nc, test_prefix, record_effect)
    event = an_event()
    await publish(nc, naming, event)
    await publish(nc, naming, event, message_id="a-second-copy-the-stream-cannot-tell-apart")
    await eventually(lambda: _consumer_caught_up(nc, running.consumer))
    await running.stop()
    assert await count_effects(es) == 1
    assert await running.consumer.handle_envelope(event) is False
    assert await count_effects(es) == 1


async def _consumer_caught_up(nc: NATS, consumer: EventConsumer) -> bool:
    if not consumer.ready.is_set():
        return False
    info = await nc.jetstream().consumer_info(consumer.stream, consumer.durable)
    return info.num_pending == 0 and info.num_ack_pending == 0


async def test_a_transient_failure_is_retried_until_it_succeeds_once(
    es: EventSourcing, nc: NATS, test_prefix: str
) -> None:
    attempts: list[int] = []

    async def flaky(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        attempts.append(1)
        await record_effect(uow, envelope)
        if len(attempts) < 3:
            raise ConnectionResetError("the partner system hiccuped")

    running = start(es, nc, test_prefix, flaky)
    await publish(nc, Naming(test_prefix), an_event())
    await eventually(lambda: _effects_at_least(es, 1))
    await running.stop()
    assert len(attempts) == 3
    assert await count_effects(es) == 1  # the failed tries were rolled back with their inbox rows
    async with es.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM dead_letters") == 0


async def _effects_at_least(es: EventSourcing, count: int) -> bool:
    return await count_effects(es) >= count


async def test_an_event_that_keeps_failing_is_dead_lettered_then_replayed(
    es: EventSourcing, nc: NATS, test_prefix: str
) -> None:
    broken = True
    tries: list[int] = []

    async def handler(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        tries.append(1)
        if broken:
            raise ValueError("policy table missing for this region")
        await record_effect(uow, envelope)

    running = start(es, nc, test_prefix, handler)
    event = an_event()
    await publish(nc, Naming(test_prefix), event)

    async def dead_lettered() -> bool:
        async with es.pool.acquire() as conn:
            return bool(await conn.fetchval("SELECT count(*) FROM dead_letters"))

    await eventually(dead_lettered)
    await running.stop()
    async with es.pool.acquire() as conn:
        letter = await conn.fetchrow("SELECT * FROM dead_letters")
    assert letter["event_id"] == event.event_id and letter["deliveries"] == 3
    assert letter["error"] == "ValueError"  # the type only: an error's text may quote personal data
    assert len(tries) == 3 and await count_effects(es) == 0
    dead = await nc.jetstream().stream_info(Naming(test_prefix).dead_letter_stream("benefits"))
    assert dead.state.messages == 1

    broken = False
    assert await running.consumer.replay_dead_letter(letter["id"]) is True
    assert await count_effects(es) == 1
    assert await running.consumer.replay_dead_letter(letter["id"]) is False  # replayed once only


async def test_an_event_whose_type_is_not_its_subject_is_dead_lettered_unhandled(
    es: EventSourcing, nc: NATS, test_prefix: str
) -> None:
    """Broker permissions bind publishers to subjects: a type claiming another one is not believed."""
    naming = Naming(test_prefix)
    running = start(es, nc, test_prefix, record_effect)
    disguised = an_event("CertificateCancelled")
    body = json.dumps(disguised.to_cloudevent(disguised.payload)).encode()
    await nc.jetstream().publish(naming.event_subject("certificate", "CertificateIssued"), body)

    async def dead_lettered() -> bool:
        async with es.pool.acquire() as conn:
            return bool(await conn.fetchval("SELECT count(*) FROM dead_letters"))

    await eventually(dead_lettered)
    await running.stop()
    async with es.pool.acquire() as conn:
        letter = await conn.fetchrow("SELECT error, event_type FROM dead_letters")
    assert (letter["error"], letter["event_type"]) == (
        "type does not match the subject",
        "CertificateCancelled",
    )
    assert await count_effects(es) == 0


async def test_events_recorded_by_a_reaction_carry_its_cause(
    es: EventSourcing, nc: NATS, test_prefix: str
) -> None:
    async def react(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        uow.track(Ticket.open(f"for-{envelope.event_id}", "benefits"))

    running = start(es, nc, test_prefix, react)
    event = an_event()
    await publish(nc, Naming(test_prefix), event)

    async def reacted() -> bool:
        async with es.pool.acquire() as conn:
            return bool(await conn.fetchval("SELECT count(*) FROM events"))

    await eventually(reacted)
    await running.stop()
    async with es.pool.acquire() as conn:
        [recorded] = await es.store.load(conn, f"ticket-for-{event.event_id}")
    assert recorded.causation_id == event.event_id
    assert recorded.correlation_id == event.correlation_id
    assert recorded.actor == Actor(role="service", subject="benefits")
    assert uuid.UUID(str(recorded.event_id)) != event.event_id
