"""The configurations `make run-cluster` writes, checked by the engines themselves: HAProxy's
`-c`, nats-server's `-t` and Patroni's `--validate-config`; and what they say about the cluster
(synchronous replication, three routes, health checks on the routes the services answer)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dcert_dev.cluster import Cluster, NetworkCut, Ports
from dcert_dev.embedded import nats_server_binary

SERVICES = {"certificate": 8001, "assessment": 8002, "benefits": 8003, "notification": 8004, "portal": 8005}
# Ports of no other test: these tests write configurations and start nothing.
PORTS = Ports(
    etcd_client=2579,
    etcd_peer=2580,
    postgres=(5633, 5634),
    patroni_api=(8208, 8209),
    postgres_primary=5200,
    nats_client=(4423, 4424, 4425),
    nats_route=(6423, 6424, 6425),
    nats_monitor=(8423, 8424, 8425),
    haproxy_stats=8604,
)


@pytest.fixture
def cluster(tmp_path: Path) -> Cluster:
    return Cluster(tmp_path / "cluster", SERVICES, ports=PORTS)


def test_haproxy_accepts_its_configuration(cluster: Cluster) -> None:
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    checked = subprocess.run(
        [haproxy, "-c", "-f", str(cluster.data_dir / "haproxy.cfg")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_haproxy_sends_writes_to_the_primary_and_requests_to_ready_processes_only(cluster: Cluster) -> None:
    config = cluster.haproxy_config()
    postgres = config.split("listen postgres-primary", 1)[1].split("\nlisten ", 1)[0]
    assert "OPTIONS /primary" in postgres
    assert postgres.count("check port") == 2
    assert "on-marked-down shutdown-sessions" in postgres  # no session stays on a demoted node
    for service, port in SERVICES.items():
        block = config.split(f"listen {service}\n", 1)[1].split("\nlisten ", 1)[0]
        assert f"bind 127.0.0.1:{port}" in block
        assert "GET /health/ready" in block
        assert f"127.0.0.1:{port + 10_000} check" in block
        assert f"127.0.0.1:{port + 20_000} check" in block
        # The client's address as HAProxy saw it, never what a caller put in the header.
        assert "set-header X-Forwarded-For %[src]" in block
        # Only failed connections are tried elsewhere: a request that reached a process is never sent twice.
        assert "retry-on conn-failure\n" in block + "\n"


@pytest.mark.parametrize("node", [0, 1, 2])
def test_each_nats_node_accepts_its_configuration_and_routes_to_the_two_others(
    cluster: Cluster, node: int
) -> None:
    config = cluster.data_dir / f"nats-{node}" / "nats.conf"
    checked = subprocess.run(
        [str(nats_server_binary()), "-t", "-c", str(config)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    text = config.read_text()
    others = [port for index, port in enumerate(PORTS.nats_route) if index != node]
    assert all(f"127.0.0.1:{port}" in text for port in others)
    assert "sync_interval: always" in text
    assert "authorization {" in text


def test_a_node_that_can_be_cut_off_is_reached_across_its_own_link(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path / "cut", SERVICES, ports=PORTS, network_cut=NetworkCut())
    cut = NetworkCut()
    last = (cluster.data_dir / "nats-2" / "nats.conf").read_text()
    first = (cluster.data_dir / "nats-0" / "nats.conf").read_text()
    assert f'listen: "{cut.node_address}:{PORTS.nats_client[2]}"' in last
    assert f"nats://{cut.host_address}:{PORTS.nats_route[0]}" in last
    assert f"nats://{cut.node_address}:{PORTS.nats_route[2]}" in first
    assert cluster.nats[2].command[:4] == ["ip", "netns", "exec", cut.namespace]
    assert f"{cut.node_address}:{PORTS.nats_client[2]}" in cluster.nats_url_for("certificate")


@pytest.mark.parametrize("node", [0, 1])
def test_patroni_accepts_each_nodes_configuration(cluster: Cluster, node: int) -> None:
    config = cluster.data_dir / f"postgres-{node}" / "patroni.yml"
    checked = subprocess.run(
        [sys.executable, "-m", "patroni", "--validate-config", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    # What the validator says of any single-host cluster (addresses on loopback) and of one
    # whose etcd is not running now is not a fault of the configuration; anything else is.
    faults = [
        line
        for line in (checked.stdout + checked.stderr).splitlines()
        if line.strip() and "must not contain" not in line and "is not reachable" not in line
    ]
    assert faults == []


def test_a_commit_the_primary_acknowledged_is_on_the_standby_that_may_replace_it(cluster: Cluster) -> None:
    config = json.loads((cluster.data_dir / "postgres-0" / "patroni.yml").read_text())
    dcs = config["bootstrap"]["dcs"]
    assert dcs["synchronous_mode"] is True
    assert dcs["postgresql"]["parameters"]["synchronous_commit"] == "on"
    assert dcs["ttl"] >= dcs["loop_wait"] + 2 * dcs["retry_timeout"]  # Patroni's own rule


def test_every_service_but_the_portal_connects_to_every_node_as_its_own_user(cluster: Cluster) -> None:
    url = cluster.nats_url_for("benefits")
    servers = url.split(",")
    assert [server.rsplit(":", 1)[1] for server in servers] == [str(port) for port in PORTS.nats_client]
    assert all(server.startswith("nats://benefits:") for server in servers)
    assert "@" not in cluster.nats_url_for("portal")


def test_the_passwords_stay_the_same_for_a_data_folder_and_only_its_owner_reads_them(tmp_path: Path) -> None:
    first = Cluster(tmp_path / "same", SERVICES, ports=PORTS)
    again = Cluster(tmp_path / "same", SERVICES, ports=PORTS)
    assert first.secrets == again.secrets
    assert (first.data_dir / "secrets.json").stat().st_mode & 0o077 == 0
    assert first.database_server_url.startswith("postgresql://postgres:")
