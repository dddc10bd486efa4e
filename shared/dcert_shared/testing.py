"""Pytest fixtures shared by every test directory (loaded by the root conftest.py).

- `infra` (session): embedded PostgreSQL and NATS in a temporary folder, started once per test
  session, or the servers named by DATABASE_URL / NATS_URL when those are set.
- `database_server_url`, `nats_url` (session): their URLs.
- `fresh_database` (function, async): the DSN of a brand-new empty database on that server,
  named `test_<session>_<n>`; it is left behind (the embedded server is thrown away anyway).
- `test_prefix` (function): a unique short lowercase token such as `t3f9a1`, for NATS subject
  and stream prefixes, so tests sharing one NATS server never see each other's messages.
"""

from __future__ import annotations

import itertools
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from dcert_shared.embedded import Infra, ensure_databases, start_infra

SESSION_TOKEN = secrets.token_hex(3)
_database_numbers = itertools.count(1)
_prefixes_given: set[str] = set()


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    """The servers for this test session (embedded unless DATABASE_URL / NATS_URL are set)."""
    database_url = os.environ.get("DATABASE_URL") or None
    nats_url = os.environ.get("NATS_URL") or None
    data_dir: Path | None = None
    if database_url is None or nats_url is None:
        # Not under pytest's basetemp: that one is made 0700, and the embedded PostgreSQL runs
        # as another OS user when we are root. A short path also keeps the socket path short.
        data_dir = Path(tempfile.mkdtemp(prefix="dcert-test-"))
    started = start_infra(data_dir or Path(tempfile.gettempdir()), database_url, nats_url)
    try:
        yield started
    finally:
        started.stop()
        if data_dir is not None:
            shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def database_server_url(infra: Infra) -> str:
    """A PostgreSQL server URL (the `postgres` database); create databases of your own on it."""
    return infra.database_server_url


@pytest.fixture(scope="session")
def nats_url(infra: Infra) -> str:
    return infra.nats_url


@pytest_asyncio.fixture(loop_scope="session")
async def fresh_database(database_server_url: str) -> AsyncIterator[str]:
    """The DSN of a new, empty database created for this test."""
    name = f"test_{SESSION_TOKEN}_{next(_database_numbers)}"
    dsns = await ensure_databases(database_server_url, [name])
    yield dsns[name]


def new_prefix() -> str:
    """A token not given before in this session: 't' and five hex digits."""
    while True:
        prefix = "t" + secrets.token_hex(3)[:5]
        if prefix not in _prefixes_given:
            _prefixes_given.add(prefix)
            return prefix


@pytest.fixture
def test_prefix() -> str:
    """A unique short lowercase token (e.g. `t3f9a1`) for NATS subject / stream prefixes."""
    return new_prefix()
