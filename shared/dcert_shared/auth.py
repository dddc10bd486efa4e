"""Bearer tokens: verification against a JWKS (an OIDC issuer in production), and the development issuer.

Roles and their claims (docs/api.md, roles): `applicant` (`id_number`), `reviewer` (`region`), `doctor`
(`doctor_id`), `partner` (`partner_id`), `admin`, `card_centre` (`region`: it acts for that
province). Only asymmetric signatures (EdDSA, RS256, ES256) are accepted. The development issuer
is mounted only where `DCERT_DEV_AUTH=1`, which production settings refuse.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal, cast, get_args

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from .errors import Bilingual, FieldError, Forbidden, ServiceUnavailable, Unauthenticated, ValidationFailed
from .ids import (
    IDENTITY_NUMBER_JSON_SCHEMA,
    REGION_CODE_JSON_SCHEMA,
    IdentityNumber,
    InvalidIdentityNumber,
    InvalidRegionCode,
    RegionCode,
    mask,
)

log = logging.getLogger(__name__)

Role = Literal["applicant", "reviewer", "doctor", "partner", "admin", "card_centre"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)
ALGORITHMS: Final = ("EdDSA", "RS256", "ES256")
DEV_ISSUER: Final = "dcert-dev"
CLAIM_NAMES: Final = ("id_number", "region", "doctor_id", "partner_id")
REQUIRED_CLAIM: Final[Mapping[str, str]] = {
    "applicant": "id_number",
    "reviewer": "region",
    "doctor": "doctor_id",
    "partner": "partner_id",
    # A card centre acts for the province of its region only: without it, it would see every card.
    "card_centre": "region",
}
MAX_DEV_TTL_SECONDS: Final = 86_400
_MAX_TOKEN_LENGTH: Final = 8192
_MAX_CLAIM_LENGTH: Final = 200


class TokenMissing(Unauthenticated):
    code = "token_missing"


class TokenExpired(Unauthenticated):
    code = "token_expired"


class TokenInvalid(Unauthenticated):
    code = "token_invalid"


@dataclass(frozen=True, repr=False)
class Principal:
    """Who is calling, from a verified token; `id_number` is normalised (upper-case X)."""

    subject: str
    role: Role
    id_number: str | None = None
    region: str | None = None
    doctor_id: str | None = None
    partner_id: str | None = None

    def __repr__(self) -> str:
        id_number = mask(self.id_number) if self.id_number else None
        return (
            f"Principal(role={self.role!r}, subject={self.subject!r}, id_number={id_number!r}, "
            f"region={self.region!r}, doctor_id={self.doctor_id!r}, partner_id={self.partner_id!r})"
        )


class ClaimsRefused(Exception):
    """The claims do not describe a principal; `errors` say which claim and why (no values)."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(", ".join(f"{error.field}:{error.code}" for error in errors))
        self.errors = errors


def _claim_error(field: str, code: str, **params: object) -> FieldError:
    return FieldError(field=field, code=code, message=Bilingual.catalogued(f"field.{code}", **params))


def _normalised_claim(name: str, value: object) -> tuple[str | None, FieldError | None]:
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_CLAIM_LENGTH:
        return None, _claim_error(name, "claim_invalid")
    try:
        if name == "id_number":
            return IdentityNumber.parse(value).value, None
        if name == "region":
            return RegionCode.parse(value).value, None
    except (InvalidIdentityNumber, InvalidRegionCode) as error:
        return None, FieldError(field=name, code=error.code, message=Bilingual.title_of(error))
    return value.strip(), None


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """The principal a token's claims describe; raises ClaimsRefused listing every faulty claim."""
    errors: list[FieldError] = []
    role = claims.get("role")
    if role not in ROLES:
        errors.append(_claim_error("role", "unknown_role", roles=", ".join(ROLES)))
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip() or len(subject) > _MAX_CLAIM_LENGTH:
        errors.append(_claim_error("subject", "claim_invalid"))
    values: dict[str, str | None] = {}
    for name in CLAIM_NAMES:
        if claims.get(name) is None:
            values[name] = None
            continue
        values[name], error = _normalised_claim(name, claims[name])
        errors.extend([error] if error else [])
    required = REQUIRED_CLAIM.get(str(role))
    if required is not None and claims.get(required) is None:
        errors.append(_claim_error(required, "claim_required"))
    if errors:
        raise ClaimsRefused(errors)
    return Principal(
        subject=str(subject).strip(),
        role=cast(Role, role),
        id_number=values["id_number"],
        region=values["region"],
        doctor_id=values["doctor_id"],
        partner_id=values["partner_id"],
    )


class TokenVerifier:
    """Checks a bearer token: asymmetric signature by a known key, exp/nbf/iat, aud, iss, role claims.

    Keys come from `jwks` (a static set), `jwks_url`, or the `jwks_uri` of `oidc_issuer`'s discovery
    document. Remote key sets are cached; a token with an unknown `kid` refetches the set (key
    rotation), at most once per `refresh_cooldown_seconds`.
    """

    def __init__(
        self,
        jwks_url: str | None = None,
        oidc_issuer: str | None = None,
        audience: str = "dcert",
        issuer: str | None = None,
        leeway_seconds: int = 30,
        *,
        jwks: Mapping[str, Any] | None = None,
        refresh_cooldown_seconds: float = 5.0,
        timeout_seconds: float = 5.0,
    ) -> None:
        self.audience = audience
        self.issuer = issuer
        self.leeway_seconds = leeway_seconds
        self._jwks_url = jwks_url
        self._oidc_issuer = oidc_issuer
        self._discovered_issuer: str | None = None
        self._static = jwt.PyJWKSet.from_dict(dict(jwks)) if jwks is not None else None
        self._cooldown = refresh_cooldown_seconds
        self._timeout = timeout_seconds
        self._client: jwt.PyJWKClient | None = None
        self._discovery_lock = asyncio.Lock()
        if jwks is None and jwks_url is None and oidc_issuer is None:
            log.warning("no token key source configured: every bearer token will be refused")

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token; raises Unauthenticated (never quoting the token)."""
        if not token or len(token) > _MAX_TOKEN_LENGTH:
            raise TokenInvalid()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenInvalid() from None
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in ALGORITHMS or not (kid is None or isinstance(kid, str)):
            raise TokenInvalid()
        key = await self._key(kid)
        if key.algorithm_name != algorithm:
            raise TokenInvalid()
        claims = self._decode(token, key, algorithm)
        try:
            return principal_from_claims(claims)
        except ClaimsRefused:
            raise TokenInvalid() from None

    def _decode(self, token: str, key: jwt.PyJWK, algorithm: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self._expected_issuer(),
                leeway=self.leeway_seconds,
                options={"require": ["exp", "iat", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenExpired() from None
        except jwt.PyJWTError:
            raise TokenInvalid() from None
        return claims

    def _expected_issuer(self) -> str | None:
        return self.issuer or self._discovered_issuer or self._oidc_issuer

    async def _key(self, kid: str | None) -> jwt.PyJWK:
        if self._static is not None:
            return _matching_key(list(self._static.keys), kid)
        client = await self._jwk_client()
        try:
            return await asyncio.to_thread(_remote_key, client, kid)
        except jwt.PyJWKClientConnectionError:
            log.warning("the token key set could not be fetched from %s", client.uri)
            raise ServiceUnavailable(
                detail=Bilingual("无法获取登录签名密钥", "the sign-in keys cannot be fetched")
            ) from None
        except jwt.PyJWTError:
            raise TokenInvalid() from None

    async def _jwk_client(self) -> jwt.PyJWKClient:
        async with self._discovery_lock:
            if self._client is None:
                url = self._jwks_url or await self._discover_jwks_uri()
                self._client = jwt.PyJWKClient(
                    url,
                    cache_jwk_set=True,
                    lifespan=300,
                    timeout=self._timeout,
                    cooldown_duration=self._cooldown,
                )
            return self._client

    async def _discover_jwks_uri(self) -> str:
        if self._oidc_issuer is None:
            raise TokenInvalid(detail=Bilingual("未配置令牌密钥来源", "no key source configured"))
        url = f"{self._oidc_issuer.rstrip('/')}/.well-known/openid-configuration"
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                answer = await http.get(url)
                answer.raise_for_status()
                document = answer.json()
        except (httpx.HTTPError, ValueError):
            log.warning("the OIDC discovery document could not be read from %s", url)
            raise ServiceUnavailable(
                detail=Bilingual("无法连接统一身份认证服务", "the sign-in provider cannot be reached")
            ) from None
        jwks_uri = document.get("jwks_uri") if isinstance(document, dict) else None
        if not isinstance(jwks_uri, str):
            raise ServiceUnavailable(
                detail=Bilingual(
                    "统一身份认证服务未公布签名密钥", "the sign-in provider publishes no key set"
                )
            )
        # OIDC Discovery 1.0 §4.3: `issuer` is exactly what its tokens carry as `iss`.
        issuer = document.get("issuer")
        if not isinstance(issuer, str) or issuer.rstrip("/") != self._oidc_issuer.rstrip("/"):
            log.warning("the OIDC discovery document at %s names another issuer", url)
            raise ServiceUnavailable(
                detail=Bilingual("统一身份认证服务配置有误", "the sign-in provider is misconfigured")
            )
        self._discovered_issuer = issuer
        return jwks_uri


def _matching_key(keys: list[jwt.PyJWK], kid: str | None) -> jwt.PyJWK:
    if kid is None:
        if len(keys) == 1:
            return keys[0]
        raise TokenInvalid()
    for key in keys:
        if key.key_id == kid:
            return key
    raise TokenInvalid()


def _remote_key(client: jwt.PyJWKClient, kid: str | None) -> jwt.PyJWK:
    """Blocking (urllib): run in a thread. An unknown kid refetches the set, after the cooldown."""
    if kid is None:
        return _matching_key(client.get_signing_keys(), None)
    return client.get_signing_key(kid)


# Declares the scheme in the OpenAPI document; the header itself is read by `bearer_principal`.
_BEARER = HTTPBearer(auto_error=False, description="A JWT from the OIDC issuer (or /v1/dev/tokens)")


async def bearer_principal(
    request: Request, _credentials: HTTPAuthorizationCredentials | None = Security(_BEARER)
) -> Principal:
    """The caller, from `Authorization: Bearer <JWT>`, checked by `app.state.token_verifier`."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenMissing()
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = await verifier.verify(token.strip())
    # Every authenticated route counts against the caller's own limit (dcert_shared.rate_limits),
    # once per request; an app built without a limiter (a unit test's) has none.
    limiter = getattr(request.app.state, "rate_limiter", None)
    if limiter is not None and getattr(request.state, "principal", None) is None:
        await limiter.admit_subject(principal.role, principal.subject)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(bearer_principal)]


def require_role(*roles: Role) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    """A dependency admitting only these roles: `Annotated[Principal, Depends(require_role("admin"))]`."""
    allowed = frozenset(roles)

    async def principal_with_role(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            raise Forbidden.needing(allowed)
        return principal

    return principal_with_role


class DevIssuer:
    """Signs development tokens (EdDSA) with a key pair made at construction; embedded runs only."""

    def __init__(
        self,
        audience: str = "dcert",
        issuer: str = DEV_ISSUER,
        private_key: Ed25519PrivateKey | None = None,
        key_id: str | None = None,
    ) -> None:
        self.audience = audience
        self.issuer = issuer
        self._key = private_key or Ed25519PrivateKey.generate()
        self.key_id = key_id or secrets.token_hex(8)

    @classmethod
    def derived_from(cls, secret: bytes) -> DevIssuer:
        """The same key pair in every process given the same `secret` (the run's master key):
        behind a load balancer, a token one certificate process signed verifies in every
        process, whichever of them answers the key set."""
        seed = hashlib.sha256(b"dcert-development-token-issuer\x00" + secret).digest()
        return cls(
            private_key=Ed25519PrivateKey.from_private_bytes(seed),
            key_id=hashlib.sha256(b"kid\x00" + seed).hexdigest()[:16],
        )

    def issue(
        self, role: str, subject: str, claims: Mapping[str, Any] | None = None, ttl_seconds: int = 3600
    ) -> str:
        """A token for `role`; the role's claims are checked as a verifier would (422 otherwise).

        A negative `ttl_seconds` gives an already expired token, for testing clients.
        """
        claims = dict(claims or {})
        errors = [
            _claim_error(f"claims.{name}", "unknown_claim") for name in claims if name not in CLAIM_NAMES
        ]
        if not -3600 <= ttl_seconds <= MAX_DEV_TTL_SECONDS:
            errors.append(_claim_error("expires_in", "ttl_out_of_range", max_seconds=MAX_DEV_TTL_SECONDS))
        known = {name: value for name, value in claims.items() if name in CLAIM_NAMES}
        try:
            principal = principal_from_claims({**known, "role": role, "sub": subject})
        except ClaimsRefused as refused:
            raise ValidationFailed(errors=[*errors, *map(_as_request_field, refused.errors)]) from None
        if errors:
            raise ValidationFailed(errors=errors)
        now = int(time.time())
        issued = min(now, now + ttl_seconds - 60)
        payload = {
            **{
                name: getattr(principal, name) for name in CLAIM_NAMES if getattr(principal, name) is not None
            },
            "sub": principal.subject,
            "role": principal.role,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": issued,
            "nbf": issued,
            "exp": now + ttl_seconds,
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(payload, self._key, algorithm="EdDSA", headers={"kid": self.key_id})

    def jwks(self) -> dict[str, Any]:
        """The public key set (RFC 7517) that verifies this issuer's tokens."""
        public = jwt.algorithms.OKPAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": self.key_id, "use": "sig", "alg": "EdDSA"}]}


def _as_request_field(error: FieldError) -> FieldError:
    """A claim's error as a field of the token request body."""
    if error.field in ("role", "subject"):
        return error
    return FieldError(field=f"claims.{error.field}", code=error.code, message=error.message)


# A claim is text with something in it besides white space (`principal_from_claims`).
_CLAIM_JSON_SCHEMA: Final[dict[str, Any]] = {
    "type": "string",
    "pattern": r"\S",
    "maxLength": _MAX_CLAIM_LENGTH,
}
_CLAIMS_JSON_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {
        "id_number": IDENTITY_NUMBER_JSON_SCHEMA,
        "region": REGION_CODE_JSON_SCHEMA,
        "doctor_id": _CLAIM_JSON_SCHEMA,
        "partner_id": _CLAIM_JSON_SCHEMA,
    },
    "additionalProperties": False,
}
# Each role with the claim it needs (REQUIRED_CLAIM), as the OpenAPI document states it.
_ROLE_CLAIMS_JSON_SCHEMA: Final[list[Any]] = [
    {
        "if": {"properties": {"role": {"const": role}}},
        "then": {"required": ["claims"], "properties": {"claims": {"required": [claim]}}},
    }
    for role, claim in REQUIRED_CLAIM.items()
]


def _no_boolean(value: Any) -> Any:
    """pydantic reads true as 1; the document says integer."""
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


class DevTokenRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"allOf": _ROLE_CLAIMS_JSON_SCHEMA})

    role: str = Field(
        max_length=40,
        description="applicant, reviewer, doctor, partner, admin or card_centre",
        json_schema_extra={"enum": list(ROLES)},
    )
    subject: str = Field(min_length=1, max_length=_MAX_CLAIM_LENGTH, json_schema_extra=_CLAIM_JSON_SCHEMA)
    claims: dict[str, str] = Field(default_factory=dict, max_length=10, json_schema_extra=_CLAIMS_JSON_SCHEMA)
    # A negative lifetime gives an already expired token, for testing clients' handling of it.
    expires_in: Annotated[int, BeforeValidator(_no_boolean)] = Field(
        default=3600, ge=-3600, le=MAX_DEV_TTL_SECONDS
    )


class DevToken(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int


def dev_auth_router(issuer: DevIssuer) -> APIRouter:
    """`POST /v1/dev/tokens` and `GET /v1/dev/jwks.json`; mount only when DCERT_DEV_AUTH=1."""
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
