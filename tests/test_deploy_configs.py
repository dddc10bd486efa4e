"""The deployment files are checked by what can run here: nats-server's own config test, and the
claims a token of the Keycloak realm would carry, read by the code that reads real tokens."""

from __future__ import annotations

import datetime
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from dcert_dev.embedded import nats_server_binary
from dcert_portal.identity import CALLBACK_PATH
from dcert_shared.auth import CLAIM_NAMES, REQUIRED_CLAIM, ROLES, ClaimsRefused, principal_from_claims
from dcert_shared.broker_permissions import main, password_variable, user_names
from dcert_shared.ids import make_identity_number
from dcert_shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[1]
NATS = ROOT / "deploy" / "nats"
USERS = NATS / "users.conf"
# The server configurations; users.conf is included by each of them.
NATS_CONFIGS = sorted(path for path in NATS.glob("*.conf") if path != USERS)
TLS_DIR = "/etc/nats-tls/"  # where the configurations find the mounted TLS files


def a_certificate(
    subject: str, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None = None
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A throwaway certificate for `subject` (self-signed: a CA), for the config test only."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, issuer_key = issuer or (name, key)
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(subject), x509.DNSName("dcert-nats-0.dcert-nats")]),
            critical=False,
        ).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256()), key


def tls_files(folder: Path) -> Path:
    """ca.pem, server.pem and server-key.pem as an operator mounts them (made up here)."""
    folder.mkdir()
    ca, ca_key = a_certificate("dcert test CA")
    server, server_key = a_certificate("nats", (ca.subject, ca_key))
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "server.pem").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    (folder / "server-key.pem").write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return folder


def password_environment(users_conf: str) -> dict[str, str]:
    return {name: f"pw-{name.lower()}" for name in re.findall(r"\$(DCERT_NATS_\w+_PASSWORD)", users_conf)}


def config_test(config: Path) -> subprocess.CompletedProcess[str]:
    environment = password_environment((config.parent / "users.conf").read_text())
    return subprocess.run(
        [str(nats_server_binary()), "-t", "-c", str(config)], capture_output=True, text=True, env=environment
    )


def deployed(config: Path, folder: Path) -> Path:
    """`config` and users.conf in `folder`, with the TLS files it names made up there."""
    tls = tls_files(folder / "tls")
    copy = folder / config.name
    copy.write_text(config.read_text().replace(TLS_DIR, f"{tls}/"))
    shutil.copy(USERS, folder / USERS.name)
    return copy


@pytest.mark.parametrize("config", NATS_CONFIGS, ids=lambda path: path.name)
def test_each_nats_config_is_valid(config: Path, tmp_path: Path) -> None:
    result = config_test(deployed(config, tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("config", NATS_CONFIGS, ids=lambda path: path.name)
def test_every_nats_server_has_its_users_and_clients_only_over_tls(config: Path) -> None:
    settings = config.read_text()
    assert "include ./users.conf" in settings
    assert re.search(r"^tls \{[^}]*cert_file: /etc/nats-tls/server\.pem", settings, re.MULTILINE)
    if "cluster {" in settings:
        routes = settings.split("cluster {", 1)[1]
        assert re.search(r"tls \{[^}]*ca_file: /etc/nats-tls/ca\.pem[^}]*verify: true", routes)


def test_the_users_are_what_their_command_writes(capsys: pytest.CaptureFixture[str]) -> None:
    """users.conf is written by dcert_shared.broker_permissions, from the command in its header."""
    written = USERS.read_text()
    command = next(
        line for line in written.splitlines() if "python -m dcert_shared.broker_permissions" in line
    )
    assert main(shlex.split(command.split("python -m dcert_shared.broker_permissions", 1)[1])) == 0
    assert capsys.readouterr().out == written


def test_users_with_a_partner_agency_are_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy = deployed(NATS / "nats.conf", tmp_path)
    main(["--partner", "3f1c2b9e-0d4a-4c55-9a61-2f0e8c1d7b10=civil-affairs-huzhou"])
    (tmp_path / USERS.name).write_text(capsys.readouterr().out)
    assert "$DCERT_NATS_PARTNER_CIVIL_AFFAIRS_HUZHOU_PASSWORD" in (tmp_path / USERS.name).read_text()
    result = config_test(copy)
    assert result.returncode == 0, result.stdout + result.stderr


def test_docker_compose_gives_nats_every_password_and_each_service_its_own_user() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    nats_environment = compose["services"]["nats"]["environment"]
    assert set(password_environment(USERS.read_text())) == set(nats_environment)
    assert {password_variable(user) for user in user_names()} == set(nats_environment)
    for service in ("certificate", "assessment", "benefits", "notification"):
        url = compose["services"][service]["environment"]["NATS_URL"]
        assert url.startswith(f"tls://{service}:${{{password_variable(service)}:?"), service


@pytest.mark.parametrize("config", NATS_CONFIGS, ids=lambda path: path.name)
def test_every_jetstream_server_syncs_each_message_to_disk_before_acknowledging_it(config: Path) -> None:
    """An acknowledged event must survive the node that acknowledged it (nats-server syncs every
    two minutes by default: a crash loses what was acknowledged since)."""
    settings = config.read_text()
    assert "sync_interval: always" in settings.split("jetstream {", 1)[1].split("}", 1)[0]


REALM_FILE = ROOT / "deploy" / "keycloak" / "dcert-realm.json"
PORTAL_CLIENT = "dcert-portal"
# A value each claim may carry, as the services' checks want it (the identity number's check digit).
CLAIM_EXAMPLES = {
    "id_number": make_identity_number("330102", datetime.date(1980, 5, 17), 21),
    "region": "330102",
    "doctor_id": "doctor-330102-0007",
    "partner_id": "3f1c2b9e-0d4a-4c55-9a61-2f0e8c1d7b10",
}


def realm() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(REALM_FILE.read_text())
    return loaded


def client(realm_export: dict[str, Any], client_id: str) -> dict[str, Any]:
    return next(entry for entry in realm_export["clients"] if entry["clientId"] == client_id)


def mappers_of(realm_export: dict[str, Any], client_id: str) -> list[dict[str, Any]]:
    """The protocol mappers of the client and of its default client scopes."""
    entry = client(realm_export, client_id)
    scopes = {scope["name"]: scope for scope in realm_export["clientScopes"]}
    mappers = list(entry.get("protocolMappers", []))
    for name in entry["defaultClientScopes"]:
        mappers += scopes[name].get("protocolMappers", [])
    return mappers


def token_claims(
    realm_export: dict[str, Any], client_id: str, user_id: str, attributes: dict[str, list[str]], token: str
) -> dict[str, Any]:
    """The claims Keycloak's mappers put into an `access` or `id` token for this user (beside
    exp, iat and iss, which every token has). An ID token always names its subject and, as its
    audience, the client."""
    claims: dict[str, Any] = {"sub": user_id, "aud": [client_id]} if token == "id" else {}
    for mapper in mappers_of(realm_export, client_id):
        config = mapper["config"]
        if config.get(f"{token}.token.claim") != "true":
            continue
        kind = mapper["protocolMapper"]
        if kind == "oidc-sub-mapper":
            claims["sub"] = user_id
        elif kind == "oidc-audience-mapper":
            claims.setdefault("aud", []).append(config["included.custom.audience"])
        elif kind == "oidc-usermodel-attribute-mapper":
            assert config["jsonType.label"] == "String"
            values = attributes.get(config["user.attribute"], [])
            if values:
                claims[config["claim.name"]] = values if config["multivalued"] == "true" else values[0]
        else:
            raise AssertionError(f"a mapper this test does not know: {kind}")
    return claims


def user_profile(realm_export: dict[str, Any]) -> dict[str, Any]:
    """The realm's declared user attributes: who may see and set them, what values they take."""
    (provider,) = realm_export["components"]["org.keycloak.userprofile.UserProfileProvider"]
    profile: dict[str, Any] = json.loads(provider["config"]["kc.user.profile.config"][0])
    return profile


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("token", ["access", "id"])
def test_a_token_of_the_realm_describes_each_role_as_the_services_read_it(role: str, token: str) -> None:
    """The services read the access token, the portal the ID token: both by principal_from_claims."""
    attributes = {"role": [role]}
    if role in REQUIRED_CLAIM:
        attributes[REQUIRED_CLAIM[role]] = [CLAIM_EXAMPLES[REQUIRED_CLAIM[role]]]
    claims = token_claims(realm(), PORTAL_CLIENT, "5b0d6c1e-2f43-4d8a-9b7e-0c1d2e3f4a5b", attributes, token)
    principal = principal_from_claims(claims)
    assert principal.role == role
    assert principal.subject == "5b0d6c1e-2f43-4d8a-9b7e-0c1d2e3f4a5b"
    if role in REQUIRED_CLAIM:
        assert getattr(principal, REQUIRED_CLAIM[role]) == CLAIM_EXAMPLES[REQUIRED_CLAIM[role]]


def test_an_access_token_of_the_realm_carries_the_services_audience() -> None:
    claims = token_claims(realm(), PORTAL_CLIENT, "user", {"role": ["admin"]}, "access")
    assert claims["aud"] == [ServiceSettings.model_fields["auth_audience"].default]


def test_a_user_the_realm_gave_no_role_or_not_its_claim_is_refused() -> None:
    for attributes in ({}, {"role": ["reviewer"]}, {"region": ["330102"]}):
        claims = token_claims(realm(), PORTAL_CLIENT, "user", attributes, "access")
        with pytest.raises(ClaimsRefused):
            principal_from_claims(claims)


def test_the_realm_maps_exactly_the_claims_the_services_read() -> None:
    mapped = {
        mapper["config"]["claim.name"]: mapper["config"]["user.attribute"]
        for mapper in mappers_of(realm(), PORTAL_CLIENT)
        if mapper["protocolMapper"] == "oidc-usermodel-attribute-mapper"
    }
    assert mapped == {name: name for name in ("role", *CLAIM_NAMES)}


def test_only_administrators_set_the_attributes_that_become_claims() -> None:
    """A person who could edit their own role or identity number could act as anyone."""
    attributes = {attribute["name"]: attribute for attribute in user_profile(realm())["attributes"]}
    for name in ("role", *CLAIM_NAMES):
        assert attributes[name]["permissions"]["edit"] == ["admin"], name
        assert attributes[name].get("multivalued", False) is False, name
    assert attributes["role"]["validations"]["options"]["options"] == list(ROLES)
    for name in ("id_number", "region"):
        pattern = attributes[name]["validations"]["pattern"]["pattern"]
        assert re.fullmatch(pattern, CLAIM_EXAMPLES[name]), name
    assert "unmanagedAttributePolicy" not in user_profile(realm())
    assert realm()["registrationAllowed"] is False


def test_the_realm_holds_no_user_and_no_secret() -> None:
    realm_export = realm()
    assert realm_export.get("users", []) == []
    for entry in realm_export["clients"]:
        assert entry.get("secret", "${").startswith("${"), entry["clientId"]


def test_the_portal_signs_in_at_the_realm_as_the_compose_file_configures_it() -> None:
    """Client id, redirect URI (the portal's public address and its callback) and the issuer's
    realm agree between deploy/keycloak and docker-compose.yml; the code flow with PKCE only."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    portal = compose["services"]["portal"]["environment"]
    keycloak = compose["services"]["keycloak"]
    entry = client(realm(), portal["DCERT_PORTAL_OIDC_CLIENT_ID"])
    public_url = re.sub(r"\$\{(\w+):\?[^}]*\}", r"${\1}", portal["DCERT_PORTAL_PUBLIC_URL"])
    assert public_url == "https://${DCERT_PUBLIC_HOST}"
    assert entry["redirectUris"] == [public_url + CALLBACK_PATH]
    assert "DCERT_PUBLIC_HOST" in keycloak["environment"]
    assert entry["secret"] == "${DCERT_PORTAL_OIDC_CLIENT_SECRET}"
    assert "DCERT_PORTAL_OIDC_CLIENT_SECRET" in keycloak["environment"]
    assert entry["attributes"]["pkce.code.challenge.method"] == "S256"
    assert entry["standardFlowEnabled"]
    assert not entry["implicitFlowEnabled"]
    assert not entry["directAccessGrantsEnabled"]
    assert not entry["publicClient"]
    assert portal["DCERT_PORTAL_OIDC_ISSUER"].endswith(f"/realms/{realm()['realm']}")
    assert keycloak["command"] == ["start", "--import-realm"]
    assert (
        "./deploy/keycloak/dcert-realm.json:/opt/keycloak/data/import/dcert-realm.json:ro"
        in keycloak["volumes"]
    )
