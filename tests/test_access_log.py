"""访问记录 across the four services: staff, the doctor and a partner agency read person A's
records, and A sees each of those reads in one answer from the certificate service."""

from __future__ import annotations

from typing import Any

from dcert_shared.ids import mask

from .system import System, WebhookReceiver, application, new_person, wait_for
from .test_lifecycle_flow import issued
from .test_main_flow import apply, assessment_of


def access_log(system: System, token: str) -> list[dict[str, Any]]:
    answer = system.call("certificate", "GET", "/v1/me/access-log?limit=200", token=token)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def test_a_person_sees_every_services_reads_of_their_record_and_nobody_else_sees_them(
    system: System,
    doctor: str,
    reviewer: str,
    admin: str,
    partner: tuple[str, dict[str, Any], WebhookReceiver],
) -> None:
    person_a, person_b = new_person(), new_person()
    token_a = system.token("applicant", "citizen-a", id_number=person_a)
    token_b = system.token("applicant", "citizen-b", id_number=person_b)
    assert apply(system, token_b, application(person_b)).status_code == 201
    # The reviewer reads A's application while waiting for the result, then approves it.
    number = issued(system, doctor, reviewer, token_a, application(person_a), level=1)
    [application_id] = [
        item["id"]
        for item in system.call("certificate", "GET", "/v1/applications", token=token_a).json()["items"]
    ]
    assessment_id = assessment_of(system, doctor, application_id)["id"]
    seen = system.call("assessment", "GET", f"/v1/assessments/{assessment_id}", token=doctor)
    assert seen.status_code == 200, seen.text
    assert system.call("certificate", "GET", f"/v1/certificates/{number}", token=admin).status_code == 200
    wait_for(
        lambda: (
            system.call("benefits", "GET", f"/v1/certificates/{number}/benefits", token=admin).status_code
            == 200
        )
    )
    masked_number = mask(number[:18]) + number[18:]
    expected = {
        ("certificate", "reviewer", "application", application_id),
        ("assessment", "doctor", "assessment", assessment_id),
        ("certificate", "admin", "certificate", masked_number),
        ("benefits", "admin", "benefits", masked_number),
        ("notification", "partner", "partner_delivery"),
    }

    def all_reads() -> list[dict[str, Any]] | None:
        log = access_log(system, token_a)
        found = {(e["service"], e["reader_role"], e["record_kind"], e["record_ref"]) for e in log}
        found |= {(e["service"], e["reader_role"], e["record_kind"]) for e in log}
        return log if expected <= found else None

    log = wait_for(all_reads, timeout=60)
    assert [entry["read_at"] for entry in log] == sorted((entry["read_at"] for entry in log), reverse=True)
    assert {entry["reader_role"] for entry in log} <= {"reviewer", "doctor", "admin", "partner"}
    assert person_a not in str(log)
    assert number not in str(log)
    doctor_read = next(e for e in log if e["service"] == "assessment" and e["record_ref"] == assessment_id)
    assert doctor_read["purpose"] == "assessment"
    assert doctor_read["reader_organisation"]

    refs_of_a = {application_id, assessment_id, masked_number}
    assert not refs_of_a & {entry["record_ref"] for entry in access_log(system, token_b)}
    for role, token in {
        "admin": admin,
        "doctor": doctor,
        "reviewer": reviewer,
        "partner": partner[0],
    }.items():
        refused = system.call("certificate", "GET", "/v1/me/access-log", token=token)
        assert refused.status_code == 403, role
