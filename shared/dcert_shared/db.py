"""PostgreSQL access: the asyncpg pool, JSON codecs, schema isolation and migrations.

Each service owns one database; tests isolate themselves by schema (`search_path`). Every table
is declared once and its DDL generated from the declaration: the write side's tables as
SQLAlchemy metadata whose history alembic keeps (`migrate_schema`, docs/adr/0010), read models as
SQLModel tables on a registry of the service's own, built anew when their shape changes
(`ReadModels`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import asyncpg
from sqlalchemy import MetaData
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import CreateIndex, CreateTable
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

if TYPE_CHECKING:
    from .schema_history import SchemaHistory

log = logging.getLogger(__name__)

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.ConnectionDoesNotExistError,
)

# The database being away, restarting, full or failing over: waited out, never held against
# the work that met it (a consumer does not count it as a try).
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.InsufficientResourcesError,
    asyncpg.ReadOnlySQLTransactionError,  # a standby answered while the primary changes
)


def is_outage(error: BaseException) -> bool:
    """The database (or the network to it) failed, not the work."""
    return isinstance(error, OUTAGE_ERRORS)


def caused_by_outage(error: BaseException) -> bool:
    """An outage, or an error raised because of one (SQLAlchemy wraps the driver's)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if is_outage(current):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name,
            encoder=lambda value: json.dumps(value, ensure_ascii=False, separators=(",", ":")),
            decoder=json.loads,
            schema="pg_catalog",
        )


def quote_ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return f'"{name}"'


async def create_pool(
    dsn: str,
    schema: str = "public",
    *,
    min_size: int = 1,
    max_size: int = 10,
    application_name: str = "dcert",
    connect_timeout_seconds: float = 60,
    command_timeout: float | None = None,
    search_path: str | None = None,
) -> asyncpg.Pool:
    """Open a pool on `schema` (created if missing), retrying while the server is not up yet.

    `search_path` puts other schemas before it (a service's read models live in a schema of
    their own); SQL that names the service's schema reads `current_setting('dcert.schema')`.
    `command_timeout` bounds every statement: a server that stopped answering (frozen, cut off)
    is an outage the caller waits out, not a hang."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type(TRANSIENT_ERRORS),
        wait=wait_exponential(multiplier=0.2, max=3),
        stop=stop_after_delay(connect_timeout_seconds),
        reraise=True,
    ):
        with attempt:
            if schema != "public":
                await create_schema(dsn, schema)
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                init=_init_connection,
                command_timeout=command_timeout,
                timeout=10,
                server_settings=connection_settings(schema, application_name, search_path),
            )
    return pool


def connection_settings(schema: str, application_name: str, search_path: str | None = None) -> dict[str, str]:
    return {
        "search_path": search_path or quote_ident(schema),
        "application_name": application_name,
        "dcert.schema": schema,
    }


async def connect(
    dsn: str, schema: str, application_name: str, search_path: str | None = None
) -> asyncpg.Connection:
    """One connection set up as the pool's are (search path, JSON codecs), outside the pool."""
    conn = await asyncpg.connect(
        dsn, timeout=10, server_settings=connection_settings(schema, application_name, search_path)
    )
    await _init_connection(conn)
    return conn


async def create_schema(dsn: str, schema: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
    except asyncpg.UniqueViolationError:
        pass  # a concurrent creator won
    finally:
        await conn.close()


def ddl_for(metadata: MetaData) -> list[str]:
    """CREATE TABLE / INDEX IF NOT EXISTS statements for SQLModel read-model tables, in the same
    order in every process (a table's indexes are a set: sorted by name, or the fingerprint of
    `ReadModels` would change with the hash seed and rebuild the read models at every start)."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    statements: list[str] = []
    for table in metadata.sorted_tables:
        statements.append(str(CreateTable(table, if_not_exists=True).compile(dialect=dialect)))
        for index in sorted(table.indexes, key=lambda index: str(index.name)):
            statements.append(str(CreateIndex(index, if_not_exists=True).compile(dialect=dialect)))
    return statements


_MIGRATION_LOCK = "SELECT pg_advisory_xact_lock(hashtext(coalesce(current_setting('dcert.schema', true), current_schema()) || ':migrate'))"


async def migrate(pool: asyncpg.Pool, statements: Iterable[str]) -> None:
    """Apply idempotent DDL of tables outside any schema history (a test's, a benchmark's) under
    the migration lock, so concurrent callers do not race. The pool's first schema receives it."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(_MIGRATION_LOCK)
        for statement in statements:
            await conn.execute(statement)


async def migrate_schema(
    dsn: str,
    schema: str,
    history: SchemaHistory,
    then: Callable[[asyncpg.Connection], Awaitable[object]] | None = None,
    *,
    connect_timeout_seconds: float = 120,
) -> None:
    """Upgrade `schema` to the head of every branch of `history` (docs/adr/0010), on a connection of
    its own whose only schema is `schema`, in one transaction under the migration lock: replicas
    starting together wait for the first, then find nothing left to do. `then` runs in the same
    transaction, under the same lock, after the upgrade."""
    # A process that starts while the database fails over waits for it, rather than exit.
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(caused_by_outage),
        wait=wait_exponential(multiplier=0.2, max=3),
        stop=stop_after_delay(connect_timeout_seconds),
        reraise=True,
    ):
        with attempt:
            await _upgrade(dsn, schema, history, then)


async def _upgrade(
    dsn: str,
    schema: str,
    history: SchemaHistory,
    then: Callable[[asyncpg.Connection], Awaitable[object]] | None,
) -> None:
    if schema != "public":
        await create_schema(dsn, schema)
    async with alembic_connection(dsn, schema) as connection:
        await connection.exec_driver_sql(_MIGRATION_LOCK)
        conn = (await connection.get_raw_connection()).driver_connection
        assert conn is not None
        adopted = await history.adopt(conn, await connection.run_sync(history.recorded))
        await connection.run_sync(history.upgrade, adopted)
        if then is not None:
            await then(conn)


@asynccontextmanager
async def alembic_connection(dsn: str, schema: str = "public") -> AsyncIterator[AsyncConnection]:
    """A SQLAlchemy connection in a transaction, on asyncpg with `schema` alone on its search path
    (alembic works through SQLAlchemy; the transaction commits when the block ends well)."""
    engine = create_async_engine(
        "postgresql+asyncpg://",
        poolclass=NullPool,
        async_creator=lambda: asyncpg.connect(
            dsn, server_settings=connection_settings(schema, "dcert-migrate")
        ),
    )
    try:
        async with engine.begin() as connection:
            yield connection
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class ReadModels:
    """A service's projection tables and their DDL: derived data, built anew from the events
    whenever the DDL changes (a new column, a new table), so no read model needs a migration
    (dcert_shared.read_models)."""

    schema: Sequence[str]
    tables: Sequence[str]

    @classmethod
    def of(cls, *metadatas: MetaData) -> ReadModels:
        """Every table declared on these SQLModel registries: each must be filled by projectors only."""
        return cls(
            schema=[statement for metadata in metadatas for statement in ddl_for(metadata)],
            tables=[table.name for metadata in metadatas for table in metadata.sorted_tables],
        )

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256("\n".join(self.schema).encode()).hexdigest()
