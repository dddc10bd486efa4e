"""Typed settings every service extends; production fails fast when a secret is missing.

Environment: `DATABASE_URL`, `NATS_URL`, and `DCERT_*` for the rest (`DCERT_ENV`,
`DCERT_DEV_AUTH`, `DCERT_IDENTITY_HASH_KEY`, ...). The embedded default is explicit:
`DCERT_ENV=embedded` (or `test`) allows development sign-in and a development hash key.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Only for embedded and test runs: a real deployment must set DCERT_IDENTITY_HASH_KEY.
DEVELOPMENT_IDENTITY_HASH_KEY = "dcert-development-identity-hash-key-not-for-production"


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DCERT_", extra="ignore", populate_by_name=True)

    service_name: str
    environment: Literal["embedded", "test", "production"] = Field(
        default="embedded", validation_alias=AliasChoices("environment", "DCERT_ENV")
    )
    database_url: str = Field(validation_alias=AliasChoices("database_url", "DATABASE_URL"))
    database_schema: str = "public"
    nats_url: str = Field(validation_alias=AliasChoices("nats_url", "NATS_URL"))
    nats_prefix: str = ""
    stream_max_bytes: int | None = None
    dev_auth: bool = False
    auth_jwks_url: str | None = None
    auth_oidc_issuer: str | None = None
    auth_audience: str = "dcert"
    auth_issuer: str | None = None
    identity_hash_key: SecretStr | None = None
    otel_exporter_otlp_endpoint: str | None = None
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _production_is_complete(self) -> ServiceSettings:
        if self.environment != "production":
            return self
        missing = []
        if self.dev_auth:
            missing.append("DCERT_DEV_AUTH must be off in production")
        if not (self.auth_jwks_url or self.auth_oidc_issuer):
            missing.append("DCERT_AUTH_OIDC_ISSUER or DCERT_AUTH_JWKS_URL")
        key = self.identity_hash_key.get_secret_value() if self.identity_hash_key else ""
        if len(key.encode()) < 32:
            missing.append("DCERT_IDENTITY_HASH_KEY (at least 32 bytes)")
        if missing:
            raise ValueError("production settings incomplete: " + "; ".join(missing))
        return self

    @property
    def identity_hash_key_bytes(self) -> bytes:
        if self.identity_hash_key is not None:
            return self.identity_hash_key.get_secret_value().encode()
        return DEVELOPMENT_IDENTITY_HASH_KEY.encode()

    @property
    def stream_bytes(self) -> int:
        """What each stream reserves on the NATS server; test runs create many small ones."""
        if self.stream_max_bytes is not None:
            return self.stream_max_bytes
        return 16 * 1024**2 if self.environment == "test" else 1024**3
