"""The notification service's write-side tables and its schema history (docs/adr/0010): the
shared tables and its own (the delivery queue, `deliveries.py`; people's side, `people.py`).
A change here needs a revision:
`python -m dcert_shared.schema_history revision notification notification -m "..."`."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from dcert_shared.schema_history import Branch, SchemaHistory

TABLES = sa.MetaData()
NOW = sa.text("now()")

# One row per (subscription, event), worked off by the sender (deliveries.py).
sa.Table(
    "deliveries",
    TABLES,
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("id", sa.String, nullable=False, unique=True),  # the webhook-id
    sa.Column("subscription_id", sa.String, nullable=False),
    sa.Column("partner_id", sa.String, nullable=False),
    sa.Column("event_id", sa.Uuid, nullable=False),
    sa.Column("event_type", sa.String, nullable=False),
    # The certificate (or person) the event is about: its events reach a partner in order.
    sa.Column("order_key", sa.String, nullable=False, server_default=""),
    # Whose data the event carries (keyed hash): its delivery is recorded in the person's access log.
    sa.Column("person_ref", sa.String),
    # Where the event is about (None: not known): a jurisdiction narrowed later withdraws it.
    sa.Column("region", sa.String),
    sa.Column("policy_version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_status_code", sa.Integer),
    sa.Column("last_error", sa.String),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=NOW),
    sa.Column("claimed_until", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    sa.Column("delivered_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("subscription_id", "event_id", name="deliveries_once_per_subscription"),
    sa.Index("deliveries_partner", "partner_id", "seq"),
    sa.Index(
        "deliveries_pending_heads_by_key",
        "subscription_id",
        "order_key",
        "seq",
        postgresql_where=sa.text("status = 'pending'"),
    ),
    sa.Index("deliveries_dead", "created_at", postgresql_where=sa.text("status = 'dead'")),
)

# Where each certificate (and person) is registered, for subscriptions filtered by region:
# kept by the consumer from the events themselves (not a projection of this service's).
sa.Table(
    "event_regions",
    TABLES,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("region", sa.Text, nullable=False),
)

# Who an application or certificate is about, and who acts for them (people.py).
sa.Table(
    "person_links",
    TABLES,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("person_ref", sa.Text, nullable=False),
    sa.Column("agent_refs", postgresql.JSONB, nullable=False, server_default=sa.text("'[]'")),
    sa.Column("card_delivery", sa.Text),
)

# How a person wants to be told; phone and e-mail sealed with their data key.
sa.Table(
    "contacts",
    TABLES,
    sa.Column("person_ref", sa.Text, primary_key=True),
    sa.Column("language", sa.Text, nullable=False, server_default="zh-CN"),
    sa.Column("channels", postgresql.JSONB, nullable=False, server_default=sa.text("""'["inbox"]'""")),
    sa.Column("sealed_phone", sa.Text),
    sa.Column("sealed_email", sa.Text),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
)

# Every notice with its delivery record (and, for the inbox, the notice itself).
sa.Table(
    "notices",
    TABLES,
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("id", sa.Text, nullable=False, unique=True),
    sa.Column("event_id", sa.Uuid, nullable=False),
    sa.Column("recipient_ref", sa.Text, nullable=False),
    sa.Column("subject_key", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("sealed_params", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    sa.Column("claimed_until", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.Column("read_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint("channel IN ('inbox', 'sms', 'email')", name="notices_channel_check"),
    sa.CheckConstraint(
        "status IN ('queued', 'retried', 'sent', 'failed', 'withdrawn')", name="notices_status_check"
    ),
    sa.UniqueConstraint(
        "event_id", "recipient_ref", "kind", "channel", name="notices_event_id_recipient_ref_kind_channel_key"
    ),
    sa.Index("notices_inbox", "recipient_ref", "due_at", postgresql_where=sa.text("channel = 'inbox'")),
    sa.Index(
        "notices_to_send",
        "next_attempt_at",
        postgresql_where=sa.text("status IN ('queued', 'retried') AND channel <> 'inbox'"),
    ),
)

HISTORY = SchemaHistory().with_branches(
    Branch("notification", TABLES, Path(__file__).parent.parent / "migrations")
)
