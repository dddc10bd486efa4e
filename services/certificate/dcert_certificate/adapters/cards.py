"""Read model of cards, projected from their events in the same transaction (read: adapters/queries.py).

- card_view: one row per card, for the card centre's queue and reports; no name or address
  (those stay in the card's events and reach only the card centre, with the print data).
- certificate_view.card_id / card_status: the certificate's current card, kept current here.

Cards are scoped by region prefix: a card centre's province (2 digits), a reviewer's county
(6 digits), or "" for all regions.
"""

from __future__ import annotations

from datetime import date, datetime

import asyncpg
from sqlalchemy import Index
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from dcert_shared.envelope import DomainEvent, EventEnvelope

from ..domain.card import (
    CardDelivered,
    CardDispatched,
    CardInvalidated,
    CardOrdered,
    CardProduced,
    CardProductionStarted,
    CardReportedLost,
    CardStatus,
)


class CardReadModel(SQLModel, registry=registry()):
    pass


class CardView(CardReadModel, table=True):
    __tablename__ = "card_view"
    # The card centre's queue: waiting cards, oldest first.
    __table_args__ = (Index("card_view_queue", "status", "ordered_on", "ordered_at"),)

    card_id: str = Field(primary_key=True)
    certificate_number: str = Field(index=True)
    application_id: str = Field(index=True)
    region: str = Field(index=True)
    status: str = Field(index=True)
    batch_id: str | None = Field(default=None, index=True)
    # When its batch was taken (production started): a batch's time in the card centre's list.
    batched_at: datetime | None = None
    serial: str
    delivery: str
    tracking_number: str | None = None
    ordered_on: date
    ordered_at: datetime
    updated_at: datetime


async def project(conn: asyncpg.Connection, envelope: EventEnvelope, event: DomainEvent) -> None:
    at = envelope.occurred_at
    match event:
        case CardOrdered():
            await _card_ordered(conn, event, at)
        case CardProductionStarted():
            await _card_moved(
                conn, event.card_id, CardStatus.IN_PRODUCTION, at, batch_id=event.batch_id, batched_at=at
            )
        case CardProduced():
            await _card_moved(conn, event.card_id, CardStatus.PRODUCED, at)
        case CardDispatched():
            await _card_moved(
                conn, event.card_id, CardStatus.DISPATCHED, at, tracking_number=event.tracking_number
            )
        case CardDelivered():
            status = CardStatus.COLLECTED if event.collected else CardStatus.DELIVERED
            await _card_moved(conn, event.card_id, status, at)
        case CardReportedLost():
            await _card_moved(conn, event.card_id, CardStatus.LOST, at)
        case CardInvalidated():
            await _card_moved(conn, event.card_id, CardStatus.INVALIDATED, at)


async def _card_ordered(conn: asyncpg.Connection, event: CardOrdered, at: datetime) -> None:
    await conn.execute(
        "INSERT INTO card_view (card_id, certificate_number, application_id, region, status, serial,"
        " delivery, ordered_on, ordered_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        event.card_id,
        event.certificate_number,
        event.application_id,
        event.region,
        CardStatus.ORDERED.value,
        event.serial,
        event.delivery,
        event.ordered_on,
        at,
    )
    await conn.execute(
        "UPDATE certificate_view SET card_id = $2, card_status = $3 WHERE number = $1",
        event.certificate_number,
        event.card_id,
        CardStatus.ORDERED.value,
    )


async def _card_moved(
    conn: asyncpg.Connection, card_id: str, status: CardStatus, at: datetime, **columns: object
) -> None:
    assignments = "".join(f", {name} = ${index}" for index, name in enumerate(columns, start=4))
    await conn.execute(
        f"UPDATE card_view SET status = $2, updated_at = $3{assignments} WHERE card_id = $1",
        card_id,
        status.value,
        at,
        *columns.values(),
    )
    # Only where this card is the current one: an old card's end must not hide the new card.
    await conn.execute(
        "UPDATE certificate_view SET card_status = $2 WHERE card_id = $1", card_id, status.value
    )
