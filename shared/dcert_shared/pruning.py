"""Pruning: what a service keeps only for a while, removed by age, never while still needed.

- The event stream and the outbox: messages (and outbox rows) older than their retention that
  every durable consumer of the stream has acknowledged. The stream keeps its last message (the
  relay's reconcile starts from it); the outbox keeps the row of the oldest message a consumer
  may still need, so a broker that loses its disk can be refilled with everything unread.
- The inbox: ids of handled events, kept longer than any copy of them can come again (from the
  outbox after a broker lost its disk, or from the stream when a durable is made again):
  `inbox_retention_days` exceeds the outbox's and the stream's retention (settings check it).
- Idempotency keys: the saved answers of requests, after `idempotency_retention_hours`.
- Dead letters an operator replayed or discarded (open ones are kept until then).

The events themselves are never pruned: they are the system of record. Runs as a singleton job
of each service (`pruning`), hourly by default.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

log = logging.getLogger(__name__)

_BATCH = 5000


@dataclass(frozen=True)
class Retention:
    outbox_days: float
    stream_days: float
    inbox_days: float
    idempotency_hours: float
    dead_letter_days: float


async def prune(
    pool: asyncpg.Pool, js: JetStreamContext, stream: str, retention: Retention
) -> dict[str, int]:
    """Remove what is past its retention and no longer needed; how many of each went."""
    removed = {
        "inbox": await _delete(
            pool, "inbox", "handled_at < now() - make_interval(secs => $1)", retention.inbox_days * 86_400
        ),
        "idempotency_keys": await _delete(
            pool,
            "idempotency_keys",
            "created_at < now() - make_interval(secs => $1)",
            retention.idempotency_hours * 3600,
        ),
        "dead_letters": await _delete(
            pool,
            "dead_letters",
            "coalesce(replayed_at, discarded_at) < now() - make_interval(secs => $1)",
            retention.dead_letter_days * 86_400,
        ),
        "outbox": 0,
        "stream": 0,
    }
    floor = await acknowledged_by_all(js, stream)
    if floor:
        removed["stream"] = await _purge_stream(js, stream, floor, retention.stream_days)
        removed["outbox"] = await _prune_outbox(pool, js, stream, floor, retention.outbox_days)
    return removed


async def acknowledged_by_all(js: JetStreamContext, stream: str) -> int:
    """The stream sequence every durable consumer of the stream has acknowledged (0: none, or
    no consumer at all: a consumer made later may want everything)."""
    try:
        state = (await js.stream_info(stream)).state
        consumers = await js.consumers_info(stream)
    except NotFoundError:
        return 0
    floors = []
    for consumer in consumers:
        if not consumer.config.durable_name:
            continue
        if not consumer.num_pending and not consumer.num_ack_pending:
            floors.append(int(state.last_seq or 0))  # caught up, whatever its filter lets through
        else:
            floors.append(int(consumer.ack_floor.stream_seq if consumer.ack_floor else 0))
    return min(floors) if floors else 0


async def _delete(pool: asyncpg.Pool, table: str, condition: str, seconds: float) -> int:
    total = 0
    while True:
        async with pool.acquire() as conn:
            status = await conn.execute(
                f"DELETE FROM {table} WHERE ctid IN (SELECT ctid FROM {table} WHERE {condition} LIMIT {_BATCH})",
                seconds,
            )
        count = int(status.split()[-1])
        total += count
        if count < _BATCH:
            return total


async def _purge_stream(js: JetStreamContext, stream: str, floor: int, days: float) -> int:
    """Purge messages before both `floor` and the first message younger than `days`, keeping the
    last one whatever its age."""
    state = (await js.stream_info(stream)).state
    if not state.messages:
        return 0
    first, last = int(state.first_seq), int(state.last_seq)
    young = await _first_younger_than(js, stream, first, last, datetime.now(UTC) - timedelta(days=days))
    upto = min(floor, young, last)
    if upto <= first:
        return 0
    await js.purge_stream(stream, seq=upto)
    return upto - first


async def _first_younger_than(
    js: JetStreamContext, stream: str, first: int, last: int, moment: datetime
) -> int:
    """The first sequence whose message was stored after `moment` (last + 1 if none): messages
    are stored in time order, so a binary search finds it."""
    low, high = first, last + 1
    while low < high:
        middle = (low + high) // 2
        try:
            stored = (await js.get_msg(stream, seq=middle)).time
        except NotFoundError:  # purged meanwhile: counts as old
            low = middle + 1
            continue
        if stored is not None and stored > moment:
            high = middle
        else:
            low = middle + 1
    return low


async def _prune_outbox(
    pool: asyncpg.Pool, js: JetStreamContext, stream: str, floor: int, days: float
) -> int:
    """Outbox rows older than `days` before the message at `floor` (which every consumer has
    acknowledged) and before the relay's checkpoint."""
    try:
        message = await js.get_msg(stream, seq=floor)
    except NotFoundError:
        return 0
    message_id = (message.headers or {}).get("Nats-Msg-Id")
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT o.transaction_id, o.position FROM outbox o, checkpoints c WHERE o.message_id::text = $1"
            " AND c.name = 'outbox-relay' AND (o.transaction_id, o.position) <= (c.transaction_id, c.position)",
            message_id,
        )
    if row is None:
        return 0
    total = 0
    while True:
        async with pool.acquire() as conn:
            status = await conn.execute(
                "DELETE FROM outbox WHERE ctid IN (SELECT ctid FROM outbox WHERE (transaction_id, position) < ($1, $2)"
                f" AND recorded_at < now() - make_interval(secs => $3) LIMIT {_BATCH})",
                row["transaction_id"],
                row["position"],
                days * 86_400,
            )
        count = int(status.split()[-1])
        total += count
        if count < _BATCH:
            return total
