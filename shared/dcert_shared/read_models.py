"""Read models, each shape in a schema of its own, built and switched while writers go on.

A service's read models (projection tables, `ReadModels`) are derived from its events. Their
shape has a fingerprint (the SHA-256 of their DDL); each shape lives in its own PostgreSQL
schema, `<service schema>_rm_<fingerprint>`, which a process puts first on its search path, so
queries name tables as before. A version of the service never drops another shape's schema.

Each shape is either *inline* (every command projects its events into it in its own
transaction, as before) or *tailing* (a loop projects the events in global order after a
checkpoint, in batches, each batch committing with the checkpoint). Writers take a shared
advisory lock at the start of each transaction and read their shape's mode under it
(`dcert_begin_write`); a switch of mode takes the lock exclusively, so it happens between
transactions, never inside one:

- **A new shape** (an upgrade) is made by the first process of that version. When no process
  of another shape is connected, it is built before the process serves, from a checkpoint (a
  killed build goes on from there), and switched to inline. When another version is still
  running (a rolling upgrade), every shape in use goes tailing: each version's processes tail
  the events into their own shape, whoever wrote them. When the other versions are gone, the
  shape catches up to the last event and switches back to inline.
- **A rebuild of the same shape** (`rebuild`) fills a scratch schema from the events while
  writers go on, catches up, and swaps the tables in under the exclusive lock.

Which shapes are in use is read from `pg_stat_activity`: each process connects with the
application name `<service> rm:<fingerprint>`; a process of an older version, before shapes had
schemas, connects as `<service>` and counts as another shape. docs/adr/0009.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass

import asyncpg

from .db import ReadModels, connect, quote_ident
from .loops import Run
from .store import START, Checkpoint, EventStore, checkpoint_of, read_below_horizon
from .uow import Projector

log = logging.getLogger(__name__)

_EVENT_COLUMNS = (
    "position, transaction_id, event_id, stream_id, version, event_type, schema_version,"
    " payload, metadata, recorded_at"
)


@dataclass(frozen=True)
class SetRow:
    inline: bool
    built: bool
    checkpoint: Checkpoint


class ReadModelKeeper:
    """Keeps one shape of a service's read models: made, built, tailed, switched, compared."""

    def __init__(
        self,
        read_models: ReadModels,
        store: EventStore,
        projectors: Iterable[Projector],
        *,
        dsn: str,
        service_schema: str,
        service_name: str,
        batch_size: int = 500,
    ) -> None:
        self.read_models = read_models
        self.store = store
        self.projectors = list(projectors)
        self.dsn = dsn
        self.service_schema = service_schema
        self.service_name = service_name
        self.batch_size = batch_size
        self.fingerprint = read_models.fingerprint
        short = self.fingerprint[:12]
        self.schema_name = f"{service_schema}_rm_{short}"
        self.application_name = f"{service_name} rm:{short}"
        self.lock_key = f"{service_schema}:read-models"
        self._pool: asyncpg.Pool | None = None

    # -- wiring ------------------------------------------------------------------------------

    @property
    def search_path(self) -> str:
        return f"{quote_ident(self.schema_name)}, {quote_ident(self.service_schema)}"

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None, "read models not prepared"
        return self._pool

    async def gate(self, conn: asyncpg.Connection) -> bool:
        """At the start of a writing transaction: True when it projects its events inline."""
        inline: bool = await conn.fetchval(
            "SELECT dcert_begin_write($1, $2)", self.lock_key, self.fingerprint
        )
        return inline

    async def prepare(self, pool: asyncpg.Pool) -> None:
        """At start, before this process writes anything: make this shape's schema; stop every
        other shape in use projecting inline (they tail what this process will write); build
        this shape now when no other shape is in use, else leave it to `run`."""
        self._pool = pool
        async with self._writers_held() as conn:
            await self._make(conn, self.schema_name)
            others = await self._other_shapes_in_use(conn)
            for row in await conn.fetch(
                "SELECT fingerprint FROM read_model_sets WHERE inline AND fingerprint <> $1", self.fingerprint
            ):
                await self._stop_inline(conn, row["fingerprint"])
            mine = await self._row(conn)
            if others:
                if mine.inline:
                    await self._stop_inline(conn, self.fingerprint)
                log.info("read models: another version is running, this one tails the events")
                return
        if not (mine.inline and mine.built):
            await self._switch_to_inline()

    # -- the loop ------------------------------------------------------------------------------

    async def run(self, run: Run) -> None:
        """Tail the events into this shape while it is not inline; switch it back to inline once
        it has caught up and no other shape is in use (a singleton loop per shape)."""
        while not run.stopping.is_set():
            async with self.pool.acquire() as conn:
                row = await self._row(conn)
                others = await self._other_shapes_in_use(conn)
            if row.inline:
                run.progress(0, 0)
                if others:
                    async with self._writers_held() as held:
                        await self._stop_inline(held, self.fingerprint)
                    continue
                await run.sleep(1)
                continue
            handled, age = await self._tail_once(self.schema_name, self.fingerprint)
            run.progress(handled, age)
            if handled == self.batch_size:
                continue  # more to come at once
            if not others:  # caught up with the horizon: the rest under the lock
                await self._switch_to_inline()
                continue
            if not handled:
                await run.sleep(0.05)

    # -- operator's tools --------------------------------------------------------------------

    async def rebuild(
        self, tables: Sequence[str] | None = None, progress: Callable[[int], None] | None = None
    ) -> int:
        """Build this shape anew from the events while writers go on (into a scratch schema,
        then catching up with the tail) and swap it in between two transactions: every table,
        or only `tables` (one event feeds several tables, so all are built and the others left
        as they were). `progress` hears the events projected so far. Returns their number."""
        unknown = set(tables or ()) - set(self.read_models.tables)
        if unknown:
            raise ValueError(f"not a read model of this service: {', '.join(sorted(unknown))}")
        scratch = f"{self.service_schema}_rm_new_{secrets.token_hex(4)}"
        async with self.pool.acquire() as conn:
            await self._make_tables(conn, scratch)
        projected, at = await self._fill(scratch, progress=progress)
        async with self._writers_held() as held:
            more, at = await self._fill(scratch, below_horizon=False, after=at, conn=held)
            async with held.transaction():
                await self._swap_in(held, scratch, tables or self.read_models.tables)
                await held.execute(
                    "UPDATE read_model_sets SET transaction_id = $2::text::xid8, position = $3 WHERE fingerprint = $1",
                    self.fingerprint,
                    str(at.transaction_id),
                    at.position,
                )
        if progress is not None:
            progress(projected + more)
        log.info("read models rebuilt from %d events", projected + more)
        return projected + more

    async def differences(self) -> list[str]:
        """How the live read models differ from ones built now from the events (empty: they are
        equal). Table names and row counts only: rows hold personal data."""
        scratch = f"{self.service_schema}_rm_check_{secrets.token_hex(4)}"
        async with self.pool.acquire() as conn:
            await self._make_tables(conn, scratch)
        try:
            await self._fill(scratch)
            found = []
            async with self.pool.acquire() as conn:
                for table in self.read_models.tables:
                    missing, extra = await self._compare(conn, table, scratch)
                    if missing or extra:
                        found.append(f"{table}: {missing} rows missing, {extra} rows not from the events")
            return found
        finally:
            async with self.pool.acquire() as conn:
                await conn.execute(f"DROP SCHEMA IF EXISTS {quote_ident(scratch)} CASCADE")

    # -- the parts ---------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _writers_held(self) -> AsyncIterator[asyncpg.Connection]:
        """No writing transaction runs while this is held (they wait at their start). The work
        done meanwhile uses the connection given, never the pool: writers waiting for the lock
        may hold every connection of the pool."""
        conn = await connect(self.dsn, self.service_schema, self.application_name, self.search_path)
        try:
            await conn.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", self.lock_key)
            yield conn
        finally:
            with contextlib.suppress(Exception):
                await conn.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", self.lock_key)
            await conn.close()

    async def _make(self, conn: asyncpg.Connection, schema: str) -> None:
        await self._make_tables(conn, schema)
        await conn.execute(
            "INSERT INTO read_model_sets (fingerprint, schema_name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            self.fingerprint,
            schema,
        )

    async def _make_tables(self, conn: asyncpg.Connection, schema: str) -> None:
        async with conn.transaction():
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
            await conn.execute(f"SET LOCAL search_path TO {quote_ident(schema)}")
            for statement in self.read_models.schema:
                await conn.execute(statement)

    async def _row(self, conn: asyncpg.Connection, fingerprint: str | None = None) -> SetRow:
        row = await conn.fetchrow(
            "SELECT inline, built, transaction_id, position FROM read_model_sets WHERE fingerprint = $1",
            fingerprint or self.fingerprint,
        )
        assert row is not None, "the read-model set is registered at start"
        return SetRow(row["inline"], row["built"], checkpoint_of(row))

    async def _other_shapes_in_use(self, conn: asyncpg.Connection) -> bool:
        """A connection of this service's database from a process of another shape (or of a
        version from before shapes had schemas)."""
        found: bool = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database()"
            " AND (application_name = $1 OR (application_name LIKE $1 || ' rm:%' AND application_name <> $2)))",
            self.service_name,
            self.application_name,
        )
        return found

    async def _stop_inline(self, conn: asyncpg.Connection, fingerprint: str) -> None:
        """Inline → tailing, with no writer running: its tail starts after the last event."""
        last = await conn.fetchrow(
            "SELECT transaction_id, position FROM events ORDER BY transaction_id DESC, position DESC LIMIT 1"
        )
        at = checkpoint_of(last) if last else START
        await conn.execute(
            "UPDATE read_model_sets SET inline = false, transaction_id = $2::text::xid8, position = $3,"
            " switched_at = now() WHERE fingerprint = $1",
            fingerprint,
            str(at.transaction_id),
            at.position,
        )
        log.info("read models %s: tailing the events from now", fingerprint[:12])

    async def _switch_to_inline(self) -> None:
        """Tailing → inline: catch up while writers go on, then with every event while none
        runs, and let writers project their own from then on."""
        await self._fill(self.schema_name, self.fingerprint)
        async with self._writers_held() as held:
            if await self._other_shapes_in_use(held):
                return
            await self._fill(self.schema_name, self.fingerprint, below_horizon=False, conn=held)
            await held.execute(
                "UPDATE read_model_sets SET inline = true, built = true, switched_at = now() WHERE fingerprint = $1",
                self.fingerprint,
            )
        log.info("read models %s: projected inline", self.fingerprint[:12])

    async def _fill(
        self,
        schema: str,
        fingerprint: str | None = None,
        below_horizon: bool = True,
        after: Checkpoint = START,
        conn: asyncpg.Connection | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[int, Checkpoint]:
        """Project events into `schema` until none is left (below the horizon, or all of them
        while no writer runs): with a `fingerprint`, from and to that set's checkpoint; without,
        a scratch schema from `after`. Returns how many, and where it stopped."""
        total, batches = 0, 0
        while True:
            handled, _, after = await self._batch(schema, fingerprint, after, below_horizon, conn)
            total += handled
            if progress is not None:
                progress(total)
            # Below the horizon, a batch not full means caught up: writers may go on for ever.
            if handled == 0 or (below_horizon and handled < self.batch_size):
                return total, after
            batches += 1
            if batches % 20 == 0:
                log.info("read models: %d events projected", total)

    async def _tail_once(self, schema: str, fingerprint: str) -> tuple[int, float]:
        handled, age, _ = await self._batch(schema, fingerprint, START, below_horizon=True)
        return handled, age

    async def _batch(
        self,
        schema: str,
        fingerprint: str | None,
        after: Checkpoint,
        below_horizon: bool,
        conn: asyncpg.Connection | None = None,
    ) -> tuple[int, float, Checkpoint]:
        """One batch in one transaction (on `conn`, else on a connection of the pool), with the
        set's checkpoint when it has one."""
        if conn is not None:
            async with conn.transaction():
                return await self._project_batch(conn, schema, fingerprint, after, below_horizon)
        async with self.pool.acquire() as pooled, pooled.transaction():
            return await self._project_batch(pooled, schema, fingerprint, after, below_horizon)

    async def _project_batch(
        self,
        conn: asyncpg.Connection,
        schema: str,
        fingerprint: str | None,
        after: Checkpoint,
        below_horizon: bool,
    ) -> tuple[int, float, Checkpoint]:
        if fingerprint is not None:
            after = (await self._row(conn, fingerprint)).checkpoint
        await conn.execute(
            f"SET LOCAL search_path TO {quote_ident(schema)}, {quote_ident(self.service_schema)}"
        )
        if below_horizon:
            rows = await read_below_horizon(conn, "events", _EVENT_COLUMNS, after, self.batch_size)
        else:
            rows = await conn.fetch(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE (transaction_id, position) > ($1::text::xid8, $2)"
                " ORDER BY transaction_id, position LIMIT $3",
                str(after.transaction_id),
                after.position,
                self.batch_size,
            )
        if not rows:
            return 0, 0.0, after
        keys: dict[str, bytes | None] = {}
        for row in rows:
            envelope = await self.store.opened(conn, row, keys)
            event = self.store.registry.decode(envelope)
            for projector in self.projectors:
                await projector(conn, envelope, event)
        last = checkpoint_of(rows[-1])
        if fingerprint is not None:
            await conn.execute(
                "UPDATE read_model_sets SET transaction_id = $2::text::xid8, position = $3 WHERE fingerprint = $1",
                fingerprint,
                str(last.transaction_id),
                last.position,
            )
        age = time.time() - rows[0]["recorded_at"].timestamp()
        return len(rows), age, last

    async def _swap_in(self, conn: asyncpg.Connection, scratch: str, tables: Sequence[str]) -> None:
        retired = f"{self.service_schema}_rm_old_{secrets.token_hex(4)}"
        await conn.execute(f"CREATE SCHEMA {quote_ident(retired)}")
        for table in tables:
            await conn.execute(
                f"ALTER TABLE {quote_ident(self.schema_name)}.{quote_ident(table)} SET SCHEMA {quote_ident(retired)}"
            )
            await conn.execute(
                f"ALTER TABLE {quote_ident(scratch)}.{quote_ident(table)} SET SCHEMA {quote_ident(self.schema_name)}"
            )
        await conn.execute(f"DROP SCHEMA {quote_ident(retired)} CASCADE")
        await conn.execute(f"DROP SCHEMA {quote_ident(scratch)} CASCADE")

    async def _compare(self, conn: asyncpg.Connection, table: str, scratch: str) -> tuple[int, int]:
        """(rows of the rebuild the live table lacks, rows of the live table the rebuild lacks),
        leaving out columns numbered by a sequence (they count inserts, not events)."""
        numbered = [
            row["column_name"]
            for row in await conn.fetch(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2"
                " AND column_default LIKE 'nextval(%'",
                self.schema_name,
                table,
            )
        ]
        live = f"{quote_ident(self.schema_name)}.{quote_ident(table)}"
        rebuilt = f"{quote_ident(scratch)}.{quote_ident(table)}"
        row = await conn.fetchrow(
            f"SELECT (SELECT count(*) FROM (SELECT to_jsonb(r) - $1::text[] FROM {rebuilt} r"
            f"  EXCEPT ALL SELECT to_jsonb(l) - $1::text[] FROM {live} l) m) AS missing,"
            f" (SELECT count(*) FROM (SELECT to_jsonb(l) - $1::text[] FROM {live} l"
            f"  EXCEPT ALL SELECT to_jsonb(r) - $1::text[] FROM {rebuilt} r) e) AS extra",
            numbered,
        )
        assert row is not None
        return int(row["missing"]), int(row["extra"])
