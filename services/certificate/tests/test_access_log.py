"""访问记录: every read of a person's record by someone else is kept, and the person sees who read it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import asyncpg
import pytest

from dcert_dev.testing import eventually
from dcert_shared.ids import mask

from .conftest import HOME, CertificateService, new_application, new_person


def person_ref(certificate: CertificateService, person: str) -> str:
    return str(certificate.app.state.service.person_ref(person))


async def reads_of(certificate: CertificateService, record_ref: str) -> list[dict[str, Any]]:
    return await certificate.fetch("SELECT * FROM access_log WHERE record_ref = $1 ORDER BY id", record_ref)


async def my_log(certificate: CertificateService, token: str, query: str = "", **headers: str) -> Any:
    answer = await certificate.call("GET", f"/v1/me/access-log{query}", token, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_reviewers_read_is_recorded_with_who_what_and_why_and_the_holders_own_read_is_not(
    certificate: CertificateService,
) -> None:
    person = new_person()
    holder = certificate.holder(person)
    application_id = (await certificate.submit(holder, new_application(person)))["id"]
    await certificate.application(holder, application_id)
    assert await reads_of(certificate, application_id) == []

    reviewer = certificate.token("reviewer", "reviewer-wx-7", region=HOME)
    answer = await certificate.call(
        "GET", f"/v1/applications/{application_id}", reviewer, headers={"X-Purpose": quote("核对申请材料")}
    )
    assert answer.status_code == 200, answer.text

    [read] = await reads_of(certificate, application_id)
    assert read["person_ref"] == person_ref(certificate, person)
    assert (read["reader_role"], read["reader_subject"], read["reader_region"]) == (
        "reviewer",
        "reviewer-wx-7",
        HOME,
    )
    assert (read["record_kind"], read["service"]) == ("application", "certificate")
    assert read["route"] == "/v1/applications/{application_id}"
    assert read["purpose"] == "核对申请材料"
    assert person not in str(read)


async def test_a_purpose_that_is_too_long_is_refused_and_nothing_is_recorded(
    certificate: CertificateService,
) -> None:
    person = new_person()
    application_id = (await certificate.submit(certificate.holder(person), new_application(person)))["id"]
    answer = await certificate.call(
        "GET", f"/v1/applications/{application_id}", certificate.reviewer(), headers={"X-Purpose": "x" * 201}
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"].lower() == "x-purpose"
    assert await reads_of(certificate, application_id) == []


async def test_a_reviewers_queue_records_one_read_per_person_listed(certificate: CertificateService) -> None:
    people = [new_person() for _ in range(3)]
    for person in people:
        await certificate.submit(certificate.holder(person), new_application(person))
    queue = await certificate.call("GET", "/v1/applications?status=submitted", certificate.reviewer())
    listed = [item["id"] for item in queue.json()["items"]]
    rows = await certificate.fetch(
        "SELECT person_ref, record_ref, purpose FROM access_log WHERE route = '/v1/applications'"
        " AND record_ref = ANY($1::text[])",
        listed,
    )
    assert len(rows) == len(listed) >= 3
    assert {person_ref(certificate, person) for person in people} <= {row["person_ref"] for row in rows}
    assert {row["purpose"] for row in rows} == {"review"}


async def test_certificate_numbers_are_kept_masked_and_staff_reads_carry_their_roles_purpose(
    certificate: CertificateService,
) -> None:
    person, _, number = await certificate.holder_with_certificate()
    await certificate.certificate(certificate.admin, number)
    card_centre = certificate.token("card_centre", "card-centre-zj", region=HOME)
    assert (await certificate.call("GET", "/v1/cards", card_centre)).status_code == 200

    masked = mask(number[:18]) + number[18:]
    rows = await certificate.fetch(
        "SELECT reader_role, record_kind, purpose FROM access_log WHERE person_ref = $1 AND record_ref = $2"
        " ORDER BY id",
        person_ref(certificate, person),
        masked,
    )
    assert [(row["reader_role"], row["record_kind"], row["purpose"]) for row in rows] == [
        ("admin", "certificate", "supervision"),
        ("card_centre", "card", "card_production"),
    ]
    assert (
        await certificate.fetch("SELECT 1 FROM access_log WHERE record_ref LIKE $1", f"%{number[:18]}%") == []
    )


async def test_the_access_log_cannot_be_changed_emptied_or_cut_short(certificate: CertificateService) -> None:
    person = new_person()
    application_id = (await certificate.submit(certificate.holder(person), new_application(person)))["id"]
    await certificate.application(certificate.reviewer(), application_id)
    for statement in (
        "UPDATE access_log SET purpose = 'nothing to see' WHERE record_ref = $1",
        "DELETE FROM access_log WHERE record_ref = $1",
    ):
        with pytest.raises(asyncpg.RaiseError, match="the access log is kept"):
            await certificate.fetch(statement, application_id)
    with pytest.raises(asyncpg.RaiseError, match="the access log is kept"):
        await certificate.fetch("TRUNCATE access_log")
    assert len(await reads_of(certificate, application_id)) == 1


async def test_a_person_sees_who_read_their_record_newest_first_in_their_language(
    certificate: CertificateService,
) -> None:
    person, holder, number = await certificate.holder_with_certificate()
    await certificate.certificate(holder, number)  # their own read: not in their log
    application_id = (
        await certificate.fetch("SELECT application_id FROM certificate_view WHERE number = $1", number)
    )[0]["application_id"]
    await certificate.application(certificate.reviewer(), application_id)
    await certificate.certificate(certificate.admin, number)

    async def both_reads() -> Any:
        log = await my_log(certificate, holder, **{"Accept-Language": "en"})
        return log if len(log["items"]) >= 2 else None

    log = await eventually(both_reads)
    newest, older = log["items"][0], log["items"][1]
    assert (newest["reader_role"], newest["record_kind"], newest["purpose"]) == (
        "admin",
        "certificate",
        "supervision",
    )
    assert (newest["reader_role_name"], newest["record_kind_name"]) == ("Administrator", "Certificate")
    assert newest["purpose_text"] == "Supervision"
    assert newest["service_name"] == "Certificate service"
    assert newest["record_ref"] == mask(number[:18]) + number[18:]
    assert (older["reader_role"], older["reader_region"], older["record_ref"]) == (
        "reviewer",
        HOME,
        application_id,
    )
    assert newest["read_at"] >= older["read_at"]
    assert "reader_subject" not in newest
    assert person not in str(log)
    # the approving reviewer's reads while deciding are there too; none is the holder's own
    assert {item["reader_role"] for item in log["items"]} <= {"reviewer", "admin"}

    chinese = await my_log(certificate, holder)
    assert chinese["items"][0]["reader_role_name"] == "管理人员"

    first = await my_log(certificate, holder, "?limit=1")
    assert [item["read_at"] for item in first["items"]] == [newest["read_at"]]
    second = await my_log(certificate, holder, f"?limit=1&before={first['next_before']}")
    assert [(item["read_at"], item["record_ref"]) for item in second["items"]] == [
        (older["read_at"], older["record_ref"])
    ]

    stranger = await my_log(certificate, certificate.holder(new_person()))
    assert stranger["items"] == []


async def test_an_agent_sees_the_persons_log_through_their_application_and_their_reads_are_in_it(
    certificate: CertificateService,
) -> None:
    child, parent = new_person(), new_person()
    agent = {"id_number": parent, "name": "李大明", "relationship": "parent"}
    parent_token = certificate.holder(parent)
    application_id = (await certificate.submit(parent_token, new_application(child, agent=agent)))["id"]
    # Claimed, not verified yet: the status of what they submitted, nothing of the person.
    assert set(await certificate.application(parent_token, application_id)) == {
        "id",
        "matter",
        "status",
        "agent_status",
        "assessment_id",
        "submitted_at",
        "updated_at",
    }
    unverified = await certificate.call(
        "GET", f"/v1/me/access-log?application_id={application_id}", parent_token
    )
    assert unverified.status_code == 404
    await certificate.confirm_agent(application_id)
    await certificate.application(parent_token, application_id)

    async def the_agents_read() -> Any:
        log = await my_log(certificate, parent_token, f"?application_id={application_id}")
        return log if "application" in {item["record_kind"] for item in log["items"]} else None

    # The agent's read of the application, and their looks at this log (also recorded).
    log = await eventually(the_agents_read)
    assert {(item["reader_role"], item["purpose"]) for item in log["items"]} == {("agent", "acting_as_agent")}
    assert {item["record_kind"] for item in log["items"]} <= {"application", "access_log"}
    assert (await my_log(certificate, parent_token))["items"] == []  # the parent's own log: nobody read it

    stranger = await certificate.call(
        "GET", f"/v1/me/access-log?application_id={application_id}", certificate.holder(new_person())
    )
    assert stranger.status_code == 404
    looked = await certificate.fetch(
        "SELECT DISTINCT person_ref, reader_subject FROM access_log"
        " WHERE record_kind = 'access_log' AND record_ref = $1",
        application_id,
    )
    assert looked == [
        {"person_ref": person_ref(certificate, child), "reader_subject": f"citizen-{parent[-6:]}"}
    ]


async def test_only_the_person_may_ask_for_an_access_log(certificate: CertificateService) -> None:
    staff = {
        "reviewer": certificate.reviewer(),
        "admin": certificate.admin,
        "doctor": certificate.token("doctor", "doctor-1", doctor_id="d-1"),
        "partner": certificate.token("partner", "partner-1", partner_id="p-1"),
        "card centre": certificate.token("card_centre", "card-centre-zj", region=HOME),
    }
    for who, token in staff.items():
        answer = await certificate.call("GET", "/v1/me/access-log", token)
        assert answer.status_code == 403, who
        assert answer.headers["content-type"].startswith("application/problem+json"), who
    assert (await certificate.call("GET", "/v1/me/access-log", None)).status_code == 401
    broken = await certificate.call(
        "GET", "/v1/me/access-log?before=not-a-marker", certificate.holder(new_person())
    )
    assert broken.status_code == 422
    assert broken.json()["errors"][0]["code"] == "cursor_invalid"
