"""The certificate service's write-side tables and its schema history (docs/adr/0010): the
shared tables, the access log it collects for the people (`person_access_log`), and its own.
A change here needs a revision:
`python -m dcert_shared.schema_history revision certificate certificate -m "..."`."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from dcert_shared.schema_history import PERSON_ACCESS_LOG_BRANCH, Branch, SchemaHistory

TABLES = sa.MetaData()

# The e-certificate's signing keys: the current one, and retired ones kept until every code
# they signed has expired (adapters/ecert.py, docs/e-certificate.md).
sa.Table(
    "signing_keys",
    TABLES,
    sa.Column("key_id", sa.Text, primary_key=True),
    sa.Column("private_seed", postgresql.BYTEA, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
    sa.Column("retired_at", sa.DateTime(timezone=True)),
)

HISTORY = SchemaHistory().with_branches(
    PERSON_ACCESS_LOG_BRANCH,
    Branch("certificate", TABLES, Path(__file__).parent.parent / "migrations"),
)
