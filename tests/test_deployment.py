"""docker-compose.yml cannot run here (no containers), so it is checked against the code: every
application container's environment, filled in as an operator's .env would, is accepted by that
service's settings as production settings, and names no setting that does not exist (the
settings ignore unknown variables, so a misspelt one would be lost without a word)."""

from __future__ import annotations

import base64
import os
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from dcert_assessment.settings import AssessmentSettings
from dcert_benefits.settings import BenefitsSettings
from dcert_certificate.settings import CertificateSettings
from dcert_notification.settings import NotificationSettings
from dcert_portal.settings import PortalSettings

ROOT = Path(__file__).resolve().parent.parent
SETTINGS: dict[str, type[BaseSettings]] = {
    "certificate": CertificateSettings,
    "assessment": AssessmentSettings,
    "benefits": BenefitsSettings,
    "notification": NotificationSettings,
    "portal": PortalSettings,
}
VARIABLE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?::(?P<kind>[?-])(?P<rest>[^}]*))?\}")


def operator_value(name: str) -> str:
    """What an operator's .env holds for a required variable, in the form its hint asks."""
    if name.endswith(("MASTER_KEY", "SIGNING_SEED")):
        return base64.b64encode(secrets.token_bytes(32)).decode()
    if name.endswith("HASH_KEY"):
        return secrets.token_hex(32)
    if name.endswith(("ISSUER", "PUBLIC_URL")):
        return "https://id.example.gov.cn"
    return secrets.token_urlsafe(48)


def resolved(value: object) -> str:
    def one(match: re.Match[str]) -> str:
        if match["kind"] == "-":
            return match["rest"]
        return operator_value(match["name"])

    return VARIABLE.sub(one, str(value))


def containers() -> dict[str, dict[str, Any]]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return {
        spec["build"]["args"]["SERVICE"]: spec
        for spec in compose["services"].values()
        if isinstance(spec.get("build"), dict) and "args" in spec["build"]
    }


def setting_names(settings: type[BaseSettings]) -> set[str]:
    prefix = str(settings.model_config.get("env_prefix", ""))
    names = set()
    for name, field in settings.model_fields.items():
        names.add((prefix + name).upper())
        alias = field.validation_alias
        for choice in getattr(alias, "choices", [alias] if isinstance(alias, str) else []):
            names.add(str(choice).upper())
    return names


def test_every_service_and_the_portal_have_a_container_on_their_port() -> None:
    found = containers()
    assert set(found) == set(SETTINGS)
    ports = {name: spec["ports"][0].split(":")[0] for name, spec in found.items()}
    assert ports == {
        "certificate": "8001",
        "assessment": "8002",
        "benefits": "8003",
        "notification": "8004",
        "portal": "8005",
    }


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_each_container_starts_with_production_settings_of_real_names(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = {name: resolved(value) for name, value in containers()[service]["environment"].items()}
    known = setting_names(SETTINGS[service])
    unknown = {
        name
        for name in environment
        if name.startswith("DCERT_") and name not in known and name != "DCERT_SERVICE_NAME"
    }
    assert unknown == set(), f"{service}: settings that do not exist"
    for name in [name for name in os.environ if name.startswith("DCERT_")]:
        monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = SETTINGS[service]()
    assert settings.model_dump()["environment"] == "production"
