"""Reads of cards: the ones that count, a batch, the batches, a list with due dates."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from ...domain.card import SETTLED, CardStatus
from ..cards import CardView
from .rows import Database, as_row


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
    return [as_row(CardView, record) for record in records]


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
    return [CardDue(as_row(CardView, record), record["due_on"], record["overdue"]) for record in records]
