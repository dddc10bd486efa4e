"""One trace from an HTTP request through every service it reaches, and no personal data in spans."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from dcert_assessment.bootstrap import create_app as create_assessment
from dcert_assessment.settings import AssessmentSettings
from dcert_certificate.bootstrap import create_app as create_certificate
from dcert_certificate.settings import CertificateSettings
from dcert_dev.embedded import ensure_databases
from dcert_shared.auth import DevIssuer, TokenVerifier

from .system import application, new_person


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.fixture
async def services(
    database_server_url: str, nats_url: str, test_prefix: str, spans: InMemorySpanExporter
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, DevIssuer]]:
    run = secrets.token_hex(3)
    dsn = await ensure_databases(database_server_url, [f"trace_{run}_certificate", f"trace_{run}_assessment"])
    common: dict[str, Any] = {"nats_url": nats_url, "nats_prefix": test_prefix, "environment": "test"}
    certificate = create_certificate(
        CertificateSettings(
            database_url=dsn[f"trace_{run}_certificate"], public_notice_working_days=0, **common
        )
    )
    assessment = create_assessment(AssessmentSettings(database_url=dsn[f"trace_{run}_assessment"], **common))
    issuer = DevIssuer()
    clients = []
    async with AsyncExitStack() as stack:
        for app in (certificate, assessment):
            app.state.token_verifier = TokenVerifier(jwks=issuer.jwks())
            await stack.enter_async_context(app.router.lifespan_context(app))
            clients.append(
                await stack.enter_async_context(
                    httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
                )
            )
        yield clients[0], clients[1], issuer


def bearer(issuer: DevIssuer, role: str, subject: str, **claims: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issuer.issue(role, subject, claims)}"}


async def test_one_trace_runs_from_the_application_through_assessment_and_back(
    services: tuple[httpx.AsyncClient, httpx.AsyncClient, DevIssuer], spans: InMemorySpanExporter
) -> None:
    certificate, assessment, issuer = services
    admin = bearer(issuer, "admin", "admin-1")
    institution = await assessment.post(
        "/v1/institutions",
        json={"name": "医院", "region": "330502", "categories": ["physical"]},
        headers=admin,
    )
    doctor = await assessment.post(
        "/v1/doctors",
        json={
            "name": "李医生",
            "institution_id": institution.json()["id"],
            "license_no": secrets.token_hex(6),
            "categories": ["physical"],
        },
        headers=admin,
    )
    assert doctor.status_code == 201, doctor.text
    person = new_person()
    spans.clear()
    submitted = await certificate.post(
        "/v1/applications",
        json=application(person),
        headers=bearer(issuer, "applicant", "c-1", id_number=person),
    )
    assert submitted.status_code == 201, submitted.text
    application_id = submitted.json()["id"]
    reviewer = bearer(issuer, "reviewer", "r-1", region="330502")
    for _ in range(200):
        status = (await certificate.get(f"/v1/applications/{application_id}", headers=reviewer)).json()[
            "status"
        ]
        if status == "assessing":
            break
        await asyncio.sleep(0.05)
    assert status == "assessing"

    finished = spans.get_finished_spans()
    [request] = [s for s in finished if s.name == "POST /v1/applications" and s.kind == trace.SpanKind.SERVER]
    trace_id = request.context.trace_id
    consumed = {
        s.name for s in finished if s.context.trace_id == trace_id and s.kind == trace.SpanKind.CONSUMER
    }
    assert "consume AssessmentRequested" in consumed, "the assessment service's reaction left the trace"
    assert "consume AssessmentScheduled" in consumed, "the certificate service's reaction left the trace"

    every_attribute = json.dumps(
        [{k: str(v) for k, v in (s.attributes or {}).items()} | {"name": s.name} for s in finished],
        ensure_ascii=False,
    )
    for personal in (person, "王小明", "13800000000", "人民路"):
        assert personal not in every_attribute, "personal data leaked into a span"
