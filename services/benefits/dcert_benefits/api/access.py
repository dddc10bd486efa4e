"""Recording which people's benefit records a list or a payment run showed (dcert_shared.access_log)."""

from __future__ import annotations

from collections.abc import Iterable

from dcert_shared.access_log import AccessRecorder
from dcert_shared.api import Pool

from ..adapters import queries


async def record_shown(
    reads: AccessRecorder,
    db: Pool,
    kind: str,
    records: Iterable[tuple[str, str]],
    shown: Iterable[str],
    purpose: str | None = None,
) -> None:
    """Of `records` (person_ref, reference), those whose reference is among the `shown` ones."""
    wanted = set(shown)
    await reads.record(
        db,
        kind,
        [(person_ref, reference) for person_ref, reference in records if reference in wanted],
        purpose,
    )


async def record_run_reads(
    reads: AccessRecorder, db: Pool, run_id: str, after: int = 0, limit: int | None = None
) -> None:
    """The people of a monthly run's lines after line `after` (up to `limit` lines; all: None)."""
    people = await queries.people_of_run_lines(db, run_id, after, limit)
    await reads.record(
        db, "benefit_payment", [(person_ref, run_id) for person_ref in people], "benefit_payment"
    )
