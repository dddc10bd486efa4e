"""Read models of the notification service, projected from its events in the same transaction.

Partners with their policies and subscriptions with their secrets: everything here can be
rebuilt from the events (`ReadModels.of` in bootstrap.py, ADR 0004). Deliveries are not a projection (adapters/deliveries.py).
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
from sqlalchemy import Column
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from dcert_shared.envelope import DomainEvent, EventEnvelope

from ..domain.events import PartnerRegistered, SubscriptionCreated


class ReadModel(SQLModel, registry=registry()):
    pass


class PartnerView(ReadModel, table=True):
    __tablename__ = "partner_view"

    id: str = Field(primary_key=True)
    name: str
    event_types: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    fields: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    facts: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    registered_at: datetime


class SubscriptionView(ReadModel, table=True):
    __tablename__ = "subscription_view"

    id: str = Field(primary_key=True)
    partner_id: str = Field(index=True)
    url: str
    event_types: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    secret: str
    created_at: datetime


async def project(conn: asyncpg.Connection, envelope: EventEnvelope, event: DomainEvent) -> None:
    at = envelope.occurred_at
    match event:
        case PartnerRegistered():
            await conn.execute(
                "INSERT INTO partner_view (id, name, event_types, fields, facts, registered_at)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                event.partner_id,
                event.name,
                event.event_types,
                event.fields,
                event.facts,
                at,
            )
        case SubscriptionCreated():
            await conn.execute(
                "INSERT INTO subscription_view (id, partner_id, url, event_types, secret, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                event.subscription_id,
                event.partner_id,
                event.url,
                event.event_types,
                event.secret,
                at,
            )
