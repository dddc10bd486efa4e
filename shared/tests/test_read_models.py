"""Read models in a schema per shape: built from a checkpoint before a process writes, tailed
while two versions run side by side, rebuilt while writers go on, compared with the events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest

from dcert_dev.testing import eventually
from dcert_shared.db import ReadModels, create_pool, migrate_schema
from dcert_shared.envelope import Actor, CommandContext
from dcert_shared.loops import Loops
from dcert_shared.read_models import ReadModelKeeper
from dcert_shared.schema_history import SchemaHistory
from dcert_shared.store import EventStore
from dcert_shared.uow import EventSourcing, UnitOfWork

from .eventsourcing_fixtures import READ_MODEL, Ticket, project_ticket, registry

CONTEXT = CommandContext(actor=Actor(role="clerk", subject="c-1"))
SHAPE = ReadModels(schema=READ_MODEL, tables=["ticket_view"])
WIDER = ReadModels(
    schema=[READ_MODEL[0].replace("stamps int NOT NULL", "stamps int NOT NULL, note text")],
    tables=["ticket_view"],
)


@dataclass
class Version:
    """One version of a service, as its processes see the database."""

    keeper: ReadModelKeeper
    es: EventSourcing
    loops: Loops

    async def close(self) -> None:
        await self.loops.stop(5)
        await self.es.pool.close()

    async def rows(self) -> list[dict[str, object]]:
        async with self.es.pool.acquire() as conn:
            return [
                dict(row) for row in await conn.fetch("SELECT id, owner, stamps FROM ticket_view ORDER BY id")
            ]


async def start_version(dsn: str, shape: ReadModels, *, tail: bool = True, pool_size: int = 10) -> Version:
    await migrate_schema(dsn, "public", SchemaHistory())
    store = EventStore(registry(), "/dcert/tickets", "tickets.events.")
    keeper = ReadModelKeeper(
        shape, store, [project_ticket], dsn=dsn, service_schema="public", service_name="tickets"
    )
    pool = await create_pool(
        dsn, application_name=keeper.application_name, search_path=keeper.search_path, max_size=pool_size
    )
    await keeper.prepare(pool)
    loops = Loops()
    if tail:
        loops.spawn("read models", keeper.run)
    return Version(keeper, EventSourcing(pool, store, [project_ticket], gate=keeper.gate), loops)


@pytest.fixture
async def versions(fresh_database: str) -> AsyncIterator[list[Version]]:
    started: list[Version] = []
    yield started
    for version in started:
        await version.close()


async def open_ticket(es: EventSourcing, ticket_id: str) -> None:
    async def decide(uow: UnitOfWork) -> None:
        uow.track(Ticket.open(ticket_id, "clerk-1"))

    await es.execute(CONTEXT, decide)


async def stamp(es: EventSourcing, ticket_id: str, value: int) -> None:
    async def decide(uow: UnitOfWork) -> None:
        ticket = await uow.load(Ticket, ticket_id)
        assert ticket is not None
        ticket.stamp(value)

    await es.execute(CONTEXT, decide)


async def test_a_new_shape_is_built_from_the_events_in_its_own_schema_and_the_old_one_is_kept(
    fresh_database: str, versions: list[Version]
) -> None:
    old = await start_version(fresh_database, SHAPE)
    versions.append(old)
    for ticket_id in ("s1", "s2"):
        await open_ticket(old.es, ticket_id)
    await stamp(old.es, "s1", 1)
    await old.close()
    versions.remove(old)

    new = await start_version(fresh_database, WIDER)
    versions.append(new)
    async with new.es.pool.acquire() as conn:
        rows = [dict(r) for r in await conn.fetch("SELECT * FROM ticket_view ORDER BY id")]
        schemas = {r["schema_name"] for r in await conn.fetch("SELECT schema_name FROM read_model_sets")}
        kept = await conn.fetchval(f"SELECT count(*) FROM {old.keeper.schema_name}.ticket_view")
    assert rows == [
        {"id": "s1", "owner": "clerk-1", "stamps": 1, "note": None},
        {"id": "s2", "owner": "clerk-1", "stamps": 0, "note": None},
    ]
    assert schemas == {old.keeper.schema_name, new.keeper.schema_name}
    assert kept == 2, "a newer version never drops an older one's read models (nor the reverse)"
    assert await new.keeper.differences() == []


async def test_a_transaction_open_during_the_build_hides_no_later_commit(
    fresh_database: str, versions: list[Version]
) -> None:
    """The build reads below the commit horizon; an unrelated transaction held open holds that
    horizon back. Events committed after it began must be in the read models all the same (a
    replay in one transaction under the horizon rule left them out for good)."""
    first = await start_version(fresh_database, SHAPE)
    versions.append(first)
    await open_ticket(first.es, "before")
    holder = await asyncpg.connect(fresh_database)
    try:
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute("CREATE TEMPORARY TABLE held (x int)")
        await holder.execute("SELECT pg_current_xact_id()")  # this transaction now holds the horizon
        for ticket_id in ("after-1", "after-2"):
            await open_ticket(first.es, ticket_id)
        await first.close()
        versions.remove(first)
        upgraded = await start_version(fresh_database, WIDER)
        versions.append(upgraded)
        assert [row["id"] for row in await upgraded.rows()] == ["after-1", "after-2", "before"]
    finally:
        await transaction.rollback()
        await holder.close()


async def test_old_and_new_versions_side_by_side_each_see_every_write(
    fresh_database: str, versions: list[Version]
) -> None:
    """A rolling upgrade: both versions write; each one's read models get the other's events
    (they tail them), and once the old version is gone the new one projects inline again."""
    old = await start_version(fresh_database, SHAPE)
    versions.append(old)
    await open_ticket(old.es, "a")
    new = await start_version(fresh_database, WIDER)
    versions.append(new)

    async def write(version: Version, prefix: str) -> None:
        for number in range(10):
            await open_ticket(version.es, f"{prefix}{number}")
            await stamp(version.es, "a", number)

    await asyncio.gather(write(old, "old-"), write(new, "new-"))

    async def both_complete() -> bool:
        old_rows, new_rows = await old.rows(), await new.rows()
        return len(old_rows) == len(new_rows) == 21 and old_rows == new_rows

    await eventually(both_complete, timeout=20)
    assert await old.keeper.differences() == []
    assert await new.keeper.differences() == []
    await old.close()
    versions.remove(old)

    async def inline_again() -> bool:
        async with new.es.pool.acquire() as conn:
            return bool(
                await conn.fetchval(
                    "SELECT inline FROM read_model_sets WHERE fingerprint = $1", new.keeper.fingerprint
                )
            )

    await eventually(inline_again, timeout=20)
    await open_ticket(new.es, "after-the-upgrade")
    assert "after-the-upgrade" in [row["id"] for row in await new.rows()]  # at once: inline


async def test_a_rebuild_while_writers_go_on_equals_the_events(
    fresh_database: str, versions: list[Version]
) -> None:
    service = await start_version(fresh_database, SHAPE)
    versions.append(service)
    for number in range(20):
        await open_ticket(service.es, f"t{number}")
    writing = asyncio.Event()

    async def keep_writing() -> None:
        number = 0
        while not writing.is_set():
            await stamp(service.es, f"t{number % 20}", number)
            number += 1

    writer = asyncio.create_task(keep_writing())
    try:
        assert await service.keeper.rebuild() >= 20
    finally:
        writing.set()
        await writer
    assert await service.keeper.differences() == []


async def test_a_read_model_row_no_event_explains_is_reported(
    fresh_database: str, versions: list[Version]
) -> None:
    service = await start_version(fresh_database, SHAPE)
    versions.append(service)
    await open_ticket(service.es, "t1")
    async with service.es.pool.acquire() as conn:
        await conn.execute("UPDATE ticket_view SET stamps = 99")
    assert await service.keeper.differences() == ["ticket_view: 1 rows missing, 1 rows not from the events"]


async def test_a_switch_under_more_writers_than_connections_does_not_wait_for_ever(
    fresh_database: str, versions: list[Version]
) -> None:
    """Writers wait for a switch at the start of their transactions, each holding a connection
    of the pool; the switch must not need one of them."""
    old = await start_version(fresh_database, SHAPE)
    versions.append(old)
    new = await start_version(fresh_database, WIDER, pool_size=2)
    versions.append(new)
    for number in range(4):
        await open_ticket(new.es, f"t{number}")
    done = asyncio.Event()

    async def writer(ticket_id: str) -> None:
        value = 0
        while not done.is_set():
            await stamp(new.es, ticket_id, value)
            value += 1

    writers = [asyncio.create_task(writer(f"t{number % 4}")) for number in range(8)]
    try:
        await old.close()  # the new version is alone now: it switches to inline under the load
        versions.remove(old)

        async def inline() -> bool:
            async with new.es.pool.acquire() as conn:
                return bool(
                    await conn.fetchval(
                        "SELECT inline FROM read_model_sets WHERE fingerprint = $1", new.keeper.fingerprint
                    )
                )

        await eventually(inline, timeout=20)
    finally:
        done.set()
        await asyncio.wait_for(asyncio.gather(*writers), 20)
    assert await new.keeper.differences() == []
