"""The event store on real PostgreSQL: concurrency, upcasting, the gap-free tail, rebuilds."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from dcert_shared.envelope import Actor, CommandContext, EventEnvelope
from dcert_shared.errors import ConcurrencyConflict, IdempotencyKeyReused
from dcert_shared.store import START, Checkpoint
from dcert_shared.uow import EventSourcing, UnitOfWork

from .eventsourcing_fixtures import (
    Ticket,
    TicketHolderRecorded,
    TicketNoteAdded,
    TicketOpened,
    event_sourcing,
)

CONTEXT = CommandContext(actor=Actor(role="reviewer", subject="r-1"))


@pytest.fixture
async def es(fresh_database: str) -> AsyncIterator[EventSourcing]:
    instance = await event_sourcing(fresh_database, pool_size=24)
    yield instance
    await instance.pool.close()


async def open_ticket(es: EventSourcing, ticket_id: str, owner: str = "clerk-1") -> None:
    async def decide(uow: UnitOfWork) -> None:
        uow.track(Ticket.open(ticket_id, owner))

    await es.execute(CONTEXT, decide)


async def stamp(es: EventSourcing, ticket_id: str, value: int) -> None:
    async def decide(uow: UnitOfWork) -> None:
        ticket = await uow.load(Ticket, ticket_id)
        assert ticket is not None
        ticket.stamp(value)

    await es.execute(CONTEXT, decide)


async def test_a_stream_loads_back_in_order_with_its_context(es: EventSourcing) -> None:
    context = CommandContext(
        actor=Actor(role="doctor", subject="d-9"),
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )

    async def decide(uow: UnitOfWork) -> None:
        ticket = uow.track(Ticket.open("t1", "clerk-1"))
        assert isinstance(ticket, Ticket)
        ticket.stamp(7)
        ticket.stamp(8)

    await es.execute(context, decide)
    async with es.pool.acquire() as conn:
        stored = await es.store.load(conn, "ticket-t1")
    assert [e.stream_version for e in stored] == [1, 2, 3]
    assert [e.event_type for e in stored] == ["TicketOpened", "TicketStamped", "TicketStamped"]
    assert {e.correlation_id for e in stored} == {context.correlation_id}
    assert stored[0].actor == Actor(role="doctor", subject="d-9")
    assert stored[0].traceparent == context.traceparent


async def test_a_stale_writer_is_refused_and_writes_nothing(es: EventSourcing) -> None:
    await open_ticket(es, "t2")
    async with es.pool.acquire() as conn:
        with pytest.raises(ConcurrencyConflict):
            async with conn.transaction():
                await es.store.append(conn, "ticket-t2", 0, [TicketOpened(owner="intruder")], CONTEXT)
        stored = await es.store.load(conn, "ticket-t2")
    assert [e.payload["owner"] for e in stored] == ["clerk-1"]


async def test_concurrent_commands_on_one_aggregate_all_land_by_deciding_again(es: EventSourcing) -> None:
    await open_ticket(es, "t3")
    await asyncio.gather(*(stamp(es, "t3", value) for value in range(8)))
    async with es.pool.acquire() as conn:
        stored = await es.store.load(conn, "ticket-t3")
        view = await conn.fetchrow("SELECT stamps FROM ticket_view WHERE id = 't3'")
    assert sorted(e.payload["stamp"] for e in stored[1:]) == list(range(8))
    assert [e.stream_version for e in stored] == list(range(1, 10))
    assert view["stamps"] == 8


async def test_a_rule_broken_after_reloading_is_refused_not_overwritten(es: EventSourcing) -> None:
    await open_ticket(es, "t4")
    Ticket.limit = 1
    try:
        results = await asyncio.gather(stamp(es, "t4", 1), stamp(es, "t4", 2), return_exceptions=True)
    finally:
        Ticket.limit = 1_000_000
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 1
    assert type(refused[0]).__name__ == "TicketFull"
    async with es.pool.acquire() as conn:
        assert len(await es.store.load(conn, "ticket-t4")) == 2


async def test_an_old_schema_version_is_upcast_on_read_and_never_rewritten(es: EventSourcing) -> None:
    async with es.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO events (event_id, stream_id, version, event_type, schema_version, payload, metadata)"
            " VALUES ($1, 'ticket-old', 1, 'TicketOpened', 0, $2, $3)",
            uuid.uuid4(),
            {"clerk": "clerk-7"},
            {"source": "/dcert/tickets", "correlation_id": str(uuid.uuid4())},
        )

    @es.store.registry.upcaster("TicketOpened", from_version=0)
    def clerk_became_owner(payload: dict[str, object]) -> dict[str, object]:
        return {"owner": payload.pop("clerk")}

    async with es.pool.acquire() as conn:
        ticket = Ticket.rehydrate(
            "old", [es.store.registry.decode(e) for e in await es.store.load(conn, "ticket-old")]
        )
        raw = await conn.fetchval("SELECT payload FROM events WHERE stream_id = 'ticket-old'")
    assert ticket.owner == "clerk-7"
    assert raw == {"clerk": "clerk-7"}


async def test_public_events_reach_the_outbox_without_their_private_fields(es: EventSourcing) -> None:
    async def decide(uow: UnitOfWork) -> None:
        await uow.store.append(
            uow.conn,
            "ticket-t5",
            0,
            [
                TicketOpened(owner="clerk-1"),
                TicketNoteAdded(note="internal only"),
                TicketHolderRecorded(holder_name="王小明", region="330502"),
            ],
            CONTEXT,
        )

    await es.execute(CONTEXT, decide)
    async with es.pool.acquire() as conn:
        rows = await conn.fetch("SELECT subject, headers, body FROM outbox ORDER BY position")
    assert [r["subject"] for r in rows] == [
        "tickets.events.TicketOpened",
        "tickets.events.TicketHolderRecorded",
    ]
    assert "王小明" not in rows[1]["body"]
    assert "330502" in rows[1]["body"]
    assert all(r["headers"]["Nats-Msg-Id"] for r in rows)


async def test_a_tailing_reader_never_skips_a_slow_transaction_nor_repeats_an_event(
    es: EventSourcing,
) -> None:
    writers, appends_per_writer = 16, 25
    slow_started, slow_may_commit = asyncio.Event(), asyncio.Event()
    seen: list[EventEnvelope] = []
    done = asyncio.Event()

    async def slow_transaction() -> int:
        async with es.pool.acquire() as conn, conn.transaction():
            [envelope] = await es.store.append(conn, "ticket-slow", 0, [TicketOpened(owner="slow")], CONTEXT)
            slow_started.set()
            await slow_may_commit.wait()
            assert envelope.position is not None
            return envelope.position

    async def writer(number: int) -> None:
        for index in range(appends_per_writer):
            async with es.pool.acquire() as conn, conn.transaction():
                await es.store.append(
                    conn, f"ticket-w{number}-{index}", 0, [TicketOpened(owner=f"w{number}")], CONTEXT
                )

    async def reader() -> None:
        checkpoint = START
        async with es.pool.acquire() as conn:
            while True:
                finished = done.is_set()
                batch, checkpoint = await es.store.read_all(conn, checkpoint, limit=50)
                seen.extend(batch)
                if finished and not batch:
                    return
                await asyncio.sleep(0.005)

    slow = asyncio.create_task(slow_transaction())
    await slow_started.wait()
    tail = asyncio.create_task(reader())
    await asyncio.gather(*(writer(n) for n in range(writers)))
    async with es.pool.acquire() as conn:
        later_positions = await conn.fetchval("SELECT max(position) FROM events")
    await asyncio.sleep(0.2)
    seen_before_commit = {e.stream_id for e in seen}
    slow_may_commit.set()
    slow_position = await slow
    done.set()
    await tail

    # The slow event took its position before many others committed: a naive `position > last`
    # reader would already have moved past it.
    assert slow_position < later_positions
    assert "ticket-slow" not in seen_before_commit
    ids = [e.event_id for e in seen]
    assert len(ids) == len(set(ids)), "an event was read twice"
    assert len(ids) == writers * appends_per_writer + 1, "an event was skipped"
    assert "ticket-slow" in {e.stream_id for e in seen}


async def test_the_global_checkpoint_orders_by_transaction_then_position() -> None:
    assert Checkpoint(5, 100) < Checkpoint(6, 1) < Checkpoint(6, 2)


async def test_the_same_idempotency_key_and_body_answers_the_first_result_once(es: EventSourcing) -> None:
    async def create(uow: UnitOfWork) -> dict[str, str]:
        ticket_id = uuid.uuid4().hex
        uow.track(Ticket.open(ticket_id, "clerk-1"))
        return {"id": ticket_id}

    body = {"owner": "clerk-1"}
    results = await asyncio.gather(
        *(es.execute_idempotent(CONTEXT, "applicant:a1", "key-1", body, create) for _ in range(5))
    )
    assert len({r[0]["id"] for r in results}) == 1
    assert sum(1 for _, replayed in results if not replayed) == 1
    async with es.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM ticket_view") == 1


async def test_the_same_idempotency_key_with_another_body_is_refused(es: EventSourcing) -> None:
    async def create(uow: UnitOfWork) -> dict[str, str]:
        uow.track(Ticket.open(uuid.uuid4().hex, "clerk-1"))
        return {"ok": "yes"}

    await es.execute_idempotent(CONTEXT, "applicant:a1", "key-2", {"owner": "a"}, create)
    with pytest.raises(IdempotencyKeyReused):
        await es.execute_idempotent(CONTEXT, "applicant:a1", "key-2", {"owner": "b"}, create)
    other_principal, replayed = await es.execute_idempotent(
        CONTEXT, "applicant:a2", "key-2", {"owner": "b"}, create
    )
    assert not replayed
    async with es.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM ticket_view") == 2


async def test_a_stream_loaded_twice_in_one_command_is_one_object_and_saves_once(es: EventSourcing) -> None:
    """A death reported while a renewal of the same certificate is open loads the certificate
    twice in one command: without an identity map the two copies conflict with each other
    for ever (and the event is dead-lettered)."""
    await open_ticket(es, "twice")

    async def decide(uow: UnitOfWork) -> None:
        first = await uow.load(Ticket, "twice")
        second = await uow.load(Ticket, "twice")
        assert first is second is not None
        first.stamp(1)
        second.stamp(2)

    await es.execute(CONTEXT, decide, attempts=1)
    async with es.pool.acquire() as conn:
        stored = await es.store.load(conn, "ticket-twice")
    assert [e.event_type for e in stored] == ["TicketOpened", "TicketStamped", "TicketStamped"]


async def test_a_command_broken_by_a_deadlock_is_decided_again(es: EventSourcing) -> None:
    """Two commands taking two rows in opposite orders: PostgreSQL aborts one (40P01); it runs
    again instead of failing the request or the event."""
    async with es.pool.acquire() as conn:
        await conn.execute("CREATE TABLE counters (name text PRIMARY KEY, value int NOT NULL)")
        await conn.execute("INSERT INTO counters VALUES ('a', 0), ('b', 0)")
    both_hold_one = asyncio.Barrier(2)
    runs: list[str] = []

    def taking(first: str, second: str) -> Callable[[UnitOfWork], Awaitable[None]]:
        async def decide(uow: UnitOfWork) -> None:
            runs.append(first)
            await uow.conn.execute("UPDATE counters SET value = value + 1 WHERE name = $1", first)
            if runs.count(first) == 1:
                await both_hold_one.wait()
            await uow.conn.execute("UPDATE counters SET value = value + 1 WHERE name = $1", second)

        return decide

    await asyncio.gather(es.execute(CONTEXT, taking("a", "b")), es.execute(CONTEXT, taking("b", "a")))
    async with es.pool.acquire() as conn:
        assert dict(await conn.fetch("SELECT name, value FROM counters")) == {"a": 2, "b": 2}
    assert len(runs) == 3  # one of the two ran again


async def test_an_append_never_sorts_before_the_version_it_follows(es: EventSourcing) -> None:
    """A transaction takes its id at its first write (a consumer's inbox row), not at commit. One
    that wrote early, then loaded a stream another transaction had extended meanwhile, would put
    its event before that one in the global order: it is decided again with a newer id."""
    await open_ticket(es, "ordered")
    wrote_early, extended = asyncio.Event(), asyncio.Event()
    tries: list[int] = []

    async def early_writer(uow: UnitOfWork) -> None:
        tries.append(1)
        await uow.conn.execute("CREATE TEMPORARY TABLE IF NOT EXISTS scratch (x int)")
        await uow.conn.execute("SELECT pg_current_xact_id()")  # the transaction id, taken now
        if len(tries) == 1:
            wrote_early.set()
            await extended.wait()
        ticket = await uow.load(Ticket, "ordered")
        assert ticket is not None
        ticket.stamp(2)

    async def meanwhile() -> None:
        await wrote_early.wait()
        await stamp(es, "ordered", 1)
        extended.set()

    await asyncio.gather(es.execute(CONTEXT, early_writer), meanwhile())
    async with es.pool.acquire() as conn:
        envelopes, _ = await es.store.read_all(conn, START)
    versions = [e.stream_version for e in envelopes if e.stream_id == "ticket-ordered"]
    assert versions == [1, 2, 3]
    assert len(tries) == 2
