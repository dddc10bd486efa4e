"""baseline: the schema as the code before this history left it

Revision ID: benefits_0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "benefits_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("benefits",)
depends_on: str | Sequence[str] | None = "shared_0001"


def upgrade() -> None:
    op.create_table(
        "entitlement_line",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=False),
        sa.Column("person_ref", sa.Text(), nullable=False),
        sa.Column("benefit", sa.Text(), nullable=False),
        sa.Column("for_month", sa.Date(), nullable=False),
        sa.Column("paid_in_month", sa.Date(), nullable=False),
        sa.Column("certificate_number", sa.Text(), nullable=False),
        sa.Column("household_region", sa.Text(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("policy_version", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.CheckConstraint("kind IN ('regular', 'arrears')", name="entitlement_line_kind_check"),
        sa.CheckConstraint("amount_fen > 0", name="entitlement_line_amount_fen_check"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "person_ref", "benefit", "for_month", name="entitlement_line_person_ref_benefit_for_month_key"
        ),
    )
    op.create_index("entitlement_line_run", "entitlement_line", ["run_id", "id"], unique=False)
    op.create_table(
        "ledger_carry_over",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "monthly_run",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("cursor", sa.Text(), server_default="", nullable=False),
        sa.Column("first_month", sa.Date(), nullable=False),
        sa.Column("catch_up_from", sa.Date(), nullable=False),
        sa.Column("late_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "reach_within",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'"),
            nullable=False,
        ),
        sa.Column("line_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("arrears_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("total_fen", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("month", "region", name="monthly_run_month_region_key"),
    )
    op.create_table(
        "partner_fact_policy",
        sa.Column("partner_id", sa.String(), nullable=False),
        sa.Column("facts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("policy_version", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "regions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[\"000000\"]'::jsonb"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("partner_id"),
    )
    op.create_table(
        "policy_effects",
        sa.Column("benefit", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("rule_id", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("reached", sa.Text(), server_default="", nullable=False),
        sa.Column("holders", sa.Integer(), server_default="0", nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("benefit", "version", "rule_id"),
    )
