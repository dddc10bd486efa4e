"""The PostgreSQL event store: append with optimistic concurrency, load a stream, tail all events.

The gap problem: a `bigserial` position is taken when a row is inserted, not when its
transaction commits, so a reader asking for `position > last` can pass over a slow
transaction's events and never see them. Every row therefore records the id of the
transaction that wrote it (`pg_current_xact_id()`), and readers only read rows whose
transaction id is below `pg_snapshot_xmin(pg_current_snapshot())`: every transaction below
that horizon has finished, so nothing can still appear there. Readers order by
(transaction id, position) and keep that pair as their checkpoint. Writers never wait for
each other (no table lock); a long transaction only delays readers. docs/adr/0001.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import asyncpg

from .envelope import CommandContext, DomainEvent, EventEnvelope, EventRegistry
from .errors import ConcurrencyConflict
from .vault import PersonErased, Vault

log = logging.getLogger(__name__)

_SELECT_EVENTS = (
    "SELECT position, transaction_id, event_id, stream_id, version, event_type, schema_version,"
    " payload, metadata, recorded_at FROM events"
)


# A stored payload keeps its sealed fields here: the owner field -> the token of those fields.
SEALED_KEY = "_sealed"


@dataclass(frozen=True, order=True)
class Checkpoint:
    """A place in the global order: the last (transaction id, position) a reader has handled."""

    transaction_id: int = 0
    position: int = 0


START = Checkpoint()


async def read_below_horizon(
    conn: asyncpg.Connection, table: str, columns: str, after: Checkpoint, limit: int
) -> list[asyncpg.Record]:
    """Rows of `table` after `after` in global order, only from transactions that have finished."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"SELECT {columns} FROM {table}"
        " WHERE (transaction_id, position) > ($1::text::xid8, $2)"
        "   AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())"
        " ORDER BY transaction_id, position LIMIT $3",
        str(after.transaction_id),
        after.position,
        limit,
    )
    return rows


def checkpoint_of(row: asyncpg.Record) -> Checkpoint:
    return Checkpoint(int(row["transaction_id"]), int(row["position"]))


async def load_checkpoint(conn: asyncpg.Connection, name: str) -> Checkpoint:
    row = await conn.fetchrow("SELECT transaction_id, position FROM checkpoints WHERE name = $1", name)
    return checkpoint_of(row) if row else START


async def load_stream_sequence(conn: asyncpg.Connection, name: str) -> int:
    """The stream sequence a relay recorded with its checkpoint (0: none)."""
    return int(await conn.fetchval("SELECT stream_sequence FROM checkpoints WHERE name = $1", name) or 0)


async def save_checkpoint(
    conn: asyncpg.Connection, name: str, checkpoint: Checkpoint, stream_sequence: int = 0
) -> None:
    await conn.execute(
        "INSERT INTO checkpoints (name, transaction_id, position, stream_sequence)"
        " VALUES ($1, $2::text::xid8, $3, $4)"
        " ON CONFLICT (name) DO UPDATE SET transaction_id = EXCLUDED.transaction_id,"
        " position = EXCLUDED.position, stream_sequence = EXCLUDED.stream_sequence, updated_at = now()",
        name,
        str(checkpoint.transaction_id),
        checkpoint.position,
        stream_sequence,
    )


@dataclass(frozen=True)
class StreamAppend:
    """New events of one stream, after the version its writer loaded."""

    stream_id: str
    expected_version: int
    events: list[DomainEvent]
    partition_key: str | None = None


def _json_text(value: Any) -> str:
    """As the pool's json codec writes it (dcert_shared.db)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _json_object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else dict(json.loads(value))


class EventStore:
    """Appends events (and their outbox messages) and reads them back, upcast to the current shape.

    With a `vault`, an event's `sealed_fields` are stored only as a token of its person's data
    key and opened on reading; an erased person's fields read as None (ADR 0005). The envelopes
    `append` returns still carry the plain values, for the projections of the same transaction.
    """

    def __init__(
        self, registry: EventRegistry, source: str, subject_prefix: str, vault: Vault | None = None
    ) -> None:
        self.registry = registry
        self.source = source
        self.subject_prefix = subject_prefix  # e.g. "certificate.events."
        self.vault = vault

    async def append(
        self,
        conn: asyncpg.Connection,
        stream_id: str,
        expected_version: int,
        events: Sequence[DomainEvent],
        context: CommandContext,
        partition_key: str | None = None,
    ) -> list[EventEnvelope]:
        """Append after `expected_version`; another writer having got there first is a conflict.

        So is a transaction whose id is older than the one that wrote `expected_version` (it took
        its id, at its first write, before that version committed): its events would sort before
        their predecessor in the global order. It runs again with a new id (docs/adr/0001).
        Must run inside the caller's transaction, which also holds the read-model changes.
        """
        return await self.append_many(
            conn, [StreamAppend(stream_id, expected_version, list(events), partition_key)], context
        )

    async def append_many(
        self, conn: asyncpg.Connection, appends: Sequence[StreamAppend], context: CommandContext
    ) -> list[EventEnvelope]:
        """`append` for several streams at once, in their order: the same checks, but one
        statement for every event and one for every outbox message, whatever their number, so
        a unit of work of thousands of streams (an import) is not thousands of round trips."""
        batch = [
            (append, event, envelope)
            for append in appends
            for offset, event in enumerate(append.events, start=1)
            for envelope in [
                EventEnvelope.record(
                    event,
                    append.stream_id,
                    append.expected_version + offset,
                    self.source,
                    context,
                    append.partition_key,
                )
            ]
        ]
        if not batch:
            return []
        payloads = await self._sealed_payloads(
            conn, [(event, envelope.payload) for _, event, envelope in batch]
        )
        try:
            rows = await conn.fetch(
                "INSERT INTO events (event_id, stream_id, version, event_type, schema_version, payload,"
                " metadata, recorded_at)"
                " SELECT e.event_id, e.stream_id, e.version, e.event_type, e.schema_version, e.payload::jsonb,"
                " e.metadata::jsonb, e.recorded_at FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[],"
                " $5::int[], $6::text[], $7::text[], $8::timestamptz[], $9::bool[]) WITH ORDINALITY AS"
                " e(event_id, stream_id, version, event_type, schema_version, payload, metadata, recorded_at,"
                " follows_stored, ordinal)"
                # The first new event of a stream that exists must not be older than its predecessor.
                " WHERE NOT e.follows_stored OR (SELECT p.transaction_id FROM events p"
                " WHERE p.stream_id = e.stream_id AND p.version = e.version - 1) <= pg_current_xact_id()"
                " ORDER BY e.ordinal RETURNING event_id, position",
                [envelope.event_id for _, _, envelope in batch],
                [envelope.stream_id for _, _, envelope in batch],
                [envelope.stream_version for _, _, envelope in batch],
                [envelope.event_type for _, _, envelope in batch],
                [envelope.schema_version for _, _, envelope in batch],
                [_json_text(payload) for payload in payloads],
                [_json_text(envelope.metadata()) for _, _, envelope in batch],
                [envelope.occurred_at for _, _, envelope in batch],
                [
                    envelope.stream_version == append.expected_version + 1 and append.expected_version > 0
                    for append, _, envelope in batch
                ],
            )
        except asyncpg.UniqueViolationError as error:
            if error.constraint_name == "events_stream_version":
                raise ConcurrencyConflict() from None
            raise
        if len(rows) != len(batch):  # a transaction older than a predecessor's
            raise ConcurrencyConflict()
        positions = {row["event_id"]: int(row["position"]) for row in rows}
        await self._write_outbox(conn, [(event, envelope) for _, event, envelope in batch if event.public])
        return [replace(envelope, position=positions[envelope.event_id]) for _, _, envelope in batch]

    async def _write_outbox(
        self, conn: asyncpg.Connection, published: list[tuple[DomainEvent, EventEnvelope]]
    ) -> None:
        if not published:
            return
        await conn.execute(
            "INSERT INTO outbox (message_id, subject, headers, body)"
            " SELECT m.message_id, m.subject, m.headers::jsonb, m.body"
            " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY"
            " AS m(message_id, subject, headers, body, ordinal) ORDER BY m.ordinal",
            [envelope.event_id for _, envelope in published],
            [self.subject_prefix + envelope.event_type for _, envelope in published],
            [_json_text(self.message_headers(envelope)) for _, envelope in published],
            [
                json.dumps(envelope.to_cloudevent(event.published_data()), ensure_ascii=False)
                for event, envelope in published
            ],
        )

    async def _sealed_payloads(
        self, conn: asyncpg.Connection, events: list[tuple[DomainEvent, dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        """Each payload as stored: its sealed fields as tokens of their owner's data key, the
        keys of every owner in the batch looked up (or made) together."""
        owners = {
            str(payload[owner])
            for event, payload in events
            for owner, fields in event.sealed_fields.items()
            if payload.get(owner) is not None and any(payload.get(name) is not None for name in fields)
        }
        if owners and self.vault is None:
            raise RuntimeError("personal data to seal: the event store needs a vault")
        keys = await self.vault.data_keys(conn, owners) if owners and self.vault is not None else {}
        return [self._sealed(event, payload, keys) for event, payload in events]

    def _sealed(
        self, event: DomainEvent, payload: dict[str, Any], keys: dict[str, bytes | None]
    ) -> dict[str, Any]:
        if not event.sealed_fields:
            return payload
        stored = dict(payload)
        tokens: dict[str, str] = {}
        for owner, fields in event.sealed_fields.items():
            values = {name: stored.pop(name) for name in sorted(fields) if name in stored}
            person_ref = payload.get(owner)
            if all(value is None for value in values.values()):
                continue  # nothing to seal (no such person, or an erased one's data left out)
            if person_ref is None:
                raise ValueError(f"{event.event_type}: personal data of no {owner}")
            data_key = keys.get(str(person_ref))
            if data_key is None:
                raise PersonErased()
            tokens[owner] = Vault.seal_with(data_key, str(person_ref), values)
        stored[SEALED_KEY] = tokens
        return stored

    async def _opened(
        self, conn: asyncpg.Connection, envelope: EventEnvelope, keys: dict[str, bytes | None]
    ) -> EventEnvelope:
        tokens = envelope.payload.get(SEALED_KEY)
        if tokens is None:
            return self.registry.upcast(envelope)
        assert self.vault is not None, "sealed events need the vault to be read"
        payload = {name: value for name, value in envelope.payload.items() if name != SEALED_KEY}
        event_class = self.registry.event_class(envelope.event_type)
        for owner, fields in event_class.sealed_fields.items():
            token = tokens.get(owner)
            values = (
                await self.vault.open(conn, str(payload[owner]), token, keys) if token is not None else None
            )
            for name in fields:
                # Erased (or never given): every sealed field reads as None.
                payload[name] = values.get(name) if isinstance(values, dict) else None
        return self.registry.upcast(replace(envelope, payload=payload))

    @staticmethod
    def message_headers(envelope: EventEnvelope) -> dict[str, str]:
        headers = {"Nats-Msg-Id": str(envelope.event_id), "ce-type": envelope.event_type}
        if envelope.traceparent:
            headers["traceparent"] = envelope.traceparent
        if envelope.tracestate:
            headers["tracestate"] = envelope.tracestate
        return headers

    async def opened(
        self, conn: asyncpg.Connection, row: asyncpg.Record, keys: dict[str, bytes | None]
    ) -> EventEnvelope:
        """A stored event row as an envelope, its sealed fields opened (`keys`: a cache of the
        data keys of this read)."""
        return await self._opened(conn, EventEnvelope.from_row(row), keys)

    async def load(self, conn: asyncpg.Connection, stream_id: str) -> list[EventEnvelope]:
        rows = await conn.fetch(f"{_SELECT_EVENTS} WHERE stream_id = $1 ORDER BY version", stream_id)
        keys: dict[str, bytes | None] = {}
        return [await self._opened(conn, EventEnvelope.from_row(row), keys) for row in rows]

    async def load_many(
        self, conn: asyncpg.Connection, stream_ids: Sequence[str]
    ) -> dict[str, list[EventEnvelope]]:
        """Several streams in one query, each in its order (streams without events are absent)."""
        rows = await conn.fetch(
            f"{_SELECT_EVENTS} WHERE stream_id = ANY($1::text[]) ORDER BY stream_id, version",
            list(stream_ids),
        )
        owners = {
            str(row_payload[owner])
            for row in rows
            for row_payload in [_json_object(row["payload"])]
            for owner in row_payload.get(SEALED_KEY) or {}
            if row_payload.get(owner) is not None
        }
        keys: dict[str, bytes | None] = dict.fromkeys(owners)
        if owners and self.vault is not None:
            keys.update(await self.vault.stored_keys(conn, sorted(owners)))
        streams: dict[str, list[EventEnvelope]] = {}
        for row in rows:
            streams.setdefault(row["stream_id"], []).append(
                await self._opened(conn, EventEnvelope.from_row(row), keys)
            )
        return streams

    async def read_all(
        self, conn: asyncpg.Connection, after: Checkpoint = START, limit: int = 500
    ) -> tuple[list[EventEnvelope], Checkpoint]:
        """The next events in global order that can never be preceded by a late commit."""
        rows = await read_below_horizon(
            conn,
            "events",
            "position, transaction_id, event_id, stream_id, version, event_type, schema_version,"
            " payload, metadata, recorded_at",
            after,
            limit,
        )
        keys: dict[str, bytes | None] = {}
        envelopes = [await self._opened(conn, EventEnvelope.from_row(row), keys) for row in rows]
        return envelopes, (checkpoint_of(rows[-1]) if rows else after)
