"""The portal's settings fail fast in production without a session secret of their own, an
identity provider to sign in through, or the public address its sign-in comes back to."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dcert_portal.settings import PortalSettings


def test_production_needs_a_session_secret() -> None:
    with pytest.raises(ValidationError, match="DCERT_PORTAL_SESSION_SECRET"):
        PortalSettings(environment="production")
    with pytest.raises(ValidationError, match="DCERT_PORTAL_OIDC_ISSUER"):
        PortalSettings(environment="production", session_secret="x" * 48)
    with pytest.raises(ValidationError, match="DCERT_PORTAL_PUBLIC_URL"):
        PortalSettings(
            environment="production", session_secret="x" * 48, oidc_issuer="https://id.example.gov.cn"
        )
    settings = PortalSettings(
        environment="production",
        session_secret="x" * 48,
        oidc_issuer="https://id.example.gov.cn",
        public_url="https://portal.example.gov.cn",
    )
    assert settings.secure_cookies
    assert settings.secret == "x" * 48


def test_a_portal_that_names_no_environment_is_production(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DCERT_ENV", "DCERT_PORTAL_ENV", "DCERT_PORTAL_SESSION_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValidationError, match="DCERT_PORTAL_SESSION_SECRET is required in production"):
        PortalSettings()


def test_the_services_default_to_the_embedded_ports() -> None:
    settings = PortalSettings(environment="embedded")
    assert [settings.certificate_url, settings.notification_url] == [
        "http://127.0.0.1:8001",
        "http://127.0.0.1:8004",
    ]
