"""Production sign-in: the OIDC authorization code flow with PKCE (S256) against the identity
provider whose tokens the services take.

Authlib keeps the state, the nonce and the code verifier in the session between the redirect
and the callback, exchanges the code on the server and verifies the ID token (signature by the
provider's JWKS, issuer, audience = our client id, nonce, expiry). The access token is what the
portal sends to the services; the role and its claim come from the verified ID token, by the
same names the services read from the access token (dcert_shared.auth).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from authlib.integrations.starlette_client import (  # type: ignore[import-untyped]
    OAuth,
    OAuthError,
    StarletteOAuth2App,
)
from fastapi import Request

from dcert_shared.auth import ClaimsRefused, Principal, principal_from_claims

from .settings import PortalSettings

CALLBACK_PATH = "/sign-in/callback"


class SignInFailed(Exception):
    """The provider refused, the person cancelled, or the answer did not verify."""


@dataclass(frozen=True)
class SignedInPerson:
    principal: Principal
    access_token: str
    expires_at: float


def provider_of(settings: PortalSettings) -> StarletteOAuth2App | None:
    """The identity provider's client, or None where the development sign-in is used."""
    if not settings.oidc_issuer:
        return None
    oauth = OAuth()
    secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else None
    client: StarletteOAuth2App = oauth.register(
        "dcert",
        client_id=settings.oidc_client_id,
        client_secret=secret,
        server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={
            "scope": "openid",
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic" if secret else "none",
            "timeout": settings.request_timeout_seconds,
        },
    )
    return client


def callback_url(settings: PortalSettings) -> str:
    """From the configured public address only (settings require it with an issuer), never from
    the request's Host header, which whoever sends the request chooses."""
    assert settings.public_url, "PortalSettings require DCERT_PORTAL_PUBLIC_URL with an issuer"
    return settings.public_url.rstrip("/") + CALLBACK_PATH


async def start(provider: StarletteOAuth2App, request: Request, settings: PortalSettings) -> Any:
    """The redirect to the provider's authorization endpoint (state, nonce, code challenge)."""
    return await provider.authorize_redirect(request, callback_url(settings))


async def finish(provider: StarletteOAuth2App, request: Request, max_age_seconds: int) -> SignedInPerson:
    """The callback: the code exchanged with the verifier, the ID token verified."""
    try:
        token = await provider.authorize_access_token(request, leeway=60)
    except (OAuthError, ValueError, KeyError) as error:
        raise SignInFailed(type(error).__name__) from error
    access_token = token.get("access_token")
    if not isinstance(access_token, str):
        raise SignInFailed("no access token")
    try:
        principal = principal_from_claims(token.get("userinfo") or {})
    except ClaimsRefused as error:
        raise SignInFailed("no role for this system") from error
    expires_at = float(token.get("expires_at") or time.time() + max_age_seconds)
    return SignedInPerson(
        principal=principal,
        access_token=access_token,
        expires_at=min(expires_at, time.time() + max_age_seconds),
    )
