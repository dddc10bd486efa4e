"""The benefits service's write-side tables and its schema history (docs/adr/0010): the shared
tables and its own, state that is never rebuilt from the events (monthly runs and their ledger,
the days policy rules take effect, the partner agencies' policies). A change here needs a
revision: `python -m dcert_shared.schema_history revision benefits benefits -m "..."`."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from dcert_shared.schema_history import Branch, SchemaHistory

TABLES = sa.MetaData()
NOW = sa.text("now()")

# The fact types each partner agency may report, and its jurisdiction (from `PartnerRegistered`
# and `PartnerPolicyChanged`, written by its consumer). Partners registered before
# jurisdictions have the whole country (their events name none).
sa.Table(
    "partner_fact_policy",
    TABLES,
    sa.Column("partner_id", sa.String, primary_key=True),
    sa.Column("facts", postgresql.JSONB, nullable=False),
    sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("policy_version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("regions", postgresql.JSONB, nullable=False, server_default=sa.text("""'["000000"]'::jsonb""")),
)

# The days a recorded policy version's changed rules decide their holders again
# (application/policy_effects.py).
sa.Table(
    "policy_effects",
    TABLES,
    sa.Column("benefit", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("rule_id", sa.Text, primary_key=True),
    sa.Column("region", sa.Text, nullable=False),
    sa.Column("effective_from", sa.Date, nullable=False),
    sa.Column("reached", sa.Text, nullable=False, server_default=""),
    sa.Column("holders", sa.Integer, nullable=False, server_default="0"),
    sa.Column("applied_at", sa.DateTime(timezone=True)),
)

# A region's monthly run and its ledger, one line per person, benefit and month paid
# (application/runs.py). `reach_within`: the reach of areas within the region that had runs of
# their own.
sa.Table(
    "monthly_run",
    TABLES,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("month", sa.Date, nullable=False),
    sa.Column("region", sa.Text, nullable=False),
    sa.Column("prefix", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("cursor", sa.Text, nullable=False, server_default=""),
    sa.Column("first_month", sa.Date, nullable=False),
    sa.Column("catch_up_from", sa.Date, nullable=False),
    sa.Column("late_since", sa.DateTime(timezone=True)),
    sa.Column("reach_within", postgresql.JSONB, nullable=False, server_default=sa.text("'[]'")),
    sa.Column("line_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("arrears_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("total_fen", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    sa.Column("completed_at", sa.DateTime(timezone=True)),
    sa.Column("closed_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("month", "region", name="monthly_run_month_region_key"),
)

sa.Table(
    "entitlement_line",
    TABLES,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("run_id", sa.Text, nullable=False),
    sa.Column("person_ref", sa.Text, nullable=False),
    sa.Column("benefit", sa.Text, nullable=False),
    sa.Column("for_month", sa.Date, nullable=False),
    sa.Column("paid_in_month", sa.Date, nullable=False),
    sa.Column("certificate_number", sa.Text, nullable=False),
    sa.Column("household_region", sa.Text, nullable=False),
    sa.Column("amount_fen", sa.BigInteger, nullable=False),
    sa.Column("policy_version", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.CheckConstraint("amount_fen > 0", name="entitlement_line_amount_fen_check"),
    sa.CheckConstraint("kind IN ('regular', 'arrears')", name="entitlement_line_kind_check"),
    sa.UniqueConstraint(
        "person_ref", "benefit", "for_month", name="entitlement_line_person_ref_benefit_for_month_key"
    ),
    sa.Index("entitlement_line_run", "run_id", "id"),
)

# Data carried over once from an earlier version (benefits_0002).
sa.Table(
    "ledger_carry_over",
    TABLES,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("done_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
)

HISTORY = SchemaHistory().with_branches(
    Branch("benefits", TABLES, Path(__file__).parent.parent / "migrations")
)
