"""The deployment files are checked by what can run here: nats-server's own config test."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dcert_shared.embedded import nats_server_binary

NATS_CONFIGS = sorted((Path(__file__).resolve().parents[1] / "deploy" / "nats").glob("*.conf"))


@pytest.mark.parametrize("config", NATS_CONFIGS, ids=lambda path: path.name)
def test_each_nats_config_is_valid(config: Path, tmp_path: Path) -> None:
    # partners.conf is an include: test it inside a server configuration, its secrets set.
    checked = config
    if config.name == "partners.conf":
        (tmp_path / config.name).write_text(config.read_text())
        checked = tmp_path / "server.conf"
        checked.write_text(f"include ./{config.name}\njetstream {{ store_dir: {tmp_path} }}\n")
    environment = {
        "DCERT_NATS_SERVICES_PASSWORD": "s3cret",
        "DCERT_NATS_PARTNER_CIVIL_AFFAIRS_HUZHOU_PASSWORD": "p4ss",
    }
    result = subprocess.run(
        [str(nats_server_binary()), "-t", "-c", str(checked)], capture_output=True, text=True, env=environment
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "config", [path for path in NATS_CONFIGS if path.name != "partners.conf"], ids=lambda path: path.name
)
def test_every_jetstream_server_syncs_each_message_to_disk_before_acknowledging_it(config: Path) -> None:
    """An acknowledged event must survive the node that acknowledged it (nats-server syncs every
    two minutes by default: a crash loses what was acknowledged since)."""
    settings = config.read_text()
    assert "sync_interval: always" in settings.split("jetstream {", 1)[1].split("}", 1)[0]
