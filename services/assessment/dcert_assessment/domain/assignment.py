"""Which doctor assesses: qualified for the category, nearest to the residence, least loaded.

A home visit prefers doctors who do home visits; a doctor registered with their own identity
never gets their own assessment. Nearest means an institution in the residence region (county), else in the same city (the
first 4 digits of the region code), else in the same province (the first 2); farther
institutions are not considered. Among equally near doctors the one with the fewest open
assessments goes first, then the one with the fewest assessments so far (so a doctor who just
joined is not passed over while an old hand with a free desk takes every case), then the one
registered first, so the choice is deterministic.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

CITY_DIGITS = 4
PROVINCE_DIGITS = 2


@dataclass(frozen=True)
class Candidate:
    """A doctor qualified for the category, with their institution and current load."""

    doctor_id: str
    institution_id: str
    institution_region: str
    open_assessments: int
    registered_at: datetime
    total_assessments: int = 0
    home_visits: bool = False
    person_ref: str | None = None  # the doctor's own keyed identity, when registered with it


def province_of(region: str) -> str:
    return region[:PROVINCE_DIGITS]


def distance(residence_region: str, institution_region: str) -> int | None:
    """0 same region, 1 same city, 2 same province, None farther."""
    if institution_region == residence_region:
        return 0
    if institution_region[:CITY_DIGITS] == residence_region[:CITY_DIGITS]:
        return 1
    if province_of(institution_region) == province_of(residence_region):
        return 2
    return None


def choose_doctor(
    candidates: Iterable[Candidate],
    residence_region: str,
    home_visit: bool = False,
    person_ref: str | None = None,
    excluded: Collection[str] = (),
) -> Candidate | None:
    """The nearest, least loaded qualified doctor. A home visit (上门办) goes first to doctors who
    do home visits, and to another if none does (never left waiting); nobody assesses themself;
    a re-assessment or appeal excludes the doctors and institutions of the earlier rounds."""
    ranked = [
        (
            home_visit and not candidate.home_visits,
            near,
            candidate.open_assessments,
            candidate.total_assessments,
            candidate.registered_at,
            candidate.doctor_id,
            candidate,
        )
        for candidate in candidates
        if (near := distance(residence_region, candidate.institution_region)) is not None
        and (person_ref is None or candidate.person_ref != person_ref)
        and candidate.doctor_id not in excluded
        and candidate.institution_id not in excluded
    ]
    if not ranked:
        return None
    return min(ranked, key=lambda entry: entry[:6])[6]
