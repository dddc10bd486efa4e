"""Settings come from the environment and stop a production start that lacks a secret."""

from __future__ import annotations

import base64
import json
import os

import pytest
from pydantic import ValidationError

from dcert_shared.settings import DEVELOPMENT_IDENTITY_HASH_KEY, ServiceSettings

SECRET = "a-production-key-of-more-than-32-bytes!"
MASTER_KEY = bytes(range(32))


class ExampleSettings(ServiceSettings):
    service_name: str = "example"


def from_environment() -> ExampleSettings:
    """Settings read from the environment alone, as a service starts."""
    return ExampleSettings()  # type: ignore[call-arg]  # the environment supplies the URLs


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test sets: none of the runner's DCERT_*, DATABASE_URL or NATS_URL."""
    for name in list(os.environ):
        if name.startswith("DCERT_") or name in ("DATABASE_URL", "NATS_URL", "ENVIRONMENT"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/example")
    monkeypatch.setenv("NATS_URL", "tls://nats:4222")


def test_a_start_that_names_no_environment_is_production_and_refuses_development_keys() -> None:
    with pytest.raises(ValidationError) as refused:
        from_environment()
    message = str(refused.value)
    assert "settings of production are incomplete" in message
    assert "DCERT_MASTER_KEY must be set" in message
    assert "DCERT_IDENTITY_HASH_KEY" in message


def test_an_embedded_run_needs_only_the_database_and_nats_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DCERT_ENV", "embedded")
    settings = from_environment()
    assert (settings.database_url, settings.nats_url) == ("postgresql://db/example", "tls://nats:4222")
    assert settings.environment == "embedded"
    assert (settings.database_schema, settings.nats_prefix, settings.auth_audience) == ("public", "", "dcert")
    assert settings.dev_auth is False
    assert settings.identity_hash_key_bytes == DEVELOPMENT_IDENTITY_HASH_KEY.encode()


def test_a_start_without_database_url_fails_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL")
    with pytest.raises(ValidationError, match="DATABASE_URL"):
        from_environment()


def test_production_without_its_secrets_fails_naming_each_of_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DCERT_ENV", "production")
    with pytest.raises(ValidationError) as refused:
        from_environment()
    message = str(refused.value)
    assert "DCERT_IDENTITY_HASH_KEY" in message
    assert "DCERT_MASTER_KEY must be set" in message
    assert "DCERT_AUTH_OIDC_ISSUER or DCERT_AUTH_JWKS_URL" in message
    assert "DCERT_DEV_AUTH" not in message


def test_production_refuses_development_sign_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DCERT_ENV", "production")
    monkeypatch.setenv("DCERT_DEV_AUTH", "1")
    monkeypatch.setenv("DCERT_AUTH_OIDC_ISSUER", "https://sso.example.cn")
    monkeypatch.setenv("DCERT_IDENTITY_HASH_KEY", SECRET)
    with pytest.raises(ValidationError, match="DCERT_DEV_AUTH must be off"):
        from_environment()


def test_production_with_keys_from_a_url_must_name_the_issuer_its_tokens_carry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DCERT_ENV", "production")
    monkeypatch.setenv("DCERT_AUTH_JWKS_URL", "https://sso.example.cn/keys")
    monkeypatch.setenv("DCERT_IDENTITY_HASH_KEY", SECRET)
    monkeypatch.setenv("DCERT_MASTER_KEY", base64.b64encode(MASTER_KEY).decode())
    with pytest.raises(ValidationError, match="DCERT_AUTH_ISSUER must be set"):
        from_environment()
    monkeypatch.setenv("DCERT_AUTH_ISSUER", "https://sso.example.cn")
    assert from_environment().auth_issuer == "https://sso.example.cn"


def test_production_with_its_secrets_starts_and_uses_the_configured_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DCERT_ENV", "production")
    monkeypatch.setenv("DCERT_AUTH_OIDC_ISSUER", "https://sso.example.cn")
    monkeypatch.setenv("DCERT_IDENTITY_HASH_KEY", SECRET)
    monkeypatch.setenv("DCERT_MASTER_KEY", base64.b64encode(MASTER_KEY).decode())
    settings = from_environment()
    assert settings.identity_hash_key_bytes == SECRET.encode()
    assert settings.master_key_bytes == MASTER_KEY
    assert SECRET not in repr(settings), "the secret never shows in a repr"


def test_a_short_identity_hash_key_is_refused_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DCERT_IDENTITY_HASH_KEY", "short")
    with pytest.raises(ValidationError, match="shorter than 32 bytes"):
        from_environment()


@pytest.mark.parametrize("master_key", ["not base64!", base64.b64encode(b"sixteen-byte-key").decode()])
def test_a_master_key_that_is_not_32_bytes_of_base64_is_refused(
    monkeypatch: pytest.MonkeyPatch, master_key: str
) -> None:
    monkeypatch.setenv("DCERT_MASTER_KEY", master_key)
    with pytest.raises(ValidationError, match="DCERT_MASTER_KEY must be 32 bytes"):
        from_environment()


def test_previous_master_keys_are_read_for_a_rotation_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    previous = os.urandom(32)
    monkeypatch.setenv("DCERT_ENV", "test")
    monkeypatch.setenv("DCERT_PREVIOUS_MASTER_KEYS", json.dumps([base64.b64encode(previous).decode()]))
    with pytest.raises(ValidationError, match="DCERT_PREVIOUS_MASTER_KEYS needs DCERT_MASTER_KEY"):
        from_environment()
    monkeypatch.setenv("DCERT_MASTER_KEY", base64.b64encode(MASTER_KEY).decode())
    settings = from_environment()
    assert settings.previous_master_keys_bytes == (previous,)
    assert base64.b64encode(previous).decode() not in repr(settings)
    monkeypatch.setenv("DCERT_PREVIOUS_MASTER_KEYS", '["not base64!"]')
    with pytest.raises(ValidationError, match="each of DCERT_PREVIOUS_MASTER_KEYS must be 32 bytes"):
        from_environment()


def test_the_other_settings_are_read_with_the_dcert_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "DCERT_ENV": "test",
        "DCERT_SERVICE_NAME": "certificate",
        "DCERT_DATABASE_SCHEMA": "t_abc",
        "DCERT_NATS_PREFIX": "tabc12",
        "DCERT_DEV_AUTH": "1",
        "DCERT_AUTH_JWKS_URL": "http://127.0.0.1:8001/v1/dev/jwks.json",
        "DCERT_LOG_LEVEL": "DEBUG",
    }.items():
        monkeypatch.setenv(name, value)
    settings = from_environment()
    assert (settings.environment, settings.service_name, settings.database_schema) == (
        "test",
        "certificate",
        "t_abc",
    )
    assert (settings.nats_prefix, settings.dev_auth, settings.log_level) == ("tabc12", True, "DEBUG")
    assert settings.auth_jwks_url == "http://127.0.0.1:8001/v1/dev/jwks.json"


def test_a_generic_environment_variable_is_not_taken_for_dcert_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "embedded")
    with pytest.raises(ValidationError, match="settings of production are incomplete"):
        from_environment()


def test_tests_pass_settings_by_name_instead_of_the_environment() -> None:
    settings = ExampleSettings(
        database_url="postgresql://x/y", nats_url="nats://x:1", environment="test", nats_prefix="t1"
    )
    assert (settings.database_url, settings.environment, settings.nats_prefix) == (
        "postgresql://x/y",
        "test",
        "t1",
    )


def test_production_reaches_a_broker_on_another_host_over_tls_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DCERT_ENV", "production")
    monkeypatch.setenv("DCERT_AUTH_OIDC_ISSUER", "https://sso.example.cn")
    monkeypatch.setenv("DCERT_IDENTITY_HASH_KEY", SECRET)
    monkeypatch.setenv("DCERT_MASTER_KEY", base64.b64encode(MASTER_KEY).decode())
    monkeypatch.setenv("NATS_URL", "nats://nats:4222")
    with pytest.raises(ValidationError, match=r"NATS_URL must use tls:// in production \(a broker at nats\)"):
        from_environment()
    monkeypatch.setenv("NATS_URL", "tls://certificate:pw@nats:4222")
    assert from_environment().nats_url == "tls://certificate:pw@nats:4222"
    monkeypatch.setenv("NATS_URL", "nats://certificate:pw@127.0.0.1:4222")  # a sidecar
    assert from_environment().environment == "production"
