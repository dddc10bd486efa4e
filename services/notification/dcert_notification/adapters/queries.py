"""Every read of the notification service, typed: what its routers, consumers, sender and CLI ask.

Each function takes a connection (inside a transaction when the caller needs one) or the pool
and answers with read-model rows, domain values or small frozen records, never raw database
rows. Writes stay with the state they change (adapters/deliveries.py, adapters/people.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from dcert_shared.vault import Vault

from ..domain.notices import Language
from ..domain.partner import DataSharingPolicy
from .deliveries import DeliveryFilter
from .read_models import PartnerPolicyVersionView, PartnerView

# Partners and their subscriptions (read models).


async def partners(db: asyncpg.Connection | asyncpg.Pool) -> list[PartnerView]:
    rows = await db.fetch("SELECT * FROM partner_view ORDER BY registered_at, id")
    return [PartnerView.model_validate(dict(row)) for row in rows]


async def partner(db: asyncpg.Connection | asyncpg.Pool, partner_id: str) -> PartnerView | None:
    row = await db.fetchrow("SELECT * FROM partner_view WHERE id = $1", partner_id)
    return None if row is None else PartnerView.model_validate(dict(row))


async def policy_versions(
    db: asyncpg.Connection | asyncpg.Pool, partner_id: str
) -> list[PartnerPolicyVersionView]:
    """Every version of a partner's policy, oldest first (none: no such partner)."""
    rows = await db.fetch(
        "SELECT * FROM partner_policy_version_view WHERE partner_id = $1 ORDER BY policy_version", partner_id
    )
    return [PartnerPolicyVersionView.model_validate(dict(row)) for row in rows]


@dataclass(frozen=True)
class ListedSubscription:
    """A subscription as its partner sees it: never its secrets."""

    id: str
    url: str
    event_types: list[str]
    regions: list[str]
    created_at: datetime


async def subscriptions_of(
    db: asyncpg.Connection | asyncpg.Pool, partner_id: str
) -> list[ListedSubscription]:
    rows = await db.fetch(
        "SELECT id, url, event_types, regions, created_at FROM subscription_view WHERE partner_id = $1"
        " ORDER BY created_at, id",
        partner_id,
    )
    return [ListedSubscription(**dict(row)) for row in rows]


async def subscription_owner(db: asyncpg.Connection | asyncpg.Pool, subscription_id: str) -> str | None:
    """The partner a subscription is of; None when there is no such subscription."""
    owner: str | None = await db.fetchval(
        "SELECT partner_id FROM subscription_view WHERE id = $1", subscription_id
    )
    return owner


@dataclass(frozen=True)
class Reach:
    """A subscription to an event type its partner's policy grants: who gets the event, how much."""

    subscription_id: str
    partner_id: str
    narrowed_to: tuple[str, ...]  # the subscription's own regions; none: the policy's jurisdiction
    policy: DataSharingPolicy
    policy_version: int


async def subscribers(conn: asyncpg.Connection, event_type: str) -> list[Reach]:
    """Every subscription to `event_type` whose partner's policy grants it, in subscription order."""
    rows = await conn.fetch(
        "SELECT s.id, s.partner_id, s.regions AS narrowed_to, p.event_types, p.fields, p.facts, p.regions,"
        " p.policy_version FROM subscription_view s JOIN partner_view p ON p.id = s.partner_id"
        " WHERE s.event_types ? $1 AND p.event_types ? $1 ORDER BY s.id",
        event_type,
    )
    return [
        Reach(
            subscription_id=row["id"],
            partner_id=row["partner_id"],
            narrowed_to=tuple(row["narrowed_to"]),
            policy=DataSharingPolicy(
                tuple(row["event_types"]), tuple(row["fields"]), tuple(row["facts"]), tuple(row["regions"])
            ),
            policy_version=row["policy_version"],
        )
        for row in rows
    ]


async def remembered_region(conn: asyncpg.Connection, keys: list[str]) -> str | None:
    """The household region an earlier event named for one of these (hashed) keys."""
    found: str | None = await conn.fetchval(
        "SELECT region FROM event_regions WHERE key = ANY($1::text[]) LIMIT 1", keys
    )
    return found


# Deliveries (the queue).


@dataclass(frozen=True)
class DeliveryEntry:
    """One line of the delivery log: ids, type, tries and the last outcome, never a body or URL."""

    id: str
    subscription_id: str
    partner_id: str
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


async def deliveries(
    db: asyncpg.Connection | asyncpg.Pool, which: DeliveryFilter, limit: int
) -> list[DeliveryEntry]:
    """Deliveries, newest first."""
    where, args = which.where()
    rows = await db.fetch(
        "SELECT id, subscription_id, partner_id, event_type, status, attempts, last_status_code, last_error,"
        f" next_attempt_at, created_at, delivered_at FROM deliveries WHERE {where}"
        f" ORDER BY seq DESC LIMIT ${len(args) + 1}",
        *args,
        limit,
    )
    return [DeliveryEntry(**dict(row)) for row in rows]


# People: who an event is about, how they want to be told, their notices.


@dataclass(frozen=True)
class Recipients:
    person_ref: str
    agent_refs: tuple[str, ...]
    card_delivery: str | None = None


async def recipients(conn: asyncpg.Connection, keys: Iterable[str]) -> Recipients | None:
    """The person (and the agents who applied for them) an application or certificate is about."""
    row = await conn.fetchrow(
        "SELECT person_ref, agent_refs, card_delivery FROM person_links WHERE key = ANY($1::text[]) LIMIT 1",
        list(keys),
    )
    if row is None:
        return None
    return Recipients(row["person_ref"], tuple(row["agent_refs"]), row["card_delivery"])


async def verified_agents(conn: asyncpg.Connection, person_ref: str) -> list[str]:
    """The agents verified to act for the person now (dcert_shared.agencies)."""
    rows = await conn.fetch("SELECT agent_ref FROM agencies WHERE person_ref = $1", person_ref)
    return [row["agent_ref"] for row in rows]


@dataclass(frozen=True)
class Contact:
    """How a person wants to be told; the phone and the e-mail sealed with their data key."""

    language: Language
    channels: list[str]
    sealed_phone: str | None
    sealed_email: str | None

    def sealed_address(self, channel: str) -> str | None:
        return {"sms": self.sealed_phone, "email": self.sealed_email}.get(channel)


async def contact(db: asyncpg.Connection | asyncpg.Pool, person_ref: str) -> Contact | None:
    row = await db.fetchrow(
        "SELECT language, channels, sealed_phone, sealed_email FROM contacts WHERE person_ref = $1",
        person_ref,
    )
    return None if row is None else Contact(**dict(row))


@dataclass(frozen=True)
class OpenedContact:
    language: Language
    channels: list[str]
    phone: str | None
    email: str | None


async def opened_contact(pool: asyncpg.Pool, vault: Vault, person_ref: str) -> OpenedContact | None:
    """A person's own contact with the phone and the e-mail opened (None: none given yet)."""
    async with pool.acquire() as conn:
        found = await contact(conn, person_ref)
        if found is None:
            return None
        phone = await vault.open(conn, person_ref, found.sealed_phone) if found.sealed_phone else None
        email = await vault.open(conn, person_ref, found.sealed_email) if found.sealed_email else None
    return OpenedContact(found.language, found.channels, _text(phone), _text(email))


def _text(opened: Any) -> str | None:
    return None if opened is None else str(opened)


@dataclass(frozen=True)
class InboxNotice:
    id: str
    kind: str
    params: dict[str, str]
    due_at: datetime
    read: bool


@dataclass(frozen=True)
class PersonalInbox:
    """A person's in-app notices, newest first, and the language they chose (zh-CN if none)."""

    language: Language
    notices: list[InboxNotice]


async def inbox(pool: asyncpg.Pool, vault: Vault, recipient_ref: str, limit: int) -> PersonalInbox:
    """The notices due for the person, their parameters opened (erased ones are left out)."""
    async with pool.acquire() as conn:
        own = await contact(conn, recipient_ref)
        rows = await conn.fetch(
            "SELECT id, kind, sealed_params, due_at, read_at FROM notices"
            " WHERE recipient_ref = $1 AND channel = 'inbox' AND status = 'sent' AND due_at <= now()"
            " ORDER BY due_at DESC, seq DESC LIMIT $2",
            recipient_ref,
            limit,
        )
        notices = []
        for row in rows:
            params = await vault.open(conn, recipient_ref, row["sealed_params"])
            if params is None:  # erased
                continue
            notices.append(InboxNotice(row["id"], row["kind"], params, row["due_at"], bool(row["read_at"])))
    return PersonalInbox(own.language if own else "zh-CN", notices)


@dataclass(frozen=True)
class NoticeEntry:
    """A notice's delivery record: no recipient, no content."""

    id: str
    kind: str
    channel: str
    status: str
    attempts: int
    last_error: str | None
    due_at: datetime
    created_at: datetime
    sent_at: datetime | None


async def notice_records(
    db: asyncpg.Connection | asyncpg.Pool, status: str | None, channel: str | None, limit: int
) -> list[NoticeEntry]:
    """The delivery record of notices, newest first: kind, channel, status, tries."""
    rows = await db.fetch(
        "SELECT id, kind, channel, status, attempts, last_error, due_at, created_at, sent_at FROM notices"
        " WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR channel = $2)"
        " ORDER BY seq DESC LIMIT $3",
        status,
        channel,
        limit,
    )
    return [NoticeEntry(**dict(row)) for row in rows]
