"""The reviewers' view of reported deaths (死亡核实), projected in the same transaction as the events.

- death_report_view: one row per report that held a certificate, with its outcome: `pending`
  (the certificate is on hold), `confirmed` (cancelled, reason death), `rejected` (by the
  reviewer) or `corrected` (by the reporting side, before or after the confirmation).
- certificate_view (read_models.py) follows the hold: `on_hold`, then as before.

No name and no identity number here: the certificate number and the person's keyed hash.
"""

from __future__ import annotations

from datetime import date, datetime

import asyncpg
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from dcert_shared.envelope import DomainEvent, EventEnvelope

from ..domain.holds import (
    DEATH_REJECTED,
    CertificateHoldLifted,
    CertificatePutOnHold,
    CertificateReinstated,
    DeathConfirmed,
)


class DeathReportReadModel(SQLModel, registry=registry()):
    pass


class DeathReportView(DeathReportReadModel, table=True):
    __tablename__ = "death_report_view"

    certificate_number: str = Field(primary_key=True)
    fact_id: str = Field(primary_key=True)
    person_ref: str = Field(index=True)
    household_region: str = Field(index=True)
    partner_id: str | None = None
    died_on: date
    held_on: date
    status: str = Field(index=True)  # pending, confirmed, rejected, corrected
    decided_at: datetime | None = None


async def project(conn: asyncpg.Connection, envelope: EventEnvelope, event: DomainEvent) -> None:
    at = envelope.occurred_at
    match event:
        case CertificatePutOnHold():
            await conn.execute(
                "INSERT INTO death_report_view (certificate_number, fact_id, person_ref, household_region,"
                " partner_id, died_on, held_on, status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending')"
                " ON CONFLICT DO NOTHING",
                event.certificate_number,
                event.fact_id,
                event.person_ref,
                event.household_region,
                event.partner_id,
                event.effective_date,
                event.held_on,
            )
            await _certificate_status(conn, event.certificate_number, "on_hold")
        case DeathConfirmed():
            await _decided(conn, event.certificate_number, event.fact_id, "confirmed", at)
        case CertificateHoldLifted():
            outcome = "rejected" if event.reason_code == DEATH_REJECTED else "corrected"
            await _decided(conn, event.certificate_number, event.fact_id, outcome, at)
            await _certificate_status(conn, event.certificate_number, event.restored_status)
        case CertificateReinstated():
            await conn.execute(
                "UPDATE death_report_view SET status = 'corrected', decided_at = $2"
                " WHERE certificate_number = $1 AND status = 'confirmed'",
                event.certificate_number,
                at,
            )
            await conn.execute(
                "UPDATE certificate_view SET status = 'active', closed_reason = NULL WHERE number = $1",
                event.certificate_number,
            )


async def _decided(conn: asyncpg.Connection, number: str, fact_id: str, status: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE death_report_view SET status = $3, decided_at = $4 WHERE certificate_number = $1 AND fact_id = $2",
        number,
        fact_id,
        status,
        at,
    )


async def _certificate_status(conn: asyncpg.Connection, number: str, status: str) -> None:
    await conn.execute("UPDATE certificate_view SET status = $2 WHERE number = $1", number, status)
