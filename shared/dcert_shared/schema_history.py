"""The write side's schema history: tables declared once as SQLAlchemy metadata, their changes
as alembic revisions, applied at every start (docs/adr/0010).

A *branch* is a set of tables with a history of its own: `shared` (every service's event store,
outbox, inbox, ... in `dcert_shared.tables`), `person_access_log` (the certificate service's
collected access log) and one per service for its own tables (`dcert_<name>/adapters/tables.py`).
A service's database follows the branches it has (`SchemaHistory`); each branch keeps its
revisions in a folder of its own, named `<branch>_<number>`. The read side is not here: read
models are rebuilt from the events when their shape changes (ADR 0004).

At start, under the migration lock (`dcert_shared.db.migrate_schema`), a branch without a
recorded revision whose tables are already there was made by the code from before this history:
the idempotent DDL that code ran at every start (`before_history.sql`, frozen) brings it to the
baseline, which is then recorded (stamped); then every branch is upgraded to its head.

    python -m dcert_shared.schema_history sql certificate          # offline SQL for a DBA
    python -m dcert_shared.schema_history revision certificate certificate -m "..."  # autogenerate
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any, Literal

import asyncpg
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from .db import alembic_connection
from .tables import PERSON_ACCESS_LOG, SHARED, XID8

MIGRATIONS = Path(__file__).parent / "migrations"
BASELINE = "0001"
# Tables kept aside by an earlier version, never declared again: not drift.
RETIRED_TABLES = frozenset({"access_log_before_v1"})


@dataclass(frozen=True)
class Branch:
    """Tables declared once (`metadata`) and the revisions that made them (`versions`)."""

    label: str
    metadata: MetaData
    versions: Path

    @property
    def baseline(self) -> str:
        """The first revision: the schema as the code before this history left it."""
        return f"{self.label}_{BASELINE}"

    @property
    def before_history(self) -> str:
        """The DDL the code before this history ran at every start (frozen: never edit it)."""
        return (self.versions / "before_history.sql").read_text()

    @property
    def table_names(self) -> list[str]:
        return [table.name for table in self.metadata.sorted_tables]


SHARED_BRANCH = Branch("shared", SHARED, MIGRATIONS / "shared")
PERSON_ACCESS_LOG_BRANCH = Branch("person_access_log", PERSON_ACCESS_LOG, MIGRATIONS / "person_access_log")


@dataclass(frozen=True)
class SchemaHistory:
    """The branches of one service's database: `shared` first, then the service's own."""

    branches: tuple[Branch, ...] = (SHARED_BRANCH,)

    def with_branches(self, *branches: Branch) -> SchemaHistory:
        return SchemaHistory((*self.branches, *branches))

    def branch(self, label: str) -> Branch:
        return next(branch for branch in self.branches if branch.label == label)

    def config(self, **attributes: Any) -> Config:
        out = attributes.pop("out", None)
        config = Config(stdout=out or sys.stdout, output_buffer=out)
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("path_separator", "os")
        config.set_main_option(
            "version_locations", os.pathsep.join(str(branch.versions) for branch in self.branches)
        )
        # A written revision is formatted as the rest of the code is.
        config.set_section_option("post_write_hooks", "hooks", "ruff")
        config.set_section_option("post_write_hooks", "ruff.type", "module")
        config.set_section_option("post_write_hooks", "ruff.module", "ruff")
        config.set_section_option("post_write_hooks", "ruff.options", "format REVISION_SCRIPT_FILENAME")
        config.attributes.update(history=self, **attributes)
        return config

    def recorded(self, connection: Connection) -> set[str]:
        """The branches this database has a revision of (those a recorded revision depends on too)."""
        heads = MigrationContext.configure(connection).get_current_heads()
        revisions = ScriptDirectory.from_config(self.config()).revision_map.iterate_revisions(heads, "base")
        return {revision.revision.rsplit("_", 1)[0] for revision in revisions}

    async def adopt(self, conn: asyncpg.Connection, recorded: set[str]) -> list[str]:
        """A database made before this history (tables of a branch it has no revision of): every
        such branch brought to its baseline by the DDL the code ran at every start until then, as
        that code would (all at once); their baselines, to be recorded. Runs in the migration's
        transaction, under its lock."""
        unrecorded = [branch for branch in self.branches if branch.label not in recorded]
        names = [name for branch in unrecorded for name in branch.table_names]
        if not await conn.fetchval(
            "SELECT bool_or(to_regclass(name) IS NOT NULL) FROM unnest($1::text[]) AS name", names
        ):
            return []
        for branch in unrecorded:
            await conn.execute(branch.before_history)
        return [branch.baseline for branch in unrecorded]

    def upgrade(self, connection: Connection, adopted: Sequence[str] = ()) -> None:
        """Record the adopted baselines, then every branch to its head, on `connection` (in its
        transaction)."""
        config = self.config(connection=connection)
        for baseline in adopted:  # one by one: a baseline may depend on another
            command.stamp(config, baseline)
        command.upgrade(config, "heads")

    def differences(self, connection: Connection) -> list[Any]:
        """How the database differs from the declared tables (empty: no drift)."""
        context = MigrationContext.configure(connection, opts=self.comparison_options())
        return list(compare_metadata(context, [branch.metadata for branch in self.branches]))  # type: ignore[arg-type]

    def comparison_options(self, only: Branch | None = None) -> dict[str, Any]:
        """What alembic compares: the tables of these branches (of `only`, when writing its
        revision), in the database's own schema; `compare_type` and server defaults included."""
        elsewhere = (
            set()
            if only is None
            else {name for branch in self.branches if branch is not only for name in branch.table_names}
        )

        def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
            return type_ != "table" or (name not in RETIRED_TABLES and name not in elsewhere)

        return {
            "render_item": _render_item,
            "target_metadata": [branch.metadata for branch in self.branches]
            if only is None
            else only.metadata,
            "include_name": include_name,
            "compare_type": True,
            "compare_server_default": True,
        }


def _render_item(type_: str, item: Any, autogen_context: Any) -> str | Literal[False]:
    """A revision names the transaction-id type by its class."""
    if type_ == "type" and isinstance(item, XID8):
        autogen_context.imports.add("from dcert_shared.tables import XID8")
        return "XID8()"
    return False


def configure(context: Any) -> None:
    """`migrations/env.py`: run the revisions on the given connection, or offline (`context`:
    alembic's `alembic.context`, the running `EnvironmentContext`)."""
    config = context.config
    history: SchemaHistory = config.attributes["history"]
    only = config.attributes.get("only")
    options = history.comparison_options(history.branch(only) if only else None)
    if context.is_offline_mode():
        # Named parameters: a `%` in a revision's SQL is printed as written, not doubled.
        context.configure(
            dialect_name="postgresql", literal_binds=True, dialect_opts={"paramstyle": "named"}, **options
        )
    else:
        context.configure(connection=config.attributes["connection"], **options)
    with context.begin_transaction():
        context.run_migrations()


def history_of(service: str) -> SchemaHistory:
    """A service's schema history, as its `adapters/tables.py` declares it (`shared`: the
    shared branch alone)."""
    if service == "shared":
        return SchemaHistory()
    history: SchemaHistory = import_module(f"dcert_{service}.adapters.tables").HISTORY
    return history


def upgrade_sql(history: SchemaHistory, since: str | None = None) -> str:
    """The SQL of `alembic upgrade heads --sql`: what a start would run on an empty database
    (or after `since`, a revision), for a DBA to read or run."""
    out = io.StringIO()
    command.upgrade(history.config(out=out), f"{since}:heads" if since else "heads", sql=True)
    return out.getvalue()


async def _write_revision(history: SchemaHistory, label: str, message: str, dsn: str) -> None:
    """Autogenerate the next revision of `label` from a database at head (e.g. `make run`'s)."""
    branch = history.branch(label)
    numbers = [
        int(path.stem.removeprefix(f"{label}_").split("_")[0])
        for path in branch.versions.glob(f"{label}_*.py")
    ]
    async with alembic_connection(dsn) as connection:
        await connection.run_sync(
            lambda sync: command.revision(
                history.config(connection=sync, only=label),
                message=message,
                autogenerate=True,
                head=f"{label}@head",
                rev_id=f"{label}_{max(numbers, default=0) + 1:04d}",
            )
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dcert_shared.schema_history", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    sql = commands.add_parser("sql", help="print the SQL that upgrades a service's database to head")
    sql.add_argument("service", help="certificate, assessment, benefits, notification (or shared)")
    sql.add_argument("--since", help="a revision the database has: only what comes after it")
    revision = commands.add_parser("revision", help="autogenerate a branch's next revision")
    revision.add_argument("service")
    revision.add_argument("branch", help="shared, person_access_log, or the service's own")
    revision.add_argument("-m", "--message", required=True)
    revision.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help="a database at head")
    args = parser.parse_args(argv)
    history = history_of(args.service)
    if args.command == "sql":
        sys.stdout.write(upgrade_sql(history, args.since))
    else:
        if not args.database_url:
            parser.error("--database-url (or DATABASE_URL): a database of this service at head")
        asyncio.run(_write_revision(history, args.branch, args.message, args.database_url))


if __name__ == "__main__":
    main()
