"""Rate limits, attacked: a flood from one client behind the national proxy must not deny
verification to everyone behind it, a client must not pick its own bucket by writing
`X-Forwarded-For`, replicas must not each grant the limit again, and a signed-in caller must
have a limit of its own on every authenticated route.

Two replicas of the certificate service run on one database (the limits are small so that
the tests are quick); requests arrive from a proxy at 10.0.0.2, which the settings trust, or
straight from clients.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from dcert_certificate.bootstrap import create_app
from dcert_certificate.settings import CertificateSettings
from dcert_dev.embedded import free_port
from dcert_dev.supervisor import ServiceProcess
from dcert_shared.auth import DevIssuer, TokenVerifier

PER_MINUTE = 5
PROXY = "10.0.0.2"
ISSUER = DevIssuer()


@pytest.fixture
async def replicas(
    fresh_database: str, nats_url: str, test_prefix: str
) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    """Two processes of one service, as two replicas behind the load balancer would be."""
    settings = CertificateSettings(
        database_url=fresh_database,
        nats_url=nats_url,
        nats_prefix=test_prefix,
        environment="test",
        rate_limits={"/v1/verify": PER_MINUTE},
        trusted_proxies=["10.0.0.0/24"],
        subject_rate_limit_per_minute=PER_MINUTE,
    )
    first, second = create_app(settings), create_app(settings)
    for app in (first, second):
        app.state.token_verifier = TokenVerifier(jwks=ISSUER.jwks())
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        yield first, second


def from_peer(app: FastAPI, peer: str) -> httpx.AsyncClient:
    """A connection to `app` whose socket peer is `peer`."""
    transport = httpx.ASGITransport(app=app, client=(peer, 40_000))
    return httpx.AsyncClient(transport=transport, base_url="http://certificate")


async def verify(http: httpx.AsyncClient, forwarded_for: str | None = None) -> httpx.Response:
    headers = {"x-forwarded-for": forwarded_for} if forwarded_for is not None else {}
    return await http.get("/v1/verify", params={"code": "DC1.x.y.z"}, headers=headers)


async def test_one_client_behind_the_proxy_exhausts_only_its_own_bucket(
    replicas: tuple[FastAPI, FastAPI],
) -> None:
    app, _ = replicas
    async with from_peer(app, PROXY) as proxy:
        flood = [await verify(proxy, "203.0.113.7") for _ in range(PER_MINUTE + 1)]
        assert [answer.status_code for answer in flood] == [200] * PER_MINUTE + [429]
        refused = flood[-1]
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "too_many_requests"
        assert 1 <= int(refused.headers["retry-after"]) <= 60 // PER_MINUTE
        others = [await verify(proxy, f"198.51.100.{n}") for n in range(1, 4)]
        assert [answer.status_code for answer in others] == [200] * 3, "everyone behind the proxy was denied"


async def test_a_client_cannot_choose_its_bucket_by_writing_the_header_itself(
    replicas: tuple[FastAPI, FastAPI],
) -> None:
    app, _ = replicas
    # Behind the trusted proxy: the client's own header stays on the left of what the proxy appends.
    async with from_peer(app, PROXY) as proxy:
        spoofing = [await verify(proxy, f"192.0.2.{n}, 203.0.113.9") for n in range(PER_MINUTE + 1)]
        assert [answer.status_code for answer in spoofing][-1] == 429
    # Straight from an untrusted peer, the header is not read at all.
    async with from_peer(app, "203.0.113.50") as direct:
        made_up = [await verify(direct, f"198.51.100.{n}") for n in range(PER_MINUTE + 1)]
        assert [answer.status_code for answer in made_up] == [200] * PER_MINUTE + [429]
        assert (await verify(direct)).status_code == 429


async def test_an_ipv6_client_counts_by_its_network_not_by_each_address(
    replicas: tuple[FastAPI, FastAPI],
) -> None:
    """A subscriber holds a whole /64: one address each request is still one client."""
    app, _ = replicas
    async with from_peer(app, PROXY) as proxy:
        rotating = [await verify(proxy, f"2400:cb00:1:2::{n:x}") for n in range(1, PER_MINUTE + 2)]
        assert [answer.status_code for answer in rotating] == [200] * PER_MINUTE + [429]


async def test_replicas_share_one_count(replicas: tuple[FastAPI, FastAPI]) -> None:
    first, second = replicas
    async with from_peer(first, PROXY) as one, from_peer(second, PROXY) as other:
        turns = itertools.cycle([one, other])
        answers = [await verify(next(turns), "203.0.113.20") for _ in range(PER_MINUTE + 2)]
    assert [answer.status_code for answer in answers] == [200] * PER_MINUTE + [429, 429], (
        "each replica granted the limit again"
    )


async def test_a_signed_in_caller_gets_429_past_its_own_limit_from_any_address(
    replicas: tuple[FastAPI, FastAPI],
) -> None:
    first, second = replicas
    reviewer = ISSUER.issue("reviewer", "reviewer-flooding", {"region": "330502"})
    colleague = ISSUER.issue("reviewer", "reviewer-working", {"region": "330502"})

    async def queue(http: httpx.AsyncClient, token: str) -> httpx.Response:
        return await http.get(
            "/v1/applications", params={"status": "assessed"}, headers={"Authorization": f"Bearer {token}"}
        )

    async with from_peer(first, "203.0.113.30") as here, from_peer(second, "198.51.100.30") as there:
        answers = [await queue(here if n % 2 else there, reviewer) for n in range(PER_MINUTE + 1)]
        assert [answer.status_code for answer in answers] == [200] * PER_MINUTE + [429]
        refused = answers[-1]
        assert refused.json()["code"] == "too_many_requests"
        assert refused.json()["instance"] == "/v1/applications"
        assert 1 <= int(refused.headers["retry-after"]) <= 60 // PER_MINUTE
        assert (await queue(here, colleague)).status_code == 200, "another caller has a limit of its own"
        en = await here.get(
            "/v1/applications",
            params={"status": "assessed"},
            headers={"Authorization": f"Bearer {reviewer}", "Accept-Language": "en"},
        )
        assert en.status_code == 429
        assert en.json()["title"] == "Too many requests"


async def test_a_local_peer_cannot_choose_its_address_through_the_server_either(
    fresh_database: str, nats_url: str, test_prefix: str, tmp_path: Path
) -> None:
    """uvicorn, left to itself, takes X-Forwarded-For from any loopback peer (an embedded run,
    a sidecar): the services are started so that only `DCERT_TRUSTED_PROXIES` decides."""
    port = free_port()
    process = ServiceProcess(
        "certificate",
        "dcert_certificate.main:app",
        port,
        {
            **os.environ,
            "DATABASE_URL": fresh_database,
            "NATS_URL": nats_url,
            "DCERT_NATS_PREFIX": test_prefix,
            "DCERT_ENV": "test",
            "DCERT_RATE_LIMITS": json.dumps({"/v1/verify": PER_MINUTE}),
        },
        log_path=tmp_path / "certificate.log",
    )
    process.start()
    try:
        await process.wait_healthy_async(timeout=60)
        async with httpx.AsyncClient(base_url=process.url) as http:
            answers = [await verify(http, f"198.51.100.{n}") for n in range(PER_MINUTE + 1)]
    finally:
        process.stop()
    assert [answer.status_code for answer in answers] == [200] * PER_MINUTE + [429]
