"""Read models of the notification service, projected from its events in the same transaction.

Partners with their policies and subscriptions with their secrets: everything here can be
rebuilt from the events (`ReadModels.of` in bootstrap.py, ADR 0004). Deliveries are not a projection (adapters/deliveries.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import Column
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from dcert_shared.envelope import DomainEvent, EventEnvelope

from ..domain.events import (
    PartnerPolicyChanged,
    PartnerRegistered,
    SubscriptionCreated,
    SubscriptionSecretRotated,
)


class ReadModel(SQLModel, registry=registry()):
    pass


class PartnerView(ReadModel, table=True):
    """Each partner with the policy in force (and the version of it)."""

    __tablename__ = "partner_view"

    id: str = Field(primary_key=True)
    name: str
    event_types: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    fields: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    facts: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    regions: list[str] = Field(sa_column=Column(JSONB, nullable=False))  # the jurisdiction
    policy_version: int
    legal_basis: str
    purpose: str
    contacts: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    registered_at: datetime
    policy_changed_at: datetime


class PartnerPolicyVersionView(ReadModel, table=True):
    """Every version of every partner's policy: the record of what was shared when."""

    __tablename__ = "partner_policy_version_view"

    partner_id: str = Field(primary_key=True)
    policy_version: int = Field(primary_key=True)
    event_types: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    fields: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    facts: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    regions: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    legal_basis: str
    purpose: str
    recorded_at: datetime


class SubscriptionView(ReadModel, table=True):
    __tablename__ = "subscription_view"

    id: str = Field(primary_key=True)
    partner_id: str = Field(index=True)
    url: str
    event_types: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    regions: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    secret: str
    previous_secret: str | None = None
    previous_valid_until: datetime | None = None
    created_at: datetime


async def project(conn: asyncpg.Connection, envelope: EventEnvelope, event: DomainEvent) -> None:
    at = envelope.occurred_at
    match event:
        case PartnerRegistered():
            await conn.execute(
                "INSERT INTO partner_view (id, name, event_types, fields, facts, policy_version, legal_basis,"
                " purpose, contacts, registered_at, policy_changed_at, regions)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)",
                event.partner_id,
                event.name,
                event.event_types,
                event.fields,
                event.facts,
                event.policy_version,
                event.legal_basis,
                event.purpose,
                event.contacts,
                at,
                event.regions,
            )
            await _policy_version(conn, event, at)
        case PartnerPolicyChanged():
            await conn.execute(
                "UPDATE partner_view SET event_types = $2, fields = $3, facts = $4, policy_version = $5,"
                " legal_basis = $6, purpose = $7, policy_changed_at = $8, regions = $9 WHERE id = $1",
                event.partner_id,
                event.event_types,
                event.fields,
                event.facts,
                event.policy_version,
                event.legal_basis,
                event.purpose,
                at,
                event.regions,
            )
            await _policy_version(conn, event, at)
        case SubscriptionCreated():
            await conn.execute(
                "INSERT INTO subscription_view (id, partner_id, url, event_types, regions, secret, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                event.subscription_id,
                event.partner_id,
                event.url,
                event.event_types,
                event.regions,
                event.secret,
                at,
            )
        case SubscriptionSecretRotated():
            await conn.execute(
                "UPDATE subscription_view SET secret = $2, previous_secret = $3, previous_valid_until = $4"
                " WHERE id = $1",
                event.subscription_id,
                event.secret,
                event.previous_secret,
                event.previous_valid_until,
            )


async def _policy_version(
    conn: asyncpg.Connection, event: PartnerRegistered | PartnerPolicyChanged, at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO partner_policy_version_view (partner_id, policy_version, event_types, fields, facts,"
        " legal_basis, purpose, recorded_at, regions) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        event.partner_id,
        event.policy_version,
        event.event_types,
        event.fields,
        event.facts,
        event.legal_basis,
        event.purpose,
        at,
        event.regions,
    )
