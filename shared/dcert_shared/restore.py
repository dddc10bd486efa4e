"""A database restored into another PostgreSQL cluster: its stored transaction ids rebased.

Rows of `events`, `outbox` and `access_log` record the id of the transaction that wrote them,
and readers (relays, read-model tails) keep their place as (transaction id, position), reading
only below the commit horizon (docs/adr/0001). Transaction ids belong to a cluster. After a
logical restore (pg_dump, pg_restore) into a new cluster, the new cluster's ids start low:
every stored id is above the server's current one, so new rows would sort *before* what the
readers have already read and nothing new would ever be published, silently.

At start, before anything is written, the service compares (under the migration lock) the
highest stored id with the server's current one. When a stored id is ahead, it rebases: every
stored row gets transaction id 0 (the order among them becomes their position, the order they
were inserted in), each relay's checkpoint moves to the last row before the first one it had
not read in the old order (a few rows may be published again: the stream's consumers drop
repeats), and the read models are built anew. A physical restore (pg_basebackup, a replica,
point-in-time recovery) keeps the cluster's ids and needs none of this. docs/operations.md.
"""

from __future__ import annotations

import logging

import asyncpg

from .db import quote_ident

log = logging.getLogger(__name__)

# The tables whose rows record their transaction, and the relay checkpoints that read them.
_TABLES = {"events": (), "outbox": ("outbox-relay",), "access_log": ("access-log-relay",)}


async def rebase_if_restored(conn: asyncpg.Connection) -> bool:
    """Rebase stored transaction ids that are ahead of this cluster's; True when it did.
    Runs in the caller's transaction (the migration's, holding its lock)."""
    tables = [
        table for table in [*_TABLES, "checkpoints"] if await conn.fetchval("SELECT to_regclass($1)", table)
    ]
    ahead = await conn.fetchval(
        "SELECT max(transaction_id) > pg_current_xact_id() FROM ("
        + " UNION ALL ".join(f"SELECT max(transaction_id) AS transaction_id FROM {table}" for table in tables)
        + ") stored"
    )
    if not ahead:
        return False
    log.warning(
        "this database holds transaction ids ahead of the server's (restored into another cluster?):"
        " rebasing them; the read models will be built anew"
    )
    for table, relays in _TABLES.items():
        if table not in tables:
            continue
        key = "id" if table == "access_log" else "position"
        for relay in relays:
            await conn.execute(
                "UPDATE checkpoints c SET transaction_id = '0', position = coalesce("
                f" (SELECT min({key}) - 1 FROM {table} t WHERE (t.transaction_id, t.{key}) > (c.transaction_id, c.position)),"
                f" (SELECT max({key}) FROM {table}), 0) WHERE name = $1",
                relay,
            )
        if table == "access_log":  # append-only for everyone else: its rows keep what they say
            await conn.execute("ALTER TABLE access_log DISABLE TRIGGER access_log_rows_kept")
        await conn.execute(f"UPDATE {table} SET transaction_id = '0' WHERE transaction_id <> '0'")
        if table == "access_log":
            await conn.execute("ALTER TABLE access_log ENABLE TRIGGER access_log_rows_kept")
    await conn.execute("UPDATE checkpoints SET transaction_id = '0' WHERE transaction_id <> '0'")
    if await conn.fetchval("SELECT to_regclass('read_model_sets') IS NOT NULL"):
        for row in await conn.fetch("SELECT schema_name FROM read_model_sets"):
            await conn.execute(f"DROP SCHEMA IF EXISTS {quote_ident(row['schema_name'])} CASCADE")
        await conn.execute("DELETE FROM read_model_sets")
    return True
