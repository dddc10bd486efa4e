"""The master key is rotated while the service runs (`dcert keys rotate`): what was sealed before
opens afterwards with only the new key, and a service given both keys reads and writes throughout."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from dcert_certificate.bootstrap import create_app
from dcert_certificate.settings import CertificateSettings
from dcert_dev.embedded import ensure_databases
from dcert_dev.testing import delete_streams, new_prefix, run_console, running_service
from dcert_shared.vault import local_key_id

from .conftest import CertificateService, Clock, new_person

OLD_KEY, NEW_KEY, STRANGER_KEY = (os.urandom(32) for _ in range(3))


def encoded(key: bytes) -> str:
    return base64.b64encode(key).decode()


async def test_a_master_key_rotated_while_the_service_runs_leaves_every_sealed_name_readable(
    database_server_url: str, nats_url: str
) -> None:
    name = f"cert_{uuid.uuid4().hex[:10]}"
    dsn = (await ensure_databases(database_server_url, [name]))[name]
    prefix = new_prefix()

    @asynccontextmanager
    async def service_with(current: bytes, *previous: bytes) -> AsyncIterator[CertificateService]:
        """The service on the same database and streams, started with these master keys."""
        settings = CertificateSettings(
            database_url=dsn,
            nats_url=nats_url,
            nats_prefix=prefix,
            environment="test",
            public_notice_working_days=0,
            notice_check_seconds=0.1,
            master_key=encoded(current),
            previous_master_keys=[encoded(key) for key in previous],
        )
        clock = Clock()
        async with running_service(
            partial(create_app, today=clock),
            settings,
            ("assessment", "benefits"),
            service_type=CertificateService,
            keep_streams=True,
            clock=clock,
        ) as service:
            yield service

    async def wrapping() -> dict[str, int]:
        rows = await service.fetch(
            "SELECT master_key_id, count(*) AS keys FROM person_keys WHERE wrapped_key IS NOT NULL"
            " GROUP BY master_key_id"
        )
        return {row["master_key_id"]: row["keys"] for row in rows}

    async def valid_by_name(number: str) -> bool:
        answer = await service.http.post("/v1/verify", json={"certificate_number": number, "name": "李明华"})
        return bool(answer.json()["valid"])

    try:
        async with service_with(OLD_KEY) as service:
            before = [await service.certificate_for(new_person()) for _ in range(3)]
            assert set(await wrapping()) == {local_key_id(OLD_KEY)}

        async with service_with(NEW_KEY, OLD_KEY) as service:
            console = {"certificate": service.settings}
            rotating = asyncio.create_task(
                run_console(
                    console,
                    "--lang",
                    "en",
                    "keys",
                    "rotate",
                    "--service",
                    "certificate",
                    "--batch-size",
                    "1",
                    "--yes",
                    DCERT_PREVIOUS_MASTER_KEYS=json.dumps([encoded(OLD_KEY)]),
                )
            )
            during = await service.certificate_for(new_person())  # writes meanwhile
            assert all([await valid_by_name(number) for number in before])  # and reads
            rotated = await rotating
            assert rotated.status == 0, rotated.errors
            assert rotated.output.strip().endswith(
                f"certificate: every data key is wrapped by {local_key_id(NEW_KEY)}; remove the old master"
                " keys from DCERT_PREVIOUS_MASTER_KEYS and restart the service"
            )
            assert set(await wrapping()) == {local_key_id(NEW_KEY)}

        async with service_with(NEW_KEY) as service:
            rebuilt = await run_console(
                {"certificate": service.settings},
                "--lang",
                "en",
                "projections",
                "rebuild",
                "certificate",
                "--yes",
            )
            assert rebuilt.status == 0, rebuilt.errors
            # The names were read again from the sealed events, with the new key alone.
            assert all([await valid_by_name(number) for number in [*before, during]])
            after = await service.certificate_for(new_person())
            assert await valid_by_name(after)

            data_keys = sum((await wrapping()).values())
            stranger = await run_console(
                {"certificate": service.settings},
                "--lang",
                "en",
                "keys",
                "rotate",
                "--service",
                "certificate",
                "--yes",
                DCERT_MASTER_KEY=encoded(STRANGER_KEY),
            )
            assert stranger.status == 1
            assert stranger.errors.strip().splitlines()[-1] == (
                f"{data_keys} data keys of the certificate service are wrapped by {local_key_id(NEW_KEY)}, a master key"
                " not configured: add it to DCERT_PREVIOUS_MASTER_KEYS first"
            )
    finally:
        await delete_streams(nats_url, prefix)
