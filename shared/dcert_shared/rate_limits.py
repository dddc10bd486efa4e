"""Rate limits that hold across processes and replicas: per client on the open endpoints, per
signed-in subject on every authenticated route.

- **Who is the client.** The socket's peer, unless the peer is one of `trusted_proxies`
  (CIDRs, none by default): then `X-Forwarded-For` is read from the right, each hop a trusted
  proxy vouches for, until the first address that is not a trusted proxy. Whatever a client
  writes into the header itself stays to the left of what its proxy appends, so it cannot
  choose its bucket; an untrusted peer's header is not read at all. An IPv6 client counts by
  its /64 (one subscriber's network), an IPv4-mapped one as its IPv4 address.
- **Who is the subject.** The verified token's role and `sub` (`auth.bearer_principal` asks
  here once the token is verified): one caller, whatever address it comes from.
- **Counting.** GCRA, the token bucket kept as one number per key (its "theoretical arrival
  time"): `per_minute` requests a minute with bursts of as many. Shared buckets live in the
  service's database, one row per key in an UNLOGGED table (its counts need no crash safety),
  updated by one atomic upsert per request on the database's clock; the key is a keyed hash,
  so the table holds no address and no subject. Rows of full buckets are pruned every minute.
- **An outage.** When the database does not answer within a second, the request is counted in
  this process's own buckets instead (logged once a minute): the old per-process limit still
  holds, and an outage neither refuses every request on the limiter nor lifts every limit.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final, Protocol

import asyncpg
from starlette.types import Scope

from .errors import TooManyRequests

log = logging.getLogger(__name__)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
SHARED_TIMEOUT_SECONDS: Final = 1.0
_OUTAGE_LOG_SECONDS: Final = 60.0

# GCRA in one statement on the database's clock. $2: seconds per request, $3: the burst's
# tolerance. `admitted` keeps the decision of the last request, so RETURNING can tell it.
_TAKE = """
WITH clock AS (SELECT extract(epoch FROM clock_timestamp())::double precision AS now)
INSERT INTO rate_limit_buckets AS bucket (key, tat, admitted)
SELECT $1, clock.now + $2, true FROM clock
ON CONFLICT (key) DO UPDATE SET
    admitted = greatest(bucket.tat, excluded.tat - $2) - (excluded.tat - $2) <= $3,
    tat = CASE WHEN greatest(bucket.tat, excluded.tat - $2) - (excluded.tat - $2) <= $3
               THEN greatest(bucket.tat, excluded.tat - $2) + $2 ELSE bucket.tat END
RETURNING admitted, tat - (SELECT now FROM clock) - $3 AS wait
"""
_PRUNE = "DELETE FROM rate_limit_buckets WHERE tat < extract(epoch FROM clock_timestamp())"


def _gcra(per_minute: int) -> tuple[float, float]:
    """(seconds per request, tolerance): a full bucket admits `per_minute` at once."""
    interval = 60.0 / per_minute
    return interval, 60.0 - interval


class Buckets(Protocol):
    async def take(self, key: bytes, per_minute: int) -> float:
        """0 when the request may go ahead (and is counted), else the seconds until it may."""
        ...


class LocalBuckets:
    """The buckets of this process alone (apps without a database, and the outage fallback)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.tats: dict[bytes, float] = {}
        self.clock = clock

    def take_now(self, key: bytes, per_minute: int, now: float) -> float:
        interval, tolerance = _gcra(per_minute)
        if len(self.tats) > 100_000:  # forget the full buckets rather than grow without end
            self.tats = {k: tat for k, tat in self.tats.items() if tat > now}
        tat = max(self.tats.get(key, now), now)
        if tat - now > tolerance:
            return tat - now - tolerance
        self.tats[key] = tat + interval
        return 0.0

    async def take(self, key: bytes, per_minute: int) -> float:
        return self.take_now(key, per_minute, self.clock())


class SharedBuckets:
    """Buckets in the service's database, shared by its processes and replicas (module docstring)."""

    def __init__(self, pool: Callable[[], asyncpg.Pool | None]) -> None:
        self._pool = pool
        self.local = LocalBuckets()
        self._outage_logged_at = -_OUTAGE_LOG_SECONDS

    async def take(self, key: bytes, per_minute: int) -> float:
        pool = self._pool()
        if pool is None:  # not started yet (or an app without a database)
            return await self.local.take(key, per_minute)
        interval, tolerance = _gcra(per_minute)
        try:
            async with pool.acquire(timeout=SHARED_TIMEOUT_SECONDS) as conn:
                row = await conn.fetchrow(_TAKE, key, interval, tolerance, timeout=SHARED_TIMEOUT_SECONDS)
        except Exception as error:  # any failure: counted here instead (module docstring)
            self._outage(error)
            return await self.local.take(key, per_minute)
        assert row is not None
        return 0.0 if row["admitted"] else max(float(row["wait"]), 0.001)

    def _outage(self, error: Exception) -> None:
        now = time.monotonic()
        if now - self._outage_logged_at >= _OUTAGE_LOG_SECONDS:
            self._outage_logged_at = now
            log.warning(
                "rate limits counted per process: the shared buckets cannot be reached (%s)",
                type(error).__qualname__,
            )


async def prune(pool: asyncpg.Pool) -> int:
    """Forget the buckets that are full again (a missing row is a full bucket)."""
    status = await pool.execute(_PRUNE)
    return int(status.split()[-1])


class RateLimited(TooManyRequests):
    """429 with `Retry-After`, the whole seconds until the caller's bucket admits a request."""

    def __init__(self, wait_seconds: float) -> None:
        super().__init__()
        self.retry_after = str(max(1, int(-(-wait_seconds // 1))))

    def response_headers(self) -> Mapping[str, str]:
        return {"Retry-After": self.retry_after}


class RateLimiter:
    """The limits of one service: per path for open endpoints, per subject when signed in."""

    def __init__(
        self,
        buckets: Buckets,
        path_limits: Mapping[str, int],
        *,
        subject_per_minute: int = 0,
        trusted_proxies: Sequence[IPNetwork] = (),
        key_secret: bytes | None = None,
    ) -> None:
        self.buckets = buckets
        self.path_limits = {path: per_minute for path, per_minute in path_limits.items() if per_minute > 0}
        self.subject_per_minute = subject_per_minute
        self.trusted_proxies = tuple(trusted_proxies)
        self._key_secret = key_secret or os.urandom(32)

    def _key(self, *parts: str) -> bytes:
        """A keyed hash: the buckets hold no address and no subject."""
        return hmac.new(self._key_secret, "\x00".join(parts).encode(), hashlib.sha256).digest()[:16]

    async def path_wait(self, scope: Scope) -> float:
        """0 when a request to this path may go ahead, else the seconds until it may."""
        path = scope["path"]
        per_minute = self.path_limits.get(path)
        if per_minute is None:
            return 0.0
        client = client_address(scope, self.trusted_proxies)
        return await self.buckets.take(self._key("path", path, client), per_minute)

    async def admit_subject(self, role: str, subject: str) -> None:
        """Raises RateLimited when this signed-in caller is past its limit."""
        if self.subject_per_minute <= 0:
            return
        wait = await self.buckets.take(self._key("subject", role, subject), self.subject_per_minute)
        if wait > 0:
            raise RateLimited(wait)


def client_address(scope: Scope, trusted_proxies: Iterable[IPNetwork]) -> str:
    """Whose bucket a request counts in (module docstring): an IPv4 address or an IPv6 /64."""
    trusted = tuple(trusted_proxies)
    peer = _address((scope.get("client") or ("", 0))[0])
    if peer is None:
        return "unknown"
    hops = [
        hop.strip()
        for name, value in scope.get("headers", [])
        if name.lower() == b"x-forwarded-for"
        for hop in value.decode("latin-1").split(",")
    ]
    address = peer
    while hops and any(address in network for network in trusted):
        hop = _address(hops.pop())
        if hop is None:  # the proxy we trust passed on something unreadable: it is the client
            break
        address = hop
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip().strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


__all__ = [
    "Buckets",
    "LocalBuckets",
    "RateLimited",
    "RateLimiter",
    "SharedBuckets",
    "client_address",
    "prune",
]
