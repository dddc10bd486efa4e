"""Reads of a person's agencies and of who read their record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ..read_models import AgencyView
from .rows import Database, as_row


@dataclass(frozen=True)
class AgencyRecord:
    """An agency with the agent's masked name, as the latest application they made gives it."""

    view: AgencyView
    agent_name_masked: str | None


_AGENCIES = """
SELECT agency.*, (
    SELECT agent_name_masked FROM application_view WHERE application_view.person_ref = agency.person_ref
      AND application_view.agent_ref = agency.agent_ref ORDER BY submitted_at DESC LIMIT 1
) AS agent_name_masked
FROM agency_view agency WHERE agency.person_ref = $1
"""


def _agency(record: Mapping[str, Any]) -> AgencyRecord:
    return AgencyRecord(as_row(AgencyView, record), record["agent_name_masked"])


async def agencies(db: Database, person_ref: str) -> list[AgencyRecord]:
    """Everyone who named themself the person's agent, in the order they did."""
    records = await db.fetch(f"{_AGENCIES} ORDER BY agency.since", person_ref)
    return [_agency(record) for record in records]


async def agency(db: Database, person_ref: str, agency_id: str) -> AgencyRecord | None:
    record = await db.fetchrow(f"{_AGENCIES} AND agency.agency_id = $2", person_ref, agency_id)
    return None if record is None else _agency(record)


async def people_with_agencies_run_out(db: Database, today: date) -> list[str]:
    """The people with a verified agency past its last day (a child come of age)."""
    records = await db.fetch(
        "SELECT DISTINCT person_ref FROM agency_view WHERE status = 'verified' AND until < $1", today
    )
    return [str(record["person_ref"]) for record in records]


@dataclass(frozen=True)
class AccessLogEntry:
    """One read of a person's record by someone else, in any service."""

    service: str
    log_id: int
    read_at: datetime
    reader_role: str
    reader_region: str | None
    reader_organisation: str | None
    record_kind: str
    record_ref: str
    purpose: str


@dataclass(frozen=True)
class AccessLogPlace:
    """Where a page of the access log ends: the next page holds only older entries."""

    read_at: datetime
    service: str
    log_id: int


async def access_log(
    db: Database, person_ref: str, before: AccessLogPlace | None, limit: int
) -> list[AccessLogEntry]:
    """Up to `limit` reads of the person's record, newest first, older than `before`."""
    place = (before.read_at, before.service, before.log_id) if before else (None, "", 0)
    records = await db.fetch(
        "SELECT service, log_id, read_at, reader_role, reader_region, reader_organisation, record_kind,"
        " record_ref, purpose FROM person_access_log WHERE person_ref = $1"
        " AND ($2::timestamptz IS NULL OR (read_at, service, log_id) < ($2, $3, $4))"
        " ORDER BY read_at DESC, service DESC, log_id DESC LIMIT $5",
        person_ref,
        *place,
        limit,
    )
    return [AccessLogEntry(**dict(record)) for record in records]
