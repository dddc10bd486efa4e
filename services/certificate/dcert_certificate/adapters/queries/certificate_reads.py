"""Reads of certificates, their e-certificate serials, the SLA figures and reported deaths."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..death_reports import DeathReportView
from ..read_models import CertificateView
from .rows import Database, as_row


async def certificate(db: Database, number: str) -> CertificateView | None:
    record = await db.fetchrow("SELECT * FROM certificate_view WHERE number = $1", number)
    return None if record is None else as_row(CertificateView, record)


async def certificate_by_number_and_name(db: Database, number: str, name_hash: str) -> CertificateView | None:
    """The certificate with this number whose holder's name has this keyed hash: a wrong name
    finds nothing, exactly as a number that does not exist."""
    record = await db.fetchrow(
        "SELECT * FROM certificate_view WHERE number = $1 AND holder_name_hash = $2", number, name_hash
    )
    return None if record is None else as_row(CertificateView, record)


async def certificate_holders(db: Database, numbers: Iterable[str]) -> list[tuple[str, str]]:
    """(person, number) of each of these certificates that exists."""
    records = await db.fetch(
        "SELECT number, person_ref FROM certificate_view WHERE number = ANY($1::text[])", list(numbers)
    )
    return [(str(record["person_ref"]), str(record["number"])) for record in records]


async def certificates_past_expiry(db: Database, today: date) -> list[str]:
    """Live certificates whose last valid day has passed."""
    records = await db.fetch(
        "SELECT number FROM certificate_view WHERE status IN ('active', 'lost') AND expires_on < $1", today
    )
    return [str(record["number"]) for record in records]


async def certificates_to_remind(db: Database, horizon: date) -> list[str]:
    """Active certificates expiring by `horizon` whose holder was not reminded of this expiry."""
    records = await db.fetch(
        "SELECT number FROM certificate_view WHERE status = 'active' AND expires_on <= $1"
        " AND reminded_for IS DISTINCT FROM expires_on",
        horizon,
    )
    return [str(record["number"]) for record in records]


@dataclass(frozen=True)
class CredentialState:
    """An e-certificate serial's certificate now, and what ended the serial (if anything)."""

    superseded: str | None
    certificate_status: str
    expires_on: date


async def credential_state(db: Database, serial: str) -> CredentialState | None:
    record = await db.fetchrow(
        "SELECT credential.superseded, certificate.status, certificate.expires_on"
        " FROM credential_view credential JOIN certificate_view certificate"
        " ON certificate.number = credential.certificate_number WHERE credential.serial = $1",
        serial,
    )
    if record is None:
        return None
    return CredentialState(record["superseded"], record["status"], record["expires_on"])


@dataclass(frozen=True)
class StepFigures:
    """One step of a region's applications: how many, how long in hours, how many late."""

    step: str
    completed: int
    open: int
    median_hours: float | None
    p90_hours: float | None
    overdue: int
    completed_late: int


_SLA = """
WITH steps AS (
    SELECT step, started_at, ended_at,
           CASE WHEN step = 'card' THEN (started_at AT TIME ZONE 'Asia/Shanghai')::date + $3::int
                ELSE due_on END AS due
    FROM application_step WHERE region = $1
)
SELECT step,
       count(*) FILTER (WHERE ended_at IS NOT NULL) AS completed,
       count(*) FILTER (WHERE ended_at IS NULL) AS open,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM ended_at - started_at))
           FILTER (WHERE ended_at IS NOT NULL) / 3600 AS median_hours,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM ended_at - started_at))
           FILTER (WHERE ended_at IS NOT NULL) / 3600 AS p90_hours,
       count(*) FILTER (WHERE ended_at IS NULL AND due < $2) AS overdue,
       count(*) FILTER (WHERE ended_at IS NOT NULL AND due < (ended_at AT TIME ZONE 'Asia/Shanghai')::date)
           AS completed_late
FROM steps
GROUP BY step
ORDER BY step
"""


def _hours(value: Any) -> float | None:
    return None if value is None else float(value)


async def sla_figures(db: Database, region: str, today: date, card_overdue_days: int) -> list[StepFigures]:
    """Per step of the region (a card is due `card_overdue_days` after its order)."""
    records = await db.fetch(_SLA, region, today, card_overdue_days)
    return [
        StepFigures(
            step=record["step"],
            completed=record["completed"],
            open=record["open"],
            median_hours=_hours(record["median_hours"]),
            p90_hours=_hours(record["p90_hours"]),
            overdue=record["overdue"],
            completed_late=record["completed_late"],
        )
        for record in records
    ]


# -- death reports ----------------------------------------------------------------------------
@dataclass(frozen=True)
class DeathReportRecord:
    view: DeathReportView
    holder_name_masked: str


async def death_reports(db: Database, status: str, region_prefix: str, limit: int) -> list[DeathReportRecord]:
    """The reported deaths of an area (`region_prefix`, "" for all) in a status, oldest first."""
    records = await db.fetch(
        "SELECT d.*, c.holder_name_masked FROM death_report_view d"
        " JOIN certificate_view c ON c.number = d.certificate_number"
        " WHERE d.status = $1 AND starts_with(d.household_region, $2)"
        " ORDER BY d.held_on, d.certificate_number LIMIT $3",
        status,
        region_prefix,
        limit,
    )
    return [
        DeathReportRecord(as_row(DeathReportView, record), record["holder_name_masked"]) for record in records
    ]
