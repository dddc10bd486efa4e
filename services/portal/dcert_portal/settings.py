"""Settings of the portal: where the four services are, the session cookie's secret.

Environment: `DCERT_PORTAL_*` (`DCERT_PORTAL_CERTIFICATE_URL`, ..., `DCERT_PORTAL_SESSION_SECRET`)
and `DCERT_ENV` as every service reads it. Outside production the session secret falls back to a
development value named as such; production refuses to start without one of its own.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SESSION_SECRET: Final = "dcert-portal-development-session-secret-not-for-production"
MIN_SESSION_SECRET_BYTES: Final = 32


class PortalSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DCERT_PORTAL_", extra="ignore", validate_by_name=True, validate_by_alias=True
    )

    environment: Literal["embedded", "test", "production"] = Field(
        default="embedded", validation_alias=AliasChoices("DCERT_ENV", "DCERT_PORTAL_ENV")
    )
    certificate_url: str = "http://127.0.0.1:8001"
    assessment_url: str = "http://127.0.0.1:8002"
    benefits_url: str = "http://127.0.0.1:8003"
    notification_url: str = "http://127.0.0.1:8004"
    session_secret: SecretStr | None = None
    # A development token lives an hour (dcert_shared.auth); the cookie no longer.
    session_max_age_seconds: int = Field(default=3600, ge=60, le=86_400)
    request_timeout_seconds: float = Field(default=15.0, gt=0)

    @model_validator(mode="after")
    def _secret_in_production(self) -> PortalSettings:
        secret = self.session_secret.get_secret_value() if self.session_secret else None
        if self.environment == "production" and secret is None:
            raise ValueError(
                "DCERT_PORTAL_SESSION_SECRET is required in production (openssl rand -base64 48)"
            )
        if secret is not None and len(secret.encode()) < MIN_SESSION_SECRET_BYTES:
            raise ValueError(f"DCERT_PORTAL_SESSION_SECRET: at least {MIN_SESSION_SECRET_BYTES} bytes")
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
