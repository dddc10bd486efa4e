"""docker-compose.yml cannot run here (no containers), so it is checked against what can run:
the Compose specification's schema; each application container's environment, filled in as an
operator's .env would, accepted by that service's settings as production settings, naming no
setting that does not exist (the settings ignore unknown variables, so a misspelt one would be
lost without a word) and passing on every one an operator may set; .env.example listing exactly
the variables the compose file reads; the proxy sending each public API path to its service;
and the start order, the images and the databases the services are given."""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic_settings import BaseSettings

from dcert_assessment.settings import AssessmentSettings
from dcert_benefits.settings import BenefitsSettings
from dcert_certificate.settings import CertificateSettings
from dcert_notification.settings import NotificationSettings
from dcert_portal.settings import PortalSettings
from dcert_shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
CADDYFILE = ROOT / "deploy" / "proxy" / "Caddyfile"
INIT_SQL = ROOT / "deploy" / "postgres" / "init.sql"
SETTINGS: dict[str, type[BaseSettings]] = {
    "certificate": CertificateSettings,
    "assessment": AssessmentSettings,
    "benefits": BenefitsSettings,
    "notification": NotificationSettings,
    "portal": PortalSettings,
}
SERVICES = ("certificate", "assessment", "benefits", "notification")
VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z0-9_]+)(?::?(?P<kind>[?-])(?P<rest>[^}]*))?\}")
# Settings no container is given, and why (anything else missing from a container fails).
NOT_DEPLOYED = {
    "service_name": "the image sets DCERT_SERVICE_NAME",
    "auth_jwks_url": "the issuer's discovery document names its keys",
    "auth_issuer": "the issuer's discovery document names it",
    "policies_dir": "the benefits image carries its policy catalogue",
}
# .env.example: `NAME=value`, or `# NAME=value` for an optional one.
ENV_LINE = re.compile(r"^(?:# )?(?P<name>[A-Z][A-Z0-9_]*)=", re.MULTILINE)


def operator_value(name: str) -> str:
    """What an operator's .env holds for a required variable, in the form its hint asks."""
    if name.endswith(("MASTER_KEY", "SIGNING_SEED")):
        return base64.b64encode(secrets.token_bytes(32)).decode()
    if name.endswith(("HASH_KEY", "PASSWORD")):
        return secrets.token_hex(32)
    if name.endswith("_HOST"):
        return f"{name.removeprefix('DCERT_').removesuffix('_HOST').lower()}.example.gov.cn"
    if name.endswith("_DIR"):
        return "/srv/dcert/tls"
    return secrets.token_urlsafe(48)


def resolved(value: object) -> str:
    def one(match: re.Match[str]) -> str:
        if match["kind"] == "-":
            return match["rest"]
        return operator_value(match["name"])

    return VARIABLE.sub(one, str(value))


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def containers() -> dict[str, dict[str, Any]]:
    """The containers built from this repository, by the service their image runs."""
    return {
        spec["build"]["args"]["SERVICE"]: spec
        for spec in compose()["services"].values()
        if isinstance(spec.get("build"), dict) and "args" in spec["build"]
    }


def field_names(settings: type[BaseSettings]) -> dict[str, set[str]]:
    """Each field of the settings, with the environment variables that set it."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    names: dict[str, set[str]] = {}
    for name, field in settings.model_fields.items():
        alias = field.validation_alias
        choices = getattr(alias, "choices", [alias] if isinstance(alias, str) else [])
        names[name] = {(prefix + name).upper(), *(str(choice).upper() for choice in choices)}
    return names


def setting_names(settings: type[BaseSettings]) -> set[str]:
    return set().union(*field_names(settings).values())


def compose_variables() -> set[str]:
    """What the compose file reads from .env: its `${VAR}`s and the settings it passes on."""
    interpolated = {match["name"] for match in VARIABLE.finditer(COMPOSE_FILE.read_text())}
    passed_on = {
        name
        for spec in compose()["services"].values()
        for name, value in (spec.get("environment") or {}).items()
        if value is None
    }
    return interpolated | passed_on


def env_example_variables() -> set[str]:
    return {match["name"] for match in ENV_LINE.finditer(ENV_EXAMPLE.read_text())}


def test_the_compose_file_follows_the_compose_specification() -> None:
    """The schema Docker Compose itself validates against (check-jsonschema's built-in copy)."""
    check = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(check), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_refuses_a_compose_file_that_breaks_the_specification(tmp_path: Path) -> None:
    broken = compose()
    broken["services"]["postgres"]["depends_on"] = {"nats": {"condition": "service_ready"}}
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken))
    check = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(check), "--builtin-schema", "vendor.compose-spec", str(path)], capture_output=True, text=True
    )
    assert result.returncode != 0


def test_every_service_and_the_portal_have_a_container_reached_through_the_proxy_only() -> None:
    services = compose()["services"]
    assert set(containers()) == set(SETTINGS)
    published = {name: spec["ports"] for name, spec in services.items() if spec.get("ports")}
    assert published == {"proxy": ["80:80", "443:443", "443:443/udp"]}


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_each_container_starts_with_production_settings_of_real_names(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = {
        name: resolved(value)
        for name, value in containers()[service]["environment"].items()
        if value is not None  # passed on only when .env sets it
    }
    known = setting_names(SETTINGS[service])
    unknown = {
        name
        for name in containers()[service]["environment"]
        if name.startswith("DCERT_") and name not in known and name != "DCERT_SERVICE_NAME"
    }
    assert unknown == set(), f"{service}: settings that do not exist"
    for name in [name for name in os.environ if name.startswith("DCERT_")]:
        monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = SETTINGS[service]()
    assert settings.model_dump()["environment"] == "production"


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_each_container_is_given_every_setting_of_its_service(service: str) -> None:
    """A new setting reaches the containers (fixed, or passed on from .env) or is named above."""
    given = set(containers()[service]["environment"])
    missing = {
        field
        for field, names in field_names(SETTINGS[service]).items()
        if not names & given and field not in NOT_DEPLOYED
    }
    assert missing == set()


def test_every_variable_of_the_compose_file_is_in_env_example_and_no_other() -> None:
    assert compose_variables() == env_example_variables()


def test_every_setting_has_its_line_in_env_example() -> None:
    """Set by the operator, by the compose file or not at all: .env.example says which."""
    text = ENV_EXAMPLE.read_text()
    absent = [
        sorted(names)
        for settings in (ServiceSettings, *SETTINGS.values())
        for names in field_names(settings).values()
        if not any(re.search(rf"\b{name}\b", text) for name in names)
    ]
    assert absent == []


def test_env_example_gives_no_secret_a_value() -> None:
    """The secrets are generated on the host: the example leaves every one of them empty."""
    values = dict(
        line.removeprefix("# ").split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if ENV_LINE.match(line)
    )
    secret = re.compile(r"(PASSWORD|SECRET|_KEY|SEED)$")
    assert {name: value for name, value in values.items() if secret.search(name) and value} == {}


def test_the_services_trust_x_forwarded_for_from_the_proxy_alone() -> None:
    """Per-address rate limits see real clients only if the proxy, and nothing else, may name them."""
    spec = compose()
    proxy_address = ipaddress.ip_address(
        resolved(spec["services"]["proxy"]["networks"]["edge"]["ipv4_address"])
    )
    edge = ipaddress.ip_network(resolved(spec["networks"]["edge"]["ipam"]["config"][0]["subnet"]))
    assert proxy_address in edge
    for service in SERVICES:
        trusted = json.loads(resolved(containers()[service]["environment"]["DCERT_TRUSTED_PROXIES"]))
        assert [ipaddress.ip_network(network) for network in trusted] == [
            ipaddress.ip_network(f"{proxy_address}/32")
        ], service


def test_the_proxy_answers_inside_the_network_at_the_public_host_names() -> None:
    """The services read the issuer's keys at the address in its tokens: through the proxy."""
    spec = compose()
    aliases = spec["services"]["proxy"]["networks"]["edge"]["aliases"]
    named = {match["name"] for alias in aliases if (match := VARIABLE.fullmatch(alias))}
    assert named == {"DCERT_PUBLIC_HOST", "DCERT_AUTH_HOST"}
    issuer = containers()["certificate"]["environment"]["DCERT_AUTH_OIDC_ISSUER"]
    assert issuer.startswith("https://${DCERT_AUTH_HOST")
    assert containers()["portal"]["environment"]["DCERT_PORTAL_OIDC_ISSUER"] == issuer


def test_each_container_waits_for_what_it_needs_to_be_healthy() -> None:
    services = compose()["services"]
    for name, spec in services.items():
        for dependency, condition in (spec.get("depends_on") or {}).items():
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], (
                    f"{name} waits on {dependency}, which has no check"
                )
    for service in SERVICES:
        needs = {
            name
            for name, condition in services[service]["depends_on"].items()
            if condition["condition"] == "service_healthy"
        }
        assert needs == {"postgres", "nats", "keycloak"}, service
        assert "/health/ready" in " ".join(services[service]["healthcheck"]["test"]), service
    assert set(services["portal"]["depends_on"]) == {*SERVICES, "keycloak"}
    assert services["keycloak"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}


def test_the_healthchecks_run_with_what_their_images_hold() -> None:
    """The nats image is built from scratch (no wget, no shell), its alpine variant is not; the
    Keycloak image has bash but neither curl nor wget; the service images have Python."""
    services = compose()["services"]
    assert services["nats"]["image"] == "nats:2.12-alpine"
    assert services["nats"]["healthcheck"]["test"][:2] == ["CMD", "wget"]
    assert "8222/healthz" in services["nats"]["healthcheck"]["test"][-1]
    keycloak = services["keycloak"]
    assert keycloak["healthcheck"]["test"][:2] == ["CMD", "bash"]
    assert "/dev/tcp/127.0.0.1/9000" in keycloak["healthcheck"]["test"][-1]
    assert keycloak["environment"]["KC_HEALTH_ENABLED"] == "true"
    for name in SETTINGS:
        assert containers()[name]["healthcheck"]["test"][:2] == ["CMD", "python"], name


def test_postgres_is_the_tested_version_and_commits_to_disk() -> None:
    postgres = compose()["services"]["postgres"]
    assert postgres["image"] == "postgres:18"
    # PostgreSQL 18's image keeps its data in a versioned folder below /var/lib/postgresql: a
    # volume at .../data would hold nothing and the data would be lost with the container.
    assert "pgdata:/var/lib/postgresql" in postgres["volumes"]
    assert not re.search(r"synchronous_commit|fsync|full_page_writes", " ".join(postgres["command"]))


def test_every_database_a_container_is_given_is_created() -> None:
    created = set(re.findall(r"^CREATE DATABASE (\w+);", INIT_SQL.read_text(), re.MULTILINE))
    services = compose()["services"]
    wanted = {
        urlsplit(resolved(containers()[service]["environment"]["DATABASE_URL"])).path.lstrip("/")
        for service in SERVICES
    }
    wanted.add(services["keycloak"]["environment"]["KC_DB_URL"].rsplit("/", 1)[1])
    assert created == wanted
    assert len(wanted) == len(SERVICES) + 1, "each service its own database"


# The proxy: Caddy's path matcher is exact, a prefix when it ends in `*`, and otherwise a
# pattern whose `*` stands for one path segment; the named matchers of deploy/proxy/Caddyfile.
MATCHER = re.compile(r"^\t@(?P<name>\w+) \{\n(?P<body>.*?)^\t\}", re.MULTILINE | re.DOTALL)


def caddy_path_matches(pattern: str, path: str) -> bool:
    if "*" not in pattern:
        return path == pattern
    if pattern.endswith("*") and pattern.count("*") == 1:
        return path.startswith(pattern[:-1])
    segment = "[^/]*"
    return re.fullmatch(segment.join(re.escape(part) for part in pattern.split("*")), path) is not None


def proxy_routes() -> dict[str, tuple[list[str], list[str]]]:
    """Each service matcher of the public site: (the paths it takes, the paths it excludes)."""
    site = CADDYFILE.read_text().split("\n{$DCERT_PUBLIC_HOST} {\n", 1)[1].split("\n}\n", 1)[0]
    routes = {}
    for matcher in MATCHER.finditer(site):
        taken, excluded = [], []
        for line in matcher["body"].splitlines():
            words = line.split()
            if words[:1] == ["path"]:
                taken += words[1:]
            elif words[:2] == ["not", "path"]:
                excluded += words[2:]
            else:
                raise AssertionError(f"a matcher this test does not read: {line.strip()}")
        routes[matcher["name"]] = (taken, excluded)
        assert f"handle @{matcher['name']} {{\n\t\treverse_proxy {matcher['name']}:8000\n" in site
    assert set(routes) == set(SERVICES)
    return routes


def route_of(path: str, routes: dict[str, tuple[list[str], list[str]]]) -> set[str]:
    concrete = re.sub(r"\{[^}/]+\}", "x1", path)
    return {
        service
        for service, (taken, excluded) in routes.items()
        if any(caddy_path_matches(pattern, concrete) for pattern in taken)
        and not any(caddy_path_matches(pattern, concrete) for pattern in excluded)
    }


def public_paths(service: str) -> list[str]:
    document = json.loads((ROOT / "docs" / "openapi" / f"{service}.json").read_text())
    return [path for path in document["paths"] if path.startswith("/v1/") and not path.startswith("/v1/dev/")]


@pytest.mark.parametrize("service", SERVICES)
def test_the_proxy_sends_each_public_path_to_its_service_alone(service: str) -> None:
    routes = proxy_routes()
    wrong = {
        path: route_of(path, routes) for path in public_paths(service) if route_of(path, routes) != {service}
    }
    assert wrong == {}


def test_the_proxy_keeps_health_and_development_endpoints_inside() -> None:
    routes = proxy_routes()
    for path in ("/health", "/health/ready", "/v1/dev/tokens", "/v1/dev/jwks.json"):
        assert route_of(path, routes) == set(), path


def test_the_path_matching_above_reads_caddy_patterns_as_caddy_does() -> None:
    assert caddy_path_matches("/v1/runs/*", "/v1/runs/7/lines.csv")
    assert not caddy_path_matches("/v1/runs/*", "/v1/runs")
    assert caddy_path_matches("/v1/certificates/*/benefits", "/v1/certificates/x1/benefits")
    assert not caddy_path_matches("/v1/certificates/*/benefits", "/v1/certificates/x1/y/benefits")
    assert not caddy_path_matches("/v1/cards", "/v1/cards/1")


def test_the_image_runs_as_its_own_user_and_reads_forwarded_addresses_only_behind_the_proxy() -> None:
    """uvicorn's own proxy headers would take X-Forwarded-For from any peer; the services read it
    themselves, from DCERT_TRUSTED_PROXIES only (dcert_shared.rate_limits)."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    final_stage = dockerfile.rsplit("\nFROM ", 1)[1]
    assert re.search(r"^USER dcert$", final_stage, re.MULTILINE)
    command = next(line for line in final_stage.splitlines() if line.startswith("CMD "))
    assert "--no-proxy-headers" in command
    assert "--port 8000" in command
    assert "127.0.0.1:8000/health" in final_stage.split("HEALTHCHECK", 1)[1]
