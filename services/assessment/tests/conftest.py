"""The assessment service in-process over HTTP, on real PostgreSQL and NATS, one per test.

Helpers live here (fixtures and the types they return), as the tests run in importlib mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from dcert_assessment.bootstrap import create_app
from dcert_assessment.settings import AssessmentSettings
from dcert_shared.auth import DevIssuer, TokenVerifier
from dcert_shared.broker import Naming, StreamLimits, connect, ensure_stream, event_stream_config
from dcert_shared.envelope import EventEnvelope

T = TypeVar("T")


@dataclass(frozen=True)
class Regions:
    """Places around the applicants' residence, from nearest to farthest."""

    home: str = "330502"  # 湖州市吴兴区
    same_city: str = "330503"  # 湖州市南浔区
    same_province: str = "330106"  # 杭州市西湖区
    other_province: str = "110105"  # 北京市朝阳区


REGION = Regions().home


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float = 10) -> T:
    """The first truthy answer of `check`, polled until `timeout` (then the test fails)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


@dataclass
class AssessmentService:
    """The running service as its clients see it: HTTP with tokens, and JetStream."""

    app: FastAPI
    http: httpx.AsyncClient
    issuer: DevIssuer
    js: JetStreamContext
    naming: Naming
    regions: Regions = Regions()

    def token(self, role: str, subject: str, **claims: str) -> str:
        return self.issuer.issue(role, subject, claims)

    @property
    def admin(self) -> str:
        return self.token("admin", "admin-1")

    def doctor_token(self, doctor_id: str) -> str:
        return self.token("doctor", f"subject-{doctor_id}", doctor_id=doctor_id)

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

    async def institution(
        self, region: str = REGION, categories: tuple[str, ...] = ("visual", "hearing")
    ) -> str:
        answer = await self.call(
            "POST",
            "/v1/institutions",
            self.admin,
            {"name": f"医院-{uuid.uuid4().hex[:6]}", "region": region, "categories": list(categories)},
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    async def doctor(self, institution_id: str, categories: tuple[str, ...] = ("visual", "hearing")) -> str:
        answer = await self.call(
            "POST",
            "/v1/doctors",
            self.admin,
            {
                "name": "李医生",
                "institution_id": institution_id,
                "license_no": f"LIC{uuid.uuid4().hex[:12]}",
                "categories": list(categories),
            },
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    async def qualified_doctor(
        self, region: str = REGION, categories: tuple[str, ...] = ("visual", "hearing")
    ) -> str:
        return await self.doctor(await self.institution(region, categories), categories)

    async def request_assessment(
        self,
        category: str = "visual",
        region: str = REGION,
        age_years: int = 40,
        application_id: str | None = None,
        event_id: uuid.UUID | None = None,
        message_id: str | None = None,
    ) -> str:
        """Publish certificate.AssessmentRequested as the certificate service's relay would."""
        application_id = application_id or str(uuid.uuid4())
        envelope = EventEnvelope(
            event_id=event_id or uuid.uuid4(),
            event_type="AssessmentRequested",
            schema_version=1,
            stream_id=f"application-{application_id}",
            stream_version=2,
            payload={
                "application_id": application_id,
                "person_ref": "ab" * 32,
                "age_years": age_years,
                "declared_category": category,
                "residence_region": region,
                "household_region": region,
                "home_visit": False,
            },
            source="/dcert/certificate",
            occurred_at=datetime.now(UTC),
            correlation_id=uuid.uuid4(),
        )
        await self.js.publish(
            self.naming.event_subject("certificate", "AssessmentRequested"),
            json.dumps(envelope.to_cloudevent(envelope.payload)).encode(),
            headers={"Nats-Msg-Id": message_id or str(envelope.event_id)},
        )
        return application_id

    async def all_handled(self) -> None:
        """Wait until the service has handled and acknowledged every message published to it."""
        stream = self.naming.event_stream("certificate")
        durable = self.app.state.runtime.consumers["assessment-requested"].durable

        async def settled() -> bool:
            info = await self.js.consumer_info(stream, durable)
            last = (await self.js.stream_info(stream)).state.last_seq
            return info.ack_floor.stream_seq == last and info.num_ack_pending == 0

        await eventually(settled)

    async def assessment_of(self, application_id: str) -> dict[str, Any]:
        """The assessment of an application once the service has handled its request (admin view)."""

        async def found() -> dict[str, Any] | None:
            answer = await self.call("GET", "/v1/assessments", self.admin)
            mine = [item for item in answer.json()["items"] if item["application_id"] == application_id]
            return mine[0] if mine else None

        return await eventually(found)

    async def assigned_doctor(self, application_id: str) -> str | None:
        assessment = await self.assessment_of(application_id)
        answer = await self.call("GET", f"/v1/assessments/{assessment['id']}", self.admin)
        return answer.json()["doctor_id"]  # type: ignore[no-any-return]

    async def published(self, event_type: str, count: int = 1) -> list[dict[str, Any]]:
        """CloudEvents this service published on JetStream, read from the start of its stream."""
        subscription = await self.js.pull_subscribe(
            self.naming.event_subject("assessment", event_type),
            stream=self.naming.event_stream("assessment"),
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
        )
        try:
            messages = await subscription.fetch(count, timeout=10)
            return [json.loads(message.data) for message in messages]
        finally:
            await subscription.unsubscribe()


@pytest.fixture
async def service(fresh_database: str, nats_url: str, test_prefix: str) -> AsyncIterator[AssessmentService]:
    settings = AssessmentSettings(
        service_name="assessment",
        database_url=fresh_database,
        nats_url=nats_url,
        nats_prefix=test_prefix,
        environment="test",
    )
    naming = Naming(test_prefix)
    nc = await connect(nats_url, "assessment-tests")
    js = nc.jetstream()
    # The certificate service's stream, as its runtime would have made it.
    await ensure_stream(
        js, event_stream_config(naming, "certificate", StreamLimits(max_bytes=settings.stream_bytes))
    )
    app = create_app(settings)
    issuer = DevIssuer()
    app.state.token_verifier = TokenVerifier(jwks=issuer.jwks())
    try:
        async with app.router.lifespan_context(app):
            await app.state.runtime.consumers["assessment-requested"].ready.wait()
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                yield AssessmentService(app, http, issuer, js, naming)
    finally:
        # The NATS server is shared by the whole session: leave no stream of this test behind.
        for stream in (
            naming.event_stream("certificate"),
            naming.event_stream("assessment"),
            naming.dead_letter_stream(settings.service_name),
        ):
            with contextlib.suppress(NotFoundError):
                await js.delete_stream(stream)
        await nc.close()
