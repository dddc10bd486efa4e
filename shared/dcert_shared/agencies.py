"""Who acts for whom, as the certificate service verifies it: each service's own copy.

The certificate service keeps every agency (代办: a guardian, an entrusted person) and publishes
when one is verified, refused or ended (`AgentVerified`, `AgentRefused`, `AgentEnded`, keyed
hashes only). A service that lets agents read a person's records keeps the agencies in force in
its `agencies` table through these handlers (in its reaction to the certificate stream, so they
keep their order with the person's other events) and asks `acts_for` before it answers an
agent. Someone who named themself agent without being verified acts for nobody here.
"""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from .consumer import Handler, InboundEvent, typed
from .envelope import EventEnvelope
from .uow import UnitOfWork


class AgencyChanged(InboundEvent):
    """certificate.AgentVerified, AgentRefused or AgentEnded: who, for whom (keyed hashes)."""

    person_ref: str
    agent_ref: str


async def _verified(uow: UnitOfWork, agency: AgencyChanged, envelope: EventEnvelope) -> None:
    await uow.conn.execute(
        "INSERT INTO agencies (person_ref, agent_ref, verified_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        agency.person_ref,
        agency.agent_ref,
        envelope.occurred_at,
    )


async def _ended(uow: UnitOfWork, agency: AgencyChanged, envelope: EventEnvelope) -> None:
    await uow.conn.execute(
        "DELETE FROM agencies WHERE person_ref = $1 AND agent_ref = $2", agency.person_ref, agency.agent_ref
    )


# The certificate service's events this copy follows (add them to the certificate reaction).
HANDLERS: Mapping[str, Handler] = {
    "AgentVerified": typed(AgencyChanged, _verified),
    "AgentRefused": typed(AgencyChanged, _ended),
    "AgentEnded": typed(AgencyChanged, _ended),
}


async def acts_for(conn: asyncpg.Connection | asyncpg.Pool, agent_ref: str, person_ref: str) -> bool:
    """`agent_ref` is verified to act for `person_ref` now."""
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM agencies WHERE person_ref = $1 AND agent_ref = $2)",
        person_ref,
        agent_ref,
    )
    return found
