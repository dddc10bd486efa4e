"""Every service: bounded requests (413), rate limits on the open endpoints (429), security
headers, CORS closed unless origins are named, and no text a database cannot store (422)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI, Request

from dcert_shared.hardening import harden
from dcert_shared.problem_responses import install_problem_handlers
from dcert_shared.rate_limits import LocalBuckets


def an_app(**overrides: object) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/v1/things")
    async def things(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @app.get("/v1/verify")
    async def verify() -> dict[str, bool]:
        return {"valid": True}

    @app.post("/v1/partners")
    async def partners(body: dict[str, Any], name: str = "") -> dict[str, Any]:
        app.state.reached = True
        return {"query": name, **body}

    settings: dict[str, object] = {
        "max_request_bytes": 2048,
        "rate_limits": {"/v1/verify": 5},
        "cors_origins": [],
        "production": False,
        **overrides,
    }
    harden(app, **settings)  # type: ignore[arg-type]
    return app


def client(app: FastAPI, address: str = "10.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 12345))
    return httpx.AsyncClient(transport=transport, base_url="http://service")


async def test_a_body_over_the_limit_is_refused_with_413_whether_declared_or_streamed() -> None:
    async with client(an_app()) as http:
        fine = await http.post("/v1/things", content=b"x" * 2000)
        assert fine.status_code == 200
        assert fine.json() == {"bytes": 2000}
        declared = await http.post("/v1/things", content=b"x" * 5000)
        assert declared.status_code == 413
        assert declared.headers["content-type"] == "application/problem+json"
        assert declared.json()["code"] == "payload_too_large"

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(5):
                yield b"y" * 1000

        streamed = await http.post("/v1/things", content=chunks(), headers={"accept-language": "en"})
        assert streamed.status_code == 413
        assert streamed.json()["title"] == "Request too large"


async def test_the_open_endpoints_are_rate_limited_per_client_with_retry_after() -> None:
    app = an_app()
    async with client(app) as first, client(app, "10.0.0.2") as second:
        answers = [await first.get("/v1/verify") for _ in range(6)]
        assert [answer.status_code for answer in answers] == [200] * 5 + [429]
        assert answers[-1].json()["code"] == "too_many_requests"
        assert 1 <= int(answers[-1].headers["retry-after"]) <= 12
        assert (await second.get("/v1/verify")).status_code == 200, "another client has its own bucket"
        assert (await first.post("/v1/things", content=b"{}")).status_code == 200, (
            "other paths are not limited"
        )


async def test_text_no_database_can_store_is_refused_with_422_before_the_route_runs() -> None:
    """A NUL (as a JSON escape or %00) or an unpaired surrogate would fail in PostgreSQL as a 500."""
    app = an_app()
    app.state.reached = False
    english = {"accept-language": "en", "content-type": "application/json"}
    async with client(app) as http:
        body = b'{"name": "\\u6c11\\u0000", "policy": {"fields": ["ok", "x\\ud800"], "k\\u0000": 1}}'
        refused = await http.post("/v1/partners", content=body, headers=english)
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
        problem = refused.json()
        assert [error["field"] for error in problem["errors"]] == ["name", "policy.fields.1", "policy"]
        assert {error["code"] for error in problem["errors"]} == {"character_not_allowed"}
        assert problem["errors"][0]["message"].startswith("Contains a character that is not allowed")
        in_query = await http.post("/v1/partners?name=a%00b", json={})
        assert in_query.status_code == 422
        assert in_query.json()["errors"][0]["field"] == "name"
        assert in_query.json()["title"] == "提交的内容不符合要求"
        assert not app.state.reached
        fine = await http.post("/v1/partners?name=x", content=b'{"name": "\\u6c11\\u653f"}', headers=english)
        assert fine.status_code == 200
        assert fine.json() == {"query": "x", "name": "民政"}


def test_a_bucket_refills_with_time() -> None:
    buckets = LocalBuckets()
    assert all(buckets.take_now(b"a", 60, 0.0) == 0 for _ in range(60))
    assert buckets.take_now(b"a", 60, 0.0) > 0
    assert buckets.take_now(b"a", 60, 1.5) == 0  # one a second


async def test_answers_carry_security_headers_and_cors_stays_closed_by_default() -> None:
    async with client(an_app()) as http:
        answer = await http.get("/v1/verify", headers={"origin": "https://evil.example"})
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["cache-control"] == "no-store"
        assert "strict-transport-security" not in answer.headers
        assert "access-control-allow-origin" not in answer.headers
        preflight = await http.options(
            "/v1/things",
            headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
        )
        assert "access-control-allow-origin" not in preflight.headers
    production = an_app(production=True, cors_origins=["https://portal.example.cn"])
    async with client(production) as http:
        answer = await http.get("/v1/verify", headers={"origin": "https://portal.example.cn"})
        assert answer.headers["access-control-allow-origin"] == "https://portal.example.cn"
        assert answer.headers["strict-transport-security"].startswith("max-age=")
        other = await http.get("/v1/verify", headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
