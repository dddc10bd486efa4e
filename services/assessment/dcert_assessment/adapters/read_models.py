"""Read models of the assessment service, projected from its events in the same transaction.

Findings and measurements are projected for the assigned doctor's view only; the API decides
who sees them. Everything here can be rebuilt from the events (`ReadModels.of` in bootstrap.py, ADR 0004).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg
from sqlalchemy import Column
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from dcert_shared.envelope import DomainEvent, EventEnvelope

from ..domain.events import (
    AccreditationLapsed,
    AccreditationRenewed,
    AppointmentBooked,
    AssessmentCancelled,
    AssessmentOpened,
    AssessmentReleased,
    AssessmentScheduled,
    DoctorRegistered,
    DoctorReinstated,
    DoctorSuspended,
    GradeRecorded,
    InstitutionRegistered,
)


class ReadModel(SQLModel, registry=registry()):
    pass


class InstitutionView(ReadModel, table=True):
    __tablename__ = "institution_view"

    id: str = Field(primary_key=True)
    name: str
    region: str = Field(index=True)
    categories: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    registered_at: datetime
    accredited_until: date | None = None
    lapsed: bool = False


class DoctorView(ReadModel, table=True):
    __tablename__ = "doctor_view"

    id: str = Field(primary_key=True)
    name: str
    institution_id: str = Field(index=True)
    license_no: str
    categories: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    registered_at: datetime
    suspended: bool = False
    home_visits: bool = False
    person_ref: str | None = None


class AssessmentView(ReadModel, table=True):
    __tablename__ = "assessment_view"

    id: str = Field(primary_key=True)
    application_id: str = Field(index=True)
    round: int = 0
    person_ref: str = ""  # the person assessed (keyed hash): they may read their findings
    agent_refs: list[str] = Field(default=[], sa_column=Column(JSONB, nullable=False, server_default="[]"))
    appointment_at: datetime | None = None
    household_region: str = ""  # whose reviewers decide the case: they may read the findings
    declared_category: str
    residence_region: str
    age_years: int
    home_visit: bool
    status: str = Field(index=True)
    doctor_id: str | None = Field(default=None, index=True)
    institution_id: str | None = None
    requested_at: datetime
    assigned_at: datetime | None = None
    due_on: date | None = None
    assessed_at: datetime | None = None
    category: str | None = None
    level: int | None = None
    components: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(JSONB)
    )  # [{category, level}]
    override_reason_given: bool | None = None
    sealed_record: str | None = None  # findings and measurements: see adapters.medical_records


async def project(conn: asyncpg.Connection, envelope: EventEnvelope, event: DomainEvent) -> None:
    at = envelope.occurred_at
    match event:
        case InstitutionRegistered():
            await conn.execute(
                "INSERT INTO institution_view (id, name, region, categories, registered_at, accredited_until,"
                " lapsed) VALUES ($1, $2, $3, $4, $5, $6, false)",
                event.institution_id,
                event.name,
                event.region,
                event.categories,
                at,
                event.accredited_until,
            )
        case DoctorRegistered():
            await conn.execute(
                "INSERT INTO doctor_view (id, name, institution_id, license_no, categories, registered_at,"
                " suspended, home_visits, person_ref) VALUES ($1, $2, $3, $4, $5, $6, false, $7, $8)",
                event.doctor_id,
                event.name,
                event.institution_id,
                event.license_no,
                event.categories,
                at,
                event.home_visits,
                event.person_ref,
            )
        case AssessmentOpened():
            await conn.execute(
                "INSERT INTO assessment_view (id, application_id, declared_category, residence_region, age_years,"
                " home_visit, status, requested_at, round, person_ref, household_region, agent_refs)"
                " VALUES ($1, $2, $3, $4, $5, $6, 'unassigned', $7, $8, $9, $10, $11)",
                event.assessment_id,
                event.application_id,
                event.declared_category,
                event.residence_region,
                event.age_years,
                event.home_visit,
                at,
                event.round,
                event.person_ref,
                event.household_region,
                event.agent_refs,
            )
        case AssessmentScheduled():
            await conn.execute(
                "UPDATE assessment_view SET status = 'scheduled', doctor_id = $2, institution_id = $3,"
                " assigned_at = $4, due_on = $5 WHERE id = $1",
                event.assessment_id,
                event.doctor_id,
                event.institution_id,
                at,
                event.due_on,
            )
        case GradeRecorded():
            await conn.execute(
                "UPDATE assessment_view SET status = 'assessed', assessed_at = $2, category = $3, level = $4,"
                " components = $5, override_reason_given = $6, sealed_record = $7 WHERE id = $1",
                event.assessment_id,
                at,
                event.category,
                event.level,
                [grade.model_dump() for grade in event.components],
                event.override_reason_given,
                event.sealed_record,
            )
        case AccreditationRenewed():
            await conn.execute(
                "UPDATE institution_view SET accredited_until = $2, lapsed = false WHERE id = $1",
                event.institution_id,
                event.accredited_until,
            )
        case AccreditationLapsed():
            await conn.execute(
                "UPDATE institution_view SET lapsed = true WHERE id = $1", event.institution_id
            )
        case DoctorSuspended() | DoctorReinstated():
            suspended = isinstance(event, DoctorSuspended)
            await conn.execute(
                "UPDATE doctor_view SET suspended = $2 WHERE id = $1", event.doctor_id, suspended
            )
        case AssessmentReleased():
            await conn.execute(
                "UPDATE assessment_view SET status = 'unassigned', doctor_id = NULL, institution_id = NULL,"
                " assigned_at = NULL, due_on = NULL, appointment_at = NULL WHERE id = $1",
                event.assessment_id,
            )
        case AppointmentBooked():
            await conn.execute(
                "UPDATE assessment_view SET appointment_at = $2 WHERE id = $1",
                event.assessment_id,
                event.starts_at,
            )
        case AssessmentCancelled():
            await conn.execute(
                "UPDATE assessment_view SET status = 'cancelled' WHERE id = $1", event.assessment_id
            )
