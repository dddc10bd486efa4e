"""Rate-limit benchmark: what the shared buckets (dcert_shared.rate_limits) add to a request.

Each request counted in PostgreSQL is one upsert on one row of an UNLOGGED table. Measured
against the cheapest round trip there is (`SELECT 1` on a pooled connection) and against a
primary-key read of a small table (the least a route does), with 1, 4 and 16 concurrent
callers: many clients (a key each time from 10,000), and one client flooding (every request on
one row, which serialises on its lock). Prints requests/s and the ratio to `SELECT 1`.

    make bench                      # embedded PostgreSQL in .data/bench, or DATABASE_URL's server
    .venv/bin/python bench/rate_limits.py --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable

from system import bench_database

from dcert_shared.db import create_pool, migrate, migrate_schema
from dcert_shared.rate_limits import SharedBuckets
from dcert_shared.schema_history import SchemaHistory


async def run_for(seconds: float, callers: int, once: Callable[[], Awaitable[object]]) -> float:
    deadline = time.perf_counter() + seconds
    counts = [0] * callers

    async def caller(index: int) -> None:
        while time.perf_counter() < deadline:
            await once()
            counts[index] += 1

    started = time.perf_counter()
    await asyncio.gather(*(caller(i) for i in range(callers)))
    return sum(counts) / (time.perf_counter() - started)


async def bench(dsn: str, seconds: float) -> None:
    await migrate_schema(dsn, "public", SchemaHistory())
    pool = await create_pool(dsn, max_size=20)
    await migrate(
        pool,
        [
            "CREATE TABLE IF NOT EXISTS small_read (id int PRIMARY KEY, body text NOT NULL)",
            "INSERT INTO small_read SELECT n, md5(n::text) FROM generate_series(1, 10000) n ON CONFLICT DO NOTHING",
        ],
    )
    buckets = SharedBuckets(lambda: pool)
    clients = itertools.cycle([n.to_bytes(16, "big") for n in range(10_000)])
    rows = itertools.cycle(range(1, 10_001))

    async def select_one() -> None:
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT 1")

    async def read_by_key() -> None:
        async with pool.acquire() as conn:
            await conn.fetchrow("SELECT body FROM small_read WHERE id = $1", next(rows))

    async def many_clients() -> None:
        await buckets.take(next(clients), 1_000_000)

    async def one_client() -> None:
        await buckets.take(b"one-client-flooding", 1_000_000)

    cases: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("SELECT 1", select_one),
        ("PK read", read_by_key),
        ("bucket, many", many_clients),
        ("bucket, one", one_client),
    ]
    print(
        f"{'callers':>8} " + " ".join(f"{name + '/s':>15}" for name, _ in cases) + f" {'many/SELECT 1':>14}"
    )
    for callers in (1, 4, 16):
        rates = []
        for _, once in cases:
            await run_for(min(1.0, seconds / 4), callers, once)  # warm-up: prepared statements
            rates.append(await run_for(seconds, callers, once))
        cells = " ".join(f"{rate:>15.0f}" for rate in rates)
        print(f"{callers:>8} {cells} {rates[2] / rates[0]:>13.0%}")
    per_request_ms = 1000 / await run_for(seconds, 1, many_clients)
    print(f"\none caller: {per_request_ms:.3f} ms per counted request")
    size = await pool.fetchval("SELECT pg_total_relation_size('rate_limit_buckets')")
    count = await pool.fetchval("SELECT count(*) FROM rate_limit_buckets")
    print(f"{count} buckets take {size / 1024:.0f} KiB ({size / max(count, 1):.0f} bytes each, with index)")
    await pool.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring time per case")
    args = parser.parse_args()
    async with bench_database() as dsn:
        await bench(dsn, args.seconds)


if __name__ == "__main__":
    asyncio.run(main())
