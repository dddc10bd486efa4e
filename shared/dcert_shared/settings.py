"""Typed settings every service extends; production fails fast, naming each missing secret.

Environment: `DATABASE_URL` and `NATS_URL` as they are, `DCERT_*` for the rest (`DCERT_ENV`,
`DCERT_SERVICE_NAME`, `DCERT_DEV_AUTH`, `DCERT_IDENTITY_HASH_KEY`, `DCERT_AUTH_OIDC_ISSUER`, ...).
Unset, `DCERT_ENV` is `production`: a deployment that forgot it fails fast on what it lacks
rather than running with development keys. `make run` on embedded servers sets `embedded` (and
the tests `test`), which allow development sign-in and development keys named as such.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import date
from ipaddress import IPv4Network, IPv6Network
from typing import Final, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, IPvAnyNetwork, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .access_log import RETENTION_FLOOR_DAYS
from .pruning import Retention
from .working_days import WorkingCalendar

# Only for embedded and test runs: a real deployment must set DCERT_IDENTITY_HASH_KEY.
DEVELOPMENT_IDENTITY_HASH_KEY: Final = "dcert-development-identity-hash-key-not-for-production"
MIN_IDENTITY_HASH_KEY_BYTES: Final = 32
# Likewise DCERT_MASTER_KEY, which wraps every person's data key (dcert_shared.vault).
DEVELOPMENT_MASTER_KEY: Final = hashlib.sha256(b"dcert-development-master-key-not-for-production").digest()


class ServiceSettings(BaseSettings):
    """What every service needs; a service subclasses it and sets its `service_name` default."""

    model_config = SettingsConfigDict(
        env_prefix="DCERT_", extra="ignore", validate_by_name=True, validate_by_alias=True
    )

    service_name: str
    environment: Literal["embedded", "test", "production"] = Field(
        default="production", validation_alias=AliasChoices("DCERT_ENV", "DCERT_ENVIRONMENT")
    )
    database_url: str = Field(validation_alias=AliasChoices("DATABASE_URL", "DCERT_DATABASE_URL"))
    database_schema: str = "public"
    nats_url: str = Field(validation_alias=AliasChoices("NATS_URL", "DCERT_NATS_URL"))
    # The certificate authority of a `tls://` NATS_URL's server, when the system does not trust it.
    nats_ca_file: str | None = None
    # Prefix of subjects and stream names, so that tests sharing a NATS server stay apart.
    nats_prefix: str = ""
    stream_max_bytes: int | None = None
    # Replicas of each stream the service makes (3 on a NATS cluster); a start never lowers
    # what an operator raised.
    stream_replicas: int = Field(default=1, ge=1, le=5)
    # The retry ladder of an event whose handler fails (outages are waited out, uncounted):
    # after `consumer_max_attempts` tries it is a dead letter that holds its lane.
    consumer_retry_delays_seconds: list[float] = Field(
        default_factory=lambda: [1.0, 5.0, 30.0, 120.0, 600.0], min_length=1
    )
    consumer_max_attempts: int = Field(default=6, ge=1)
    consumer_ack_wait_seconds: float = Field(default=60, ge=1)
    # An event that needs an earlier one of another stream waits for it this long, uncounted.
    consumer_dependency_wait_seconds: float = Field(default=600, ge=0)
    # /health/ready fails when a relay or consumer is further behind than this.
    ready_max_lag_seconds: float = Field(default=300, gt=0)
    # How often a standby process tries to take over a singleton loop (relay, consumer, clock).
    lease_poll_seconds: float = Field(default=1.0, gt=0)
    # Every statement's limit: a database that stopped answering is an outage, not a hang.
    database_command_timeout_seconds: float = Field(default=60, gt=0)
    # Pruning (dcert_shared.pruning), hourly: what is older than these and no longer needed.
    # Every service runs with the same values: an inbox keeps event ids longer than any other
    # service's outbox or stream could deliver them again.
    prune_interval_seconds: float = Field(default=3600, gt=0)
    outbox_retention_days: float = Field(default=30, gt=0)
    stream_retention_days: float = Field(default=30, gt=0)
    inbox_retention_days: float = Field(default=60, gt=0)
    idempotency_retention_hours: float = Field(default=7 * 24, gt=0)
    dead_letter_retention_days: float = Field(default=180, gt=0)
    dev_auth: bool = False
    auth_jwks_url: str | None = None
    auth_oidc_issuer: str | None = None
    auth_audience: str = "dcert"
    auth_issuer: str | None = None
    # Clock skew allowed on a token's exp/nbf/iat: bounded, a stolen token must not live on.
    auth_leeway_seconds: int = Field(default=30, ge=0, le=300)
    # Key of the keyed hash (HMAC-SHA256) under which identity numbers are looked up.
    identity_hash_key: SecretStr | None = None
    # Master key (32 bytes, base64) wrapping each person's data key: `openssl rand -base64 32`.
    master_key: SecretStr | None = None
    # While the master key is rotated: the keys it replaces (JSON list, base64 each), which still
    # open the data keys they wrap until `dcert keys rotate` has re-wrapped them all (docs/operations.md).
    previous_master_keys: list[SecretStr] = []
    otel_exporter_otlp_endpoint: str | None = None
    log_level: str = "INFO"
    # Hardening (dcert_shared.hardening): the largest request body, requests a minute per client
    # address on the open endpoints, and the origins a browser may call from (none: CORS closed).
    max_request_bytes: int = Field(default=1_048_576, ge=1024)
    rate_limits: dict[str, int] = Field(default_factory=lambda: {"/v1/verify": 600, "/v1/dev/tokens": 600})
    cors_origins: list[str] = []
    # Access-log rows read longer ago than this are removed daily; unset: kept for good. Never
    # under three years (PIPL; the database refuses it too: dcert_shared.access_log).
    access_log_retention_days: int | None = Field(default=None, ge=RETENTION_FLOOR_DAYS)
    # Official days the calendar package does not know yet (or corrects): holidays and the
    # weekend days worked in lieu (调休). Every service counts working days the same way.
    calendar_holidays: list[date] = []
    calendar_workdays: list[date] = []
    # Rate limits (dcert_shared.rate_limits): the proxies whose X-Forwarded-For names the client
    # (CIDRs as JSON, '["10.0.0.0/8"]'; none: the socket's peer is the client, as a direct
    # connection must be), and the requests a minute of one signed-in caller (role and subject)
    # on every authenticated route, counted across replicas; 0 turns that limit off.
    trusted_proxies: list[IPvAnyNetwork] = []
    subject_rate_limit_per_minute: int = Field(default=600, ge=0)

    def working_calendar(self) -> WorkingCalendar:
        return WorkingCalendar(self.calendar_holidays, self.calendar_workdays)

    def retention(self) -> Retention:
        return Retention(
            outbox_days=self.outbox_retention_days,
            stream_days=self.stream_retention_days,
            inbox_days=self.inbox_retention_days,
            idempotency_hours=self.idempotency_retention_hours,
            dead_letter_days=self.dead_letter_retention_days,
        )

    @model_validator(mode="after")
    def _retention_keeps_what_is_needed(self) -> ServiceSettings:
        if self.inbox_retention_days <= max(self.outbox_retention_days, self.stream_retention_days):
            raise ValueError(
                "DCERT_INBOX_RETENTION_DAYS must exceed DCERT_OUTBOX_RETENTION_DAYS and DCERT_STREAM_RETENTION_DAYS"
                " (a republished event must still be known as handled)"
            )
        return self

    @model_validator(mode="after")
    def _secrets_are_complete(self) -> ServiceSettings:
        problems = []
        key = self.identity_hash_key.get_secret_value() if self.identity_hash_key is not None else None
        if key is not None and len(key.encode()) < MIN_IDENTITY_HASH_KEY_BYTES:
            problems.append(f"DCERT_IDENTITY_HASH_KEY is shorter than {MIN_IDENTITY_HASH_KEY_BYTES} bytes")
        if self.master_key is not None and self._decoded_master_key() is None:
            problems.append("DCERT_MASTER_KEY must be 32 bytes in base64 (openssl rand -base64 32)")
        if any(_decoded_key(key) is None for key in self.previous_master_keys):
            problems.append("each of DCERT_PREVIOUS_MASTER_KEYS must be 32 bytes in base64")
        if self.previous_master_keys and self.master_key is None:
            problems.append("DCERT_PREVIOUS_MASTER_KEYS needs DCERT_MASTER_KEY, the key that replaces them")
        if self.environment == "production":
            if self.master_key is None:
                problems.append("DCERT_MASTER_KEY must be set in production")
            if self.dev_auth:
                problems.append("DCERT_DEV_AUTH must be off (0) in production")
            if not (self.auth_jwks_url or self.auth_oidc_issuer):
                problems.append("DCERT_AUTH_OIDC_ISSUER or DCERT_AUTH_JWKS_URL must be set in production")
            elif not (self.auth_oidc_issuer or self.auth_issuer):
                # Keys alone would take a token of any issuer that shares them (another
                # government system on the same identity provider).
                problems.append("DCERT_AUTH_ISSUER must be set in production beside DCERT_AUTH_JWKS_URL")
            if key is None:
                problems.append(
                    f"DCERT_IDENTITY_HASH_KEY must be set in production (at least {MIN_IDENTITY_HASH_KEY_BYTES} bytes)"
                )
            problems += _broker_problems(self.nats_url)
        if problems:
            raise ValueError(f"settings of {self.environment} are incomplete: " + "; ".join(problems))
        return self

    @property
    def identity_hash_key_bytes(self) -> bytes:
        """The keyed-hash key: the configured one, or the development key outside production."""
        if self.identity_hash_key is not None:
            return self.identity_hash_key.get_secret_value().encode()
        return DEVELOPMENT_IDENTITY_HASH_KEY.encode()

    def _decoded_master_key(self) -> bytes | None:
        assert self.master_key is not None
        return _decoded_key(self.master_key)

    @property
    def master_key_bytes(self) -> bytes:
        """The master key: the configured one, or the development key outside production."""
        if self.master_key is None:
            return DEVELOPMENT_MASTER_KEY
        key = self._decoded_master_key()
        assert key is not None, "checked when the settings were read"
        return key

    @property
    def previous_master_keys_bytes(self) -> tuple[bytes, ...]:
        """The master keys being rotated away from: they still open what they wrapped."""
        keys = tuple(_decoded_key(key) for key in self.previous_master_keys)
        assert all(key is not None for key in keys), "checked when the settings were read"
        return tuple(key for key in keys if key is not None)

    @property
    def stream_bytes(self) -> int:
        """What each stream reserves on the NATS server; test runs create many small ones."""
        if self.stream_max_bytes is not None:
            return self.stream_max_bytes
        return 16 * 1024**2 if self.environment == "test" else 1024**3

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_not_everyone(
        cls, networks: list[IPv4Network | IPv6Network]
    ) -> list[IPv4Network | IPv6Network]:
        """Trusting every address would let every client choose its own bucket."""
        if any(network.prefixlen == 0 for network in networks):
            raise ValueError("DCERT_TRUSTED_PROXIES must name the proxies, not every address (/0)")
        return networks


def _decoded_key(secret: SecretStr) -> bytes | None:
    try:
        key = base64.b64decode(secret.get_secret_value(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if len(key) == 32 else None


def _broker_problems(nats_url: str) -> list[str]:
    """Production reaches a broker on another host over TLS only: the service's NATS password and
    every event travel on that connection. A broker on the same host (a sidecar) may be plain."""
    problems = []
    for server in (part.strip() for part in nats_url.split(",") if part.strip()):
        url = urlsplit(server if "://" in server else f"nats://{server}")
        if url.scheme != "tls" and url.hostname not in _LOOPBACK:
            problems.append(f"NATS_URL must use tls:// in production (a broker at {url.hostname})")
    return problems


_LOOPBACK: Final = frozenset({"localhost", "127.0.0.1", "::1"})
