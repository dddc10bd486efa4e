"""Read model of cards: placeholder, being written (issue 4)."""

from __future__ import annotations

import asyncpg

from dcert_shared.envelope import DomainEvent, EventEnvelope

SCHEMA: list[str] = []


async def project(conn: asyncpg.Connection, envelope: EventEnvelope, event: DomainEvent) -> None:
    """Project card events."""
