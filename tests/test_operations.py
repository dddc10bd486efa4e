"""What an operator relies on at 3 a.m.: health that tells the truth, OpenAPI, settings that fail fast."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from dcert_certificate.bootstrap import create_app
from dcert_certificate.settings import CertificateSettings
from dcert_shared.auth import DevIssuer, TokenVerifier


@pytest.fixture
async def certificate(fresh_database: str, nats_url: str, test_prefix: str) -> AsyncIterator[FastAPI]:
    app = create_app(
        CertificateSettings(
            database_url=fresh_database, nats_url=nats_url, nats_prefix=test_prefix, environment="test"
        )
    )
    async with app.router.lifespan_context(app):
        yield app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_health_is_ok_while_the_database_and_nats_answer(certificate: FastAPI) -> None:
    async with client(certificate) as http:
        answer = await http.get("/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "database": "ok", "nats": "ok"}


async def test_health_is_503_when_nats_is_gone(certificate: FastAPI) -> None:
    await certificate.state.runtime._nc.close()
    async with client(certificate) as http:
        answer = await http.get("/health")
    assert answer.status_code == 503
    assert answer.json()["nats"] == "unavailable"


async def test_health_is_503_when_the_database_is_gone(certificate: FastAPI) -> None:
    await certificate.state.runtime.pool.close()
    async with client(certificate) as http:
        answer = await http.get("/health")
    assert answer.status_code == 503
    assert answer.json()["database"] == "unavailable"


async def test_readiness_names_every_loop_and_fails_while_one_cannot_run(certificate: FastAPI) -> None:
    async with client(certificate) as http:
        assert (await http.get("/health/live")).json() == {"status": "ok"}
        ready = (await http.get("/health/ready")).json()
        assert ready["status"] == "ok"
        assert ready["not_ready"] == {}
        loops = ready["loops"]
        assert {"outbox-relay", "access-log-relay", "consumer assessments", "expiry-clock", "pruning"} <= set(
            loops
        )
        # Alone here, its consumers wait for the assessment and benefits streams (which those
        # services make); it is ready all the same.
        assert all(loop["status"] in ("running", "standby", "waiting") for loop in loops.values())

        await certificate.state.runtime._nc.close()  # the broker is gone for this process
        answer = await http.get("/health/ready")
        assert answer.status_code == 503
        assert answer.json()["nats"] == "unavailable"
        assert (await http.get("/health/live")).status_code == 200  # alive: do not restart it for that


async def test_a_request_while_the_database_is_away_is_a_503_to_try_again(certificate: FastAPI) -> None:
    issuer = DevIssuer()
    certificate.state.token_verifier = TokenVerifier(jwks=issuer.jwks())
    reviewer = issuer.issue("reviewer", "reviewer-1", {"region": "330502"})
    await certificate.state.runtime.pool.close()
    async with client(certificate) as http:
        answer = await http.get(
            "/v1/applications", params={"status": "assessed"}, headers={"Authorization": f"Bearer {reviewer}"}
        )
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"
    assert answer.json()["code"] == "service_unavailable"


async def test_the_openapi_document_lists_the_public_contract(certificate: FastAPI) -> None:
    async with client(certificate) as http:
        paths = (await http.get("/openapi.json")).json()["paths"]
    for path in (
        "/v1/applications",
        "/v1/applications/{application_id}/decision",
        "/v1/verify",
        "/v1/certificates/{number}/e-certificate",
    ):
        assert path in paths


async def test_the_dev_token_endpoint_does_not_exist_without_dev_auth(certificate: FastAPI) -> None:
    async with client(certificate) as http:
        answer = await http.post("/v1/dev/tokens", json={"role": "admin", "subject": "x"})
    assert answer.status_code == 404


def test_production_without_a_signing_key_does_not_start(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError) as refused:
        CertificateSettings(
            database_url="postgresql://db/x",
            nats_url="tls://n:4222",
            environment="production",
            auth_oidc_issuer="https://id.example.cn",
            identity_hash_key="k" * 40,
            master_key="A" * 43 + "=",
        )
    assert "DCERT_ECERT_SIGNING_SEED" in str(refused.value)


def test_production_with_development_sign_in_does_not_start() -> None:
    with pytest.raises(ValidationError) as refused:
        CertificateSettings(
            database_url="postgresql://db/x",
            nats_url="tls://n:4222",
            environment="production",
            dev_auth=True,
            auth_oidc_issuer="https://id.example.cn",
            identity_hash_key="k" * 40,
            ecert_signing_seed="A" * 44,
        )
    assert "DCERT_DEV_AUTH" in str(refused.value)
