"""The system under test: embedded servers the suite may kill, and the service processes of a round.

`Infrastructure` owns one embedded PostgreSQL and one nats-server on a data folder of its own
and brings them back the way the supervisor does (`dcert_dev.supervisor.Supervisor._check_infra`):
NATS on the same port (kept in `<data>/nats/port`), PostgreSQL through crash recovery.
`ServiceSet` runs the four services of one round as uvicorn processes, restarts the ones the
suite kills, runs a second process of a service beside the first (a twin, or a new version of
its code from another folder) and tells the clients which processes take traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from dcert_dev.embedded import EmbeddedNats, EmbeddedPostgres, Infra, free_port, start_infra
from dcert_dev.supervisor import ServiceProcess

log = logging.getLogger("faults.system")

SERVICES = ("certificate", "assessment", "benefits", "notification")
RESTART_AFTER_SECONDS = 1.0  # as the supervisor's first backoff step


class Infrastructure:
    """Embedded PostgreSQL and NATS that can be killed, frozen, wiped and started again."""

    environment: dict[str, str] = {}  # what the services of a round need besides the tests' settings

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.infra: Infra = start_infra(data_dir)
        self.nats_url = self.infra.nats_url
        self.server_url = self.infra.database_server_url

    # -- NATS ---------------------------------------------------------------------------------
    @property
    def nats(self) -> EmbeddedNats:
        assert self.infra.nats is not None
        return self.infra.nats

    @property
    def jetstream_dir(self) -> Path:
        return self.nats.directory / "jetstream"

    def kill_nats(self) -> None:
        """kill -9 nats-server and reap it."""
        self.nats.process.kill()
        self.nats.process.wait(10)

    def wipe_nats_store(self) -> None:
        """Delete everything JetStream kept on disk (nats-server must be down)."""
        shutil.rmtree(self.jetstream_dir, ignore_errors=True)

    def start_nats(self) -> None:
        """Start nats-server again on the same data folder and port. Called on the main thread:
        the server gets SIGTERM when the thread that started it ends (PR_SET_PDEATHSIG)."""
        self.infra.nats = EmbeddedNats.start(self.data_dir)
        if self.infra.nats.url != self.nats_url:
            raise RuntimeError(f"NATS came back on {self.infra.nats.address}, not as before")

    def nats_url_for(self, service: str) -> str:
        """The URL `service` connects with: its own user (`nats_url` is the operator's)."""
        return self.infra.nats_url_for(service)

    # -- PostgreSQL ---------------------------------------------------------------------------
    @property
    def postgres(self) -> EmbeddedPostgres:
        assert self.infra.postgres is not None
        return self.infra.postgres

    def postgres_processes(self) -> list[psutil.Process]:
        """The postmaster and every process it forked (backends, checkpointer, WAL writer, ...)."""
        pid = self.postgres.pid
        if pid is None:
            return []
        postmaster = psutil.Process(pid)
        return [postmaster, *postmaster.children(recursive=True)]

    def kill_postgres(self) -> None:
        """kill -9 of the whole server at once, as an OOM kill of its container would do."""
        processes = self.postgres_processes()
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        psutil.wait_procs(processes, timeout=10)

    def start_postgres(self) -> None:
        """Start PostgreSQL again on its data folder (crash recovery); blocking, any thread."""
        self.infra.postgres = EmbeddedPostgres.start(self.data_dir)

    def freeze_postgres(self) -> list[psutil.Process]:
        """SIGSTOP to the server and all its processes: connected, but answering nothing."""
        processes = self.postgres_processes()
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.suspend()
        return processes

    @staticmethod
    def thaw_postgres(processes: list[psutil.Process]) -> None:
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.resume()

    def service_set(
        self, environment: dict[str, str], databases: dict[str, str], log_dir: Path, nats_urls: dict[str, str]
    ) -> ServiceSet:
        return ServiceSet.prepare(environment, databases, log_dir, nats_urls)

    def restore(self) -> None:
        """A round must leave the servers up for the next; a fault that could not bring one back
        is retried here."""
        if not self.nats.is_running():
            self.start_nats()
        if not self.postgres.is_running():
            self.start_postgres()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.infra.stop()


@dataclass
class Instance:
    """One process of one service."""

    service: str
    label: str
    process: ServiceProcess
    code: Path | None = None  # another version's code, first on PYTHONPATH
    in_rotation: bool = True  # the clients send it requests

    @property
    def url(self) -> str:
        return self.process.url


@dataclass
class ServiceSet:
    """The four services of one round on their databases and NATS prefix."""

    environment: dict[str, str]  # common to every service
    databases: dict[str, str]  # service -> DSN
    log_dir: Path
    nats_urls: dict[str, str] = field(default_factory=dict)  # service -> its own user's URL
    instances: dict[str, list[Instance]] = field(default_factory=dict)
    _turns: dict[str, itertools.count[int]] = field(default_factory=dict)

    @classmethod
    def prepare(
        cls,
        environment: dict[str, str],
        databases: dict[str, str],
        log_dir: Path,
        nats_urls: dict[str, str] | None = None,
    ) -> ServiceSet:
        services = cls(environment, databases, log_dir, nats_urls or {})
        for service in SERVICES:
            services.instances[service] = []
            services._turns[service] = itertools.count()
        return services

    def env_of(self, service: str, code: Path | None = None) -> dict[str, str]:
        env = {
            **os.environ,
            **self.environment,
            "DCERT_SERVICE_NAME": service,
            "DATABASE_URL": self.databases[service],
        }
        if service in self.nats_urls:
            env["NATS_URL"] = self.nats_urls[service]
        if code is not None:
            env["PYTHONPATH"] = os.pathsep.join([str(code), *filter(None, [os.environ.get("PYTHONPATH")])])
        return env

    def launch(self, service: str, *, port: int | None = None, code: Path | None = None) -> Instance:
        """Start one more process of `service` (main thread only: PR_SET_PDEATHSIG)."""
        number = len(self.instances[service]) + 1
        label = service if number == 1 else f"{service}#{number}"
        if code is not None:
            label += "(new)"
        log_path = self.log_dir / f"{label.replace('#', '-').replace('(new)', '-new')}.log"
        process = ServiceProcess(
            service,
            f"dcert_{service}.main:app",
            port or free_port(),
            self.env_of(service, code),
            log_path=log_path,
        )
        instance = Instance(service, label, process, code)
        process.start()
        self.instances[service].append(instance)
        return instance

    async def start(self, timeout: float = 90) -> None:
        for service in SERVICES:
            self.launch(service)
        await asyncio.gather(*(self.wait_healthy(i, timeout) for i in self.all()))

    @staticmethod
    async def wait_healthy(instance: Instance, timeout: float = 90) -> None:
        await instance.process.wait_healthy_async(timeout)

    def all(self) -> list[Instance]:
        return [instance for service in SERVICES for instance in self.instances[service]]

    def primary(self, service: str) -> Instance:
        return self.instances[service][0]

    def url(self, service: str) -> str:
        """A process of `service` that takes traffic, in turn (a load balancer without health checks)."""
        serving = [instance for instance in self.instances[service] if instance.in_rotation]
        return serving[next(self._turns[service]) % len(serving)].url

    @staticmethod
    def kill(instance: Instance) -> None:
        """kill -9 and reap."""
        instance.process.kill()

    @staticmethod
    def restart(instance: Instance) -> None:
        """Start a killed process again on its port (main thread)."""
        instance.process.start()

    async def retire(self, instance: Instance) -> None:
        """Take a process out of rotation, then stop it gracefully (SIGTERM, 25 s, SIGKILL)."""
        instance.in_rotation = False
        await asyncio.to_thread(instance.process.stop)

    def code_of(self, service: str) -> Path | None:
        """The code the serving processes of `service` run (None: the worktree's)."""
        serving = [instance for instance in self.instances[service] if instance.in_rotation]
        return serving[-1].code if serving else None

    def stop(self, grace: float = 25) -> list[str]:
        """SIGTERM to every process, SIGKILL to those still running after `grace` seconds: the
        labels of those that had to be killed."""
        started = time.monotonic()
        for instance in self.all():
            instance.process.terminate()
        killed = []
        for instance in self.all():
            if not instance.process.running():
                continue
            instance.process.stop(timeout=max(0.5, grace - (time.monotonic() - started)))
            if instance.process.returncode == -9:
                killed.append(instance.label)
        return killed
