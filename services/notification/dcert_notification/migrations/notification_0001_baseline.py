"""baseline: the schema as the code before this history left it

The delivery queue (a new row wakes the sender: `notify_deliveries`), where each certificate
and person is registered, and people's side: links, contacts and notices.

Revision ID: notification_0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "notification_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("notification",)
depends_on: str | Sequence[str] | None = "shared_0001"


def upgrade() -> None:
    op.create_table(
        "contacts",
        sa.Column("person_ref", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), server_default="zh-CN", nullable=False),
        sa.Column(
            "channels",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[\"inbox\"]'"),
            nullable=False,
        ),
        sa.Column("sealed_phone", sa.Text(), nullable=True),
        sa.Column("sealed_email", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("person_ref"),
    )
    op.create_table(
        "deliveries",
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("subscription_id", sa.String(), nullable=False),
        sa.Column("partner_id", sa.String(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(), nullable=False),
        sa.Column("order_key", sa.String(), server_default="", nullable=False),
        sa.Column("person_ref", sa.String(), nullable=True),
        sa.Column("region", sa.String(), nullable=True),
        sa.Column("policy_version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column(
            "next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=True
        ),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("id"),
        sa.UniqueConstraint("subscription_id", "event_id", name="deliveries_once_per_subscription"),
    )
    op.create_index(
        "deliveries_dead",
        "deliveries",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("status = 'dead'"),
    )
    op.create_index("deliveries_partner", "deliveries", ["partner_id", "seq"], unique=False)
    op.create_index(
        "deliveries_pending_heads_by_key",
        "deliveries",
        ["subscription_id", "order_key", "seq"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "event_regions",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "notices",
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_ref", sa.Text(), nullable=False),
        sa.Column("subject_key", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("sealed_params", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column(
            "next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("channel IN ('inbox', 'sms', 'email')", name="notices_channel_check"),
        sa.CheckConstraint(
            "status IN ('queued', 'retried', 'sent', 'failed', 'withdrawn')", name="notices_status_check"
        ),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint(
            "event_id",
            "recipient_ref",
            "kind",
            "channel",
            name="notices_event_id_recipient_ref_kind_channel_key",
        ),
        sa.UniqueConstraint("id"),
    )
    op.create_index(
        "notices_inbox",
        "notices",
        ["recipient_ref", "due_at"],
        unique=False,
        postgresql_where=sa.text("channel = 'inbox'"),
    )
    op.create_index(
        "notices_to_send",
        "notices",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('queued', 'retried') AND channel <> 'inbox'"),
    )
    op.create_table(
        "person_links",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("person_ref", sa.Text(), nullable=False),
        sa.Column(
            "agent_refs",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'"),
            nullable=False,
        ),
        sa.Column("card_delivery", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.execute(NOTIFY_DELIVERIES)
    op.execute(
        "CREATE TRIGGER deliveries_notify AFTER INSERT ON deliveries"
        " FOR EACH STATEMENT EXECUTE FUNCTION notify_deliveries()"
    )


NOTIFY_DELIVERIES = """
CREATE OR REPLACE FUNCTION notify_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_notify(coalesce(current_setting('dcert.schema', true), current_schema()) || '_deliveries', '');
RETURN NULL; END $$
"""
