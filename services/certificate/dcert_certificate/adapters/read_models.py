"""Read models of the certificate service, projected from its events in the same transaction.

They hold no identity number, name or phone in plain text: people are found by `person_ref`
(the keyed hash), and shown masked.
"""

from __future__ import annotations

from datetime import date, datetime

import asyncpg
from sqlalchemy import Column
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from dcert_shared.db import ddl_for
from dcert_shared.envelope import DomainEvent, EventEnvelope

from ..domain.certificate import mask_name
from ..domain.events import (
    ApplicationApproved,
    ApplicationRejected,
    ApplicationReturned,
    ApplicationSubmitted,
    AssessmentAssigned,
    AssessmentResultReceived,
    CertificateCancelled,
    CertificateIssued,
    PublicNoticeEnded,
    PublicNoticeStarted,
)


class ReadModel(SQLModel, registry=registry()):
    pass


class ApplicationView(ReadModel, table=True):
    __tablename__ = "application_view"

    id: str = Field(primary_key=True)
    matter: str
    status: str = Field(index=True)
    household_region: str = Field(index=True)
    residence_region: str
    declared_category: str
    home_visit: bool
    is_minor: bool
    person_ref: str = Field(index=True)
    agent_ref: str | None = Field(default=None, index=True)
    applicant_name_masked: str
    assessment_id: str | None = None
    doctor_id: str | None = None
    category: str | None = None
    level: int | None = None
    override_reason_given: bool | None = None
    notice_until: date | None = None
    decision_reason: str | None = None
    certificate_number: str | None = None
    submitted_at: datetime
    updated_at: datetime


class CertificateView(ReadModel, table=True):
    __tablename__ = "certificate_view"

    number: str = Field(primary_key=True)
    application_id: str
    status: str
    category: str
    level: int
    issued_on: date
    expires_on: date
    household_region: str = Field(index=True)
    residence_region: str
    person_ref: str = Field(index=True)
    agent_refs: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    holder_name_masked: str
    serial: str = Field(unique=True)
    card_id: str | None = None
    card_status: str | None = None


SCHEMA = ddl_for(ReadModel.metadata)
TABLES = ["application_view", "certificate_view"]


async def project(conn: asyncpg.Connection, envelope: EventEnvelope, event: DomainEvent) -> None:
    at = envelope.occurred_at
    match event:
        case ApplicationSubmitted():
            await conn.execute(
                "INSERT INTO application_view (id, matter, status, household_region, residence_region,"
                " declared_category, home_visit, is_minor, person_ref, agent_ref, applicant_name_masked,"
                " submitted_at, updated_at) VALUES ($1, $2, 'submitted', $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
                event.application_id,
                event.matter,
                event.household_region,
                event.residence_region,
                event.declared_category,
                event.home_visit,
                event.is_minor,
                event.person_ref,
                event.agent_ref,
                mask_name(event.applicant_name),
                at,
            )
        case AssessmentAssigned():
            await _update(
                conn,
                event.application_id,
                at,
                status="assessing",
                assessment_id=event.assessment_id,
                doctor_id=event.doctor_id,
            )
        case AssessmentResultReceived():
            await _update(
                conn,
                event.application_id,
                at,
                status="assessed",
                category=event.category,
                level=event.level,
                override_reason_given=event.override_reason_given,
            )
        case PublicNoticeStarted():
            await _update(
                conn, event.application_id, at, status="public_notice", notice_until=event.notice_until
            )
        case PublicNoticeEnded():
            await _update(conn, event.application_id, at, status="assessed")
        case ApplicationApproved():
            await _update(
                conn, event.application_id, at, status="issued", certificate_number=event.certificate_number
            )
        case ApplicationRejected():
            await _update(conn, event.application_id, at, status="rejected", decision_reason=event.reason)
        case ApplicationReturned():
            await _update(conn, event.application_id, at, status="returned", decision_reason=event.reason)
        case CertificateIssued():
            await conn.execute(
                "INSERT INTO certificate_view (number, application_id, status, category, level, issued_on,"
                " expires_on, household_region, residence_region, person_ref, agent_refs, holder_name_masked,"
                " serial) VALUES ($1, $2, 'active', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                event.certificate_number,
                event.application_id,
                event.category,
                event.level,
                event.issued_on,
                event.expires_on,
                event.household_region,
                event.residence_region,
                event.person_ref,
                event.agent_refs,
                event.holder_name_masked,
                event.serial,
            )
        case CertificateCancelled():
            await conn.execute(
                "UPDATE certificate_view SET status = 'cancelled' WHERE number = $1", event.certificate_number
            )


async def _update(conn: asyncpg.Connection, application_id: str, at: datetime, **columns: object) -> None:
    assignments = ", ".join(f"{name} = ${index}" for index, name in enumerate(columns, start=3))
    await conn.execute(
        f"UPDATE application_view SET updated_at = $2, {assignments} WHERE id = $1",
        application_id,
        at,
        *columns.values(),
    )
