"""baseline: the schema as the code before this history left it

Every service's event store, outbox, inbox, parked events, dead letters, keys, idempotency
answers, access log (append-only: its triggers), read-model sets (and the function a writer
begins with, ADR 0009), agencies and rate-limit buckets. A database made before this history
is brought here by `before_history.sql` and stamped (dcert_shared.schema_history).

Revision ID: shared_0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from dcert_shared.tables import XID8

revision: str = "shared_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("shared",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "access_log",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", XID8(), server_default=sa.text("pg_current_xact_id()"), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("person_ref", sa.Text(), nullable=False),
        sa.Column("reader_role", sa.Text(), nullable=False),
        sa.Column("reader_subject", sa.Text(), nullable=False),
        sa.Column("reader_region", sa.Text(), nullable=True),
        sa.Column("reader_organisation", sa.Text(), nullable=True),
        sa.Column("record_kind", sa.Text(), nullable=False),
        sa.Column("record_ref", sa.Text(), nullable=False),
        sa.Column("service", sa.Text(), nullable=False),
        sa.Column("route", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("access_log_commit_order", "access_log", ["transaction_id", "id"], unique=False)
    op.create_index("access_log_person_read_at", "access_log", ["person_ref", "read_at"], unique=False)
    op.create_table(
        "agencies",
        sa.Column("person_ref", sa.Text(), nullable=False),
        sa.Column("agent_ref", sa.Text(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person_ref", "agent_ref"),
    )
    op.create_index("agencies_by_agent", "agencies", ["agent_ref"], unique=False)
    op.create_table(
        "checkpoints",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("transaction_id", XID8(), server_default="0", nullable=False),
        sa.Column("position", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("stream_sequence", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("event_type", sa.Text(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("message", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lane", sa.Text(), nullable=True),
        sa.Column("discarded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "dead_letters_open",
        "dead_letters",
        ["consumer"],
        unique=False,
        postgresql_where=sa.text("replayed_at IS NULL"),
    )
    op.create_table(
        "events",
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", XID8(), server_default=sa.text("pg_current_xact_id()"), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("stream_id", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("position"),
        sa.UniqueConstraint("event_id"),
        sa.UniqueConstraint("stream_id", "version", name="events_stream_version"),
    )
    op.create_index("events_global_order", "events", ["transaction_id", "position"], unique=False)
    op.create_table(
        "idempotency_keys",
        sa.Column("principal", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("principal", "key"),
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id"),
    )
    op.create_table(
        "outbox",
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", XID8(), server_default=sa.text("pg_current_xact_id()"), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("position"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index("outbox_global_order", "outbox", ["transaction_id", "position"], unique=False)
    op.create_table(
        "parked_events",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("lane", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("message", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("next_try_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("dead", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("parked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("consumer", "event_id", name="parked_events_once"),
    )
    op.create_index("parked_events_lanes", "parked_events", ["consumer", "lane", "id"], unique=False)
    op.create_table(
        "person_keys",
        sa.Column("person_ref", sa.Text(), nullable=False),
        sa.Column("master_key_id", sa.Text(), nullable=False),
        sa.Column("wrapped_key", postgresql.BYTEA(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("person_ref"),
    )
    op.create_table(
        "rate_limit_buckets",
        sa.Column("key", postgresql.BYTEA(), nullable=False),
        sa.Column("tat", sa.Double(), nullable=False),
        sa.Column("admitted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
        postgresql_with={"fillfactor": 70},
        prefixes=["UNLOGGED"],
    )
    op.create_table(
        "read_model_sets",
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("schema_name", sa.Text(), nullable=False),
        sa.Column("inline", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("built", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("transaction_id", XID8(), server_default="0", nullable=False),
        sa.Column("position", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("switched_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("fingerprint"),
    )
    # Rows of the access log are kept: UPDATE and TRUNCATE always fail, and so does DELETE of a
    # row read less than three years and a leap day ago (dcert_shared.access_log).
    op.execute(ACCESS_LOG_KEPT)
    op.execute(
        "CREATE TRIGGER access_log_rows_kept BEFORE UPDATE OR DELETE ON access_log"
        " FOR EACH ROW EXECUTE FUNCTION access_log_kept()"
    )
    op.execute(
        "CREATE TRIGGER access_log_not_truncated BEFORE TRUNCATE ON access_log"
        " FOR EACH STATEMENT EXECUTE FUNCTION access_log_kept()"
    )
    # A writer's first statement: wait for any switch of mode to end, then read its shape's
    # mode in a snapshot taken after the wait (a function's statements each take their own).
    op.execute(BEGIN_WRITE)


ACCESS_LOG_KEPT = """
CREATE OR REPLACE FUNCTION access_log_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.read_at < now() - make_interval(days => 1096) THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'the access log is kept: % of % refused', TG_OP, TG_TABLE_NAME
        USING HINT = 'rows are removed only past the retention, by the retention job';
END $$
"""

BEGIN_WRITE = """
CREATE OR REPLACE FUNCTION dcert_begin_write(lock_key text, wanted text) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtextextended(lock_key, 0));
    RETURN coalesce((SELECT inline FROM read_model_sets WHERE fingerprint = wanted), false);
END $$
"""
