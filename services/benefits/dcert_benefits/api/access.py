"""Recording which people's benefit records a list or a payment run showed (dcert_shared.access_log)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import asyncpg

from dcert_shared.access_log import AccessRecorder


async def record_shown(
    reads: AccessRecorder,
    db: asyncpg.Pool,
    kind: str,
    rows: Iterable[Mapping[str, Any]],
    key: str,
    shown: Iterable[str],
    purpose: str | None = None,
) -> None:
    """Of `rows` (each with a `person_ref`), those whose `key` is among the `shown` ones."""
    wanted = set(shown)
    await reads.record(
        db, kind, [(row["person_ref"], row[key]) for row in rows if row[key] in wanted], purpose
    )


async def record_run_reads(
    reads: AccessRecorder, db: asyncpg.Pool, run_id: str, after: int = 0, limit: int | None = None
) -> None:
    """The people of a monthly run's lines after line `after` (up to `limit` lines; all: None)."""
    rows = await db.fetch(
        "SELECT DISTINCT person_ref FROM (SELECT person_ref FROM entitlement_line"
        " WHERE run_id = $1 AND id > $2 ORDER BY id LIMIT $3) shown",
        run_id,
        after,
        limit,
    )
    await reads.record(
        db, "benefit_payment", [(row["person_ref"], run_id) for row in rows], "benefit_payment"
    )
