"""Pruning by age, never below what a consumer or a refill still needs."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client as NATS
from nats.js.api import AckPolicy, ConsumerConfig

from dcert_shared.broker import Naming, connect, ensure_stream, event_stream_config
from dcert_shared.envelope import Actor, CommandContext
from dcert_shared.outbox import OutboxRelay
from dcert_shared.pruning import Retention, prune
from dcert_shared.uow import EventSourcing, UnitOfWork

from .eventsourcing_fixtures import TEST_LIMITS, Ticket, event_sourcing

CONTEXT = CommandContext(actor=Actor(role="clerk", subject="c-1"))
# Everything is "old" after a second; the inbox and the rest are aged by hand.
RETENTION = Retention(
    outbox_days=1, stream_days=1 / 86_400, inbox_days=2, idempotency_hours=24, dead_letter_days=30
)


@pytest.fixture
async def es(fresh_database: str, test_prefix: str) -> AsyncIterator[EventSourcing]:
    instance = await event_sourcing(fresh_database, prefix=test_prefix)
    yield instance
    await instance.pool.close()


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[NATS]:
    connection = await connect(nats_url, "pruning-test")
    yield connection
    await connection.close()


async def published_tickets(es: EventSourcing, nc: NATS, naming: Naming, count: int) -> str:
    stream = naming.event_stream("tickets")
    await ensure_stream(nc.jetstream(), event_stream_config(naming, "tickets", TEST_LIMITS))
    for number in range(count):

        async def decide(uow: UnitOfWork, number: int = number) -> None:
            uow.track(Ticket.open(f"p{number}", "clerk"))

        await es.execute(CONTEXT, decide)
    assert await OutboxRelay(es.pool, nc, stream).relay_once() == count
    async with es.pool.acquire() as conn:
        await conn.execute("UPDATE outbox SET recorded_at = now() - interval '40 days'")
    return stream


async def a_consumer_that_acknowledged(nc: NATS, naming: Naming, stream: str, count: int) -> None:
    js = nc.jetstream()
    await js.add_consumer(
        stream,
        ConsumerConfig(
            durable_name="benefits-certificates",
            ack_policy=AckPolicy.EXPLICIT,
            filter_subject=naming.event_subject_prefix("tickets") + ">",
        ),
    )
    subscription = await js.pull_subscribe_bind("benefits-certificates", stream)
    for message in await subscription.fetch(count, timeout=5):
        await message.ack_sync()
    await subscription.unsubscribe()


async def test_the_stream_and_the_outbox_keep_what_a_consumer_has_not_acknowledged(
    es: EventSourcing, nc: NATS, test_prefix: str
) -> None:
    naming = Naming(test_prefix)
    stream = await published_tickets(es, nc, naming, 10)
    await a_consumer_that_acknowledged(nc, naming, stream, 6)
    await asyncio.sleep(1.1)
    removed = await prune(es.pool, nc.jetstream(), stream, RETENTION)
    assert (removed["stream"], removed["outbox"]) == (5, 5)
    state = (await nc.jetstream().stream_info(stream)).state
    assert (state.first_seq, state.last_seq) == (6, 10)  # from the last acknowledged on
    async with es.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 5
    # A broker that loses its disk now is refilled with the five the consumer has not had.


async def test_nothing_leaves_the_stream_while_no_consumer_has_read_it(
    es: EventSourcing, nc: NATS, test_prefix: str
) -> None:
    naming = Naming(test_prefix)
    stream = await published_tickets(es, nc, naming, 3)
    await asyncio.sleep(1.1)
    removed = await prune(es.pool, nc.jetstream(), stream, RETENTION)
    assert (removed["stream"], removed["outbox"]) == (0, 0)


async def test_a_stream_read_to_its_end_keeps_its_last_message(
    es: EventSourcing, nc: NATS, test_prefix: str
) -> None:
    naming = Naming(test_prefix)
    stream = await published_tickets(es, nc, naming, 4)
    await a_consumer_that_acknowledged(nc, naming, stream, 4)
    await asyncio.sleep(1.1)
    await prune(es.pool, nc.jetstream(), stream, RETENTION)
    state = (await nc.jetstream().stream_info(stream)).state
    assert (state.messages, state.last_seq) == (1, 4)  # the relay's reconcile starts from it


async def test_inbox_idempotency_keys_and_resolved_dead_letters_go_by_age_open_ones_stay(
    es: EventSourcing, nc: NATS, test_prefix: str
) -> None:
    naming = Naming(test_prefix)
    stream = await published_tickets(es, nc, naming, 1)
    async with es.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO inbox (consumer, event_id, handled_at) VALUES"
            " ('c', $1, now() - interval '3 days'), ('c', $2, now() - interval '1 day')",
            uuid.uuid4(),
            uuid.uuid4(),
        )
        await conn.execute(
            "INSERT INTO idempotency_keys (principal, key, request_hash, response, created_at) VALUES"
            " ('p', 'old', 'h', '{}', now() - interval '2 days'), ('p', 'new', 'h', '{}', now())"
        )
        await conn.execute(
            "INSERT INTO dead_letters (consumer, subject, error, deliveries, failed_at, replayed_at) VALUES"
            " ('c', 's', 'E', 6, now() - interval '90 days', now() - interval '60 days'),"
            " ('c', 's', 'E', 6, now() - interval '90 days', NULL)"
        )
    removed = await prune(es.pool, nc.jetstream(), stream, RETENTION)
    assert (removed["inbox"], removed["idempotency_keys"], removed["dead_letters"]) == (1, 1, 1)
    async with es.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM dead_letters WHERE replayed_at IS NULL") == 1
