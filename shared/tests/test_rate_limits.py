"""The rate limiter's parts: who the client is, buckets shared in PostgreSQL, what an outage does,
and that the buckets hold no address. The attacks on the whole service: tests/attacks."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from pydantic import ValidationError

from dcert_shared.db import create_pool, migrate_schema
from dcert_shared.rate_limits import (
    LocalBuckets,
    RateLimited,
    RateLimiter,
    SharedBuckets,
    client_address,
    prune,
)
from dcert_shared.schema_history import SchemaHistory
from dcert_shared.settings import ServiceSettings

TRUSTED = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8")]


def scope(peer: str | None, *forwarded_for: str) -> dict[str, Any]:
    return {
        "type": "http",
        "path": "/v1/verify",
        "client": (peer, 1234) if peer is not None else None,
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded_for],
    }


@pytest.mark.parametrize(
    ("request_scope", "client"),
    [
        (scope("203.0.113.5"), "203.0.113.5"),
        (scope("203.0.113.5", "198.51.100.1"), "203.0.113.5"),  # an untrusted peer's header is ignored
        (scope("10.0.0.2", "198.51.100.1"), "198.51.100.1"),
        (scope("10.0.0.2", "192.0.2.66, 198.51.100.1"), "198.51.100.1"),  # the client wrote the left one
        (scope("10.0.0.2", "198.51.100.1, 10.1.1.1"), "198.51.100.1"),  # two proxies of ours
        (scope("10.0.0.2", "192.0.2.66", "198.51.100.1"), "198.51.100.1"),  # two header lines
        (scope("10.0.0.2", "10.9.9.9"), "10.9.9.9"),  # only proxies: the first of them
        (scope("10.0.0.2"), "10.0.0.2"),  # no header: the proxy itself
        (scope("10.0.0.2", "198.51.100.1, not-an-address"), "10.0.0.2"),  # garbage: no further
        (scope("10.0.0.2", "[2400:cb00:1:2::7]"), "2400:cb00:1:2::/64"),
        (scope("fd00::1", "2400:cb00:1:2:aaaa::7"), "2400:cb00:1:2::/64"),
        (scope("::ffff:203.0.113.5"), "203.0.113.5"),
        (scope(None, "198.51.100.1"), "unknown"),
    ],
)
def test_the_client_is_the_first_address_no_trusted_proxy_vouches_for(
    request_scope: dict[str, Any], client: str
) -> None:
    assert client_address(request_scope, TRUSTED) == client


def test_without_trusted_proxies_the_header_is_never_read() -> None:
    assert client_address(scope("10.0.0.2", "198.51.100.1"), []) == "10.0.0.2"


@pytest.fixture
async def pool(fresh_database: str) -> AsyncIterator[asyncpg.Pool]:
    await migrate_schema(fresh_database, "public", SchemaHistory())
    opened = await create_pool(fresh_database)
    yield opened
    await opened.close()


async def test_two_limiters_on_one_database_share_the_buckets(pool: asyncpg.Pool) -> None:
    one = RateLimiter(SharedBuckets(lambda: pool), {"/v1/verify": 3}, key_secret=b"k" * 32)
    other = RateLimiter(SharedBuckets(lambda: pool), {"/v1/verify": 3}, key_secret=b"k" * 32)
    waits = [await (one if n % 2 else other).path_wait(scope("203.0.113.5")) for n in range(4)]
    assert waits[:3] == [0, 0, 0]
    assert 0 < waits[3] <= 20


async def test_concurrent_requests_are_counted_once_each(pool: asyncpg.Pool) -> None:
    buckets = SharedBuckets(lambda: pool)
    waits = await asyncio.gather(*(buckets.take(b"same-client", 20) for _ in range(30)))
    assert sum(1 for wait in waits if wait == 0) == 20


async def test_the_buckets_hold_no_address_and_full_ones_are_pruned(pool: asyncpg.Pool) -> None:
    limiter = RateLimiter(SharedBuckets(lambda: pool), {"/v1/verify": 600}, key_secret=b"k" * 32)
    await limiter.path_wait(scope("203.0.113.77"))
    rows = await pool.fetch("SELECT key, tat FROM rate_limit_buckets")
    assert len(rows) == 1
    assert b"203.0.113" not in bytes(rows[0]["key"])
    assert await prune(pool) == 0, "a bucket still refilling is kept"
    await pool.execute("UPDATE rate_limit_buckets SET tat = tat - 3600")
    assert await prune(pool) == 1


async def test_a_signed_in_caller_past_its_limit_is_told_when_to_come_back(pool: asyncpg.Pool) -> None:
    limiter = RateLimiter(SharedBuckets(lambda: pool), {}, subject_per_minute=2, key_secret=b"k" * 32)
    await limiter.admit_subject("reviewer", "r-1")
    await limiter.admit_subject("reviewer", "r-1")
    with pytest.raises(RateLimited) as refused:
        await limiter.admit_subject("reviewer", "r-1")
    assert 1 <= int(refused.value.response_headers()["Retry-After"]) <= 30
    await limiter.admit_subject("doctor", "r-1")  # the role is part of who is calling


async def test_an_outage_counts_in_the_process_and_says_so_once(
    pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    """Neither every request refused on the limiter nor every limit lifted (module docstring)."""
    buckets = SharedBuckets(lambda: pool)
    await pool.close()
    with caplog.at_level(logging.WARNING, logger="dcert_shared.rate_limits"):
        waits = [await buckets.take(b"client", 3) for _ in range(4)]
    assert waits[:3] == [0, 0, 0]
    assert waits[3] > 0
    warnings = [record for record in caplog.records if "rate limits" in record.getMessage()]
    assert len(warnings) == 1


async def test_an_app_without_a_database_counts_in_the_process() -> None:
    buckets = SharedBuckets(lambda: None)
    assert [await buckets.take(b"client", 2) for _ in range(3)][2] > 0
    local = LocalBuckets()
    assert local.take_now(b"a", 1, 0.0) == 0
    assert local.take_now(b"a", 1, 1.0) == pytest.approx(59.0)


def test_settings_refuse_to_trust_every_address() -> None:
    servers = {
        "database_url": "postgresql://x/y",
        "nats_url": "nats://x:1",
        "service_name": "t",
        "environment": "test",
    }
    with pytest.raises(ValidationError, match="DCERT_TRUSTED_PROXIES"):
        ServiceSettings(**servers, trusted_proxies=["0.0.0.0/0"])
    with pytest.raises(ValidationError):
        ServiceSettings(**servers, trusted_proxies=["10.0.0.1/8"])  # not a network: a typo
    settings = ServiceSettings(**servers, trusted_proxies=["10.0.0.0/8", "2001:db8::7"])
    assert [str(network) for network in settings.trusted_proxies] == ["10.0.0.0/8", "2001:db8::7/128"]
