"""Append benchmark: single-event commands (event + outbox row) against a raw asyncpg baseline.

Both run in the same process, on the same database server, with the same concurrency, so the
ratio says what the event store costs over the cheapest possible durable write (one INSERT per
transaction). Prints events/s for 1, 4 and 16 concurrent writers and the ratio. Target: >= 50 %.

Then what sealing personal data costs (ADR 0005): an application's submission with its four
sealed fields, each by a new person (a data key made and wrapped, one AES-GCM seal), against the
plain event append; and reading 10,000 such events back (opened) against plain ones.

    make bench                      # embedded PostgreSQL in .data/bench, or DATABASE_URL's server
    .venv/bin/python bench/append.py --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import ClassVar

import asyncpg
from system import bench_database

from dcert_shared.db import create_pool, migrate, migrate_schema
from dcert_shared.envelope import Actor, CommandContext, DomainEvent, EventRegistry
from dcert_shared.schema_history import SchemaHistory
from dcert_shared.store import EventStore
from dcert_shared.vault import LocalKeyManager, Vault

CONTEXT = CommandContext(actor=Actor(role="applicant", subject="bench"))


class BenchmarkRecorded(DomainEvent):
    """A small event the size of a typical status change."""

    application_id: str
    status: str
    region: str


class BenchmarkSubmitted(DomainEvent):
    """A submission holding a person's data, sealed with their key as ApplicationSubmitted is."""

    sealed_fields: ClassVar[Mapping[str, frozenset[str]]] = {
        "person_ref": frozenset({"id_number", "name", "phone", "address"})
    }
    application_id: str
    person_ref: str
    region: str
    id_number: str | None
    name: str | None
    phone: str | None
    address: str | None


async def run_for(seconds: float, writers: int, write_once: Callable[[], Awaitable[None]]) -> float:
    deadline = time.perf_counter() + seconds
    counts = [0] * writers

    async def writer(index: int) -> None:
        while time.perf_counter() < deadline:
            await write_once()
            counts[index] += 1

    started = time.perf_counter()
    await asyncio.gather(*(writer(i) for i in range(writers)))
    return sum(counts) / (time.perf_counter() - started)


async def bench(dsn: str, seconds: float) -> None:
    await migrate_schema(dsn, "public", SchemaHistory())
    pool = await create_pool(dsn, max_size=20)
    await migrate(
        pool, ["CREATE TABLE IF NOT EXISTS raw_baseline (id uuid PRIMARY KEY, body jsonb NOT NULL)"]
    )
    registry = EventRegistry()
    registry.register(BenchmarkRecorded)
    store = EventStore(registry, "/dcert/bench", "bench.events.")

    async def raw_insert() -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO raw_baseline (id, body) VALUES ($1, $2)",
                uuid.uuid4(),
                {"application_id": "a", "status": "submitted", "region": "330502"},
            )

    async def event_append() -> None:
        event = BenchmarkRecorded(application_id=uuid.uuid4().hex, status="submitted", region="330502")
        async with pool.acquire() as conn, conn.transaction():
            await store.append(conn, f"application-{event.application_id}", 0, [event], CONTEXT)

    print(f"{'writers':>8} {'raw INSERT/s':>14} {'event+outbox/s':>16} {'ratio':>7}")
    for writers in (1, 4, 16):
        await run_for(min(1.0, seconds / 4), writers, raw_insert)  # warm-up: prepared statements, caches
        await run_for(min(1.0, seconds / 4), writers, event_append)
        raw = await run_for(seconds, writers, raw_insert)
        appended = await run_for(seconds, writers, event_append)
        print(f"{writers:>8} {raw:>14.0f} {appended:>16.0f} {appended / raw:>6.0%}")
    await bench_sealing(pool, seconds)
    await pool.close()


async def bench_sealing(pool: asyncpg.Pool, seconds: float) -> None:
    registry = EventRegistry()
    registry.register(BenchmarkRecorded, BenchmarkSubmitted)
    store = EventStore(registry, "/dcert/bench", "bench.events.", Vault(LocalKeyManager(os.urandom(32))))

    async def plain_append() -> None:
        event = BenchmarkRecorded(application_id=uuid.uuid4().hex, status="submitted", region="330502")
        async with pool.acquire() as conn, conn.transaction():
            await store.append(conn, f"plain-{event.application_id}", 0, [event], CONTEXT)

    async def sealed_append() -> None:
        application_id = uuid.uuid4().hex
        event = BenchmarkSubmitted(
            application_id=application_id,
            person_ref=uuid.uuid4().hex,
            region="330502",
            id_number="330502195001011234",
            name="王小明",
            phone="13800000000",
            address="湖州市吴兴区人民路1号",
        )
        async with pool.acquire() as conn, conn.transaction():
            await store.append(conn, f"sealed-{application_id}", 0, [event], CONTEXT)

    print(f"\n{'writers':>8} {'plain event/s':>14} {'sealed event/s':>16} {'ratio':>7}")
    for writers in (1, 4, 16):
        await run_for(min(1.0, seconds / 4), writers, sealed_append)
        plain = await run_for(seconds, writers, plain_append)
        sealed = await run_for(seconds, writers, sealed_append)
        print(f"{writers:>8} {plain:>14.0f} {sealed:>16.0f} {sealed / plain:>6.0%}")

    async with pool.acquire() as conn:
        rates = {}
        for kind in ("plain", "sealed"):
            rows = await conn.fetch(
                "SELECT stream_id FROM events WHERE stream_id LIKE $1 ORDER BY position LIMIT 10000",
                f"{kind}-%",
            )
            started = time.perf_counter()
            for row in rows:
                await store.load(conn, row["stream_id"])
            rates[kind] = len(rows) / (time.perf_counter() - started)
    print(
        f"\nload (one stream each): plain {rates['plain']:.0f}/s, sealed {rates['sealed']:.0f}/s,"
        f" ratio {rates['sealed'] / rates['plain']:.0%}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring time per case")
    args = parser.parse_args()
    async with bench_database() as dsn:
        await bench(dsn, args.seconds)


if __name__ == "__main__":
    asyncio.run(main())
