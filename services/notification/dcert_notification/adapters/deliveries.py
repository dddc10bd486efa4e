"""The delivery queue: one row per (subscription, event), in PostgreSQL, worked off by the sender.

Not a projection: a row is written by the consumer in the same transaction as its inbox entry
(so a redelivered event adds nothing) and then changes with every try. Workers claim rows with
`FOR UPDATE SKIP LOCKED` and a lease (`claimed_until`), so no connection is held while a
partner's server is slow, and a worker that dies mid-try only delays that row until its lease
ends. Only the oldest pending row of each subscription can be claimed: one subscription's
deliveries go out strictly in order, while different subscriptions go out side by side.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from sqlalchemy import BigInteger, Column, DateTime, Index, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from dcert_shared.db import ddl_for

from ..domain.delivery import DeliveryStatus


class QueueTable(SQLModel, registry=registry()):
    pass


class DeliveryRow(QueueTable, table=True):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id", name="deliveries_once_per_subscription"),
        Index(
            "deliveries_pending_heads", "subscription_id", "seq", postgresql_where=text("status = 'pending'")
        ),
        Index("deliveries_partner", "partner_id", "seq"),
    )

    seq: int | None = Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))
    id: str = Field(unique=True)  # the webhook-id
    subscription_id: str
    partner_id: str
    event_id: uuid.UUID = Field(sa_column=Column(UUID(as_uuid=True), nullable=False))
    event_type: str
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default=DeliveryStatus.PENDING.value)
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    last_status_code: int | None = None
    last_error: str | None = None
    next_attempt_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=text("now()"))
    )
    claimed_until: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    created_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=text("now()"))
    )
    delivered_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


SCHEMA: list[str] = [
    *ddl_for(QueueTable.metadata),
    """
    CREATE OR REPLACE FUNCTION notify_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_notify(current_schema() || '_deliveries', ''); RETURN NULL; END $$
    """,
    """
    DO $$ BEGIN
        CREATE TRIGGER deliveries_notify AFTER INSERT ON deliveries
            FOR EACH STATEMENT EXECUTE FUNCTION notify_deliveries();
    EXCEPTION WHEN duplicate_object THEN NULL; END $$
    """,
]


@dataclass(frozen=True)
class NewDelivery:
    id: str
    subscription_id: str
    partner_id: str
    event_id: uuid.UUID
    event_type: str
    body: str


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery leased to this worker, with what it takes to send it."""

    seq: int
    id: str
    subscription_id: str
    event_type: str
    body: str
    attempts: int
    url: str
    secret: str


async def enqueue(conn: asyncpg.Connection, delivery: NewDelivery) -> bool:
    """Queue a delivery in the caller's transaction; False if this event was already queued."""
    inserted = await conn.fetchval(
        "INSERT INTO deliveries (id, subscription_id, partner_id, event_id, event_type, body, status)"
        " VALUES ($1, $2, $3, $4, $5, $6, 'pending')"
        " ON CONFLICT (subscription_id, event_id) DO NOTHING RETURNING true",
        delivery.id,
        delivery.subscription_id,
        delivery.partner_id,
        delivery.event_id,
        delivery.event_type,
        delivery.body,
    )
    return bool(inserted)


_CLAIM = """
WITH heads AS (
    SELECT DISTINCT ON (subscription_id) seq FROM deliveries
    WHERE status = 'pending' ORDER BY subscription_id, seq
), due AS (
    SELECT d.seq FROM deliveries d JOIN heads USING (seq)
    WHERE d.status = 'pending' AND d.next_attempt_at <= now()
      AND (d.claimed_until IS NULL OR d.claimed_until < now())
    ORDER BY d.next_attempt_at, d.seq
    LIMIT $1
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE deliveries d SET claimed_until = now() + make_interval(secs => $2)
FROM due, subscription_view s
WHERE d.seq = due.seq AND s.id = d.subscription_id
RETURNING d.seq, d.id, d.subscription_id, d.event_type, d.body, d.attempts, s.url, s.secret
"""


async def claim(pool: asyncpg.Pool, limit: int, lease_seconds: float) -> list[ClaimedDelivery]:
    """Lease up to `limit` due deliveries, each the oldest pending one of its subscription."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(_CLAIM, limit, lease_seconds)
    return [ClaimedDelivery(**dict(row)) for row in rows]


async def record_delivered(pool: asyncpg.Pool, seq: int, status_code: int) -> None:
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, last_status_code = $2,"
            " last_error = NULL, delivered_at = now(), next_attempt_at = NULL, claimed_until = NULL"
            " WHERE seq = $1",
            seq,
            status_code,
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


async def listed(
    conn: asyncpg.Connection | asyncpg.Pool, partner_id: str | None, status: str | None, limit: int
) -> list[asyncpg.Record]:
    """Deliveries, newest first; a partner's own only when `partner_id` is given."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT id, subscription_id, event_type, status, attempts, last_status_code, last_error, next_attempt_at,"
        " created_at, delivered_at FROM deliveries"
        " WHERE ($1::text IS NULL OR partner_id = $1) AND ($2::text IS NULL OR status = $2)"
        " ORDER BY seq DESC LIMIT $3",
        partner_id,
        status,
        limit,
    )
    return rows
