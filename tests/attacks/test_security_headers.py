"""Answers without their security headers: a path that merely starts like the API's docs page
(`/docsx`, `/docs/../v1/...`, `/redoc-anything`) must not shed the headers every answer carries,
and the portal, served over HTTPS in production, must tell browsers to keep to HTTPS."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from dcert_certificate.bootstrap import create_app
from dcert_certificate.settings import CertificateSettings
from dcert_portal.bootstrap import create_app as create_portal
from dcert_portal.settings import PortalSettings

EVERY_ANSWER = ("x-content-type-options", "x-frame-options", "referrer-policy", "cache-control")


@pytest.fixture(scope="module")
def service() -> FastAPI:
    """The certificate service's app as built for production; the routes tried here need neither
    its database nor its broker."""
    settings = CertificateSettings(
        database_url="postgresql://127.0.0.1:9/none",
        nats_url="nats://127.0.0.1:9",
        environment="test",
    )
    return create_app(settings)


async def raw_get(app: FastAPI, path: str) -> tuple[int, dict[str, str]]:
    """A GET of exactly `path`, as a server hands it over (httpx would resolve `..` first)."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"service")],
        "client": ("10.0.0.1", 40000),
        "server": ("service", 80),
    }
    started: dict[str, Any] = {}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            started.update(message)

    await app(scope, receive, send)
    headers = {name.decode().lower(): value.decode() for name, value in started["headers"]}
    return started["status"], headers


@pytest.mark.parametrize(
    "path",
    ["/docsx", "/docs/../v1/verify", "/docs/..%2fv1/verify", "/docs/anything", "/redocs", "/redoc/x"],
)
async def test_a_path_that_only_starts_like_the_docs_keeps_every_security_header(
    service: FastAPI, path: str
) -> None:
    status, headers = await raw_get(service, path)
    assert status == 404
    for name in EVERY_ANSWER:
        assert name in headers, f"{path} lost {name}"
    assert headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/oauth2-redirect"])
async def test_only_the_docs_pages_themselves_relax_the_content_security_policy(
    service: FastAPI, path: str
) -> None:
    status, headers = await raw_get(service, path)
    assert status == 200
    assert headers.get("content-security-policy") != "default-src 'none'; frame-ancestors 'none'"
    for name in EVERY_ANSWER:
        assert name in headers, f"the docs page {path} lost {name}"


async def test_the_portal_in_production_tells_browsers_to_keep_to_https() -> None:
    portal = create_portal(
        PortalSettings(
            environment="production",
            session_secret=secrets.token_urlsafe(48),
            oidc_issuer="https://id.example.gov.cn",
            public_url="https://portal.example.gov.cn",
        )
    )
    transport = httpx.ASGITransport(app=portal)
    async with httpx.AsyncClient(transport=transport, base_url="https://portal.example.gov.cn") as visitor:
        for path in ("/sign-in", "/static/portal.css", "/no-such-page"):
            answer = await visitor.get(path)
            hsts = answer.headers.get("strict-transport-security", "")
            assert hsts.startswith("max-age="), path
            assert int(hsts.split("=")[1].split(";")[0]) >= 31_536_000, path
    await portal.state.services.aclose()


async def test_the_portal_outside_production_sends_no_hsts() -> None:
    """Embedded runs are plain HTTP on loopback: HSTS there would lock a developer's browser out."""
    portal = create_portal(PortalSettings(environment="test"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=portal), base_url="http://p") as visitor:
        answer = await visitor.get("/sign-in")
        assert answer.status_code == 200
        assert "strict-transport-security" not in answer.headers
    await portal.state.services.aclose()
