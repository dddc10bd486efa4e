"""Production sign-in: a service configured as in production takes tokens from its OIDC issuer
(a real one over HTTP, with rotating keys) and refuses every other kind of token."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from fastapi import FastAPI

from dcert_certificate.bootstrap import create_app
from dcert_certificate.settings import CertificateSettings
from dcert_shared.auth import DevIssuer
from dcert_shared.testing import LocalOidcProvider

REGION = "330502"
REFRESH_COOLDOWN_SECONDS = 5.2  # TokenVerifier's default refresh_cooldown_seconds, and a little


@pytest.fixture(scope="module")
def provider() -> Iterator[LocalOidcProvider]:
    running = LocalOidcProvider()
    yield running
    running.close()


@pytest.fixture
async def production(
    provider: LocalOidcProvider, fresh_database: str, nats_url: str, test_prefix: str
) -> AsyncIterator[httpx.AsyncClient]:
    settings = CertificateSettings(
        database_url=fresh_database,
        nats_url=nats_url,
        nats_prefix=test_prefix,
        environment="production",
        auth_oidc_issuer=provider.url,
        auth_audience="dcert",
        identity_hash_key=secrets.token_hex(32),
        master_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        ecert_signing_seed=base64.b64encode(secrets.token_bytes(32)).decode(),
        stream_max_bytes=16 * 1024**2,
    )
    app: FastAPI = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://dcert.test") as http:
            yield http


async def status_with(http: httpx.AsyncClient, token: str) -> tuple[int, str | None]:
    answer = await http.get("/v1/applications", headers={"Authorization": f"Bearer {token}"})
    return answer.status_code, answer.json().get("code") if answer.status_code != 200 else None


async def test_a_token_of_the_configured_issuer_signs_in_and_the_role_comes_from_its_claims(
    production: httpx.AsyncClient, provider: LocalOidcProvider
) -> None:
    assert await status_with(production, provider.token("reviewer", "r-1", region=REGION)) == (200, None)
    answer = await production.get(
        "/v1/applications",
        headers={"Authorization": f"Bearer {provider.token('doctor', 'd-1', doctor_id='d-1')}"},
    )
    assert answer.status_code == 403, "a doctor's token does not open the reviewer's queue"
    assert "strict-transport-security" in answer.headers
    no_dev_endpoint = await production.post("/v1/dev/tokens", json={"role": "admin", "subject": "x"})
    assert no_dev_endpoint.status_code == 404


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("expired", "token_expired"),
        ("not_yet_valid", "token_invalid"),
        ("wrong_issuer", "token_invalid"),
        ("wrong_audience", "token_invalid"),
        ("unknown_key_id", "token_invalid"),
        ("alg_none", "token_invalid"),
        ("hs256_with_public_key", "token_invalid"),
        ("region_of_another_format", "token_invalid"),
        ("development_token", "token_invalid"),
        ("signed_by_a_stranger", "token_invalid"),
    ],
)
async def test_a_bad_token_is_refused_with_401(
    production: httpx.AsyncClient, provider: LocalOidcProvider, case: str, expected: str
) -> None:
    reviewer = {"region": REGION}
    token = {
        "expired": lambda: provider.token("reviewer", "r-1", ttl_seconds=-120, **reviewer),
        "not_yet_valid": lambda: provider.token("reviewer", "r-1", not_before_in=600, **reviewer),
        "wrong_issuer": lambda: provider.token(
            "reviewer", "r-1", issuer="https://id.elsewhere.cn", **reviewer
        ),
        "wrong_audience": lambda: provider.token("reviewer", "r-1", audience="another-app", **reviewer),
        "unknown_key_id": lambda: provider.token(
            "reviewer", "r-1", kid="nobody-s-kid", key=generate_private_key(65537, 2048), **reviewer
        ),
        "alg_none": lambda: jwt.encode(
            {"sub": "r-1", "role": "reviewer", "region": REGION, "iss": provider.url, "aud": "dcert"},
            None,
            algorithm="none",
            headers={"kid": provider.current_kid},
        ),
        "hs256_with_public_key": lambda: _hs256_keyed_with(provider.public_pem(), provider),
        "region_of_another_format": lambda: provider.token("reviewer", "r-1", region="Huzhou"),
        "development_token": lambda: DevIssuer().issue("reviewer", "r-1", reviewer),
        "signed_by_a_stranger": lambda: provider.token(
            "reviewer", "r-1", kid=provider.current_kid, key=generate_private_key(65537, 2048), **reviewer
        ),
    }[case]()
    assert await status_with(production, token) == (401, expected)


def _hs256_keyed_with(public_pem: bytes, provider: LocalOidcProvider) -> str:
    """The algorithm-confusion attack: HMAC keyed with the issuer's public key (PyJWT refuses to
    make one, so it is made by hand)."""

    def part(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    now = int(time.time())
    header = {"alg": "HS256", "typ": "JWT", "kid": provider.current_kid}
    claims = {"sub": "r-1", "role": "reviewer", "region": REGION, "iss": provider.url, "aud": "dcert"}
    claims |= {"iat": now, "nbf": now, "exp": now + 600}
    signing_input = part(json.dumps(header).encode()) + b"." + part(json.dumps(claims).encode())
    signature = hmac.new(public_pem, signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + part(signature)).decode()


async def test_a_small_clock_skew_is_forgiven_and_a_large_one_is_not(
    production: httpx.AsyncClient, provider: LocalOidcProvider
) -> None:
    slightly_early = provider.token("reviewer", "r-1", not_before_in=20, region=REGION)
    assert await status_with(production, slightly_early) == (200, None)
    just_expired = provider.token("reviewer", "r-1", ttl_seconds=-20, region=REGION)
    assert await status_with(production, just_expired) == (200, None)
    long_expired = provider.token("reviewer", "r-1", ttl_seconds=-100, region=REGION)
    assert await status_with(production, long_expired) == (401, "token_expired")


async def test_the_issuer_rotates_its_keys_and_a_retired_key_signs_in_no_more(
    production: httpx.AsyncClient, provider: LocalOidcProvider
) -> None:
    old_kid = provider.current_kid
    old_token = provider.token("reviewer", "r-1", region=REGION)
    assert await status_with(production, old_token) == (200, None)
    fetched = provider.fetches.count("/jwks.json")

    provider.rotate()
    # An unknown key id fetches the set again, but not within the cooldown of the last fetch
    # (5 s: a flood of made-up key ids cannot make us hammer the issuer).
    await asyncio.sleep(REFRESH_COOLDOWN_SECONDS)
    assert await status_with(production, provider.token("reviewer", "r-2", region=REGION)) == (200, None)
    assert provider.fetches.count("/jwks.json") == fetched + 1, "a new key id fetched the key set again"
    assert await status_with(production, old_token) == (200, None), "the old key signs during the overlap"

    provider.retire(old_kid)
    provider.rotate()
    await asyncio.sleep(REFRESH_COOLDOWN_SECONDS)
    assert await status_with(production, provider.token("reviewer", "r-3", region=REGION)) == (200, None)
    assert await status_with(production, old_token) == (401, "token_invalid"), "a retired key signed in"
