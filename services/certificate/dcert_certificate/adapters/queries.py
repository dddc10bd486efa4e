"""Every read of the certificate service's read models: typed functions over a pool or the
connection of a unit of work, answering rows of the read models or small frozen values.

The routers translate HTTP around these, and the use cases find what they act on through them;
neither holds SQL. Who may read what is api/policy.py's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, TypeAlias, TypeVar

import asyncpg
from sqlmodel import SQLModel

from dcert_shared.envelope import EventEnvelope
from dcert_shared.store import EventStore

from ..domain.card import SETTLED, CardStatus
from .cards import CardView
from .death_reports import DeathReportView
from .read_models import AgencyView, ApplicationView, CertificateView

Database: TypeAlias = asyncpg.Pool | asyncpg.Connection
Row = TypeVar("Row", bound=SQLModel)


def _as(model: type[Row], record: Mapping[str, Any]) -> Row:
    """A read-model row from a record holding at least its columns."""
    return model.model_validate({name: record[name] for name in model.model_fields})


# -- applications -----------------------------------------------------------------------------
@dataclass(frozen=True)
class LatestCard:
    """The newest card of an application: after approval, the next step is its delivery."""

    status: str
    region: str
    due_on: date


@dataclass(frozen=True)
class ApplicationRecord:
    """An application with the agents verified for its person (they read it as the person does)
    and, where asked for, its newest card."""

    view: ApplicationView
    verified_agents: list[str]
    card: LatestCard | None = None


@dataclass(frozen=True)
class ApplicationListScope:
    """Which applications a list holds: the queue of a reviewer's area (`queue_region` starting
    with `key`), or a person's (`key` is their keyed hash: the person, the agent who submitted,
    or an agent verified for the person)."""

    by: Literal["queue_region", "person"]
    key: str


_VERIFIED_AGENTS = """
LEFT JOIN LATERAL (
    SELECT coalesce(array_agg(agent_ref), '{}') AS verified_agents FROM agency_view
    WHERE agency_view.person_ref = application.person_ref AND agency_view.status = 'verified'
) agents ON true
"""

_WITH_LATEST_CARD = f"""
SELECT application.*, agents.verified_agents, card.status AS card_status, card.region AS card_region,
       card.ordered_on + $1::int AS card_due_on
FROM application_view application
LEFT JOIN LATERAL (
    SELECT status, region, ordered_on FROM card_view
    WHERE card_view.application_id = application.id ORDER BY ordered_at DESC LIMIT 1
) card ON true
{_VERIFIED_AGENTS}
"""

_LIST_SCOPES = {
    "queue_region": "starts_with(application.queue_region, $2)",
    "person": "($2 IN (application.person_ref, application.agent_ref) OR $2 = ANY(verified_agents))",
}


def _application(record: Mapping[str, Any]) -> ApplicationRecord:
    card = None
    if "card_status" in record and record["card_status"] is not None:
        card = LatestCard(record["card_status"], record["card_region"], record["card_due_on"])
    return ApplicationRecord(_as(ApplicationView, record), list(record["verified_agents"] or ()), card)


async def application(db: Database, application_id: str) -> ApplicationRecord | None:
    record = await db.fetchrow(
        f"SELECT application.*, agents.verified_agents FROM application_view application {_VERIFIED_AGENTS}"
        " WHERE application.id = $1",
        application_id,
    )
    return None if record is None else _application(record)


async def application_with_card(
    db: Database, application_id: str, card_overdue_days: int
) -> ApplicationRecord | None:
    record = await db.fetchrow(
        f"{_WITH_LATEST_CARD} WHERE application.id = $2", card_overdue_days, application_id
    )
    return None if record is None else _application(record)


async def applications(
    db: Database,
    scope: ApplicationListScope,
    *,
    status: str | None,
    matter: str | None,
    overdue: bool,
    today: date,
    limit: int,
    card_overdue_days: int,
) -> list[ApplicationRecord]:
    """The scope's applications, the most urgent first."""
    records = await db.fetch(
        f"{_WITH_LATEST_CARD} WHERE {_LIST_SCOPES[scope.by]}"
        " AND ($3::text IS NULL OR application.status = $3)"
        " AND ($4::text IS NULL OR application.matter = $4) AND (NOT $5 OR application.due_on < $6)"
        " ORDER BY application.due_on NULLS LAST, application.updated_at LIMIT $7",
        card_overdue_days,
        scope.key,
        status,
        matter,
        overdue,
        today,
        limit,
    )
    return [_application(record) for record in records]


async def applications_of_person(db: Database, person_ref: str) -> list[ApplicationView]:
    """Every application in the person's name, newest first."""
    records = await db.fetch(
        "SELECT * FROM application_view WHERE person_ref = $1 ORDER BY submitted_at DESC", person_ref
    )
    return [_as(ApplicationView, record) for record in records]


async def applications_past_public_notice(db: Database, today: date) -> list[str]:
    """公示期满: the applications whose notice period has passed."""
    records = await db.fetch(
        "SELECT id FROM application_view WHERE status = 'public_notice' AND notice_until <= $1", today
    )
    return [str(record["id"]) for record in records]


async def timeline_events(db: asyncpg.Pool, store: EventStore, application_id: str) -> list[EventEnvelope]:
    """The application's events and its cards', in the order they happened."""
    async with db.acquire() as conn:
        envelopes = list(await store.load(conn, f"application-{application_id}"))
        for card_id in await cards_of_application(conn, application_id):
            envelopes.extend(await store.load(conn, f"card-{card_id}"))
    envelopes.sort(key=lambda envelope: envelope.occurred_at)
    return envelopes


# -- agencies ---------------------------------------------------------------------------------
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
    return AgencyRecord(_as(AgencyView, record), record["agent_name_masked"])


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


# -- certificates -----------------------------------------------------------------------------
async def certificate(db: Database, number: str) -> CertificateView | None:
    record = await db.fetchrow("SELECT * FROM certificate_view WHERE number = $1", number)
    return None if record is None else _as(CertificateView, record)


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
        DeathReportRecord(_as(DeathReportView, record), record["holder_name_masked"]) for record in records
    ]


# -- the access log ---------------------------------------------------------------------------
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


# -- cards ------------------------------------------------------------------------------------
async def counting_cards(db: Database, certificate_number: str) -> list[str]:
    """The certificate's cards that still count (neither lost nor invalidated)."""
    records = await db.fetch(
        "SELECT card_id FROM card_view WHERE certificate_number = $1"
        " AND status NOT IN ('lost', 'invalidated') ORDER BY card_id",
        certificate_number,
    )
    return [str(record["card_id"]) for record in records]


async def cards_of_application(db: Database, application_id: str) -> list[str]:
    records = await db.fetch("SELECT card_id FROM card_view WHERE application_id = $1", application_id)
    return [str(record["card_id"]) for record in records]


async def take_waiting_cards(conn: asyncpg.Connection, region_prefix: str, limit: int) -> list[str]:
    """Lock up to `limit` ordered cards of the scope, oldest first, skipping cards another
    transaction holds: two card centres taking batches at once never get the same card."""
    records = await conn.fetch(
        "SELECT card_id FROM card_view WHERE status = $1 AND starts_with(region, $2)"
        " ORDER BY ordered_on, ordered_at, card_id LIMIT $3 FOR UPDATE SKIP LOCKED",
        CardStatus.ORDERED.value,
        region_prefix,
        limit,
    )
    return [str(record["card_id"]) for record in records]


async def cards_of_batch(db: Database, batch_id: str, region_prefix: str) -> list[CardView]:
    """A batch's cards in the scope (a region prefix: a province, an area, "" for all)."""
    records = await db.fetch(
        "SELECT * FROM card_view WHERE batch_id = $1 AND starts_with(region, $2)"
        " ORDER BY ordered_on, ordered_at, card_id",
        batch_id,
        region_prefix,
    )
    return [_as(CardView, record) for record in records]


@dataclass(frozen=True)
class BatchSummary:
    """A batch: when it was taken, how many cards, how many in each state now."""

    batch_id: str
    taken_at: datetime
    card_count: int
    counts: dict[str, int]


async def batches(db: Database, region_prefix: str, limit: int) -> list[BatchSummary]:
    """The scope's batches, newest first, in one pass over the batched cards. No personal reference."""
    records = await db.fetch(
        "SELECT batch_id, min(taken_at) AS taken_at, sum(n)::int AS card_count,"
        "  jsonb_object_agg(status, n)::text AS counts"
        " FROM ("
        "  SELECT batch_id, status, min(batched_at) AS taken_at, count(*) AS n FROM card_view"
        "  WHERE batch_id IS NOT NULL AND starts_with(region, $1) GROUP BY batch_id, status"
        " ) per_status"
        " GROUP BY batch_id ORDER BY taken_at DESC, batch_id LIMIT $2",
        region_prefix,
        limit,
    )
    return [
        BatchSummary(
            record["batch_id"], record["taken_at"], record["card_count"], json.loads(record["counts"])
        )
        for record in records
    ]


@dataclass(frozen=True)
class CardFilter:
    """Which cards a list shows: the caller's scope, a status, overdue or not (None: either)."""

    region_prefix: str
    status: CardStatus | None = None
    overdue: bool | None = None
    limit: int = 100


@dataclass(frozen=True)
class CardDue:
    """A card with its due date (ordered + the configured days) and whether it is past it today."""

    card: CardView
    due_on: date
    overdue: bool


_SETTLED: Sequence[str] = [status.value for status in SETTLED]


async def cards(db: Database, wanted: CardFilter, today: date, overdue_days: int) -> list[CardDue]:
    """The cards `wanted`, oldest order first."""
    records = await db.fetch(
        "SELECT * FROM ("
        "  SELECT card_view.*, ordered_on + $2::int AS due_on,"
        "   status <> ALL($3::text[]) AND $4::date > ordered_on + $2::int AS overdue"
        "  FROM card_view WHERE starts_with(region, $1)"
        " ) card"
        " WHERE ($5::text IS NULL OR status = $5) AND ($6::boolean IS NULL OR overdue = $6)"
        " ORDER BY ordered_on, ordered_at, card_id LIMIT $7",
        wanted.region_prefix,
        overdue_days,
        _SETTLED,
        today,
        wanted.status.value if wanted.status else None,
        wanted.overdue,
        wanted.limit,
    )
    return [CardDue(_as(CardView, record), record["due_on"], record["overdue"]) for record in records]
