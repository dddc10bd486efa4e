"""Reads of applications: one, a list in a scope, a person's, the due ones, a timeline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import asyncpg

from dcert_shared.envelope import EventEnvelope
from dcert_shared.store import EventStore

from ..read_models import ApplicationView
from .card_reads import cards_of_application
from .rows import Database, as_row


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
    return ApplicationRecord(as_row(ApplicationView, record), list(record["verified_agents"] or ()), card)


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
    return [as_row(ApplicationView, record) for record in records]


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
