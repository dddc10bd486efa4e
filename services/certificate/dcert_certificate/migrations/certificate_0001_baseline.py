"""baseline: the schema as the code before this history left it

Revision ID: certificate_0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "certificate_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("certificate",)
depends_on: str | Sequence[str] | None = "shared_0001"


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("private_seed", postgresql.BYTEA(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key_id"),
    )
