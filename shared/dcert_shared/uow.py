"""Unit of work and command execution: the one place where a service commits.

A command loads aggregates, decides, and the unit of work appends their new events, writes the
outbox messages and updates the read models in one transaction. A concurrency conflict rolls
everything back and runs the command again on freshly loaded state (it decides again; it never
replays a stale decision).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import asyncpg
from opentelemetry import metrics

from .aggregate import Aggregate
from .envelope import CommandContext, DomainEvent, EventEnvelope
from .errors import ConcurrencyConflict, IdempotencyKeyReused
from .store import EventStore, StreamAppend

log = logging.getLogger(__name__)

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

Projector = Callable[[asyncpg.Connection, EventEnvelope, DomainEvent], Awaitable[None]]

_meter = metrics.get_meter("dcert")
_events_appended = _meter.create_counter("dcert.events.appended", description="Events appended")
_conflicts = _meter.create_counter("dcert.commands.conflicts", description="Commands decided again")

# Decided again on fresh state: another writer won the stream, or PostgreSQL broke a deadlock
# (40P01) or a serialization failure (40001) by aborting this transaction.
RETRIED_ERRORS: tuple[type[Exception], ...] = (
    ConcurrencyConflict,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
)


@dataclass(frozen=True)
class Idempotency:
    """Who asks, with which `Idempotency-Key` (if any), and the request it stands for."""

    principal: str
    key: str | None
    request: Any


class UnitOfWork:
    """One connection, one transaction: aggregates loaded here are saved here on commit.

    An identity map: loading a stream twice (a death reported while a renewal of the same
    certificate is open) gives the same object, so a command never conflicts with itself.
    """

    def __init__(
        self,
        conn: asyncpg.Connection,
        store: EventStore,
        projectors: list[Projector],
        context: CommandContext,
    ) -> None:
        self.conn = conn
        self.store = store
        self.context = context
        self._projectors = projectors
        self._tracked: dict[str, Aggregate] = {}  # by stream id, in the order first seen
        self.recorded: list[EventEnvelope] = []

    async def load(self, aggregate_class: type[A], aggregate_id: str) -> A | None:
        stream_id = aggregate_class.stream_id_for(aggregate_id)
        known = self._tracked.get(stream_id)
        if known is not None:
            assert isinstance(known, aggregate_class), "one stream tracked as two types"
            return known
        envelopes = await self.store.load(self.conn, stream_id)
        if not envelopes:
            return None
        aggregate = aggregate_class.rehydrate(
            aggregate_id, (self.store.registry.decode(e) for e in envelopes)
        )
        return self.track(aggregate)

    async def load_many(self, aggregate_class: type[A], aggregate_ids: Iterable[str]) -> dict[str, A]:
        """Several aggregates of one type in one query, by id (those without a stream are absent).

        For commands over many streams at once (an import's batch); one already tracked is
        the same object as always."""
        wanted = {aggregate_class.stream_id_for(aggregate_id): aggregate_id for aggregate_id in aggregate_ids}
        to_read = [stream_id for stream_id in wanted if stream_id not in self._tracked]
        streams = await self.store.load_many(self.conn, to_read) if to_read else {}
        for stream_id, envelopes in streams.items():
            self.track(
                aggregate_class.rehydrate(
                    wanted[stream_id], (self.store.registry.decode(e) for e in envelopes)
                )
            )
        found: dict[str, A] = {}
        for stream_id, aggregate_id in wanted.items():
            known = self._tracked.get(stream_id)
            if known is not None:
                assert isinstance(known, aggregate_class), "one stream tracked as two types"
                found[aggregate_id] = known
        return found

    def track(self, aggregate: A) -> A:
        """Save this (new or loaded) aggregate's pending events when the unit of work commits."""
        known = self._tracked.setdefault(aggregate.stream_id, aggregate)
        if known is not aggregate:  # made without loading: it would overwrite what is stored
            raise RuntimeError(f"a second {type(aggregate).__name__} of one stream in a unit of work")
        return aggregate

    async def save(self) -> list[EventEnvelope]:
        """Every tracked aggregate's new events in one append (one statement whatever their
        number), then their projections in the same order."""
        changed = [aggregate for aggregate in self._tracked.values() if aggregate.pending_events]
        appends = [
            StreamAppend(
                aggregate.stream_id, aggregate.version, aggregate.pending_events, aggregate.partition_key
            )
            for aggregate in changed
        ]
        saved = await self.store.append_many(self.conn, appends, self.context)
        await self.project(saved, [event for append in appends for event in append.events])
        for aggregate in changed:
            aggregate.mark_saved()
        self.recorded.extend(saved)
        return saved

    async def project(self, envelopes: Iterable[EventEnvelope], events: Iterable[DomainEvent]) -> None:
        for envelope, event in zip(envelopes, events, strict=True):
            _events_appended.add(1, {"event_type": envelope.event_type, "source": self.store.source})
            for projector in self._projectors:
                await projector(self.conn, envelope, event)


class EventSourcing:
    """A service's event store, projections and command execution over one asyncpg pool."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        store: EventStore,
        projectors: Iterable[Projector] = (),
        fingerprint_key: bytes = b"dcert-idempotency",
        gate: Callable[[asyncpg.Connection], Awaitable[bool]] | None = None,
    ) -> None:
        self.pool = pool
        self.store = store
        self.projectors = list(projectors)
        # Whether a transaction projects inline (dcert_shared.read_models); without one, always.
        self.gate = gate
        # Requests may carry identity numbers, which are few enough to guess: a plain hash of
        # the body could be reversed, a keyed one cannot.
        self._fingerprint_key = fingerprint_key

    @asynccontextmanager
    async def unit_of_work(self, context: CommandContext) -> AsyncIterator[UnitOfWork]:
        async with self.pool.acquire() as conn, conn.transaction():
            inline = await self.gate(conn) if self.gate is not None else True
            uow = UnitOfWork(conn, self.store, self.projectors if inline else [], context)
            yield uow
            await uow.save()

    async def execute(
        self, context: CommandContext, decide: Callable[[UnitOfWork], Awaitable[T]], attempts: int = 10
    ) -> T:
        """Run `decide` in a unit of work and commit; on a conflict, reload and decide again."""
        for attempt in range(1, attempts + 1):
            try:
                async with self.unit_of_work(context) as uow:
                    return await decide(uow)
            except RETRIED_ERRORS:
                _conflicts.add(1)
                if attempt == attempts:
                    raise
                # Jitter keeps contenders from colliding again in lockstep.
                await asyncio.sleep(random.uniform(0, 0.005 * attempt))
        raise AssertionError("unreachable")

    async def execute_idempotent(
        self,
        context: CommandContext,
        principal: str,
        key: str | None,
        request: Any,
        decide: Callable[[UnitOfWork], Awaitable[dict[str, Any]]],
    ) -> tuple[dict[str, Any], bool]:
        """Like `execute`, but the same `Idempotency-Key` and body answers the first result again.

        Returns (response, replayed). The key is stored in the same transaction as the effects,
        so a crash never leaves an effect without its key or a key without its effect.
        """
        if key is None:
            return await self.execute(context, decide), False
        canonical = json.dumps(request, sort_keys=True, default=str, ensure_ascii=False).encode()
        request_hash = hmac.new(self._fingerprint_key, canonical, hashlib.sha256).hexdigest()

        async def decide_once(uow: UnitOfWork) -> tuple[dict[str, Any], bool]:
            # Twins of one key (a double click) wait for each other, and the second then finds
            # the first one's answer: deciding both would let the second see the world the first
            # is changing (cards the first holds skipped) and store its answer first.
            await uow.conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"idempotency:{principal}:{key}"
            )
            row = await uow.conn.fetchrow(
                "SELECT request_hash, response FROM idempotency_keys WHERE principal = $1 AND key = $2",
                principal,
                key,
            )
            if row is not None:
                if row["request_hash"] != request_hash:
                    raise IdempotencyKeyReused()
                return await self._opened(uow.conn, principal, row["response"]), True
            response = await decide(uow)
            try:
                async with uow.conn.transaction():  # a savepoint: a racing twin must not poison ours
                    await uow.conn.execute(
                        "INSERT INTO idempotency_keys (principal, key, request_hash, response)"
                        " VALUES ($1, $2, $3, $4)",
                        principal,
                        key,
                        request_hash,
                        await self._sealed(uow.conn, principal, response),
                    )
            except asyncpg.UniqueViolationError:
                raise ConcurrencyConflict() from None
            return response, False

        return await self.execute(context, decide_once)

    # A saved answer can hold what the caller must see once and nobody else ever (a webhook's
    # signing secret, a person's name): it is stored sealed with a key of the caller's own, so a
    # copy of the database or of a backup holds no answer in the clear.
    _SEALED: Final = "$sealed"

    async def _sealed(
        self, conn: asyncpg.Connection, principal: str, response: dict[str, Any]
    ) -> dict[str, Any]:
        if self.store.vault is None:
            return response
        return {self._SEALED: await self.store.vault.seal(conn, _idempotency_owner(principal), response)}

    async def _opened(
        self, conn: asyncpg.Connection, principal: str, saved: dict[str, Any]
    ) -> dict[str, Any]:
        token = saved.get(self._SEALED) if isinstance(saved, dict) else None
        if token is None:
            return saved  # saved before answers were sealed
        assert self.store.vault is not None, "a sealed answer needs the vault to be read"
        response = await self.store.vault.open(conn, _idempotency_owner(principal), token)
        if not isinstance(response, dict):
            raise RuntimeError("the key sealing saved answers was destroyed")
        return response


def _idempotency_owner(principal: str) -> str:
    return f"idempotency:{principal}"
