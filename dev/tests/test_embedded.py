"""The embedded servers, ensure_databases, and the supervisor run as a real process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import nats
import pytest

from dcert_dev.embedded import EmbeddedNats, EmbeddedPostgres, ensure_databases, process_alive
from dcert_dev.supervisor import free_port

pytestmark = pytest.mark.service  # each test starts the servers it checks


def alive(pid: int | None) -> bool:
    return process_alive(pid) is not None


def wait_until(condition: Any, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.05)


async def test_embedded_postgres_answers_sql_and_keeps_data_across_restarts(tmp_path: Path) -> None:
    pg = EmbeddedPostgres.start(tmp_path)
    try:
        assert "host=" in pg.server_url  # a Unix socket, never the machine's port 5432
        conn = await asyncpg.connect(pg.server_url)
        await conn.execute("CREATE TABLE kept (value text)")
        await conn.execute("INSERT INTO kept VALUES ('before the restart')")
        await conn.close()

        pg.stop()
        assert not pg.is_running()
        pg = EmbeddedPostgres.start(tmp_path)
        assert not pg.reused
        conn = await asyncpg.connect(pg.server_url)
        assert await conn.fetchval("SELECT value FROM kept") == "before the restart"
        assert int(await conn.fetchval("SHOW max_connections")) >= 300
        await conn.close()

        # A postmaster killed with SIGKILL leaves postmaster.pid behind (and, with no reaper,
        # a zombie under the same pid): the next start must see through it and recover.
        pid = pg.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not pg.is_running(), 10, "postmaster still running after SIGKILL")
        pg = EmbeddedPostgres.start(tmp_path)
        conn = await asyncpg.connect(pg.server_url)
        assert await conn.fetchval("SELECT value FROM kept") == "before the restart"
        await conn.close()
    finally:
        pg.stop()
    assert not EmbeddedPostgres.stop_running(tmp_path)


async def test_embedded_nats_has_jetstream_and_keeps_a_message_across_restart(tmp_path: Path) -> None:
    server = EmbeddedNats.start(tmp_path)
    try:
        assert server.port != 4222
        assert "sync_interval: always" in server.config_path.read_text()
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await js.add_stream(name="KEPT", subjects=["kept.>"])
        ack = await js.publish("kept.one", b"persisted")
        await nc.close()

        port = server.port
        server.stop()
        assert not server.is_running()
        server = EmbeddedNats.start(tmp_path)
        assert server.port == port  # a restarted system finds the same URL

        nc = await nats.connect(server.url)
        message = await nc.jetstream().get_msg("KEPT", ack.seq)
        assert message.data == b"persisted"
        await nc.close()
    finally:
        server.stop()


async def test_ensure_databases_is_idempotent_and_safe_concurrently(database_server_url: str) -> None:
    run = secrets.token_hex(3)
    names = [f"ensure_{run}_{i}" for i in range(3)]

    first = await ensure_databases(database_server_url, names)
    again = await ensure_databases(database_server_url, names)
    assert first == again
    racing = await asyncio.gather(*(ensure_databases(database_server_url, [f"race_{run}"]) for _ in range(4)))
    assert len({json.dumps(r) for r in racing}) == 1

    for name, dsn in {**first, **racing[0]}.items():
        conn = await asyncpg.connect(dsn)
        assert await conn.fetchval("SELECT current_database()") == name
        await conn.close()
        if "?" in database_server_url:  # socket DSN: query parameters (host=...) are kept
            assert dsn.split("?", 1)[1] == database_server_url.split("?", 1)[1]


# --------------------------------------------------------------------------------------------
# The supervisor, as `make run` starts it (embedded servers), with a throwaway ASGI app.

TINY_APP = """
import json
import os

ENV_KEYS = ("DATABASE_URL", "NATS_URL", "DCERT_SERVICE_NAME", "DCERT_DEV_AUTH", "DCERT_ENV", "DCERT_AUTH_JWKS_URL")


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    if scope["path"] == "/crash":
        os._exit(3)
    status, body = 404, {}
    if scope["path"] == "/health":
        status, body = 200, {"pid": os.getpid(), "env": {k: os.environ.get(k) for k in ENV_KEYS}}
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})
"""


class SupervisorRun:
    def __init__(self, tmp_path: Path, data_dir: Path) -> None:
        (tmp_path / "dcert_tiny_health_app.py").write_text(TINY_APP)
        self.tmp_path = tmp_path
        self.data_dir = data_dir
        self.ports = {"certificate": free_port(), "other": free_port()}
        self.log_path = tmp_path / "supervisor.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> SupervisorRun:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NATS_URL", "DCERT_DEV_AUTH")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.tmp_path), env.get("PYTHONPATH")]))
        env["DCERT_DATA_DIR"] = str(self.data_dir)
        command = [sys.executable, "-m", "dcert_dev.supervisor"]
        for name, port in self.ports.items():
            command += ["--service", f"{name}=dcert_tiny_health_app:app:{port}"]
        with self.log_path.open("ab") as log:
            # its own process group, like `make run` under the acceptance harness
            self.process = subprocess.Popen(
                command,
                env=env,
                cwd=self.tmp_path,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def health(self, name: str) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ports[name]}/health", timeout=2) as response:
                body: dict[str, Any] = json.loads(response.read())
                return body
        except (urllib.error.URLError, OSError):
            return None

    def wait_healthy(self, timeout: float = 30) -> dict[str, dict[str, Any]]:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"supervisor exited with {self.process.returncode}:\n{self.log()}")
            bodies = {name: self.health(name) for name in self.ports}
            if all(bodies.values()):
                return {name: body for name, body in bodies.items() if body is not None}
            time.sleep(0.1)
        raise AssertionError(f"not healthy after {timeout} s:\n{self.log()}")

    def pids(self) -> dict[str, Any]:
        recorded: dict[str, Any] = json.loads((self.data_dir / "run.pids").read_text())
        return recorded

    def interrupt(self) -> int:
        """SIGINT to the whole process group, as the acceptance harness does."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGINT)
        return self.process.wait(40)

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def cleanup(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        EmbeddedPostgres.stop_running(self.data_dir)


@pytest.fixture
def supervisor_run(tmp_path: Path) -> Iterator[SupervisorRun]:
    run = SupervisorRun(tmp_path, tmp_path / "data")
    yield run
    run.cleanup()


def all_pids(recorded: dict[str, Any]) -> list[int]:
    return [*recorded["services"].values(), recorded["nats"], recorded["postgres"]]


async def test_supervisor_runs_services_restarts_a_crashed_one_and_stops_cleanly_on_sigint(
    supervisor_run: SupervisorRun,
) -> None:
    run = supervisor_run.start()
    bodies = run.wait_healthy()
    certificate_env = bodies["certificate"]["env"]
    assert certificate_env["DCERT_SERVICE_NAME"] == "certificate"
    assert certificate_env["DCERT_DEV_AUTH"] == "1"
    assert certificate_env["DCERT_ENV"] == "embedded"
    assert (
        certificate_env["DCERT_AUTH_JWKS_URL"]
        == f"http://127.0.0.1:{run.ports['certificate']}/v1/dev/jwks.json"
    )
    # each service connects to the embedded NATS as its own user; a name without one gets the address
    assert certificate_env["NATS_URL"].startswith("nats://certificate:")
    assert bodies["other"]["env"]["NATS_URL"] == "nats://" + certificate_env["NATS_URL"].rpartition("@")[2]
    for name, body in bodies.items():
        conn = await asyncpg.connect(body["env"]["DATABASE_URL"])
        assert await conn.fetchval("SELECT current_database()") == f"dcert_{name}"
        await conn.close()

    # a service that dies is started again (after 1 s)
    crashed_pid = bodies["other"]["pid"]
    with contextlib.suppress(urllib.error.URLError, OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{run.ports['other']}/crash", timeout=2)
    wait_until(
        lambda: (body := run.health("other")) is not None and body["pid"] != crashed_pid,
        15,
        "crashed service was not restarted",
    )
    assert "exited unexpectedly" in run.log()

    recorded = run.pids()
    assert run.interrupt() == 0, run.log()
    for pid in all_pids(recorded):
        assert not alive(pid), f"pid {pid} still alive after the supervisor stopped:\n{run.log()}"
    assert not (run.data_dir / "run.pids").exists()


async def test_supervisor_starts_again_after_being_killed(supervisor_run: SupervisorRun) -> None:
    run = supervisor_run.start()
    run.wait_healthy()
    first = run.pids()
    run.kill()  # kill -9: no chance to stop anything
    for pid in [*first["services"].values(), first["nats"]]:
        wait_until(lambda pid=pid: not alive(pid), 15, f"pid {pid} outlived its killed supervisor")
    assert alive(first["postgres"])  # PostgreSQL is left running ...

    run.start()
    run.wait_healthy()
    second = run.pids()
    assert second["postgres"] == first["postgres"]  # ... and the next start reuses it
    assert run.interrupt() == 0, run.log()
    for pid in all_pids(second):
        assert not alive(pid), f"pid {pid} still alive after the supervisor stopped:\n{run.log()}"
