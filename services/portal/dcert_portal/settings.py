"""Settings of the portal: where the four services are, the session cookie's secret.

Environment: `DCERT_PORTAL_*` (`DCERT_PORTAL_CERTIFICATE_URL`, ..., `DCERT_PORTAL_SESSION_SECRET`,
`DCERT_PORTAL_OIDC_ISSUER`, `DCERT_PORTAL_OIDC_CLIENT_ID`, `DCERT_PORTAL_PUBLIC_URL`) and `DCERT_ENV`
as every service reads it; unset, it is `production` (`make run` sets `embedded`). Outside
production the session secret falls back to a development value named as such; production
refuses to start without one of its own.
"""

from __future__ import annotations

from typing import Final, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SESSION_SECRET: Final = "dcert-portal-development-session-secret-not-for-production"
MIN_SESSION_SECRET_BYTES: Final = 32


class PortalSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DCERT_PORTAL_", extra="ignore", validate_by_name=True, validate_by_alias=True
    )

    environment: Literal["embedded", "test", "production"] = Field(
        default="production", validation_alias=AliasChoices("DCERT_ENV", "DCERT_PORTAL_ENV")
    )
    certificate_url: str = "http://127.0.0.1:8001"
    assessment_url: str = "http://127.0.0.1:8002"
    benefits_url: str = "http://127.0.0.1:8003"
    notification_url: str = "http://127.0.0.1:8004"
    session_secret: SecretStr | None = None
    # A development token lives an hour (dcert_shared.auth); the cookie no longer.
    session_max_age_seconds: int = Field(default=3600, ge=60, le=86_400)
    request_timeout_seconds: float = Field(default=15.0, gt=0)
    # Production sign-in: the OIDC authorization code flow with PKCE against this issuer (the
    # same one whose tokens the services take, DCERT_AUTH_OIDC_ISSUER). Without it, the
    # development sign-in page (embedded and test runs only).
    oidc_issuer: str | None = None
    oidc_client_id: str = "dcert-portal"
    # A confidential client's secret, where the provider registered one; PKCE is used always.
    oidc_client_secret: SecretStr | None = None
    # The address people reach the portal at (https://... in production), the only base of the
    # redirect URI the provider knows (never the request's Host header): required with an issuer.
    public_url: str | None = None

    @model_validator(mode="after")
    def _secret_in_production(self) -> PortalSettings:
        secret = self.session_secret.get_secret_value() if self.session_secret else None
        if self.environment == "production" and secret is None:
            raise ValueError(
                "DCERT_PORTAL_SESSION_SECRET is required in production (openssl rand -base64 48)"
            )
        if self.environment == "production" and not self.oidc_issuer:
            raise ValueError(
                "DCERT_PORTAL_OIDC_ISSUER is required in production (sign-in through the identity provider)"
            )
        if secret is not None and len(secret.encode()) < MIN_SESSION_SECRET_BYTES:
            raise ValueError(f"DCERT_PORTAL_SESSION_SECRET: at least {MIN_SESSION_SECRET_BYTES} bytes")
        return self

    @model_validator(mode="after")
    def _public_url_for_sign_in(self) -> PortalSettings:
        """The sign-in's redirect URI is built from `public_url` alone: a Host header chosen by
        whoever sends the request must not decide where the provider sends the code."""
        needed = self.environment == "production" or self.oidc_issuer
        if needed and not self.public_url:
            raise ValueError(
                "DCERT_PORTAL_PUBLIC_URL is required in production and with an OIDC issuer"
                " (the address people reach the portal at, https://...)"
            )
        if self.public_url is not None:
            parts = urlsplit(self.public_url)
            schemes = ("https",) if self.environment == "production" else ("https", "http")
            if parts.scheme not in schemes or not parts.hostname or parts.query or parts.fragment:
                raise ValueError(
                    "DCERT_PORTAL_PUBLIC_URL must be an absolute "
                    + ("https" if self.environment == "production" else "http(s)")
                    + " URL without query or fragment"
                )
        return self

    @property
    def secret(self) -> str:
        if self.session_secret is not None:
            return self.session_secret.get_secret_value()
        return DEVELOPMENT_SESSION_SECRET

    @property
    def secure_cookies(self) -> bool:
        """Production is served over HTTPS only; embedded and test runs over plain loopback."""
        return self.environment == "production"
