"""Bearer tokens: verification against a JWKS (OIDC in production), and the development issuer.

Roles and claims follow API.md: `applicant` (`id_number`), `reviewer` (`region`), `doctor`
(`doctor_id`), `partner` (`partner_id`), `admin`, `card_centre` (`region`). The development
issuer exists only where `DCERT_DEV_AUTH=1`, which production settings refuse.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import urllib.request
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from .ids import IdentityNumber, InvalidIdentityNumber, InvalidRegionCode, RegionCode
from .problems import FieldError, Forbidden, Unauthenticated, ValidationFailed

ROLES = ("applicant", "reviewer", "doctor", "partner", "admin", "card_centre")
ALGORITHMS = ["EdDSA", "RS256", "ES256"]
DEV_ISSUER = "dcert-dev"


class TokenExpired(Unauthenticated):
    code = "token_expired"
    title_zh = "登录已过期，请重新登录"
    title_en = "The sign-in has expired; please sign in again"


class TokenInvalid(Unauthenticated):
    code = "token_invalid"
    title_zh = "登录凭证无效"
    title_en = "The sign-in token is not valid"


class TokenMissing(Unauthenticated):
    code = "token_missing"
    title_zh = "请先登录"
    title_en = "Please sign in"


@dataclass(frozen=True)
class Principal:
    """Who is calling, from the verified token."""

    subject: str
    role: str
    id_number: str | None = None
    region: str | None = None
    doctor_id: str | None = None
    partner_id: str | None = None

    def __repr__(self) -> str:
        return f"Principal(role={self.role!r}, subject={self.subject!r}, region={self.region!r})"


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """The principal a set of claims describes; raises ValueError when the role's claims are missing."""
    role = claims.get("role")
    if role not in ROLES:
        raise ValueError("role")
    subject = str(claims.get("sub") or "")
    if not subject:
        raise ValueError("sub")
    id_number = claims.get("id_number")
    region = claims.get("region")
    if role == "applicant":
        id_number = IdentityNumber.parse(str(id_number or "")).value
    if role in ("reviewer", "card_centre"):
        region = RegionCode.parse(str(region or "")).value
    if role == "doctor" and not claims.get("doctor_id"):
        raise ValueError("doctor_id")
    if role == "partner" and not claims.get("partner_id"):
        raise ValueError("partner_id")
    return Principal(
        subject=subject,
        role=role,
        id_number=id_number,
        region=region,
        doctor_id=claims.get("doctor_id"),
        partner_id=claims.get("partner_id"),
    )


class TokenVerifier:
    """Verifies bearer tokens: signature (asymmetric only), exp, nbf, iat, aud, iss, role claims."""

    def __init__(
        self,
        jwks_url: str | None = None,
        oidc_issuer: str | None = None,
        audience: str = "dcert",
        issuer: str | None = None,
        leeway_seconds: int = 30,
        jwks: dict[str, Any] | None = None,
    ) -> None:
        self.audience = audience
        self.issuer = issuer or oidc_issuer
        self.leeway_seconds = leeway_seconds
        self._oidc_issuer = oidc_issuer
        self._jwks_url = jwks_url
        self._static = jwt.PyJWKSet.from_dict(jwks) if jwks is not None else None
        self._client: jwt.PyJWKClient | None = None

    def _jwk_client(self) -> jwt.PyJWKClient:
        if self._client is None:
            url = self._jwks_url
            if url is None and self._oidc_issuer:
                discovery = f"{self._oidc_issuer.rstrip('/')}/.well-known/openid-configuration"
                with urllib.request.urlopen(discovery, timeout=5) as answer:
                    url = json.loads(answer.read())["jwks_uri"]
            if url is None:
                raise TokenInvalid(detail="no key source configured")
            self._client = jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=5)
        return self._client

    def _signing_key(self, token: str) -> Any:
        if self._static is not None:
            kid = jwt.get_unverified_header(token).get("kid")
            for key in self._static.keys:
                if key.key_id == kid:
                    return key.key
            raise TokenInvalid()
        # Unknown kid: PyJWKClient fetches the JWKS again, which is how key rotation arrives.
        return self._jwk_client().get_signing_key_from_jwt(token).key

    async def verify(self, token: str) -> Principal:
        try:
            key = await asyncio.to_thread(self._signing_key, token)
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_seconds,
                options={"require": ["exp", "iat", "sub"]},
            )
            return principal_from_claims(claims)
        except jwt.ExpiredSignatureError:
            raise TokenExpired() from None
        except (jwt.PyJWTError, ValueError, InvalidIdentityNumber, InvalidRegionCode, OSError):
            raise TokenInvalid() from None


async def bearer_principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenMissing()
    verifier: TokenVerifier = request.app.state.token_verifier
    return await verifier.verify(token.strip())


CurrentPrincipal = Annotated[Principal, Depends(bearer_principal)]


def require_role(*roles: str) -> Any:
    """A dependency that admits only these roles."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise Forbidden()
        return principal

    return Depends(check)


class DevIssuer:
    """Signs development tokens with a key pair generated at start (embedded runs only)."""

    def __init__(self, audience: str = "dcert") -> None:
        self.audience = audience
        self._key = Ed25519PrivateKey.generate()
        self.key_id = secrets.token_hex(8)

    def issue(
        self, role: str, subject: str, claims: dict[str, Any] | None = None, ttl_seconds: int = 3600
    ) -> str:
        now = int(time.time())
        payload = {
            **(claims or {}),
            "sub": subject,
            "role": role,
            "iss": DEV_ISSUER,
            "aud": self.audience,
            "iat": min(now, now + ttl_seconds - 60),
            "nbf": min(now, now + ttl_seconds - 60),
            "exp": now + ttl_seconds,
        }
        try:
            principal_from_claims(payload)
        except (ValueError, InvalidIdentityNumber, InvalidRegionCode) as error:
            field = (
                str(error)
                if isinstance(error, ValueError)
                else ("id_number" if role == "applicant" else "region")
            )
            raise ValidationFailed(
                errors=[
                    FieldError(
                        field=f"claims.{field}",
                        code="invalid_claim",
                        message=f"role {role} needs a valid {field}",
                    )
                ]
            ) from None
        return jwt.encode(payload, self._key, algorithm="EdDSA", headers={"kid": self.key_id})

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(self._key.public_key()))
        return {"keys": [{**public, "kid": self.key_id, "use": "sig", "alg": "EdDSA"}]}


class DevTokenRequest(BaseModel):
    role: str = Field(pattern="^(" + "|".join(ROLES) + ")$")
    subject: str = Field(min_length=1, max_length=100)
    claims: dict[str, str] = {}
    # A negative lifetime gives an already expired token, for testing clients' handling of it.
    expires_in: int = Field(default=3600, ge=-3600, le=86_400)


class DevToken(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int


def dev_auth_router(issuer: DevIssuer) -> APIRouter:
    router = APIRouter(prefix="/v1/dev", tags=["development sign-in"])

    @router.post("/tokens", response_model=DevToken)
    async def issue_token(body: DevTokenRequest) -> DevToken:
        """Development only (DCERT_DEV_AUTH=1): a token for any role, for trying the API."""
        token = issuer.issue(body.role, body.subject, body.claims, ttl_seconds=body.expires_in)
        return DevToken(access_token=token, expires_in=body.expires_in)

    @router.get("/jwks.json")
    async def jwks() -> dict[str, Any]:
        return issuer.jwks()

    return router
