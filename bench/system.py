"""The whole system for a benchmark: embedded servers, four fresh databases, four service processes.

As tests/conftest.py starts it for the end-to-end tests, with the embedded servers' data in
`.data/bench` (DCERT_DATA_DIR) as bench/append.py has it, or on the servers named by
DATABASE_URL / NATS_URL. Everything started here is stopped, and the databases and streams of
the run are deleted, when the `with` block ends (also on Ctrl-C or an error).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx

from dcert_dev.embedded import EmbeddedPostgres, ensure_databases, free_port, start_infra
from dcert_dev.supervisor import ServiceProcess
from dcert_dev.testing import delete_streams

T = TypeVar("T")

SERVICES = ("certificate", "assessment", "benefits", "notification")
DATA_DIR = Path(os.environ.get("DCERT_DATA_DIR", ".data")) / "bench"
LOG_DIR = DATA_DIR / "logs"


@contextlib.contextmanager
def running_system() -> Iterator[dict[str, int]]:
    """The four services as real uvicorn processes; yields their ports."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    infra = start_infra(DATA_DIR, os.environ.get("DATABASE_URL") or None, os.environ.get("NATS_URL") or None)
    run = secrets.token_hex(3)
    names = {name: f"dcert_bench_{run}_{name}" for name in SERVICES}
    prefix = f"bench{run}"
    processes: list[ServiceProcess] = []
    try:
        databases = asyncio.run(ensure_databases(infra.database_server_url, list(names.values())))
        ports = {name: free_port() for name in SERVICES}
        common = {
            "DCERT_ENV": "test",
            "DCERT_DEV_AUTH": "1",
            "DCERT_NATS_PREFIX": prefix,
            "DCERT_AUTH_JWKS_URL": f"http://127.0.0.1:{ports['certificate']}/v1/dev/jwks.json",
            "DCERT_PUBLIC_NOTICE_WORKING_DAYS": "0",
            "DCERT_NOTICE_CHECK_SECONDS": "0.2",
            # The load's few tokens make every call: counted (its cost is measured), never refused.
            "DCERT_SUBJECT_RATE_LIMIT_PER_MINUTE": "1000000",
        }
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        for name in SERVICES:
            env = {
                **os.environ,
                **common,
                "DCERT_SERVICE_NAME": name,
                "DATABASE_URL": databases[names[name]],
                "NATS_URL": infra.nats_url_for(name),
            }
            log_path = LOG_DIR / f"{name}.log"
            log_path.unlink(missing_ok=True)
            processes.append(
                ServiceProcess(name, f"dcert_{name}.main:app", ports[name], env, log_path=log_path)
            )
            processes[-1].start()
        for process in processes:
            process.wait_healthy(timeout=60)
        yield ports
    finally:
        for process in processes:
            process.stop()
        try:
            asyncio.run(_forget(infra.database_server_url, list(names.values()), infra.nats_url, prefix))
        finally:
            infra.stop()


async def _forget(server_url: str, databases: list[str], nats_url: str, prefix: str) -> None:
    """Drop the run's databases and streams: a shared server must not fill up with benchmarks."""
    conn = await asyncpg.connect(server_url)
    try:
        for database in databases:
            await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await conn.close()
    logging.getLogger("dcert_shared.broker").setLevel(logging.ERROR)  # its "disconnected" on close
    await delete_streams(nats_url, prefix)


@dataclass
class Client:
    """One client of the public HTTP API (docs/api.md), on its own connection pool."""

    ports: dict[str, int]
    http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=30))

    async def call(
        self, service: str, method: str, path: str, body: Any = None, token: str | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        url = f"http://127.0.0.1:{self.ports[service]}{path}"
        return await self.http.request(method, url, json=body, headers=headers)

    async def token(self, role: str, subject: str, **claims: str) -> str:
        answer = await self.call(
            "certificate", "POST", "/v1/dev/tokens", {"role": role, "subject": subject, "claims": claims}
        )
        expect(answer, 200, 201)
        return str(answer.json()["access_token"])

    async def close(self) -> None:
        await self.http.aclose()


def expect(answer: httpx.Response, *statuses: int) -> httpx.Response:
    if answer.status_code not in statuses:
        raise RuntimeError(
            f"{answer.request.method} {answer.request.url}: {answer.status_code} {answer.text}"
        )
    return answer


async def wait_for(
    check: Callable[[], Awaitable[T | None]], what: str, timeout: float = 30, interval: float = 0.1
) -> T:
    """Poll `check` until it gives a truthy value; TimeoutError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not (value := await check()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        await asyncio.sleep(interval)
    return value


@contextlib.asynccontextmanager
async def bench_database() -> AsyncIterator[str]:
    """A database of its own for one benchmark (its DSN): on DATABASE_URL's server, or on an
    embedded PostgreSQL in .data/bench; dropped (and the embedded server stopped) afterwards."""
    server_url = os.environ.get("DATABASE_URL")
    embedded = None
    if server_url is None:
        data_dir = Path(os.environ.get("DCERT_DATA_DIR", ".data")) / "bench"
        data_dir.mkdir(parents=True, exist_ok=True)
        embedded = EmbeddedPostgres.start(data_dir)
        server_url = embedded.server_url
    database = f"dcert_bench_{secrets.token_hex(4)}"
    try:
        yield (await ensure_databases(server_url, [database]))[database]
    finally:
        conn = await asyncpg.connect(server_url)
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await conn.close()
        if embedded is not None:
            embedded.stop()
