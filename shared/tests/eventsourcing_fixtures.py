"""A small aggregate and helpers for testing the event-sourced core on real PostgreSQL."""

from __future__ import annotations

from typing import ClassVar

import asyncpg

from dcert_shared.aggregate import Aggregate
from dcert_shared.broker import StreamLimits
from dcert_shared.db import create_pool, migrate, migrate_schema
from dcert_shared.envelope import DomainEvent, EventEnvelope, EventRegistry
from dcert_shared.errors import Conflict
from dcert_shared.schema_history import SchemaHistory
from dcert_shared.store import EventStore
from dcert_shared.uow import EventSourcing


class TicketOpened(DomainEvent):
    owner: str


class TicketStamped(DomainEvent):
    stamp: int


class TicketNoteAdded(DomainEvent):
    public: ClassVar[bool] = False
    note: str


class TicketHolderRecorded(DomainEvent):
    private_fields: ClassVar[frozenset[str]] = frozenset({"holder_name"})
    holder_name: str
    region: str


class TicketFull(Conflict):
    code = "ticket_full"


class Ticket(Aggregate):
    stream_type = "ticket"
    limit: ClassVar[int] = 1_000_000

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.owner = ""
        self.stamps: list[int] = []

    @classmethod
    def open(cls, ticket_id: str, owner: str) -> Ticket:
        ticket = cls(ticket_id)
        ticket.trigger(TicketOpened(owner=owner))
        return ticket

    def stamp(self, stamp: int) -> None:
        if len(self.stamps) >= self.limit:
            raise TicketFull()
        self.trigger(TicketStamped(stamp=stamp))

    def apply(self, event: DomainEvent) -> None:
        match event:
            case TicketOpened(owner=owner):
                self.owner = owner
            case TicketStamped(stamp=stamp):
                self.stamps.append(stamp)


def registry() -> EventRegistry:
    events = EventRegistry()
    events.register(TicketOpened, TicketStamped, TicketNoteAdded, TicketHolderRecorded)
    return events


# Streams reserve their max_bytes on the server: tests keep theirs small.
TEST_LIMITS = StreamLimits(max_bytes=16 * 1024**2)

READ_MODEL = [
    "CREATE TABLE IF NOT EXISTS ticket_view (id text PRIMARY KEY, owner text NOT NULL, stamps int NOT NULL)"
]


async def project_ticket(conn: asyncpg.Connection, envelope: EventEnvelope, event: DomainEvent) -> None:
    ticket_id = envelope.stream_id.removeprefix("ticket-")
    match event:
        case TicketOpened(owner=owner):
            await conn.execute("INSERT INTO ticket_view VALUES ($1, $2, 0)", ticket_id, owner)
        case TicketStamped():
            await conn.execute("UPDATE ticket_view SET stamps = stamps + 1 WHERE id = $1", ticket_id)


async def event_sourcing(dsn: str, prefix: str = "", pool_size: int = 10) -> EventSourcing:
    pool = await create_pool(dsn, max_size=pool_size)
    await migrate_schema(dsn, "public", SchemaHistory())
    await migrate(pool, READ_MODEL)
    subject_prefix = f"{prefix}.tickets.events." if prefix else "tickets.events."
    return EventSourcing(pool, EventStore(registry(), "/dcert/tickets", subject_prefix), [project_ticket])
