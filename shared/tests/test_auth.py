"""Bearer tokens: who gets in, who is refused, and how keys are found and rotated."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Annotated, Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from fastapi import Depends, FastAPI

from dcert_dev.testing import LocalOidcProvider
from dcert_shared.auth import (
    CurrentPrincipal,
    DevIssuer,
    Principal,
    TokenVerifier,
    dev_auth_router,
    require_role,
)
from dcert_shared.errors import ServiceUnavailable, Unauthenticated, ValidationFailed
from dcert_shared.ids import make_identity_number
from dcert_shared.problem_responses import install_problem_handlers

PERSON = make_identity_number("330502", date(1980, 5, 17), 123)
CHILD_WITH_X = "11010519491231002X"


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def issuer(key: Ed25519PrivateKey) -> DevIssuer:
    return DevIssuer(private_key=key)


@pytest.fixture
def verifier(issuer: DevIssuer) -> TokenVerifier:
    return TokenVerifier(jwks=issuer.jwks())


def signed(key: Ed25519PrivateKey, kid: str, **overrides: Any) -> str:
    """A hand-made token, for the cases a well-behaved issuer never makes."""
    now = int(time.time())
    claims = {"sub": "s-1", "role": "admin", "iss": "dcert-dev", "aud": "dcert", "iat": now, "exp": now + 600}
    claims.update(overrides)
    return jwt.encode(
        {k: v for k, v in claims.items() if v is not None}, key, algorithm="EdDSA", headers={"kid": kid}
    )


async def refusal(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(Unauthenticated) as refused:
        await verifier.verify(token)
    assert refused.value.status == 401
    return refused.value.code


async def test_a_token_from_the_dev_issuer_verifies_to_its_applicant(
    issuer: DevIssuer, verifier: TokenVerifier
) -> None:
    principal = await verifier.verify(
        issuer.issue("applicant", "citizen-1", {"id_number": CHILD_WITH_X.lower()})
    )
    assert principal == Principal(subject="citizen-1", role="applicant", id_number=CHILD_WITH_X)


@pytest.mark.parametrize(
    ("role", "claims", "attribute", "value"),
    [
        ("reviewer", {"region": "330502"}, "region", "330502"),
        ("doctor", {"doctor_id": "doc-7"}, "doctor_id", "doc-7"),
        ("partner", {"partner_id": "p-9"}, "partner_id", "p-9"),
        ("admin", {}, "role", "admin"),
        ("card_centre", {"region": "330000"}, "region", "330000"),
    ],
)
async def test_each_role_carries_its_own_claim(
    issuer: DevIssuer, verifier: TokenVerifier, role: str, claims: dict[str, str], attribute: str, value: str
) -> None:
    principal = await verifier.verify(issuer.issue(role, f"{role}-1", claims))
    assert (principal.role, getattr(principal, attribute)) == (role, value)


async def test_an_expired_token_is_refused_as_expired(issuer: DevIssuer, verifier: TokenVerifier) -> None:
    assert await refusal(verifier, issuer.issue("admin", "a-1", ttl_seconds=-120)) == "token_expired"


async def test_a_token_within_the_clock_leeway_is_still_accepted(
    key: Ed25519PrivateKey, issuer: DevIssuer
) -> None:
    now = int(time.time())
    token = signed(key, issuer.key_id, iat=now - 100, exp=now - 10)
    assert (await TokenVerifier(jwks=issuer.jwks(), leeway_seconds=30).verify(token)).role == "admin"
    assert await refusal(TokenVerifier(jwks=issuer.jwks(), leeway_seconds=0), token) == "token_expired"


async def test_a_token_for_another_audience_is_refused(
    key: Ed25519PrivateKey, issuer: DevIssuer, verifier: TokenVerifier
) -> None:
    assert await refusal(verifier, signed(key, issuer.key_id, aud="another-system")) == "token_invalid"
    assert (
        await refusal(
            verifier, DevIssuer(audience="x", private_key=key, key_id=issuer.key_id).issue("admin", "a")
        )
        == "token_invalid"
    )


async def test_a_token_signed_by_another_key_is_refused(issuer: DevIssuer, verifier: TokenVerifier) -> None:
    impostor = DevIssuer(key_id=issuer.key_id)  # same kid, another key
    assert await refusal(verifier, impostor.issue("admin", "a-1")) == "token_invalid"
    assert await refusal(verifier, DevIssuer().issue("admin", "a-1")) == "token_invalid"  # unknown kid


async def test_an_unsigned_alg_none_token_is_refused(issuer: DevIssuer, verifier: TokenVerifier) -> None:
    genuine = jwt.decode(issuer.issue("admin", "a-1"), options={"verify_signature": False})
    unsigned = jwt.encode(genuine, "", algorithm="none", headers={"kid": issuer.key_id})
    assert await refusal(verifier, unsigned) == "token_invalid"
    assert await refusal(verifier, unsigned + "c2lnbmF0dXJl") == "token_invalid"


async def test_an_hs256_token_keyed_with_the_public_key_is_refused(
    issuer: DevIssuer, verifier: TokenVerifier
) -> None:
    genuine = jwt.decode(issuer.issue("admin", "a-1"), options={"verify_signature": False})
    public_x = issuer.jwks()["keys"][0]["x"]
    forged = jwt.encode(genuine, public_x.encode() * 2, algorithm="HS256", headers={"kid": issuer.key_id})
    assert await refusal(verifier, forged) == "token_invalid"


async def test_a_token_not_yet_valid_is_refused(
    key: Ed25519PrivateKey, issuer: DevIssuer, verifier: TokenVerifier
) -> None:
    now = int(time.time())
    assert await refusal(verifier, signed(key, issuer.key_id, nbf=now + 600)) == "token_invalid"
    assert (
        await refusal(verifier, signed(key, issuer.key_id, iat=now + 600, exp=now + 1200)) == "token_invalid"
    )


async def test_a_token_without_expiry_is_refused(
    key: Ed25519PrivateKey, issuer: DevIssuer, verifier: TokenVerifier
) -> None:
    assert await refusal(verifier, signed(key, issuer.key_id, exp=None)) == "token_invalid"


async def test_a_token_from_another_issuer_is_refused_when_the_issuer_is_configured(
    key: Ed25519PrivateKey, issuer: DevIssuer
) -> None:
    strict = TokenVerifier(jwks=issuer.jwks(), issuer="https://sso.example.cn")
    assert await refusal(strict, issuer.issue("admin", "a-1")) == "token_invalid"
    assert (await strict.verify(signed(key, issuer.key_id, iss="https://sso.example.cn"))).role == "admin"


@pytest.mark.parametrize(
    "claims",
    [
        {"role": "applicant"},
        {"role": "applicant", "id_number": PERSON[:-1] + ("1" if PERSON[-1] != "1" else "2")},
        {"role": "reviewer", "region": "999999"},
        {"role": "doctor"},
        {"role": "partner", "partner_id": ""},
        {"role": "superuser"},
        {"role": "admin", "sub": ""},
    ],
)
async def test_a_token_lacking_what_its_role_needs_is_refused(
    key: Ed25519PrivateKey, issuer: DevIssuer, verifier: TokenVerifier, claims: dict[str, str]
) -> None:
    assert await refusal(verifier, signed(key, issuer.key_id, **claims)) == "token_invalid"


async def test_garbage_is_refused_without_quoting_it(verifier: TokenVerifier) -> None:
    with pytest.raises(Unauthenticated) as refused:
        await verifier.verify(f"not.a.token-{PERSON}")
    assert refused.value.code == "token_invalid"
    assert PERSON not in f"{refused.value!r} {refused.value} {refused.value.detail}"


def test_the_dev_issuer_refuses_an_applicant_with_an_invalid_identity_number(issuer: DevIssuer) -> None:
    wrong = PERSON[:-1] + ("1" if PERSON[-1] != "1" else "2")
    with pytest.raises(ValidationFailed) as refused:
        issuer.issue("applicant", "c-1", {"id_number": wrong})
    assert refused.value.status == 422
    assert [(e.field, e.code) for e in refused.value.errors] == [("claims.id_number", "id_check_digit")]
    assert wrong not in str([e.message for e in refused.value.errors])


def test_the_dev_issuer_refuses_unknown_roles_missing_claims_and_foreign_claims(issuer: DevIssuer) -> None:
    for role, claims, expected in [
        ("root", {}, ("role", "unknown_role")),
        ("reviewer", {}, ("claims.region", "claim_required")),
        ("card_centre", {}, ("claims.region", "claim_required")),
        ("admin", {"exp": "9999999999"}, ("claims.exp", "unknown_claim")),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            issuer.issue(role, "s-1", claims)
        assert expected in [(e.field, e.code) for e in refused.value.errors]


def test_a_principal_repr_hides_the_identity_number() -> None:
    principal = Principal(subject="c-1", role="applicant", id_number=PERSON)
    assert PERSON not in repr(principal)
    assert PERSON[:4] in repr(principal)
    assert "c-1" in repr(principal)


@pytest.fixture
def provider() -> Iterator[LocalOidcProvider]:
    """A real OIDC provider over HTTP (discovery and a JWKS), whose keys rotate."""
    running = LocalOidcProvider()
    yield running
    running.close()


async def test_keys_are_fetched_over_http_cached_and_a_rotated_key_is_picked_up(
    provider: LocalOidcProvider,
) -> None:
    verifier = TokenVerifier(
        jwks_url=provider.url + "/jwks.json", issuer=provider.url, refresh_cooldown_seconds=0
    )
    old_kid, signed_by_old = provider.current_kid, provider.token("admin", "a-0")
    assert (await verifier.verify(provider.token("admin", "a-1"))).subject == "a-1"
    assert (await verifier.verify(provider.token("admin", "a-2"))).subject == "a-2"
    assert provider.fetches.count("/jwks.json") == 1, "the key set is cached"

    provider.rotate()  # a new key with a new kid
    provider.retire(old_kid)
    assert (await verifier.verify(provider.token("admin", "a-3"))).subject == "a-3"
    assert provider.fetches.count("/jwks.json") == 2
    assert await refusal(verifier, signed_by_old) == "token_invalid", "a retired key still signs in"


async def test_an_unknown_kid_refetches_at_most_once_per_cooldown(provider: LocalOidcProvider) -> None:
    verifier = TokenVerifier(
        jwks_url=provider.url + "/jwks.json", issuer=provider.url, refresh_cooldown_seconds=60
    )
    await verifier.verify(provider.token("admin", "a-1"))
    for number in range(5):
        stranger = provider.token("admin", "x", kid=f"kid-{number}", key=generate_private_key(65537, 2048))
        assert await refusal(verifier, stranger) == "token_invalid"
    assert provider.fetches.count("/jwks.json") == 1


async def test_the_oidc_issuer_is_discovered_and_its_iss_is_required(provider: LocalOidcProvider) -> None:
    verifier = TokenVerifier(oidc_issuer=provider.url)
    principal = await verifier.verify(provider.token("reviewer", "r-1", region="330502"))
    assert principal.region == "330502"
    assert provider.fetches.count("/.well-known/openid-configuration") == 1
    other_issuer = provider.token("admin", "a-1", issuer="https://id.elsewhere.cn")
    assert await refusal(verifier, other_issuer) == "token_invalid"
    dev_issuer = provider.token("admin", "a-1", issuer="dcert-dev")
    assert await refusal(verifier, dev_issuer) == "token_invalid"


async def test_an_unreachable_key_server_is_a_503_not_a_sign_in_failure(provider: LocalOidcProvider) -> None:
    url = provider.url + "/jwks.json"
    token = provider.token("admin", "a-1")
    provider.close()
    with pytest.raises(ServiceUnavailable):
        await TokenVerifier(jwks_url=url, timeout_seconds=1).verify(token)


def make_app(issuer: DevIssuer) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.state.token_verifier = TokenVerifier(jwks=issuer.jwks())
    app.include_router(dev_auth_router(issuer))

    @app.get("/v1/me")
    async def me(principal: CurrentPrincipal) -> dict[str, str | None]:
        return {"role": principal.role, "subject": principal.subject}

    @app.get("/v1/admin-only")
    async def admin_only(principal: Annotated[Principal, Depends(require_role("admin"))]) -> dict[str, str]:
        return {"subject": principal.subject}

    return app


@pytest.fixture
async def client(issuer: DevIssuer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=make_app(issuer)), base_url="http://test"
    ) as http:
        yield http


async def token_from(client: httpx.AsyncClient, body: dict[str, Any]) -> str:
    answer = await client.post("/v1/dev/tokens", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["token_type"] == "Bearer"
    assert answer.json()["expires_in"] == body.get("expires_in", 3600)
    return str(answer.json()["access_token"])


async def test_a_dev_token_from_the_endpoint_opens_the_api(client: httpx.AsyncClient) -> None:
    token = await token_from(client, {"role": "applicant", "subject": "c-1", "claims": {"id_number": PERSON}})
    answer = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.json() == {"role": "applicant", "subject": "c-1"}


async def test_the_dev_endpoint_refuses_an_invalid_identity_number_without_echoing_it(
    client: httpx.AsyncClient,
) -> None:
    wrong = PERSON[:-1] + ("1" if PERSON[-1] != "1" else "2")
    answer = await client.post(
        "/v1/dev/tokens", json={"role": "applicant", "subject": "c", "claims": {"id_number": wrong}}
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in answer.json()["errors"]] == ["claims.id_number"]
    assert wrong not in answer.text


async def test_the_dev_jwks_verifies_the_dev_tokens(client: httpx.AsyncClient) -> None:
    jwks = (await client.get("/v1/dev/jwks.json")).json()
    token = await token_from(client, {"role": "admin", "subject": "a-1", "claims": {}})
    assert (await TokenVerifier(jwks=jwks).verify(token)).role == "admin"
    assert "d" not in jwks["keys"][0], "the private part never leaves"


async def test_a_request_without_a_token_is_a_401_problem(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Basic dXNlcjpwdw=="}, {"Authorization": "Bearer "}):
        answer = await client.get("/v1/me", headers=headers)
        assert answer.status_code == 401
        assert answer.json()["code"] == "token_missing"


async def test_an_expired_dev_token_is_a_401_token_expired_problem(client: httpx.AsyncClient) -> None:
    token = await token_from(client, {"role": "admin", "subject": "a-1", "expires_in": -120})
    answer = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert (answer.status_code, answer.json()["code"]) == (401, "token_expired")


async def test_a_role_that_is_not_allowed_is_a_403_problem(client: httpx.AsyncClient) -> None:
    doctor = await token_from(client, {"role": "doctor", "subject": "d-1", "claims": {"doctor_id": "doc-1"}})
    admin = await token_from(client, {"role": "admin", "subject": "a-1"})
    refused = await client.get("/v1/admin-only", headers={"Authorization": f"Bearer {doctor}"})
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    allowed = await client.get("/v1/admin-only", headers={"Authorization": f"Bearer {admin}"})
    assert allowed.json() == {"subject": "a-1"}
