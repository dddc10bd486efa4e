"""The read side of the assessment service: every query of its read models, in one place.

Typed functions over a connection (inside a command or reaction) or the pool (a read over
HTTP); each answers read-model rows or small values, never database records.

Doctor assignment is serialised per province. An assessment that finds no doctor waits; a
doctor registered at the same moment must then see it. Both sides take the province's advisory
lock first (in their own transaction), so one of them always sees the other's commit: nothing
waits for a doctor who already exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeAlias

import asyncpg

from ..domain.assignment import Candidate, province_of
from .read_models import AssessmentView, DoctorView, InstitutionView

Db: TypeAlias = asyncpg.Pool | asyncpg.Connection  # a read inside a transaction or on its own


# -- institutions and doctors ---------------------------------------------------------------------


async def institutions(db: Db) -> list[InstitutionView]:
    """Every institution, in the order registered."""
    rows = await db.fetch("SELECT * FROM institution_view ORDER BY registered_at, id")
    return [InstitutionView.model_validate(dict(row)) for row in rows]


async def institution(db: Db, institution_id: str) -> InstitutionView | None:
    row = await db.fetchrow("SELECT * FROM institution_view WHERE id = $1", institution_id)
    return None if row is None else InstitutionView.model_validate(dict(row))


async def lapsing_institutions(db: Db, today: date) -> list[str]:
    """Institutions whose accreditation ended before `today` and that are not yet lapsed."""
    rows = await db.fetch(
        "SELECT id FROM institution_view WHERE NOT lapsed AND accredited_until < $1 ORDER BY id", today
    )
    return [row["id"] for row in rows]


async def doctors(db: Db) -> list[DoctorView]:
    """Every doctor, in the order registered."""
    rows = await db.fetch("SELECT * FROM doctor_view ORDER BY registered_at, id")
    return [DoctorView.model_validate(dict(row)) for row in rows]


async def doctors_of(db: Db, institution_id: str) -> list[str]:
    rows = await db.fetch("SELECT id FROM doctor_view WHERE institution_id = $1 ORDER BY id", institution_id)
    return [row["id"] for row in rows]


# -- assessments ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssessmentRecord:
    """An assessment with the agents the certificate service verified for its person now."""

    view: AssessmentView
    verified_agents: tuple[str, ...]


async def assessment(db: Db, assessment_id: str) -> AssessmentRecord | None:
    row = await db.fetchrow(
        "SELECT a.*, (SELECT coalesce(array_agg(agent_ref), '{}') FROM agencies g"
        " WHERE g.person_ref = a.person_ref) AS verified_agents FROM assessment_view a WHERE a.id = $1",
        assessment_id,
    )
    if row is None:
        return None
    return AssessmentRecord(AssessmentView.model_validate(dict(row)), tuple(row["verified_agents"]))


@dataclass(frozen=True)
class WorklistFilter:
    """Which assessments a list shows; None leaves a criterion out."""

    doctor_id: str | None
    status: str | None
    home_visit: bool | None
    assigned_from: date | None
    assigned_to: date | None
    overdue: bool
    limit: int


@dataclass(frozen=True)
class WorklistEntry:
    view: AssessmentView
    overdue: bool  # scheduled and past its due day


async def worklist(db: Db, wanted: WorklistFilter, today: date) -> list[WorklistEntry]:
    """Most urgent first: by due day, then by the day assigned (or requested)."""
    rows = await db.fetch(
        "SELECT *, (status = 'scheduled' AND due_on < $7) AS overdue FROM assessment_view"
        " WHERE ($1::text IS NULL OR doctor_id = $1) AND ($2::text IS NULL OR status = $2)"
        " AND ($3::boolean IS NULL OR home_visit = $3)"
        " AND ($4::date IS NULL OR (assigned_at AT TIME ZONE 'Asia/Shanghai')::date >= $4)"
        " AND ($5::date IS NULL OR (assigned_at AT TIME ZONE 'Asia/Shanghai')::date <= $5)"
        " AND (NOT $6 OR (status = 'scheduled' AND due_on < $7))"
        " ORDER BY due_on NULLS LAST, coalesce(assigned_at, requested_at), id LIMIT $8",
        wanted.doctor_id,
        wanted.status,
        wanted.home_visit,
        wanted.assigned_from,
        wanted.assigned_to,
        wanted.overdue,
        today,
        wanted.limit,
    )
    return [WorklistEntry(AssessmentView.model_validate(dict(row)), row["overdue"]) for row in rows]


@dataclass(frozen=True)
class DoctorOverrideCount:
    doctor_id: str
    results: int
    overrides: int  # results kept against the measurements, with a reason


async def override_counts(db: Db) -> list[DoctorOverrideCount]:
    """Per doctor, results recorded and overrides among them; most overrides first."""
    rows = await db.fetch(
        "SELECT doctor_id, count(*) AS results, count(*) FILTER (WHERE override_reason_given) AS overrides"
        " FROM assessment_view WHERE status = 'assessed' GROUP BY doctor_id"
        " ORDER BY count(*) FILTER (WHERE override_reason_given) DESC, doctor_id"
    )
    return [DoctorOverrideCount(row["doctor_id"], row["results"], row["overrides"]) for row in rows]


async def earlier_rounds(conn: Db, application_id: str) -> tuple[list[str], list[str]]:
    """Doctors and institutions that assessed this application before (excluded from a dispute)."""
    rows = await conn.fetch(
        "SELECT doctor_id, institution_id FROM assessment_view WHERE application_id = $1 AND status = 'assessed'",
        application_id,
    )
    return [row["doctor_id"] for row in rows], [row["institution_id"] for row in rows]


async def open_assessments_for(conn: Db, application_id: str) -> list[str]:
    """The application's assessments not yet done (waiting or scheduled)."""
    rows = await conn.fetch(
        "SELECT id FROM assessment_view WHERE application_id = $1 AND status IN ('unassigned', 'scheduled')",
        application_id,
    )
    return [row["id"] for row in rows]


# -- assignment (under the province's lock) --------------------------------------------------------


async def lock_province(conn: asyncpg.Connection, region: str) -> None:
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext(current_setting('dcert.schema') || ':assignment:' || $1))",
        province_of(region),
    )


async def candidates(conn: Db, category: str, residence_region: str) -> list[Candidate]:
    """Doctors of the province qualified for `category` (they and their institution), with their load."""
    rows = await conn.fetch(
        "SELECT d.id AS doctor_id, d.institution_id, i.region AS institution_region, d.registered_at,"
        "  d.home_visits, d.person_ref,"
        "  (SELECT count(*) FROM assessment_view a WHERE a.doctor_id = d.id AND a.status = 'scheduled')"
        "   AS open_assessments,"
        "  (SELECT count(*) FROM assessment_view a WHERE a.doctor_id = d.id) AS total_assessments"
        " FROM doctor_view d JOIN institution_view i ON i.id = d.institution_id"
        " WHERE d.categories ? $1 AND i.categories ? $1 AND starts_with(i.region, $2) AND NOT d.suspended"
        "  AND NOT i.lapsed AND (i.accredited_until IS NULL"
        "   OR i.accredited_until >= (now() AT TIME ZONE 'Asia/Shanghai')::date)",
        category,
        province_of(residence_region),
    )
    return [Candidate(**dict(row)) for row in rows]


async def waiting_assessments(conn: Db, categories: list[str], region: str) -> list[str]:
    """Unassigned assessments of these categories in the province of `region`, oldest first."""
    rows = await conn.fetch(
        "SELECT id FROM assessment_view WHERE status = 'unassigned' AND declared_category = ANY($1::text[])"
        " AND starts_with(residence_region, $2) ORDER BY requested_at, id",
        categories,
        province_of(region),
    )
    return [row["id"] for row in rows]


async def open_assessments_of(conn: Db, doctor_id: str) -> list[str]:
    """The doctor's scheduled assessments, in the order assigned."""
    rows = await conn.fetch(
        "SELECT id FROM assessment_view WHERE doctor_id = $1 AND status = 'scheduled' ORDER BY assigned_at, id",
        doctor_id,
    )
    return [row["id"] for row in rows]


# -- appointments (under the doctor's calendar lock) ----------------------------------------------


async def lock_doctor_calendar(conn: asyncpg.Connection, doctor_id: str) -> None:
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext(current_setting('dcert.schema') || ':slots:' || $1))",
        doctor_id,
    )


async def booked_times(db: Db, doctor_id: str, except_id: str) -> list[datetime]:
    """The doctor's appointments on their other open assessments."""
    rows = await db.fetch(
        "SELECT appointment_at FROM assessment_view WHERE doctor_id = $1 AND status = 'scheduled'"
        " AND appointment_at IS NOT NULL AND id <> $2",
        doctor_id,
        except_id,
    )
    return [row["appointment_at"] for row in rows]
