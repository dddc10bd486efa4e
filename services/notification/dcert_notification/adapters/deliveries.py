"""The delivery queue: one row per (subscription, event), in PostgreSQL, worked off by the sender.

Not a projection: a row is written by the consumer in the same transaction as its inbox entry
(so a redelivered event adds nothing) and then changes with every try. Workers claim rows with
`FOR UPDATE SKIP LOCKED` and a lease (`claimed_until`), so no connection is held while a
partner's server is slow, and a worker that dies mid-try only delays that row until its lease
ends. Only the oldest pending row of each (subscription, order key) can be claimed: the order
key names the certificate (or person) an event is about, so one certificate's events reach a
partner strictly in order, a failing one holds up only that certificate's later events, and
different subscriptions go out side by side. Dead rows are the dead-letter list: an operator
replays them (or a partner replays its deliveries since a time) by making them pending again,
with their original order and webhook-id.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from dcert_shared.access_log import Reader, record_reads
from dcert_shared.vault import Vault

from ..domain.subscription import SECRET_PREFIX


@dataclass(frozen=True)
class NewDelivery:
    id: str
    subscription_id: str
    partner_id: str
    event_id: uuid.UUID
    event_type: str
    body: str
    order_key: str
    policy_version: int
    person_ref: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery leased to this worker, with what it takes to send it: the URL, the secrets
    that sign it now, and the partner's policy as it stands now."""

    seq: int
    id: str
    subscription_id: str
    event_type: str
    body: str
    attempts: int
    url: str
    secret: str
    previous_secret: str | None
    policy_version: int
    current_policy_version: int
    event_types: list[str]
    fields: list[str]
    region: str | None = None
    regions: tuple[str, ...] = ()  # the policy's jurisdiction now


async def enqueue(conn: asyncpg.Connection, queued: list[NewDelivery]) -> None:
    """Queue an event's deliveries in the caller's transaction, in one statement; one already
    queued (the same subscription and event) is left as it is."""
    if not queued:
        return
    await conn.execute(
        "INSERT INTO deliveries (id, subscription_id, partner_id, event_id, event_type, body, status,"
        " order_key, policy_version, person_ref, region)"
        " SELECT id, subscription_id, partner_id, event_id, event_type, body, 'pending', order_key, policy_version,"
        " person_ref, region"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::uuid[], $5::text[], $6::text[], $7::text[],"
        "             $8::int[], $9::text[], $10::text[]) AS q(id, subscription_id, partner_id, event_id,"
        "             event_type, body, order_key, policy_version, person_ref, region)"
        " ON CONFLICT (subscription_id, event_id) DO NOTHING",
        [d.id for d in queued],
        [d.subscription_id for d in queued],
        [d.partner_id for d in queued],
        [d.event_id for d in queued],
        [d.event_type for d in queued],
        [d.body for d in queued],
        [d.order_key for d in queued],
        [d.policy_version for d in queued],
        [d.person_ref for d in queued],
        [d.region for d in queued],
    )


async def remember_region(conn: asyncpg.Connection, keys: list[str], region: str) -> None:
    """The household region an event named, for later events of the same certificate or person
    that name none (a cancellation); `keys` are hashed."""
    await conn.executemany(
        "INSERT INTO event_regions (key, region) VALUES ($1, $2)"
        " ON CONFLICT (key) DO UPDATE SET region = EXCLUDED.region",
        [(key, region) for key in keys],
    )


# What a claim can fail with while the database is away: the sender waits and claims again.
QUEUE_UNAVAILABLE: tuple[type[Exception], ...] = (OSError, TimeoutError, asyncpg.PostgresError)


@asynccontextmanager
async def new_deliveries_wake(pool: asyncpg.Pool, wake: Callable[[], None]) -> AsyncIterator[None]:
    """Calls `wake` whenever deliveries are queued (the table's trigger notifies), while open."""

    def on_notify(*_: object) -> None:
        wake()

    async with pool.acquire() as listener:
        channel = await listener.fetchval("SELECT current_setting('dcert.schema') || '_deliveries'")
        await listener.add_listener(channel, on_notify)
        try:
            yield
        finally:
            await listener.remove_listener(channel, on_notify)


_CLAIM = """
WITH heads AS (
    SELECT DISTINCT ON (subscription_id, order_key) seq FROM deliveries
    WHERE status = 'pending' ORDER BY subscription_id, order_key, seq
), due AS (
    SELECT d.seq FROM deliveries d JOIN heads USING (seq)
    WHERE d.status = 'pending' AND d.next_attempt_at <= now()
      AND (d.claimed_until IS NULL OR d.claimed_until < now())
    ORDER BY d.next_attempt_at, d.seq
    LIMIT $1
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE deliveries d SET claimed_until = now() + make_interval(secs => $2)
FROM due, subscription_view s, partner_view p
WHERE d.seq = due.seq AND s.id = d.subscription_id AND p.id = d.partner_id
RETURNING d.seq, d.id, d.subscription_id, d.event_type, d.body, d.attempts, s.url, s.secret,
    CASE WHEN s.previous_valid_until > now() THEN s.previous_secret END AS previous_secret,
    d.policy_version, p.policy_version AS current_policy_version, p.event_types, p.fields, d.region,
    p.regions
"""


async def claim(pool: asyncpg.Pool, vault: Vault, limit: int, lease_seconds: float) -> list[ClaimedDelivery]:
    """Lease up to `limit` due deliveries, each the oldest pending one of its certificate at its
    subscription, with the subscription's signing secrets opened."""
    async with pool.acquire() as conn, conn.transaction():
        # A plan made for this backlog, not a generic one cached while the queue was empty (which
        # grows with the square of a burst's backlog).
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        rows = await conn.fetch(_CLAIM, limit, lease_seconds)
        keys: dict[str, bytes | None] = {}
        claimed = []
        for row in rows:
            fields = dict(row)
            fields["regions"] = tuple(fields["regions"])
            owner = secret_owner(fields["subscription_id"])
            for name in ("secret", "previous_secret"):
                if fields[name] is not None:
                    fields[name] = await open_secret(vault, conn, owner, fields[name], keys)
            claimed.append(ClaimedDelivery(**fields))
    return claimed


def secret_owner(subscription_id: str) -> str:
    """Whose data key seals a subscription's signing secrets (dcert_shared.vault)."""
    return f"subscription:{subscription_id}"


async def open_secret(
    vault: Vault,
    conn: asyncpg.Connection,
    owner: str,
    stored: str,
    keys: dict[str, bytes | None] | None = None,
) -> str:
    """A signing secret as stored: sealed, or (recorded before secrets were sealed) plain."""
    if stored.startswith(SECRET_PREFIX):
        return stored
    opened = await vault.open(conn, owner, stored, keys)
    if not isinstance(opened, str):
        raise LookupError("the subscription's signing key is gone")
    return opened


async def record_delivered(pool: asyncpg.Pool, seq: int, status_code: int) -> None:
    """A 2xx: delivered, and (in the same transaction) the partner's receipt of the person's data
    recorded in their access log."""
    async with pool.acquire() as conn, conn.transaction():
        delivered = await conn.fetchrow(
            "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, last_status_code = $2,"
            " last_error = NULL, delivered_at = now(), next_attempt_at = NULL, claimed_until = NULL"
            " WHERE seq = $1 RETURNING id, partner_id, event_type, person_ref",
            seq,
            status_code,
        )
        if delivered is not None:
            partner = Reader(
                role="partner", subject=delivered["partner_id"], organisation=delivered["partner_id"]
            )
            await record_reads(
                conn,
                partner,
                [(delivered["person_ref"], delivered["id"])],
                kind="partner_delivery",
                service="notification",
                route=f"webhook {delivered['event_type']}",
                purpose="partner_sharing",
            )


async def record_narrowed(pool: asyncpg.Pool, seq: int, body: str | None, policy_version: int) -> None:
    """The body under the partner's newer policy (from now on every try sends it); no body: the
    policy no longer grants the event type, and the delivery is withdrawn."""
    async with pool.acquire() as conn:
        if body is None:
            await conn.execute(
                "UPDATE deliveries SET status = 'withdrawn', policy_version = $2, next_attempt_at = NULL,"
                " claimed_until = NULL WHERE seq = $1",
                seq,
                policy_version,
            )
        else:
            await conn.execute(
                "UPDATE deliveries SET body = $2, policy_version = $3 WHERE seq = $1",
                seq,
                body,
                policy_version,
            )


async def record_failed(
    pool: asyncpg.Pool, seq: int, status_code: int | None, error: str, retry_in_seconds: float | None
) -> None:
    """Count a failed try: due again after `retry_in_seconds`, or dead when that is None."""
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE deliveries SET attempts = attempts + 1, last_status_code = $2, last_error = $3,"
            " status = CASE WHEN $4::float8 IS NULL THEN 'dead' ELSE 'pending' END,"
            " next_attempt_at = now() + make_interval(secs => $4::float8), claimed_until = NULL"
            " WHERE seq = $1",
            seq,
            status_code,
            error,
            retry_in_seconds,
        )


@dataclass(frozen=True)
class DeliveryFilter:
    """Which deliveries: each given criterion must hold."""

    partner_id: str | None = None
    subscription_id: str | None = None
    event_type: str | None = None
    status: str | None = None
    since: datetime | None = None  # queued at or after
    until: datetime | None = None  # queued before
    ids: tuple[str, ...] | None = None

    def where(self) -> tuple[str, list[Any]]:
        criteria = {
            "partner_id = $%d": self.partner_id,
            "subscription_id = $%d": self.subscription_id,
            "event_type = $%d": self.event_type,
            "status = $%d": self.status,
            "created_at >= $%d": self.since,
            "created_at < $%d": self.until,
            "id = ANY($%d::text[])": list(self.ids) if self.ids is not None else None,
        }
        clauses, args = ["true"], []
        for clause, value in criteria.items():
            if value is not None:
                args.append(value)
                clauses.append(clause % len(args))
        return " AND ".join(clauses), args


async def replay(pool: asyncpg.Pool, which: DeliveryFilter) -> int:
    """Make these deliveries pending again, due now, with their tries counted afresh: they go out
    in their original order (their queue position is kept) with their original webhook-id."""
    where, args = which.where()
    async with pool.acquire() as conn:
        replayed: int = await conn.fetchval(
            "WITH replayed AS (UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = now(),"
            " claimed_until = NULL, last_error = NULL"
            f" WHERE {where} AND status IN ('dead', 'delivered') RETURNING 1)"
            " SELECT count(*) FROM replayed",
            *args,
        )
        if replayed:
            await conn.execute("SELECT pg_notify(current_setting('dcert.schema') || '_deliveries', '')")
    return replayed
