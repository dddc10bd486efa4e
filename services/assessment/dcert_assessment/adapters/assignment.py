"""Read-model queries behind doctor assignment, serialised per province.

An assessment that finds no doctor waits; a doctor registered at the same moment must then
see it. Both sides take the province's advisory lock first (in their own transaction), so one
of them always sees the other's commit: nothing waits for a doctor who already exists.
"""

from __future__ import annotations

from datetime import date, datetime

import asyncpg

from ..domain.assignment import Candidate, province_of


async def lock_province(conn: asyncpg.Connection, region: str) -> None:
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext(current_setting('dcert.schema') || ':assignment:' || $1))",
        province_of(region),
    )


async def candidates(conn: asyncpg.Connection, category: str, residence_region: str) -> list[Candidate]:
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


async def waiting_assessments(conn: asyncpg.Connection, categories: list[str], region: str) -> list[str]:
    """Unassigned assessments of these categories in the province of `region`, oldest first."""
    rows = await conn.fetch(
        "SELECT id FROM assessment_view WHERE status = 'unassigned' AND declared_category = ANY($1::text[])"
        " AND starts_with(residence_region, $2) ORDER BY requested_at, id",
        categories,
        province_of(region),
    )
    return [row["id"] for row in rows]


async def open_assessments_of(conn: asyncpg.Connection, doctor_id: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT id FROM assessment_view WHERE doctor_id = $1 AND status = 'scheduled' ORDER BY assigned_at, id",
        doctor_id,
    )
    return [row["id"] for row in rows]


async def lapsing_institutions(conn: asyncpg.Pool | asyncpg.Connection, today: date) -> list[str]:
    rows = await conn.fetch(
        "SELECT id FROM institution_view WHERE NOT lapsed AND accredited_until < $1 ORDER BY id", today
    )
    return [row["id"] for row in rows]


async def doctors_of(conn: asyncpg.Connection, institution_id: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT id FROM doctor_view WHERE institution_id = $1 ORDER BY id", institution_id
    )
    return [row["id"] for row in rows]


async def earlier_rounds(conn: asyncpg.Connection, application_id: str) -> tuple[list[str], list[str]]:
    """Doctors and institutions that assessed this application before (excluded from a dispute)."""
    rows = await conn.fetch(
        "SELECT doctor_id, institution_id FROM assessment_view WHERE application_id = $1 AND status = 'assessed'",
        application_id,
    )
    return [row["doctor_id"] for row in rows], [row["institution_id"] for row in rows]


async def open_assessments_for(conn: asyncpg.Connection, application_id: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT id FROM assessment_view WHERE application_id = $1 AND status IN ('unassigned', 'scheduled')",
        application_id,
    )
    return [row["id"] for row in rows]


async def booked_times(
    conn: asyncpg.Pool | asyncpg.Connection, doctor_id: str, except_id: str
) -> list[datetime]:
    """The doctor's appointments on their other open assessments."""
    rows = await conn.fetch(
        "SELECT appointment_at FROM assessment_view WHERE doctor_id = $1 AND status = 'scheduled'"
        " AND appointment_at IS NOT NULL AND id <> $2",
        doctor_id,
        except_id,
    )
    return [row["appointment_at"] for row in rows]


async def lock_doctor_calendar(conn: asyncpg.Connection, doctor_id: str) -> None:
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext(current_setting('dcert.schema') || ':slots:' || $1))",
        doctor_id,
    )
