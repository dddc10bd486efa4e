"""People's side of the notification service: who an event is about, how they want to be told,
and every notice with its delivery record (and, for the inbox, the notice itself).

State, not projections: written here by the consumers and the sender, read through
adapters/queries.py. Phone numbers, e-mail addresses and the notices' parameters are sealed
with the recipient's data key (dcert_shared vault), so erasing a person's key leaves nothing
readable; keys of applications and certificates are stored hashed (a certificate number holds
an identity number).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from dcert_shared.vault import Vault


def hashed(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


async def remember(
    conn: asyncpg.Connection, keys: Iterable[str], person_ref: str, agent_refs: Iterable[str]
) -> None:
    """Link applications and certificates to the person (and agents) they are about."""
    await conn.executemany(
        "INSERT INTO person_links (key, person_ref, agent_refs) VALUES ($1, $2, $3)"
        " ON CONFLICT (key) DO UPDATE SET person_ref = EXCLUDED.person_ref,"
        # No agent on either side: jsonb_agg of nothing is NULL, so the empty list is kept.
        " agent_refs = COALESCE((SELECT jsonb_agg(DISTINCT value) FROM jsonb_array_elements("
        "   person_links.agent_refs || EXCLUDED.agent_refs)), '[]'::jsonb)",
        [(key, person_ref, list(agent_refs)) for key in keys],
    )


async def remember_card_delivery(conn: asyncpg.Connection, key: str, delivery: str) -> None:
    await conn.execute("UPDATE person_links SET card_delivery = $2 WHERE key = $1", key, delivery)


async def save_contact(
    pool: asyncpg.Pool,
    vault: Vault,
    person_ref: str,
    language: str,
    channels: list[str],
    phone: str | None,
    email: str | None,
) -> None:
    """How the person wants to be told; the phone and the e-mail sealed with their own key."""
    async with pool.acquire() as conn, conn.transaction():
        sealed_phone = await vault.seal(conn, person_ref, phone) if phone else None
        sealed_email = await vault.seal(conn, person_ref, email) if email else None
        await conn.execute(
            "INSERT INTO contacts (person_ref, language, channels, sealed_phone, sealed_email)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (person_ref) DO UPDATE SET language = EXCLUDED.language,"
            " channels = EXCLUDED.channels, sealed_phone = EXCLUDED.sealed_phone,"
            " sealed_email = EXCLUDED.sealed_email, updated_at = now()",
            person_ref,
            language,
            channels,
            sealed_phone,
            sealed_email,
        )


@dataclass(frozen=True)
class NewNotice:
    event_id: uuid.UUID
    recipient_ref: str
    subject_key: str
    kind: str
    channel: str
    sealed_params: str
    due_at: datetime | None


async def queue(conn: asyncpg.Connection, notice: NewNotice) -> bool:
    """Queue one notice (once per event, recipient, kind and channel)."""
    inserted = await conn.fetchval(
        "INSERT INTO notices (id, event_id, recipient_ref, subject_key, kind, channel, sealed_params, status,"
        " due_at, next_attempt_at, sent_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $6 = 'inbox' THEN 'sent' ELSE 'queued' END,"
        "         coalesce($8, now()), coalesce($8, now()), CASE WHEN $6 = 'inbox' THEN coalesce($8, now()) END)"
        " ON CONFLICT (event_id, recipient_ref, kind, channel) DO NOTHING RETURNING true",
        f"ntc_{uuid.uuid4().hex}",
        notice.event_id,
        notice.recipient_ref,
        notice.subject_key,
        notice.kind,
        notice.channel,
        notice.sealed_params,
        notice.due_at,
    )
    return bool(inserted)


async def withdraw_pending(
    conn: asyncpg.Connection, subject_key: str, kind: str, except_event: uuid.UUID
) -> None:
    """A reminder replaced by a newer one (an appointment moved): the older is not sent."""
    await conn.execute(
        "UPDATE notices SET status = 'withdrawn' WHERE subject_key = $1 AND kind = $2 AND event_id <> $3"
        " AND due_at > now() AND status IN ('queued', 'retried', 'sent')",
        subject_key,
        kind,
        except_event,
    )


@dataclass(frozen=True)
class ClaimedNotice:
    seq: int
    id: str
    recipient_ref: str
    kind: str
    channel: str
    sealed_params: str
    attempts: int


_CLAIM = """
WITH due AS (
    SELECT seq FROM notices
    WHERE status IN ('queued', 'retried') AND channel <> 'inbox' AND next_attempt_at <= now()
      AND (claimed_until IS NULL OR claimed_until < now())
    ORDER BY next_attempt_at, seq LIMIT $1
    FOR UPDATE SKIP LOCKED
)
UPDATE notices n SET claimed_until = now() + make_interval(secs => $2) FROM due WHERE n.seq = due.seq
RETURNING n.seq, n.id, n.recipient_ref, n.kind, n.channel, n.sealed_params, n.attempts
"""


async def claim(pool: asyncpg.Pool, limit: int, lease_seconds: float) -> list[ClaimedNotice]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(_CLAIM, limit, lease_seconds)
    return [ClaimedNotice(**dict(row)) for row in rows]


async def record_outcome(
    pool: asyncpg.Pool, seq: int, error: str | None, retry_in_seconds: float | None
) -> None:
    """Sent (no error), or failed: tried again after `retry_in_seconds`, or given up when None."""
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE notices SET attempts = attempts + 1, claimed_until = NULL, last_error = $2,"
            " status = CASE WHEN $2::text IS NULL THEN 'sent' WHEN $3::float8 IS NULL THEN 'failed' ELSE 'retried' END,"
            " sent_at = CASE WHEN $2::text IS NULL THEN now() END,"
            " next_attempt_at = now() + make_interval(secs => coalesce($3::float8, 0))"
            " WHERE seq = $1",
            seq,
            error,
            retry_in_seconds,
        )


async def mark_read(conn: asyncpg.Connection | asyncpg.Pool, recipient_ref: str, notice_id: str) -> bool:
    done = await conn.fetchval(
        "UPDATE notices SET read_at = coalesce(read_at, now()) WHERE id = $1 AND recipient_ref = $2"
        " AND channel = 'inbox' RETURNING true",
        notice_id,
        recipient_ref,
    )
    return bool(done)
