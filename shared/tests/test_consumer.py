"""Durable consumers on real JetStream: no second effect, order per person, outages waited out,
failures parked in their lane, dead letters, replay, and a consumer that binds again."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest
from nats.aio.client import Client as NATS

from dcert_dev.testing import eventually, publish_event
from dcert_shared.broker import (
    Naming,
    connect,
    dead_letter_stream_config,
    ensure_stream,
    event_stream_config,
)
from dcert_shared.consumer import EarlierEventNotHereYet, EventConsumer, RedeliveryPolicy, Subscription
from dcert_shared.envelope import Actor, CommandContext, EventEnvelope
from dcert_shared.loops import Backoff, Loops
from dcert_shared.uow import EventSourcing, UnitOfWork

from .eventsourcing_fixtures import TEST_LIMITS, Ticket, TicketOpened, event_sourcing

FAST = RedeliveryPolicy(max_attempts=3, retry_delays_seconds=(0.05, 0.05), ack_wait_seconds=5)


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


def an_event(
    event_type: str = "CertificateIssued", person: str = "person-1", payload: dict[str, object] | None = None
) -> EventEnvelope:
    opened = EventEnvelope.record(
        TicketOpened(owner="x"),
        "certificate-1",
        1,
        "/dcert/certificate",
        CommandContext(),
        partition_key=person,
    )
    return EventEnvelope(**{**opened.__dict__, "event_type": event_type, "payload": payload or {"level": 1}})


async def publish(nc: NATS, naming: Naming, envelope: EventEnvelope, message_id: str | None = None) -> None:
    """As the certificate service's outbox relay would."""
    await publish_event(nc.jetstream(), naming, "certificate", envelope, message_id)


async def count_effects(es: EventSourcing) -> int:
    async with es.pool.acquire() as conn:
        return int(await conn.fetchval("SELECT count(*) FROM effects"))


class Running:
    """The consumer under the supervisor of a service's loops: a failure of its run binds again."""

    def __init__(self, consumer: EventConsumer) -> None:
        self.consumer = consumer
        self.loops = Loops(backoff=Backoff(first=0.1, cap=0.5))
        self.loops.spawn("consumer", consumer.run)

    async def stop(self) -> None:
        await self.loops.stop(10)


def start(
    es: EventSourcing,
    nc: NATS,
    prefix: str,
    handler: Callable[[UnitOfWork, EventEnvelope], Awaitable[None]],
    event_types: tuple[str, ...] = ("CertificateIssued",),
) -> Running:
    subscription = Subscription("issued", "certificate", list(event_types), handler)
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


async def test_an_outage_longer_than_the_retry_ladder_is_waited_out_and_never_dead_letters(
    es: EventSourcing, nc: NATS, test_prefix: str
) -> None:
    """The ladder allows 3 tries; the database is away for 5: outages are not tries."""
    attempts: list[int] = []

    async def during_an_outage(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        attempts.append(1)
        await record_effect(uow, envelope)
        if len(attempts) <= 5:
            raise asyncpg.CannotConnectNowError("the database system is starting up")

    running = start(es, nc, test_prefix, during_an_outage)
    await publish(nc, Naming(test_prefix), an_event())
    await eventually(lambda: _effects_at_least(es, 1), timeout=20)
    await running.stop()
    assert len(attempts) == 6
    assert await count_effects(es) == 1  # the failed tries were rolled back with their inbox rows
    async with es.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM dead_letters") == 0
        assert await conn.fetchval("SELECT count(*) FROM parked_events") == 0


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
    assert letter["event_id"] == event.event_id
    assert letter["deliveries"] == 3
    assert letter["error"] == "ValueError"  # the type only: an error's text may quote personal data
    assert len(tries) == 3
    assert await count_effects(es) == 0
    dead = await nc.jetstream().stream_info(Naming(test_prefix).dead_letter_stream("benefits"))
    assert dead.state.messages == 1

    broken = False
    assert await running.consumer.replay_dead_letter(letter["id"]) is True
    assert await count_effects(es) == 1
    assert await running.consumer.replay_dead_letter(letter["id"]) is False  # replayed once only
    async with es.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM parked_events") == 0


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


async def effects_in_order(es: EventSourcing) -> list[str]:
    async with es.pool.acquire() as conn:
        return [row["note"] for row in await conn.fetch("SELECT note FROM effects ORDER BY ctid")]


async def test_a_persons_events_are_applied_in_stream_order_even_when_the_first_fails_for_a_while(
    es: EventSourcing, nc: NATS, test_prefix: str
) -> None:
    """An issue that fails twice, then its cancellation: the cancellation waits (parked) behind
    it and is applied after it; another person's event goes on meanwhile."""
    failures = {"CertificateIssued": 2}

    async def handler(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        if envelope.ordering_key == "person-1" and failures.get(envelope.event_type, 0) > 0:
            failures[envelope.event_type] -= 1
            raise ValueError("not yet")
        await uow.conn.execute(
            "INSERT INTO effects VALUES ($1, $2)",
            envelope.event_id,
            f"{envelope.ordering_key} {envelope.event_type}",
        )

    naming = Naming(test_prefix)
    running = start(es, nc, test_prefix, handler, ("CertificateIssued", "CertificateCancelled"))
    await publish(nc, naming, an_event("CertificateIssued", "person-1"))
    await publish(nc, naming, an_event("CertificateCancelled", "person-1"))
    await publish(nc, naming, an_event("CertificateIssued", "person-2"))
    await eventually(lambda: _effects_at_least(es, 3))
    await running.stop()
    effects = await effects_in_order(es)
    assert effects.index("person-1 CertificateIssued") < effects.index("person-1 CertificateCancelled")
    assert effects[0] == "person-2 CertificateIssued"  # not held up by another person's trouble
    async with es.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM parked_events") == 0
        assert await conn.fetchval("SELECT count(*) FROM dead_letters") == 0


async def test_a_holder_that_died_mid_batch_does_not_let_a_later_event_pass_the_one_it_held(
    es: EventSourcing, nc: NATS, test_prefix: str
) -> None:
    """The process holding the consumer took a person's issue and died (or lost its lease in a
    database failover) before acknowledging it. The next holder must apply the issue before
    the cancellation that followed it, at once, not after the broker's ack wait (5 minutes here,
    far beyond the wait for the effects)."""
    naming = Naming(test_prefix)
    types = ["CertificateIssued", "CertificateCancelled"]
    patient = RedeliveryPolicy(max_attempts=3, retry_delays_seconds=(0.05, 0.05), ack_wait_seconds=300)

    def holder() -> Running:
        subscription = Subscription("issued", "certificate", types, record_type)
        return Running(EventConsumer(es, nc.jetstream(), naming, "benefits", subscription, patient))

    first = holder()
    consumer = first.consumer
    await eventually(lambda: _ready(consumer))  # the durable consumer exists
    await first.stop()
    await publish(nc, naming, an_event("CertificateIssued"))
    await publish(nc, naming, an_event("CertificateCancelled"))
    earlier_holder = await nc.jetstream().pull_subscribe_bind(consumer.durable, consumer.stream)
    taken = await earlier_holder.fetch(1, timeout=5)
    assert [message.subject.rsplit(".", 1)[-1] for message in taken] == ["CertificateIssued"]
    await earlier_holder.unsubscribe()  # gone, never acknowledging what it took

    running = holder()
    await eventually(lambda: _effects_at_least(es, 2))
    await running.stop()
    assert await effects_in_order(es) == ["CertificateIssued", "CertificateCancelled"]
    async with es.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM parked_events") == 0


async def test_an_event_waiting_for_one_of_another_stream_waits_uncounted_then_goes_on(
    es: EventSourcing, nc: NATS, test_prefix: str
) -> None:
    """A grade whose application comes on another stream that lags (a broker node lost): it
    waits in place, longer than the whole retry ladder, and is applied once the other comes."""
    arrived = asyncio.Event()

    async def handler(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        if not arrived.is_set():
            raise EarlierEventNotHereYet()
        await record_type(uow, envelope)

    running = start(es, nc, test_prefix, handler)
    await publish(nc, Naming(test_prefix), an_event())
    await asyncio.sleep(1.0)  # the ladder (3 tries, 0.05 s apart) would be over 10 times
    arrived.set()
    await eventually(lambda: _effects_at_least(es, 1))
    await running.stop()
    async with es.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM dead_letters") == 0


async def test_an_event_whose_dependency_never_comes_is_dead_lettered_after_the_wait(
    es: EventSourcing, nc: NATS, test_prefix: str
) -> None:
    async def handler(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        raise EarlierEventNotHereYet()

    subscription = Subscription("issued", "certificate", ["CertificateIssued"], handler)
    policy = RedeliveryPolicy(
        max_attempts=2, retry_delays_seconds=(0.05,), ack_wait_seconds=5, dependency_wait_seconds=0.5
    )
    running = Running(
        EventConsumer(es, nc.jetstream(), Naming(test_prefix), "benefits", subscription, policy)
    )
    await publish(nc, Naming(test_prefix), an_event())

    async def dead_letters() -> int:
        async with es.pool.acquire() as conn:
            return int(await conn.fetchval("SELECT count(*) FROM dead_letters"))

    assert await eventually(dead_letters) == 1
    await running.stop()


async def record_type(uow: UnitOfWork, envelope: EventEnvelope) -> None:
    await uow.conn.execute("INSERT INTO effects VALUES ($1, $2)", envelope.event_id, envelope.event_type)


async def _ready(consumer: EventConsumer) -> bool:
    return consumer.ready.is_set()


async def test_a_dead_letter_holds_its_persons_later_events_until_it_is_replayed(
    es: EventSourcing, nc: NATS, test_prefix: str
) -> None:
    broken = True

    async def handler(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        if broken and envelope.event_type == "CertificateIssued":
            raise ValueError("policy table missing for this region")
        await uow.conn.execute("INSERT INTO effects VALUES ($1, $2)", envelope.event_id, envelope.event_type)

    naming = Naming(test_prefix)
    running = start(es, nc, test_prefix, handler, ("CertificateIssued", "CertificateCancelled"))
    await publish(nc, naming, an_event("CertificateIssued"))
    await publish(nc, naming, an_event("CertificateCancelled"))

    async def dead_letter() -> int | None:
        async with es.pool.acquire() as conn:
            found: int | None = await conn.fetchval("SELECT id FROM dead_letters")
            return found

    letter = await eventually(dead_letter)
    await asyncio.sleep(0.3)
    assert await count_effects(es) == 0, "the cancellation must not pass the issue it follows"
    broken = False
    assert await running.consumer.replay_dead_letter(letter) is True
    await eventually(lambda: _effects_at_least(es, 2))
    await running.stop()
    assert await effects_in_order(es) == ["CertificateIssued", "CertificateCancelled"]


async def test_a_discarded_dead_letter_lets_its_lane_go_on(
    es: EventSourcing, nc: NATS, test_prefix: str
) -> None:
    async def handler(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        if envelope.event_type == "CertificateIssued":
            raise ValueError("this one never works")
        await uow.conn.execute("INSERT INTO effects VALUES ($1, $2)", envelope.event_id, envelope.event_type)

    naming = Naming(test_prefix)
    running = start(es, nc, test_prefix, handler, ("CertificateIssued", "CertificateCancelled"))
    await publish(nc, naming, an_event("CertificateIssued"))
    await publish(nc, naming, an_event("CertificateCancelled"))

    async def dead_letter() -> int | None:
        async with es.pool.acquire() as conn:
            found: int | None = await conn.fetchval("SELECT id FROM dead_letters")
            return found

    letter = await eventually(dead_letter)
    assert await running.consumer.discard_dead_letter(letter) is True
    assert await running.consumer.discard_dead_letter(letter) is False
    await eventually(lambda: _effects_at_least(es, 1))
    await running.stop()
    assert await effects_in_order(es) == ["CertificateCancelled"]


async def test_a_consumer_whose_durable_consumer_is_deleted_binds_again_and_goes_on(
    es: EventSourcing, nc: NATS, test_prefix: str
) -> None:
    naming = Naming(test_prefix)
    running = start(es, nc, test_prefix, record_effect)
    await publish(nc, naming, an_event())
    await eventually(lambda: _effects_at_least(es, 1))
    await nc.jetstream().delete_consumer(naming.event_stream("certificate"), running.consumer.durable)
    await publish(nc, naming, an_event())
    await eventually(lambda: _effects_at_least(es, 2), timeout=30)
    await running.stop()
    assert await count_effects(es) == 2  # the first one, delivered again to the new consumer, once


async def test_a_consumer_whose_stream_is_lost_and_made_again_goes_on(
    es: EventSourcing, nc: NATS, test_prefix: str
) -> None:
    naming = Naming(test_prefix)
    stream = naming.event_stream("certificate")
    running = start(es, nc, test_prefix, record_effect)
    first = an_event()
    await publish(nc, naming, first)
    await eventually(lambda: _effects_at_least(es, 1))
    await nc.jetstream().delete_stream(stream)
    await asyncio.sleep(1)
    await ensure_stream(nc.jetstream(), event_stream_config(naming, "certificate", TEST_LIMITS))
    await publish(nc, naming, first, message_id="the-same-event-republished")  # the relay refilling it
    await publish(nc, naming, an_event())
    await eventually(lambda: _effects_at_least(es, 2), timeout=30)
    await running.stop()
    assert await count_effects(es) == 2


async def test_a_reaction_merged_from_former_consumers_skips_what_they_handled(
    es: EventSourcing, nc: NATS, test_prefix: str
) -> None:
    """An upgrade merges per-type consumers into one: the new durable consumer reads the stream
    from its first message, and what the former ones handled has no second effect."""
    naming = Naming(test_prefix)
    handled_before, new = an_event(), an_event()
    async with es.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO inbox (consumer, event_id) VALUES ('benefits-certificates-issued', $1)",
            handled_before.event_id,
        )
    subscription = Subscription.reacting(
        "certificates", "certificate", {"CertificateIssued": record_effect}, formerly=("certificates-issued",)
    )
    running = Running(EventConsumer(es, nc.jetstream(), naming, "benefits", subscription, FAST))
    await publish(nc, naming, handled_before)
    await publish(nc, naming, new)
    await eventually(lambda: _effects_at_least(es, 1))
    await eventually(lambda: _consumer_caught_up(nc, running.consumer))
    await running.stop()
    async with es.pool.acquire() as conn:
        assert [row["event_id"] for row in await conn.fetch("SELECT event_id FROM effects")] == [new.event_id]
