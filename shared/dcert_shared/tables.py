"""The write side's tables every service has, declared once: the source of their revisions.

These tables hold state (events, the outbox, the inbox, parked events, dead letters, keys,
answers kept for an `Idempotency-Key`, the access log, rate-limit buckets), never rebuilt: their
shape changes only by a revision of their schema history (`dcert_shared.schema_history`,
docs/adr/0010). The code reads and writes them with plain SQL on asyncpg; the read side's
tables are SQLModel classes instead (`ReadModels`). A change here needs a new revision
(`python -m dcert_shared.schema_history revision shared -m "..."`), or the drift test fails.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import UserDefinedType


class XID8(UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id: rows record the transaction that wrote them (ADR 0001)."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "xid8"


# So that a reflected `xid8` column is compared as one, not as an unknown type.
postgresql.base.ischema_names["xid8"] = XID8

WRITTEN_BY_TRANSACTION = sa.text("pg_current_xact_id()")
NOW = sa.text("now()")


def _at(name: str, *, nullable: bool = False, now: bool = True) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, server_default=NOW if now else None)


SHARED = sa.MetaData()

sa.Table(
    "events",
    SHARED,
    sa.Column("position", sa.BigInteger, primary_key=True),
    sa.Column("transaction_id", XID8(), nullable=False, server_default=WRITTEN_BY_TRANSACTION),
    sa.Column("event_id", sa.Uuid, nullable=False, unique=True),
    sa.Column("stream_id", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("payload", postgresql.JSONB, nullable=False),
    sa.Column("metadata", postgresql.JSONB, nullable=False),
    _at("recorded_at"),
    sa.UniqueConstraint("stream_id", "version", name="events_stream_version"),
    sa.Index("events_global_order", "transaction_id", "position"),
)

sa.Table(
    "outbox",
    SHARED,
    sa.Column("position", sa.BigInteger, primary_key=True),
    sa.Column("transaction_id", XID8(), nullable=False, server_default=WRITTEN_BY_TRANSACTION),
    sa.Column("message_id", sa.Uuid, nullable=False, unique=True),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("headers", postgresql.JSONB, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    _at("recorded_at"),
    sa.Index("outbox_global_order", "transaction_id", "position"),
)

# Where each reader (relays, read-model tails) stands in the global order, and, for a relay,
# where its last message landed in its stream (its JetStream sequence).
sa.Table(
    "checkpoints",
    SHARED,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("transaction_id", XID8(), nullable=False, server_default="0"),
    sa.Column("position", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    _at("updated_at"),
    sa.Column("stream_sequence", sa.BigInteger, nullable=False, server_default=sa.text("0")),
)

sa.Table(
    "idempotency_keys",
    SHARED,
    sa.Column("principal", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("request_hash", sa.Text, nullable=False),
    sa.Column("response", postgresql.JSONB, nullable=False),
    _at("created_at"),
)

sa.Table(
    "inbox",
    SHARED,
    sa.Column("consumer", sa.Text, primary_key=True),
    sa.Column("event_id", sa.Uuid, primary_key=True),
    _at("handled_at"),
)

# A dead letter that holds its lane (`lane`: its later events are parked behind it), and one that
# an operator gave up for good (`discarded_at`).
sa.Table(
    "dead_letters",
    SHARED,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("consumer", sa.Text, nullable=False),
    sa.Column("event_id", sa.Uuid),
    sa.Column("event_type", sa.Text),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("message", postgresql.JSONB),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("deliveries", sa.Integer, nullable=False),
    _at("failed_at"),
    _at("replayed_at", nullable=True, now=False),
    sa.Column("lane", sa.Text),
    _at("discarded_at", nullable=True, now=False),
    sa.Index("dead_letters_open", "consumer", postgresql_where=sa.text("replayed_at IS NULL")),
)

sa.Table(
    "parked_events",
    SHARED,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("consumer", sa.Text, nullable=False),
    sa.Column("lane", sa.Text, nullable=False),
    sa.Column("event_id", sa.Uuid, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("message", postgresql.JSONB, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error", sa.Text),
    _at("next_try_at"),
    sa.Column("dead", sa.Boolean, nullable=False, server_default=sa.false()),
    _at("parked_at"),
    sa.UniqueConstraint("consumer", "event_id", name="parked_events_once"),
    sa.Index("parked_events_lanes", "consumer", "lane", "id"),
)

# Each person's data key, wrapped by the master key (dcert_shared.vault).
sa.Table(
    "person_keys",
    SHARED,
    sa.Column("person_ref", sa.Text, primary_key=True),
    sa.Column("master_key_id", sa.Text, nullable=False),
    sa.Column("wrapped_key", postgresql.BYTEA),
    _at("created_at"),
    _at("erased_at", nullable=True, now=False),
)

# Append-only (triggers of the baseline revision): dcert_shared.access_log.
sa.Table(
    "access_log",
    SHARED,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("transaction_id", XID8(), nullable=False, server_default=WRITTEN_BY_TRANSACTION),
    _at("read_at"),
    sa.Column("person_ref", sa.Text, nullable=False),
    sa.Column("reader_role", sa.Text, nullable=False),
    sa.Column("reader_subject", sa.Text, nullable=False),
    sa.Column("reader_region", sa.Text),
    sa.Column("reader_organisation", sa.Text),
    sa.Column("record_kind", sa.Text, nullable=False),
    sa.Column("record_ref", sa.Text, nullable=False),
    sa.Column("service", sa.Text, nullable=False),
    sa.Column("route", sa.Text, nullable=False),
    sa.Column("purpose", sa.Text, nullable=False),
    sa.Index("access_log_person_read_at", "person_ref", "read_at"),
    # The relay reads in commit order (the gap problem, dcert_shared.store).
    sa.Index("access_log_commit_order", "transaction_id", "id"),
)

# The read models' shapes and where each is built (dcert_shared.read_models, ADR 0009).
sa.Table(
    "read_model_sets",
    SHARED,
    sa.Column("fingerprint", sa.Text, primary_key=True),
    sa.Column("schema_name", sa.Text, nullable=False),
    sa.Column("inline", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("built", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("transaction_id", XID8(), nullable=False, server_default="0"),
    sa.Column("position", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    _at("created_at"),
    _at("switched_at"),
)

# Who acts for whom, as the certificate service verifies it (dcert_shared.agencies).
sa.Table(
    "agencies",
    SHARED,
    sa.Column("person_ref", sa.Text, primary_key=True),
    sa.Column("agent_ref", sa.Text, primary_key=True),
    sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("agencies_by_agent", "agent_ref"),
)

# Counted across replicas, lost without harm in a crash: unlogged (dcert_shared.rate_limits).
sa.Table(
    "rate_limit_buckets",
    SHARED,
    sa.Column("key", postgresql.BYTEA, primary_key=True),
    sa.Column("tat", sa.Double, nullable=False),
    sa.Column("admitted", sa.Boolean, nullable=False),
    prefixes=["UNLOGGED"],
    postgresql_with={"fillfactor": 70},
)

# The certificate service's copy of every service's access log, for the people it is about
# (dcert_shared.access_relay); append-only like `access_log`.
PERSON_ACCESS_LOG = sa.MetaData()

_person_access_log = sa.Table(
    "person_access_log",
    PERSON_ACCESS_LOG,
    sa.Column("service", sa.Text, primary_key=True),
    sa.Column("log_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("person_ref", sa.Text, nullable=False),
    sa.Column("reader_role", sa.Text, nullable=False),
    sa.Column("reader_subject", sa.Text, nullable=False),
    sa.Column("reader_region", sa.Text),
    sa.Column("reader_organisation", sa.Text),
    sa.Column("record_kind", sa.Text, nullable=False),
    sa.Column("record_ref", sa.Text, nullable=False),
    sa.Column("route", sa.Text, nullable=False),
    sa.Column("purpose", sa.Text, nullable=False),
    _at("collected_at"),
)
sa.Index(
    "person_access_log_newest",
    _person_access_log.c.person_ref,
    _person_access_log.c.read_at.desc(),
    _person_access_log.c.service.desc(),
    _person_access_log.c.log_id.desc(),
)
