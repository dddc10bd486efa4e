"""The deployment files are checked by what can run here: nats-server's own config test."""

from __future__ import annotations

import datetime
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from dcert_dev.embedded import nats_server_binary
from dcert_shared.broker_permissions import main, password_variable, user_names

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
