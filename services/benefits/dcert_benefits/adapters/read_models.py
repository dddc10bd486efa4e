"""Read models of the benefits service, projected from its events in the same transaction.

No identity number is stored: people are found by `person_ref` (the keyed hash). The periods
table keeps every paid stretch of a benefit (from, to, amount, household region), which is what
a monthly run reads. Every table on `ReadModel` is rebuilt from the events when its shape
changes (`READ_MODELS`, ADR 0004). `partner_fact_policy` is the one table fed by another
context's events (`PartnerRegistered`, written by its consumer): it is write-side state, never dropped
(`adapters/tables.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import Column
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from dcert_shared.db import ReadModels
from dcert_shared.envelope import DomainEvent, EventEnvelope

from ..domain.eligibility import Circumstances
from ..domain.events import (
    BenefitActivated,
    BenefitHandoffOpened,
    BenefitHandoffStepCompleted,
    BenefitNotEligible,
    BenefitSuspended,
    BenefitTerminated,
    CertificateClosedRecorded,
    CertificateRecorded,
    CertificateReinstatementRecorded,
    CertificateTransferRecorded,
    CircumstancesNoted,
    FactRecorded,
    PolicyVersionRecorded,
)
from ..domain.holding import circumstances_of


class ReadModel(SQLModel, registry=registry()):
    pass


class HoldingView(ReadModel, table=True):
    """A person with a certificate: who may see their benefits, and where they are paid."""

    __tablename__ = "holding_view"

    person_ref: str = Field(primary_key=True)
    certificate_number: str = Field(unique=True)
    agent_refs: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    household_region: str = Field(index=True)
    category: str
    level: int
    issued_on: date
    deceased_on: date | None = None


class BenefitView(ReadModel, table=True):
    """The current state of one benefit of one person."""

    __tablename__ = "benefit_view"

    person_ref: str = Field(primary_key=True)
    benefit: str = Field(primary_key=True)
    certificate_number: str
    status: str
    monthly_amount_fen: int | None = None
    active_from: date | None = None
    active_to: date | None = None
    reason_code: str
    policy_version: str | None = None
    updated_at: datetime
    ends_because: str | None = None  # the reason of a known last day (active_to) of an active benefit


class BenefitPeriod(ReadModel, table=True):
    """A stretch of months a benefit is paid for, at one amount in one household region."""

    __tablename__ = "benefit_period"

    id: int | None = Field(default=None, primary_key=True)
    person_ref: str = Field(index=True)
    benefit: str
    certificate_number: str
    household_region: str = Field(index=True)
    monthly_amount_fen: int
    policy_version: str
    active_from: date
    active_to: date | None = None
    recorded_at: datetime  # when the decision was recorded (a late one is paid as arrears)


class CircumstancesView(ReadModel, table=True):
    """What the rules see of each holder (`CircumstancesNoted`): reports and simulations read it."""

    __tablename__ = "circumstances_view"

    person_ref: str = Field(primary_key=True)
    category: str
    level: int
    issued_on: date
    household_region: str = Field(index=True)
    residence_region: str | None = None
    birth_date: date | None = None
    low_income_since: date | None = None
    low_income_ended_on: date | None = None
    long_term_care: bool
    supports: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    deceased_on: date | None = None
    applied_on: date | None = None
    certificate_live: bool = True


class HandoffView(ReadModel, table=True):
    """跨省转移 of a holder's benefits, with the deadline and completion of each step."""

    __tablename__ = "handoff_view"

    handoff_id: str = Field(primary_key=True)
    person_ref: str = Field(index=True)
    certificate_number: str
    from_region: str = Field(index=True)
    to_region: str = Field(index=True)
    opened_on: date
    pass_on_by: date
    decide_by: date
    notify_by: date
    passed_on_on: date | None = None
    decided_on: date | None = None
    notified_on: date | None = None
    late_steps: list[str] = Field(sa_column=Column(JSONB, nullable=False, server_default="[]"))


class PolicyVersionView(ReadModel, table=True):
    """Every recorded version of every benefit policy (`PolicyVersionRecorded`), as written."""

    __tablename__ = "policy_version_view"

    code: str = Field(primary_key=True)
    version: int = Field(primary_key=True)
    source: str
    document: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    changed_rules: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    recorded_at: datetime


READ_MODELS = ReadModels.of(ReadModel.metadata)  # rebuilt from the events when their shape changes


def circumstances_in(row: Mapping[str, Any]) -> Circumstances:
    """A holder's circumstances as a `circumstances_view` row keeps them (reports, simulations)."""
    noted = CircumstancesNoted.model_validate({k: v for k, v in dict(row).items() if k in _NOTED_FIELDS})
    return circumstances_of(noted)


_NOTED_FIELDS = frozenset(CircumstancesNoted.model_fields)


async def project(conn: asyncpg.Connection, envelope: EventEnvelope, event: DomainEvent) -> None:
    at = envelope.occurred_at
    match event:
        case CertificateRecorded():
            await conn.execute(
                "INSERT INTO holding_view (person_ref, certificate_number, agent_refs, household_region,"
                " category, level, issued_on) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                " ON CONFLICT (person_ref) DO UPDATE SET certificate_number = EXCLUDED.certificate_number,"
                " agent_refs = EXCLUDED.agent_refs, household_region = EXCLUDED.household_region,"
                " category = EXCLUDED.category, level = EXCLUDED.level, issued_on = EXCLUDED.issued_on",
                event.person_ref,
                event.certificate_number,
                event.agent_refs,
                event.household_region,
                event.category,
                event.level,
                event.issued_on,
            )
            # A replaced card or a new grade: benefits that carry on are paid under the new number.
            for table, still_open in (
                ("benefit_view", "status = 'active' AND $3::date IS NOT NULL"),
                ("benefit_period", "(active_to IS NULL OR active_to >= $3)"),
            ):
                await conn.execute(
                    f"UPDATE {table} SET certificate_number = $2 WHERE person_ref = $1 AND {still_open}",
                    event.person_ref,
                    event.certificate_number,
                    event.issued_on,
                )
        case FactRecorded():
            await _project_fact(conn, envelope.stream_id, event)
        case PolicyVersionRecorded():
            await conn.execute(
                "INSERT INTO policy_version_view (code, version, source, document, changed_rules, recorded_at)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                event.code,
                event.version,
                event.source,
                event.document,
                event.changed_rules,
                at,
            )
        case CircumstancesNoted():
            fields = event.model_dump()
            columns = list(fields)
            await conn.execute(
                f"INSERT INTO circumstances_view ({', '.join(columns)})"
                f" VALUES ({', '.join(f'${n}' for n in range(1, len(columns) + 1))})"
                " ON CONFLICT (person_ref) DO UPDATE SET "
                + ", ".join(f"{column} = EXCLUDED.{column}" for column in columns[1:]),
                *fields.values(),
            )
        case CertificateTransferRecorded():
            person_ref = envelope.stream_id.removeprefix("holding-")
            await conn.execute(
                "UPDATE holding_view SET household_region = $2 WHERE person_ref = $1",
                person_ref,
                event.to_region,
            )
        case BenefitHandoffOpened():
            await conn.execute(
                "INSERT INTO handoff_view (handoff_id, person_ref, certificate_number, from_region, to_region,"
                " opened_on, pass_on_by, decide_by, notify_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                event.handoff_id,
                event.person_ref,
                event.certificate_number,
                event.from_region,
                event.to_region,
                event.opened_on,
                event.pass_on_by,
                event.decide_by,
                event.notify_by,
            )
        case BenefitHandoffStepCompleted():
            await conn.execute(
                f"UPDATE handoff_view SET {event.step}_on = $2,"
                " late_steps = CASE WHEN $3 THEN late_steps ELSE late_steps || to_jsonb($4::text) END"
                " WHERE handoff_id = $1",
                event.handoff_id,
                event.completed_on,
                event.on_time,
                event.step,
            )
        case BenefitActivated():
            await _upsert_benefit(conn, event, "active", event.monthly_amount_fen, event.active_from, at)
            await conn.execute(
                "INSERT INTO benefit_period (person_ref, benefit, certificate_number, household_region,"
                " monthly_amount_fen, policy_version, active_from, active_to, recorded_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                event.person_ref,
                event.benefit,
                event.certificate_number,
                event.household_region,
                event.monthly_amount_fen,
                event.policy_version,
                event.active_from,
                event.active_to,
                at,
            )
        case BenefitNotEligible():
            await _upsert_benefit(conn, event, "not_eligible", None, None, at)
        case BenefitSuspended():
            await _project_suspension(conn, event, at)
        case CertificateClosedRecorded(reason_code="certificate_death"):
            await conn.execute(
                "UPDATE holding_view SET deceased_on = COALESCE(deceased_on, $2) WHERE person_ref = $1",
                envelope.stream_id.removeprefix("holding-"),
                event.last_day,
            )
        case CertificateReinstatementRecorded():
            await conn.execute(
                "UPDATE holding_view SET deceased_on = NULL WHERE person_ref = $1",
                envelope.stream_id.removeprefix("holding-"),
            )
        case BenefitTerminated():
            await conn.execute(
                "UPDATE benefit_view SET status = 'terminated', active_to = $3, reason_code = $4, updated_at = $5"
                " WHERE person_ref = $1 AND benefit = $2",
                event.person_ref,
                event.benefit,
                event.active_to,
                event.reason_code,
                at,
            )
            # Ends the open period, or brings a known end forward (a period wholly after the
            # new end is left with active_to < active_from: no month in it).
            await conn.execute(
                "UPDATE benefit_period SET active_to = $3"
                " WHERE person_ref = $1 AND benefit = $2 AND (active_to IS NULL OR active_to > $3)",
                event.person_ref,
                event.benefit,
                event.active_to,
            )


async def _project_suspension(conn: asyncpg.Connection, event: BenefitSuspended, at: datetime) -> None:
    """Suspended: nothing paid from `suspended_from` (the open period ends the day before; a
    lifted hold opens a new one, whose months the run pays as arrears)."""
    await conn.execute(
        "UPDATE benefit_view SET status = 'suspended', reason_code = $3, updated_at = $4"
        " WHERE person_ref = $1 AND benefit = $2",
        event.person_ref,
        event.benefit,
        event.reason_code,
        at,
    )
    await conn.execute(
        "UPDATE benefit_period SET active_to = $3"
        " WHERE person_ref = $1 AND benefit = $2 AND (active_to IS NULL OR active_to > $3)",
        event.person_ref,
        event.benefit,
        event.suspended_from - timedelta(days=1),
    )


async def _project_fact(conn: asyncpg.Connection, stream_id: str, event: FactRecorded) -> None:
    person_ref = stream_id.removeprefix("holding-")
    if event.fact_type == "death" and event.immediate:  # a report taken as the death, before holds
        await conn.execute(
            "UPDATE holding_view SET deceased_on = COALESCE(deceased_on, $2) WHERE person_ref = $1",
            person_ref,
            event.effective_date,
        )
    elif event.fact_type == "household_moved" and isinstance(event.details.get("to_region"), str):
        await conn.execute(
            "UPDATE holding_view SET household_region = $2 WHERE person_ref = $1",
            person_ref,
            event.details["to_region"],
        )


async def _upsert_benefit(
    conn: asyncpg.Connection,
    event: BenefitActivated | BenefitNotEligible,
    status: str,
    amount: int | None,
    active_from: date | None,
    at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO benefit_view (person_ref, benefit, certificate_number, status, monthly_amount_fen,"
        " active_from, active_to, reason_code, policy_version, updated_at, ends_because)"
        " VALUES ($1, $2, $3, $4, $5, $6, $10, $7, $8, $9, $11)"
        " ON CONFLICT (person_ref, benefit) DO UPDATE SET certificate_number = EXCLUDED.certificate_number,"
        " status = EXCLUDED.status, monthly_amount_fen = EXCLUDED.monthly_amount_fen,"
        " active_from = EXCLUDED.active_from, active_to = EXCLUDED.active_to,"
        " reason_code = EXCLUDED.reason_code, policy_version = EXCLUDED.policy_version,"
        " updated_at = EXCLUDED.updated_at, ends_because = EXCLUDED.ends_because",
        event.person_ref,
        event.benefit,
        event.certificate_number,
        status,
        amount,
        active_from,
        event.reason_code,
        event.policy_version,
        at,
        event.active_to if isinstance(event, BenefitActivated) else None,
        event.ends_because if isinstance(event, BenefitActivated) else None,
    )
