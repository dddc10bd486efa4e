"""The certificate service on real PostgreSQL and NATS, and the `dcert` console run against its
database as an operator runs it: a process of its own, configured by the environment."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest_asyncio

from dcert_certificate.bootstrap import create_app
from dcert_certificate.domain.legacy_import import COLUMNS
from dcert_certificate.settings import CertificateSettings
from dcert_dev.embedded import ensure_databases
from dcert_dev.testing import ServiceUnderTest, new_prefix, running_service

DCERT = Path(sys.executable).with_name("dcert")


@dataclass(frozen=True)
class Console:
    """`dcert` with the certificate service's settings in its environment."""

    environment: Mapping[str, str]

    def run(self, *arguments: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(DCERT), *map(str, arguments)],
            env={**os.environ, **self.environment},
            capture_output=True,
            text=True,
            timeout=300,
        )


@dataclass
class Imports:
    service: ServiceUnderTest
    console: Console

    async def count(self, sql: str, *args: object) -> int:
        rows = await self.service.fetch(sql, *args)
        return int(next(iter(rows[0].values())))


def write_export(path: Path, rows: Iterable[Mapping[str, str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def imports(database_server_url: str, nats_url: str) -> AsyncIterator[Imports]:
    name = f"import_{uuid.uuid4().hex[:10]}"
    dsn = (await ensure_databases(database_server_url, [name]))[name]
    settings = CertificateSettings(
        database_url=dsn, nats_url=nats_url, nats_prefix=new_prefix(), environment="test"
    )
    environment = {
        "DCERT_CERTIFICATE_DATABASE_URL": dsn,
        "NATS_URL": nats_url,
        "DCERT_NATS_PREFIX": settings.nats_prefix,
        "DCERT_ENVIRONMENT": "test",
        "LANG": "C.UTF-8",
    }
    async with running_service(create_app, settings, ("assessment", "benefits")) as service:
        yield Imports(service, Console(environment))
