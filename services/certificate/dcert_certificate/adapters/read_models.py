"""Read models of the certificate service, projected from its events in the same transaction.

They hold no identity number, name or phone in plain text: people are found by `person_ref`
(the keyed hash), and shown masked.

- application_view: one row per application, with the region whose staff act now
  (`queue_region`) and the due date of the current step.
- certificate_view: one row per number (a number that lives again is updated in place).
- credential_view: one row per e-certificate serial, and why it no longer counts.
- application_step: one row per step an application went through, for the SLA report.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime

import asyncpg
from sqlalchemy import Column, Index
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from dcert_shared.envelope import DomainEvent, EventEnvelope
from dcert_shared.uow import Projector

from ..domain.application import MatterKind
from ..domain.card import CardDelivered, CardInvalidated, CardOrdered, CardReportedLost
from ..domain.certificate import CURRENT_CARD_GENERATION, holder_name_hash, mask_name
from ..domain.events import (
    AgentClaimed,
    AgentEnded,
    AgentRefused,
    AgentVerified,
    ApplicationApproved,
    ApplicationRejected,
    ApplicationResubmitted,
    ApplicationReturned,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    AssessmentAssigned,
    AssessmentDisputed,
    AssessmentRequested,
    AssessmentResultReceived,
    CertificateCancelled,
    CertificateExpired,
    CertificateGradeChanged,
    CertificateImported,
    CertificateIssued,
    CertificateRenewed,
    CertificateReplaced,
    CertificateReportedLost,
    CertificateTransferred,
    MatterClosed,
    MatterOpened,
    MigrationCertificateIssued,
    PersonErased,
    PublicNoticeEnded,
    PublicNoticeStarted,
    RenewalReminderDue,
    ReviewOpened,
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
    accepting_region: str
    queue_region: str = Field(index=True)
    to_region: str | None = None
    declared_category: str
    home_visit: bool
    is_minor: bool
    person_ref: str = Field(index=True)
    agent_ref: str | None = Field(default=None, index=True)
    # The agent who applied: claimed (sees only the status), verified, refused, ended.
    agent_status: str | None = None
    agent_relationship: str | None = None
    agent_name_masked: str | None = None
    person_state: str | None = None  # why a claimed agent's application cannot be approved now
    applicant_name_masked: str
    reason: str | None = None
    assessment_id: str | None = None
    doctor_id: str | None = None
    category: str | None = None
    level: int | None = None
    override_reason_given: bool | None = None
    notice_until: date | None = None
    dispute_until: date | None = None
    review_due: date | None = None
    due_on: date | None = None
    returned_from: str | None = None
    dispute_round: int = 0
    decision_reason: str | None = None
    migration_number: str | None = None
    subject_certificate: str | None = None
    certificate_number: str | None = None
    submitted_at: datetime
    updated_at: datetime


class CertificateView(ReadModel, table=True):
    __tablename__ = "certificate_view"

    number: str = Field(primary_key=True)
    application_id: str
    status: str = Field(index=True)
    category: str
    level: int
    issued_on: date
    expires_on: date = Field(index=True)
    household_region: str = Field(index=True)
    residence_region: str
    person_ref: str = Field(index=True)
    agent_refs: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    holder_name_masked: str
    # The keyed hash of the holder's normalised name (domain.certificate.holder_name_hash): a
    # second-generation card, without a code, is verified by number and name.
    holder_name_hash: str | None = None
    serial: str
    previous_number: str | None = None
    replaced_by: str | None = None
    open_matter: str | None = None
    reminded_for: date | None = None
    closed_reason: str | None = None
    card_id: str | None = None
    card_status: str | None = None
    # 2: the holder's card has no QR code (imported); their next card is third-generation.
    # The card generation (2: 二代, without a code; 3: today's). Certificates issued here are 3.
    card_generation: int = CURRENT_CARD_GENERATION


class AgencyView(ReadModel, table=True):
    """代办: each agent a person has (had), and how far they may act for them."""

    __tablename__ = "agency_view"

    agency_id: str = Field(primary_key=True)
    person_ref: str = Field(index=True)
    agent_ref: str = Field(index=True)
    relationship: str
    status: str = Field(index=True)  # claimed, verified, refused, ended
    basis: str | None = None
    until: date | None = None
    ended_reason: str | None = None
    since: datetime
    updated_at: datetime


def agency_id(person_ref: str, agent_ref: str) -> str:
    """An agency's id in answers and URLs: opaque, and the same every time."""
    return hashlib.sha256(f"agency:{person_ref}:{agent_ref}".encode()).hexdigest()[:24]


class CredentialView(ReadModel, table=True):
    """An e-certificate serial (the code's content) and what ended it, if anything."""

    __tablename__ = "credential_view"

    serial: str = Field(primary_key=True)
    certificate_number: str = Field(index=True)
    superseded: str | None = None  # lost, replaced, transferred


class ApplicationStep(ReadModel, table=True):
    __tablename__ = "application_step"
    __table_args__ = (Index("application_step_open", "application_id", "ended_at"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: str
    step: str
    region: str = Field(index=True)
    started_at: datetime
    due_on: date | None = None
    ended_at: datetime | None = None


async def project(conn: asyncpg.Connection, envelope: EventEnvelope, event: DomainEvent) -> None:
    at = envelope.occurred_at
    match event:
        case (
            ApplicationSubmitted() | AssessmentRequested() | AssessmentAssigned() | AssessmentResultReceived()
        ):
            await _project_intake(conn, at, event)
        case PublicNoticeStarted():
            await _update(
                conn,
                event.application_id,
                at,
                status="public_notice",
                notice_until=event.notice_until,
                due_on=event.notice_until,
            )
            await _open_step(conn, event.application_id, "public_notice", at, event.notice_until)
        case PublicNoticeEnded():
            await _update(conn, event.application_id, at, status="assessed", due_on=None)
            await _close_steps(conn, event.application_id, at)
        case ReviewOpened():
            await _update(
                conn,
                event.application_id,
                at,
                queue_region=event.region,
                review_due=event.due_on,
                due_on=event.due_on,
            )
            await _open_step(conn, event.application_id, "review", at, event.due_on)
        case CardOrdered():
            # The card step belongs to the region that orders it; due after the card overdue days.
            await conn.execute(
                "INSERT INTO application_step (application_id, step, region, started_at) VALUES ($1, 'card', $2, $3)",
                event.application_id,
                event.region,
                at,
            )
        case PersonErased(person_ref=person_ref):
            # The masked names go too; the rows stay, so every count stays right.
            await conn.execute(
                "UPDATE application_view SET applicant_name_masked = '' WHERE person_ref = $1", person_ref
            )
            await conn.execute(
                "UPDATE certificate_view SET holder_name_masked = '' WHERE person_ref = $1", person_ref
            )
        case CardDelivered() | CardReportedLost() | CardInvalidated():
            await conn.execute(
                "UPDATE application_step SET ended_at = $2 WHERE step = 'card' AND ended_at IS NULL"
                " AND application_id = (SELECT application_id FROM card_view WHERE card_id = $1)",
                event.card_id,
                at,
            )
        case AgentClaimed() | AgentVerified() | AgentRefused() | AgentEnded():
            await _project_agency(conn, at, event)
        case _:
            await _project_decisions(conn, at, event)
            await _project_certificates(conn, event)


async def _project_agency(
    conn: asyncpg.Connection, at: datetime, event: AgentClaimed | AgentVerified | AgentRefused | AgentEnded
) -> None:
    """An agency's standing, on the agency, on the applications its agent made, and on the
    person's certificates (whose `agent_refs` are the agents verified now)."""
    status = {
        AgentClaimed: "claimed",
        AgentVerified: "verified",
        AgentRefused: "refused",
        AgentEnded: "ended",
    }[type(event)]
    if isinstance(event, AgentClaimed):
        await conn.execute(
            "INSERT INTO agency_view (agency_id, person_ref, agent_ref, relationship, status, since, updated_at)"
            " VALUES ($1, $2, $3, $4, 'claimed', $5, $5) ON CONFLICT (agency_id) DO UPDATE SET status = 'claimed',"
            " relationship = EXCLUDED.relationship, basis = NULL, until = NULL, ended_reason = NULL,"
            " updated_at = EXCLUDED.updated_at",
            agency_id(event.person_ref, event.agent_ref),
            event.person_ref,
            event.agent_ref,
            event.relationship,
            at,
        )
    else:
        await conn.execute(
            "UPDATE agency_view SET status = $2, basis = coalesce($3, basis), until = $4, ended_reason = $5,"
            " updated_at = $6 WHERE agency_id = $1",
            agency_id(event.person_ref, event.agent_ref),
            status,
            event.basis if isinstance(event, AgentVerified) else None,
            event.until if isinstance(event, AgentVerified) else None,
            event.reason if isinstance(event, AgentRefused | AgentEnded) else None,
            at,
        )
    await conn.execute(
        "UPDATE application_view SET agent_status = $3 WHERE person_ref = $1 AND agent_ref = $2",
        event.person_ref,
        event.agent_ref,
        status,
    )
    await conn.execute(
        "UPDATE certificate_view SET agent_refs = coalesce((SELECT jsonb_agg(agent_ref ORDER BY agent_ref)"
        " FROM agency_view WHERE person_ref = $1 AND status = 'verified'), '[]'::jsonb) WHERE person_ref = $1",
        event.person_ref,
    )


async def _project_intake(conn: asyncpg.Connection, at: datetime, event: DomainEvent) -> None:
    match event:
        case ApplicationSubmitted():
            queue_region = (
                (event.accepting_region or event.residence_region)
                if event.needs_assessment
                else event.household_region
            )
            agent_status = None
            if event.agent_ref is not None and event.agent_ref != event.person_ref:
                agent_status = "claimed" if event.agent_claimed else "verified"
            await conn.execute(
                "INSERT INTO application_view (id, matter, status, household_region, residence_region,"
                " accepting_region, queue_region, to_region, declared_category, home_visit, is_minor,"
                " person_ref, agent_ref, applicant_name_masked, reason, subject_certificate,"
                " certificate_number, submitted_at, updated_at, dispute_round, agent_status,"
                " agent_relationship, agent_name_masked, person_state)"
                " VALUES ($1, $2, 'submitted', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15,"
                " $16, $16, 0, $17, $18, $19, $20)",
                event.application_id,
                event.matter,
                event.household_region,
                event.residence_region,
                event.accepting_region or event.residence_region,
                queue_region,
                event.to_region,
                event.declared_category,
                event.home_visit,
                event.is_minor,
                event.person_ref,
                event.agent_ref,
                mask_name(event.applicant_name) if event.applicant_name is not None else "",
                event.reason,
                event.certificate_number,
                at,
                agent_status,
                event.agent_relationship,
                mask_name(event.agent_name) if event.agent_name else None,
                event.person_state,
            )
        case AssessmentRequested():
            await _open_step(conn, event.application_id, "assessment", at, None)
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
                # Also here: the scheduling comes by another consumer and may arrive after the
                # grade, when the application no longer takes it.
                assessment_id=event.assessment_id,
                category=event.category,
                level=event.level,
                override_reason_given=event.override_reason_given,
                dispute_until=event.dispute_until,
            )
            await _close_steps(conn, event.application_id, at)


async def _project_decisions(conn: asyncpg.Connection, at: datetime, event: DomainEvent) -> None:
    match event:
        case AssessmentDisputed():
            await _update(
                conn, event.application_id, at, status="assessing", dispute_round=event.round, due_on=None
            )
            await _close_steps(conn, event.application_id, at)
        case MigrationCertificateIssued():
            await _update(
                conn,
                event.application_id,
                at,
                status="migrating",
                migration_number=event.migration_number,
                due_on=None,
            )
            await _close_steps(conn, event.application_id, at)
        case ApplicationApproved():
            status = "issued" if event.matter == MatterKind.NEW else "completed"
            await _update(
                conn,
                event.application_id,
                at,
                status=status,
                certificate_number=event.certificate_number,
                due_on=None,
            )
            await _close_steps(conn, event.application_id, at)
        case ApplicationRejected():
            await _update(
                conn, event.application_id, at, status="rejected", decision_reason=event.reason, due_on=None
            )
            await _close_steps(conn, event.application_id, at)
        case ApplicationReturned():
            await _update(
                conn,
                event.application_id,
                at,
                status="returned",
                decision_reason=event.reason,
                returned_from=event.returned_from,
                due_on=None,
            )
            await _close_steps(conn, event.application_id, at)
            await _open_step(conn, event.application_id, "correction", at, None)
        case ApplicationResubmitted():
            await _update(conn, event.application_id, at, status_from_returned=True)
            await _close_steps(conn, event.application_id, at)
        case ApplicationWithdrawn():
            await _update(conn, event.application_id, at, status="withdrawn", due_on=None)
            await _close_steps(conn, event.application_id, at)


async def _project_certificates(conn: asyncpg.Connection, event: DomainEvent) -> None:
    match event:
        case CertificateIssued() | CertificateImported():
            await _certificate_issued(conn, event)
        case CertificateRenewed():
            await conn.execute(
                "UPDATE certificate_view SET status = 'active', issued_on = $2, expires_on = $3, serial = $4,"
                " closed_reason = NULL WHERE number = $1",
                event.certificate_number,
                event.issued_on,
                event.expires_on,
                event.serial,
            )
            await _supersede_credentials(conn, event.certificate_number, "replaced", event.serial)
        case CertificateReportedLost():
            await _set_status(conn, event.certificate_number, "lost")
            await _supersede_credentials(conn, event.certificate_number, "lost")
        case CertificateReplaced():
            await _set_status(conn, event.certificate_number, "replaced", replaced_by=event.replaced_by)
            await _supersede_credentials(conn, event.certificate_number, "replaced")
        case CertificateGradeChanged():
            await _set_status(conn, event.certificate_number, "replaced", replaced_by=event.new_number)
            await _supersede_credentials(conn, event.certificate_number, "replaced")
        case CertificateTransferred():
            await conn.execute(
                "UPDATE certificate_view SET household_region = $2, serial = $3 WHERE number = $1",
                event.certificate_number,
                event.to_region,
                event.serial,
            )
            await _supersede_credentials(conn, event.certificate_number, "transferred", event.serial)
        case CertificateCancelled():
            await _set_status(conn, event.certificate_number, "cancelled", closed_reason=event.reason)
        case CertificateExpired():
            await _set_status(conn, event.certificate_number, "expired")
        case RenewalReminderDue():
            await conn.execute(
                "UPDATE certificate_view SET reminded_for = $2 WHERE number = $1",
                event.certificate_number,
                event.expires_on,
            )
        case MatterOpened():
            await conn.execute(
                "UPDATE certificate_view SET open_matter = $2 WHERE number = $1",
                event.certificate_number,
                event.application_id,
            )
        case MatterClosed():
            await conn.execute(
                "UPDATE certificate_view SET open_matter = NULL WHERE number = $1 AND open_matter = $2",
                event.certificate_number,
                event.application_id,
            )


def holder_names(key: bytes) -> Projector:
    """The projector of `certificate_view.holder_name_hash`, keyed by the identity hash key (a
    closure: the other projectors need no key). An erased person's names are forgotten."""

    async def project_holder_names(
        conn: asyncpg.Connection, envelope: EventEnvelope, event: DomainEvent
    ) -> None:
        match event:
            case (
                CertificateIssued(holder_name=str() as name) | CertificateImported(holder_name=str() as name)
            ):
                await conn.execute(
                    "UPDATE certificate_view SET holder_name_hash = $2 WHERE number = $1",
                    event.certificate_number,
                    holder_name_hash(key, name),
                )
            case PersonErased(person_ref=person_ref):
                await conn.execute(
                    "UPDATE certificate_view SET holder_name_hash = NULL WHERE person_ref = $1", person_ref
                )

    return project_holder_names


async def _certificate_issued(
    conn: asyncpg.Connection, event: CertificateIssued | CertificateImported
) -> None:
    """Issued here or imported: the same row, which an imported one fills from the export."""
    lost = isinstance(event, CertificateImported) and event.card_status == "lost"
    await conn.execute(
        "INSERT INTO certificate_view (number, application_id, status, category, level, issued_on,"
        " expires_on, household_region, residence_region, person_ref, agent_refs, holder_name_masked,"
        " serial, previous_number, card_generation) VALUES ($1, $2, $14, $3, $4, $5, $6, $7, $8, $9, $10,"
        " $11, $12, $13, $15)"
        " ON CONFLICT (number) DO UPDATE SET application_id = EXCLUDED.application_id,"
        " status = EXCLUDED.status,"
        " category = EXCLUDED.category, level = EXCLUDED.level, issued_on = EXCLUDED.issued_on,"
        " expires_on = EXCLUDED.expires_on, household_region = EXCLUDED.household_region,"
        " residence_region = EXCLUDED.residence_region, person_ref = EXCLUDED.person_ref,"
        " agent_refs = EXCLUDED.agent_refs, holder_name_masked = EXCLUDED.holder_name_masked,"
        " serial = EXCLUDED.serial, previous_number = EXCLUDED.previous_number, replaced_by = NULL,"
        " open_matter = NULL, reminded_for = NULL, closed_reason = NULL, card_id = NULL, card_status = NULL,"
        " card_generation = EXCLUDED.card_generation",
        event.certificate_number,
        "" if isinstance(event, CertificateImported) else event.application_id,
        event.category,
        event.level,
        event.issued_on,
        event.expires_on,
        event.household_region,
        event.residence_region,
        event.person_ref,
        event.agent_refs,
        event.holder_name_masked or "",
        event.serial,
        None if isinstance(event, CertificateImported) else event.previous_number,
        "lost" if lost else "active",
        event.card_generation if isinstance(event, CertificateImported) else CURRENT_CARD_GENERATION,
    )
    await conn.execute(
        "INSERT INTO credential_view (serial, certificate_number, superseded) VALUES ($1, $2, $3)",
        event.serial,
        event.certificate_number,
        # A card reported lost in the national system: its codes never verify.
        "lost" if lost else None,
    )


async def _set_status(conn: asyncpg.Connection, number: str, status: str, **columns: object) -> None:
    assignments = "".join(f", {name} = ${index}" for index, name in enumerate(columns, start=3))
    await conn.execute(
        f"UPDATE certificate_view SET status = $2{assignments} WHERE number = $1",
        number,
        status,
        *columns.values(),
    )


async def _supersede_credentials(
    conn: asyncpg.Connection, number: str, why: str, new_serial: str | None = None
) -> None:
    """Every code of this number made so far stops counting; a new serial may take over."""
    await conn.execute(
        "UPDATE credential_view SET superseded = $2 WHERE certificate_number = $1 AND superseded IS NULL",
        number,
        why,
    )
    if new_serial is not None:
        await conn.execute(
            "INSERT INTO credential_view (serial, certificate_number) VALUES ($1, $2)", new_serial, number
        )


async def _update(conn: asyncpg.Connection, application_id: str, at: datetime, **columns: object) -> None:
    back_from_return = bool(columns.pop("status_from_returned", False))
    assignments = "".join(f", {name} = ${index}" for index, name in enumerate(columns, start=3))
    if back_from_return:
        assignments += ", status = returned_from, returned_from = NULL"
    await conn.execute(
        f"UPDATE application_view SET updated_at = $2{assignments} WHERE id = $1",
        application_id,
        at,
        *columns.values(),
    )


async def _open_step(
    conn: asyncpg.Connection, application_id: str, step: str, at: datetime, due_on: date | None
) -> None:
    await conn.execute(
        "INSERT INTO application_step (application_id, step, region, started_at, due_on)"
        " SELECT id, $2, queue_region, $3, $4 FROM application_view WHERE id = $1",
        application_id,
        step,
        at,
        due_on,
    )


async def _close_steps(conn: asyncpg.Connection, application_id: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE application_step SET ended_at = $2 WHERE application_id = $1 AND ended_at IS NULL"
        " AND step <> 'card'",
        application_id,
        at,
    )
