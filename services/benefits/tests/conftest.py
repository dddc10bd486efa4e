"""The benefits service in-process over HTTP, on real PostgreSQL and NATS, one per test.

Other services are played from outside, as their outbox relays would: `CertificateIssued` on
the certificate stream, `PartnerRegistered` on the notification stream. Helpers live here
(fixtures and the types they return), as the tests run in importlib mode.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from dcert_benefits.bootstrap import create_app
from dcert_benefits.settings import BenefitsSettings
from dcert_shared.auth import DevIssuer, TokenVerifier
from dcert_shared.broker import Naming, StreamLimits, connect, ensure_stream, event_stream_config
from dcert_shared.envelope import EventEnvelope
from dcert_shared.ids import keyed_hash, make_identity_number

T = TypeVar("T")


@dataclass(frozen=True)
class Regions:
    """Where the holders live, and what the shipped catalogue pays there."""

    huzhou: str = "330500"  # 湖州市: living 26200, nursing 27500 fen
    huzhou_county: str = "330502"  # 湖州市吴兴区
    huzhou_other_county: str = "330503"  # 湖州市南浔区
    other_city: str = "340100"  # living 18100, nursing 24300 fen
    other_city_county: str = "340104"


REGIONS = Regions()
HUZHOU_COUNTY = REGIONS.huzhou_county
_sequence = iter(range(1, 999))


def an_identity_number(region: str = HUZHOU_COUNTY, born: date = date(1980, 3, 1)) -> str:
    """A valid identity number not used before in this test session."""
    return make_identity_number(region, born, next(_sequence))


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float = 10) -> T:
    """The first truthy answer of `check`, polled until `timeout` (then the test fails)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


@dataclass
class Certificate:
    number: str
    id_number: str
    person_ref: str
    region: str
    event_id: uuid.UUID


@dataclass
class BenefitsService:
    """The running service as its clients see it: HTTP with tokens, and JetStream."""

    app: FastAPI
    http: httpx.AsyncClient
    issuer: DevIssuer
    js: JetStreamContext
    naming: Naming
    settings: BenefitsSettings
    published_ids: set[uuid.UUID] = field(default_factory=set)
    regions: Regions = REGIONS

    @staticmethod
    def new_identity_number(region: str = HUZHOU_COUNTY) -> str:
        return an_identity_number(region)

    # --- people and tokens ---

    def token(self, role: str, subject: str, **claims: str) -> str:
        return str(self.issuer.issue(role, subject, claims))

    @property
    def admin(self) -> str:
        return self.token("admin", "admin-1")

    def applicant(self, id_number: str) -> str:
        return self.token("applicant", f"citizen-{id_number[-6:]}", id_number=id_number)

    def reviewer(self, region: str) -> str:
        return self.token("reviewer", f"reviewer-{region}", region=region)

    def person_ref(self, id_number: str) -> str:
        return keyed_hash(self.settings.identity_hash_key_bytes, id_number)

    # --- HTTP ---

    async def call(
        self,
        method: str,
        path: str,
        token: str | None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        all_headers = {**(headers or {}), **({"Authorization": f"Bearer {token}"} if token else {})}
        return await self.http.request(method, path, json=body, headers=all_headers)

    async def benefits_of(
        self, number: str, token: str | None = None, language: str | None = None
    ) -> dict[str, dict[str, Any]]:
        """The certificate's benefits by code, as an admin (or `token`) sees them."""
        headers = {"Accept-Language": language} if language else None
        answer = await self.call(
            "GET", f"/v1/certificates/{number}/benefits", token or self.admin, headers=headers
        )
        assert answer.status_code == 200, answer.text
        return {item["code"]: item for item in answer.json()["items"]}

    async def report(
        self, partner: str, fact_type: str, id_number: str, effective: date, **extra: Any
    ) -> httpx.Response:
        body = {
            "fact_id": extra.pop("fact_id", f"fact-{uuid.uuid4().hex[:12]}"),
            "type": fact_type,
            "id_number": id_number,
            "effective_date": effective.isoformat(),
            "details": extra.pop("details", {}),
        }
        return await self.call("POST", "/v1/facts", partner, body)

    # --- other services' events ---

    async def publish(
        self, context: str, event_type: str, data: dict[str, Any], event_id: uuid.UUID | None = None
    ) -> uuid.UUID:
        """Publish another context's event as its outbox relay would (a repeat gets a new message id,
        past JetStream's duplicate window), and return once this service has handled it."""
        envelope = EventEnvelope(
            event_id=event_id or uuid.uuid4(),
            event_type=event_type,
            schema_version=1,
            stream_id=f"{context}-{uuid.uuid4().hex[:8]}",
            stream_version=1,
            payload=data,
            source=f"/dcert/{context}",
            occurred_at=datetime.now(UTC),
            correlation_id=uuid.uuid4(),
        )
        message_id = str(envelope.event_id)
        if envelope.event_id in self.published_ids:  # JetStream's duplicate window would drop it
            message_id = f"{message_id}-again-{uuid.uuid4().hex[:6]}"
        self.published_ids.add(envelope.event_id)
        ack = await self.js.publish(
            self.naming.event_subject(context, event_type),
            json.dumps(envelope.to_cloudevent(envelope.payload), ensure_ascii=False).encode(),
            headers={"Nats-Msg-Id": message_id},
        )
        await self.handled(context, ack.seq)
        return envelope.event_id

    async def issue_certificate(
        self,
        level: int = 1,
        category: str = "physical",
        region: str = HUZHOU_COUNTY,
        id_number: str | None = None,
        agents: tuple[str, ...] = (),
        issued_on: date | None = None,
        event_id: uuid.UUID | None = None,
    ) -> Certificate:
        """The certificate service issued a certificate; returns once this service has handled it."""
        id_number = id_number or an_identity_number(region)
        category_digit = {
            "visual": 1,
            "hearing": 2,
            "speech": 3,
            "physical": 4,
            "intellectual": 5,
            "mental": 6,
            "multiple": 7,
        }[category]
        number = f"{id_number}{category_digit}{level}"
        issued_on = issued_on or date.today()
        data = {
            "certificate_number": number,
            "application_id": str(uuid.uuid4()),
            "person_ref": self.person_ref(id_number),
            "agent_refs": [self.person_ref(agent) for agent in agents],
            "category": category,
            "level": level,
            "issued_on": issued_on.isoformat(),
            "expires_on": issued_on.replace(year=issued_on.year + 10).isoformat(),
            "household_region": region,
            "residence_region": region,
            "age_years": 45,
        }
        sent = await self.publish("certificate", "CertificateIssued", data, event_id)
        return Certificate(number, id_number, self.person_ref(id_number), region, sent)

    async def register_partner(self, facts: tuple[str, ...]) -> str:
        """The notification service registered a partner allowed these facts; returns its token."""
        partner_id = str(uuid.uuid4())
        await self.publish(
            "notification",
            "PartnerRegistered",
            {"partner_id": partner_id, "event_types": [], "fields": [], "facts": list(facts)},
        )
        return self.token("partner", f"partner-{partner_id[:8]}", partner_id=partner_id)

    async def handled(self, context: str, sequence: int) -> None:
        """Wait until this service's consumer of `context` has handled and acknowledged the
        stream's message `sequence` (its effects are committed before the acknowledgement)."""
        stream = self.naming.event_stream(context)
        consumers = [c for c in self.app.state.runtime.consumers.values() if c.stream == stream]

        async def acknowledged() -> bool:
            for consumer in consumers:
                info = await self.js.consumer_info(stream, consumer.durable)
                if info.ack_floor.stream_seq < sequence:
                    return False
            return True

        await eventually(acknowledged)

    async def published(self, event_type: str, count: int = 1) -> list[dict[str, Any]]:
        """The CloudEvents of `event_type` the outbox relay put on the benefits stream (at least `count`)."""
        stream = self.naming.event_stream("benefits")
        subject = self.naming.event_subject("benefits", event_type)

        async def enough() -> list[dict[str, Any]] | None:
            state = (await self.js.stream_info(stream)).state
            if not state.messages:
                return None
            found = []
            for sequence in range(state.first_seq, state.last_seq + 1):
                message = await self.js.get_msg(stream, sequence)
                if message.subject == subject:
                    found.append(json.loads(message.data or b"{}"))
            return found if len(found) >= count else None

        return await eventually(enough)

    async def fetch(self, query: str, *args: Any) -> list[dict[str, Any]]:
        async with self.app.state.runtime.pool.acquire() as conn:
            return [dict(row) for row in await conn.fetch(query, *args)]


Starter = Callable[..., AbstractAsyncContextManager[BenefitsService]]


@pytest.fixture
def start_service(fresh_database: str, nats_url: str, test_prefix: str) -> Starter:
    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[BenefitsService]:
        settings = BenefitsSettings(
            service_name="benefits",
            database_url=fresh_database,
            nats_url=nats_url,
            nats_prefix=test_prefix,
            environment="test",
            **overrides,
        )
        naming = Naming(test_prefix)
        nc: NATS = await connect(nats_url, "benefits-tests")
        js = nc.jetstream()
        for context in ("certificate", "notification"):  # their streams, as their runtimes make them
            limits = StreamLimits(max_bytes=settings.stream_bytes)
            await ensure_stream(js, event_stream_config(naming, context, limits))
        app = create_app(settings)
        issuer = DevIssuer()
        app.state.token_verifier = TokenVerifier(jwks=issuer.jwks())
        try:
            async with app.router.lifespan_context(app):
                for consumer in app.state.runtime.consumers.values():
                    await consumer.ready.wait()
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                    yield BenefitsService(app, http, issuer, js, naming, settings)
        finally:
            await nc.close()

    return start


@pytest.fixture
async def service(start_service: Starter) -> AsyncIterator[BenefitsService]:
    async with start_service() as running:
        yield running
