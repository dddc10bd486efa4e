"""baseline: the schema as the code before this history left it

The certificate service's copy of every service's access log, for the people it is about
(dcert_shared.access_relay): append-only like `access_log`, by the same function (shared_0001).

Revision ID: person_access_log_0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "person_access_log_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("person_access_log",)
depends_on: str | Sequence[str] | None = "shared_0001"


def upgrade() -> None:
    op.create_table(
        "person_access_log",
        sa.Column("service", sa.Text(), nullable=False),
        sa.Column("log_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("person_ref", sa.Text(), nullable=False),
        sa.Column("reader_role", sa.Text(), nullable=False),
        sa.Column("reader_subject", sa.Text(), nullable=False),
        sa.Column("reader_region", sa.Text(), nullable=True),
        sa.Column("reader_organisation", sa.Text(), nullable=True),
        sa.Column("record_kind", sa.Text(), nullable=False),
        sa.Column("record_ref", sa.Text(), nullable=False),
        sa.Column("route", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column(
            "collected_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("service", "log_id"),
    )
    op.create_index(
        "person_access_log_newest",
        "person_access_log",
        [
            "person_ref",
            sa.literal_column("read_at DESC"),
            sa.literal_column("service DESC"),
            sa.literal_column("log_id DESC"),
        ],
        unique=False,
    )
    op.execute(
        "CREATE TRIGGER person_access_log_rows_kept BEFORE UPDATE OR DELETE ON person_access_log"
        " FOR EACH ROW EXECUTE FUNCTION access_log_kept()"
    )
    op.execute(
        "CREATE TRIGGER person_access_log_not_truncated BEFORE TRUNCATE ON person_access_log"
        " FOR EACH STATEMENT EXECUTE FUNCTION access_log_kept()"
    )
