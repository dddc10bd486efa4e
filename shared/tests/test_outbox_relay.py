"""The outbox relay on real PostgreSQL and JetStream: a SIGKILL mid-batch, a stream that lost its
tail, a broker that lost its disk."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError

from dcert_shared.broker import (
    Naming,
    StreamLimits,
    Topology,
    connect,
    ensure_stream,
    event_stream_config,
    keeping_replicas,
)
from dcert_shared.envelope import Actor, CommandContext
from dcert_shared.loops import Backoff, Loops
from dcert_shared.outbox import OutboxRelay
from dcert_shared.uow import EventSourcing, UnitOfWork

from .eventsourcing_fixtures import TEST_LIMITS, Ticket, event_sourcing

CONTEXT = CommandContext(actor=Actor(role="applicant", subject="a-1"))


@pytest.fixture
async def es(fresh_database: str, test_prefix: str) -> AsyncIterator[EventSourcing]:
    instance = await event_sourcing(fresh_database, prefix=test_prefix)
    yield instance
    await instance.pool.close()


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[NATS]:
    connection = await connect(nats_url, "relay-test")
    yield connection
    await connection.close()


async def open_tickets(es: EventSourcing, count: int, start: int = 0) -> None:
    for number in range(start, start + count):

        async def decide(uow: UnitOfWork, number: int = number) -> None:
            uow.track(Ticket.open(f"n{number}", f"clerk-{number}"))

        await es.execute(CONTEXT, decide)


async def stream_messages(nc: NATS, stream: str) -> int:
    try:
        info = await nc.jetstream().stream_info(stream)
    except NotFoundError:  # the relay process has not created it yet
        return 0
    return int(info.state.messages)


async def wait_for_messages(nc: NATS, stream: str, count: int, timeout: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while await stream_messages(nc, stream) < count:
        assert asyncio.get_running_loop().time() < deadline, f"stream has fewer than {count} messages"
        await asyncio.sleep(0.05)


async def read_event_ids(nc: NATS, stream: str, subject: str) -> list[str]:
    js = nc.jetstream()
    subscription = await js.pull_subscribe(subject, stream=stream)
    ids: list[str] = []
    while True:
        try:
            messages = await subscription.fetch(100, timeout=1)
        except TimeoutError:
            break
        for message in messages:
            ids.append(json.loads(message.data)["id"])
            await message.ack()
    await subscription.unsubscribe()
    return ids


async def test_committed_events_are_published_in_order_with_their_event_id(
    es: EventSourcing, nc: NATS, test_prefix: str
) -> None:
    naming = Naming(test_prefix)
    stream = naming.event_stream("tickets")
    js = nc.jetstream()
    await ensure_stream(js, event_stream_config(naming, "tickets", TEST_LIMITS))
    await open_tickets(es, 5)

    async def fail(uow: UnitOfWork) -> None:
        uow.track(Ticket.open("rolled-back", "clerk"))
        await uow.save()
        raise RuntimeError("after the append, before the commit")

    with pytest.raises(RuntimeError, match="before the commit"):  # a rolled-back command publishes nothing
        await es.execute(CONTEXT, fail)
    relay = OutboxRelay(es.pool, nc, stream, idle_wait_seconds=0.05)
    assert await relay.relay_once() == 5
    assert await relay.relay_once() == 0
    async with es.pool.acquire() as conn:
        expected = [
            str(r["event_id"]) for r in await conn.fetch("SELECT event_id FROM events ORDER BY position")
        ]
    assert await read_event_ids(nc, stream, naming.event_subject_prefix("tickets") + ">") == expected
    last = await js.get_msg(stream, seq=5)
    assert last.headers is not None
    assert last.headers["Nats-Msg-Id"] == expected[-1]


async def test_a_relay_killed_between_publish_and_checkpoint_loses_and_repeats_nothing(
    es: EventSourcing, nc: NATS, fresh_database: str, nats_url: str, test_prefix: str
) -> None:
    naming = Naming(test_prefix)
    stream = naming.event_stream("tickets")
    await open_tickets(es, 20)
    async with es.pool.acquire() as conn:
        await conn.execute("INSERT INTO checkpoints (name) VALUES ('outbox-relay')")
    command = [
        sys.executable,
        "-m",
        "dcert_shared.outbox",
        "--database-url",
        fresh_database,
        "--nats-url",
        nats_url,
        "--context",
        "tickets",
        "--prefix",
        test_prefix,
        "--stream-max-bytes",
        str(TEST_LIMITS.max_bytes),
    ]
    # Hold the checkpoint row: the relay publishes the batch, then blocks on saving the checkpoint.
    blocker = await es.pool.acquire()
    transaction = blocker.transaction()
    await transaction.start()
    await blocker.execute("SELECT * FROM checkpoints WHERE name = 'outbox-relay' FOR UPDATE")
    relay = subprocess.Popen(command, env=os.environ.copy())
    try:
        await wait_for_messages(nc, stream, 20)
        relay.send_signal(signal.SIGKILL)
        relay.wait(10)
        # PostgreSQL would let the dead relay's blocked UPDATE finish once our lock goes; a real
        # crash takes the connection with it, so end that backend as the crash would have.
        await blocker.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 'outbox-relay'"
        )
    finally:
        await transaction.rollback()
        await es.pool.release(blocker)
    async with es.pool.acquire() as conn:
        assert await conn.fetchval("SELECT position FROM checkpoints WHERE name = 'outbox-relay'") == 0

    await open_tickets(es, 5, start=20)
    restarted = subprocess.Popen(command, env=os.environ.copy())
    try:
        await wait_for_messages(nc, stream, 25)
        await asyncio.sleep(0.5)  # the republished batch had every chance to land twice
        ids = await read_event_ids(nc, stream, naming.event_subject_prefix("tickets") + ">")
    finally:
        restarted.send_signal(signal.SIGTERM)
        assert restarted.wait(15) == 0
    async with es.pool.acquire() as conn:
        expected = [
            str(r["event_id"]) for r in await conn.fetch("SELECT event_id FROM events ORDER BY position")
        ]
    assert ids == expected
    assert await stream_messages(nc, stream) == 25


async def test_a_stream_that_lost_messages_is_refilled_from_postgresql(
    es: EventSourcing, nc: NATS, test_prefix: str
) -> None:
    naming = Naming(test_prefix)
    stream = naming.event_stream("tickets")
    js = nc.jetstream()
    await ensure_stream(
        js,
        event_stream_config(
            naming, "tickets", StreamLimits(max_bytes=TEST_LIMITS.max_bytes, duplicate_window_seconds=1)
        ),
    )
    await open_tickets(es, 4)
    relay = OutboxRelay(es.pool, nc, stream)
    await relay.reconcile()
    assert await relay.relay_once() == 4
    await js.purge_stream(stream)  # what a single node losing all its unsynced writes looks like
    await asyncio.sleep(1.2)  # past the duplicate window
    relay.request_reconcile()
    await relay.reconcile()
    assert await relay.relay_once() == 4
    assert await stream_messages(nc, stream) == 4


async def event_ids_in_order(es: EventSourcing) -> list[str]:
    async with es.pool.acquire() as conn:
        return [str(r["event_id"]) for r in await conn.fetch("SELECT event_id FROM events ORDER BY position")]


async def stream_ids(nc: NATS, stream: str) -> list[str]:
    js = nc.jetstream()
    state = (await js.stream_info(stream)).state
    ids: list[str] = []
    if not state.messages:
        return ids
    for sequence in range(state.first_seq, state.last_seq + 1):
        message = await js.get_msg(stream, sequence)
        ids.append((message.headers or {})["Nats-Msg-Id"])
    return ids


async def wait_for_ids(nc: NATS, stream: str, expected: list[str], timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            if await stream_ids(nc, stream) == expected:
                return
        except NotFoundError:
            pass
        if asyncio.get_running_loop().time() > deadline:
            assert await stream_ids(nc, stream) == expected
        await asyncio.sleep(0.1)


def running_relay(es: EventSourcing, nc: NATS, naming: Naming) -> tuple[Loops, OutboxRelay]:
    """The relay as a service runs it: a supervised loop that makes its stream when it is gone."""
    js = nc.jetstream()
    topology = Topology(js, [event_stream_config(naming, "tickets", TEST_LIMITS)])
    relay = OutboxRelay(es.pool, nc, naming.event_stream("tickets"), topology=topology)
    loops = Loops(backoff=Backoff(first=0.1, cap=0.5))
    loops.spawn("outbox-relay", relay.run)
    return loops, relay


async def test_a_stream_that_lost_its_tail_gets_it_back_before_anything_newer(
    es: EventSourcing, nc: NATS, test_prefix: str
) -> None:
    """The broker acknowledged five messages and came back holding three (no reconnect was
    noticed): the next publish is refused, and the relay sends the lost two first."""
    naming = Naming(test_prefix)
    stream = naming.event_stream("tickets")
    js = nc.jetstream()
    await ensure_stream(js, event_stream_config(naming, "tickets", TEST_LIMITS))
    loops, _ = running_relay(es, nc, naming)
    try:
        await open_tickets(es, 5)
        published = await event_ids_in_order(es)
        await wait_for_ids(nc, stream, published)
        # The broker comes back with the first three only.
        await js.delete_stream(stream)
        await ensure_stream(js, event_stream_config(naming, "tickets", TEST_LIMITS))
        async with es.pool.acquire() as conn:
            rows = await conn.fetch("SELECT subject, headers, body FROM outbox ORDER BY position LIMIT 3")
        for row in rows:
            await js.publish(row["subject"], row["body"].encode(), headers=row["headers"])
        await open_tickets(es, 2, start=5)
        await wait_for_ids(nc, stream, await event_ids_in_order(es))
    finally:
        await loops.stop(10)


async def test_a_broker_that_lost_its_disk_gets_every_stream_back_from_the_outbox_while_running(
    es: EventSourcing, nc: NATS, test_prefix: str
) -> None:
    naming = Naming(test_prefix)
    stream = naming.event_stream("tickets")
    loops, _ = running_relay(es, nc, naming)
    try:
        await open_tickets(es, 6)
        await wait_for_ids(nc, stream, await event_ids_in_order(es))
        await nc.jetstream().delete_stream(stream)  # the broker's disk is gone
        await open_tickets(es, 3, start=6)
        await wait_for_ids(nc, stream, await event_ids_in_order(es))
    finally:
        await loops.stop(10)


def test_a_start_never_lowers_the_replicas_an_operator_raised() -> None:
    naming = Naming("t")
    wanted = event_stream_config(naming, "tickets", StreamLimits(replicas=1))
    raised = event_stream_config(naming, "tickets", StreamLimits(replicas=3))
    assert keeping_replicas(raised, wanted).num_replicas == 3
    assert keeping_replicas(wanted, raised).num_replicas == 3


async def test_a_full_stream_refuses_new_events_and_loses_none_the_relay_waits(
    es: EventSourcing, nc: NATS, test_prefix: str
) -> None:
    """An event stream never discards what a consumer may not have read: when it is full the
    broker refuses, the events wait in the outbox, and go out once there is room."""
    naming = Naming(test_prefix)
    stream = naming.event_stream("tickets")
    js = nc.jetstream()
    small = StreamLimits(max_bytes=2048, max_msg_size=1024)
    await ensure_stream(js, event_stream_config(naming, "tickets", small))
    loops, _ = running_relay(es, nc, naming)
    try:
        await open_tickets(es, 8)
        await asyncio.sleep(1.5)
        held = await stream_ids(nc, stream)
        expected = await event_ids_in_order(es)
        assert 0 < len(held) < 8
        assert held == expected[: len(held)]
        await js.update_stream(event_stream_config(naming, "tickets", TEST_LIMITS))
        await wait_for_ids(nc, stream, expected)
    finally:
        await loops.stop(10)
