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
from dcert_dev.testing import LocalOidcProvider
from dcert_portal.bootstrap import create_app as create_portal
from dcert_portal.settings import PortalSettings
from dcert_shared.auth import DevIssuer

from .system import new_person

REGION = "330502"
REFRESH_COOLDOWN_SECONDS = 5.2  # TokenVerifier's default refresh_cooldown_seconds, and a little


@pytest.fixture(scope="module")
def provider() -> Iterator[LocalOidcProvider]:
    running = LocalOidcProvider()
    yield running
    running.close()


@pytest.fixture
async def production_app(
    provider: LocalOidcProvider, fresh_database: str, nats_url: str, test_prefix: str
) -> AsyncIterator[FastAPI]:
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
        yield app


@pytest.fixture
async def production(production_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=production_app)
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


# --- the portal signs people in through the same provider ---

PORTAL = "https://portal.test"


@pytest.fixture
async def portal_visitor(
    provider: LocalOidcProvider, production_app: FastAPI
) -> AsyncIterator[httpx.AsyncClient]:
    """A visitor of a portal configured as in production: sign-in through `provider` only, the
    certificate service being the production one above."""
    provider.register_client("dcert-portal", PORTAL + "/sign-in/callback")
    portal = create_portal(
        PortalSettings(
            environment="production",
            session_secret=secrets.token_urlsafe(48),
            oidc_issuer=provider.url,
            public_url=PORTAL,
        )
    )
    await portal.state.services.certificate.aclose()
    portal.state.services.certificate = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=production_app), base_url="https://dcert.test"
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=portal), base_url=PORTAL) as http:
        yield http
    await portal.state.services.aclose()


async def through_the_provider(visitor: httpx.AsyncClient, path: str) -> httpx.Response:
    """Asks the portal for `path` signed out, follows it to the provider and back: the answer of
    the portal's callback."""
    to_sign_in = await visitor.get(path)
    assert to_sign_in.status_code == 303
    assert to_sign_in.headers["location"].startswith("/sign-in?next=")
    page = await visitor.get(to_sign_in.headers["location"])
    assert page.status_code == 200
    assert "/sign-in/start?next=" in page.text
    start = await visitor.get("/sign-in/start", params={"next": path})
    assert start.status_code == 302
    authorize = httpx.URL(start.headers["location"])
    query = dict(authorize.params)
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert query["state"]
    assert query["nonce"]
    assert "code_verifier" not in query
    async with httpx.AsyncClient() as browser_to_provider:
        back = await browser_to_provider.get(authorize)
    assert back.status_code == 302
    callback = httpx.URL(back.headers["location"])
    assert str(callback).startswith(PORTAL + "/sign-in/callback?")
    return await visitor.get(callback.raw_path.decode())


async def test_the_portal_signs_in_through_the_provider_with_pkce_and_uses_its_token(
    provider: LocalOidcProvider, portal_visitor: httpx.AsyncClient
) -> None:
    person = new_person()
    provider.next_sign_in = ("applicant", "gov-account-7", {"id_number": person})
    answer = await through_the_provider(portal_visitor, "/applications/new")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/applications/new"
    verifier = provider.token_requests[-1]["code_verifier"]
    assert 43 <= len(verifier) <= 128, "the code was exchanged on the server with its verifier"
    assert (await portal_visitor.get("/applications/new")).status_code == 200
    home = await portal_visitor.get("/")
    assert home.status_code == 200, "the certificate service took the provider's access token"
    assert person not in home.text
    assert "330502" in home.text
    dev_form = await portal_visitor.post("/sign-in", data={"role": "admin"})
    assert dev_form.status_code == 404, "no development sign-in beside the provider"


async def test_a_callback_that_does_not_verify_signs_no_one_in(
    provider: LocalOidcProvider, portal_visitor: httpx.AsyncClient
) -> None:
    provider.next_sign_in = ("applicant", "gov-account-8", {"id_number": new_person()})
    forged = await portal_visitor.get("/sign-in/callback", params={"code": "made-up", "state": "made-up"})
    assert forged.status_code == 400
    assert 'role="alert"' in forged.text
    assert (await portal_visitor.get("/")).status_code == 303, "still signed out"

    provider.next_sign_in = None  # the person cancels at the provider
    cancelled = await through_the_provider(portal_visitor, "/")
    assert cancelled.status_code == 400
    assert (await portal_visitor.get("/")).status_code == 303

    provider.next_sign_in = ("stranger", "gov-account-9", {})  # an account with no role here
    no_role = await through_the_provider(portal_visitor, "/")
    assert no_role.status_code == 400
    assert (await portal_visitor.get("/")).status_code == 303
