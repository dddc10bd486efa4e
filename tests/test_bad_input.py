"""Bad input gets a 4xx problem document and changes nothing (issue 3, "Bad input")."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dcert_shared.ids import check_character, make_identity_number

from .system import System, application, new_person
from .test_main_flow import apply, assessment_of


def assert_problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = answer.json()
    assert {"type", "title", "status"} <= set(problem)
    assert problem["status"] == status
    return problem


def applications_of(system: System, token: str) -> list[Any]:
    return list(system.call("certificate", "GET", "/v1/applications", token=token).json()["items"])


def test_a_wrong_identity_check_digit_is_refused_and_nothing_is_recorded(system: System) -> None:
    person = new_person()
    wrong = person[:-1] + ("0" if person[-1] != "0" else "1")
    token = system.token("applicant", "c-check", id_number=person)
    problem = assert_problem(apply(system, token, application(wrong)), 422)
    assert any(error["field"].endswith("applicant.id_number") for error in problem["errors"])
    assert wrong not in str(problem), "the submitted identity number was echoed back"
    assert applications_of(system, token) == []


def test_an_impossible_birth_date_is_refused(system: System) -> None:
    body = "33050219800230" + "123"  # 30 February
    impossible = body + check_character(body)
    token = system.token("applicant", "c-date", id_number=new_person())
    problem = assert_problem(apply(system, token, application(impossible)), 422)
    assert problem["errors"]


def test_a_birth_date_in_the_future_is_refused(system: System) -> None:
    # Two days ahead: "today" is China's date, which may already be tomorrow in UTC.
    future = make_identity_number("330502", date.today() + timedelta(days=2), 11)
    token = system.token("applicant", "c-future", id_number=new_person())
    assert_problem(apply(system, token, application(future)), 422)


def test_a_missing_consent_is_refused_with_every_missing_item_at_once(system: System) -> None:
    person = new_person()
    token = system.token("applicant", "c-consent", id_number=person)
    body = application(person)
    del body["consent"]
    del body["applicant"]["phone"]
    problem = assert_problem(apply(system, token, body), 422)
    fields = {error["field"] for error in problem["errors"]}
    assert {"consent", "applicant.phone"} <= fields, "one visit: every missing item in one answer"
    assert applications_of(system, token) == []


def test_consent_given_as_false_is_refused(system: System) -> None:
    person = new_person()
    token = system.token("applicant", "c-consent-false", id_number=person)
    assert_problem(apply(system, token, application(person, consent=False)), 422)


@pytest.mark.parametrize("category", ["deaf", "8", ""])
def test_an_unknown_category_is_refused(system: System, category: str) -> None:
    person = new_person()
    token = system.token("applicant", "c-category", id_number=person)
    assert_problem(apply(system, token, application(person, category=category)), 422)


def test_an_unknown_level_is_refused_at_grading(system: System, doctor: str) -> None:
    person = new_person()
    token = system.token("applicant", "c-level", id_number=person)
    application_id = apply(system, token, application(person)).json()["id"]
    assessment = assessment_of(system, doctor, application_id)
    answer = system.call(
        "assessment",
        "POST",
        f"/v1/assessments/{assessment['id']}/result",
        {"category": "physical", "level": 5, "findings": "x", "measurements": {}},
        doctor,
    )
    assert_problem(answer, 422)


def test_a_second_open_new_application_for_the_same_person_is_a_conflict(system: System) -> None:
    person = new_person()
    token = system.token("applicant", "c-second", id_number=person)
    assert apply(system, token, application(person)).status_code == 201
    problem = assert_problem(apply(system, token, application(person)), 409)
    assert problem["code"] == "open_application_exists"
    assert len(applications_of(system, token)) == 1


def test_an_agent_cannot_be_someone_other_than_the_caller(system: System) -> None:
    caller, stranger, child = new_person(), new_person(), new_person(birth=date(2015, 1, 2))
    token = system.token("applicant", "c-agent", id_number=caller)
    assert_problem(apply(system, token, application(child, agent=stranger)), 403)


def test_a_doctor_cannot_record_a_result_for_an_assessment_not_assigned_to_them(
    system: System, doctor: str, admin: str
) -> None:
    institution = system.call(
        "assessment",
        "POST",
        "/v1/institutions",
        {"name": "另一医院", "region": "110101", "categories": ["physical"]},
        admin,
    ).json()
    other = system.call(
        "assessment",
        "POST",
        "/v1/doctors",
        {
            "name": "张医生",
            "institution_id": institution["id"],
            "license_no": f"LIC-O-{new_person()}",
            "categories": ["physical"],
        },
        admin,
    ).json()
    other_token = system.token("doctor", "doctor-other", doctor_id=other["id"])
    person = new_person()
    token = system.token("applicant", "c-doctor", id_number=person)
    application_id = apply(system, token, application(person)).json()["id"]
    assessment = assessment_of(system, doctor, application_id)
    answer = system.call(
        "assessment",
        "POST",
        f"/v1/assessments/{assessment['id']}/result",
        {"category": "physical", "level": 2, "findings": "x", "measurements": {}},
        other_token,
    )
    assert_problem(answer, 403)


def test_a_reviewer_outside_the_region_neither_sees_nor_decides(
    system: System, doctor: str, reviewer: str
) -> None:
    person = new_person()
    token = system.token("applicant", "c-region", id_number=person)
    application_id = apply(system, token, application(person)).json()["id"]
    outsider = system.token("reviewer", "reviewer-far", region="110101")
    assert system.call(
        "certificate", "GET", f"/v1/applications/{application_id}", token=outsider
    ).status_code in (403, 404)
    answer = system.call(
        "certificate",
        "POST",
        f"/v1/applications/{application_id}/decision",
        {"decision": "approve"},
        outsider,
    )
    assert answer.status_code in (403, 404)
    assert application_id not in [a["id"] for a in applications_of(system, outsider)]


def test_an_expired_token_is_refused(system: System) -> None:
    answer = system.call(
        "certificate",
        "POST",
        "/v1/dev/tokens",
        {
            "role": "applicant",
            "subject": "c-expired",
            "claims": {"id_number": new_person()},
            "expires_in": -120,
        },
    )
    expired = answer.json()["access_token"]
    problem = assert_problem(system.call("certificate", "GET", "/v1/applications", token=expired), 401)
    assert problem["code"] == "token_expired"


def test_a_token_signed_with_another_key_is_refused(system: System) -> None:
    token = system.token("applicant", "c-forged", id_number=new_person())
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(
        claims,
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": jwt.get_unverified_header(token)["kid"]},
    )
    assert_problem(system.call("certificate", "GET", "/v1/applications", token=forged), 401)


def test_a_forged_or_missing_token_is_refused_by_every_service(system: System) -> None:
    token = system.token("admin", "admin-forger")
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for service, path in (
        ("certificate", "/v1/applications"),
        ("assessment", "/v1/assessments?assigned=me"),
        ("benefits", f"/v1/certificates/{new_person()}41/benefits"),
        ("notification", "/v1/subscriptions"),
    ):
        assert_problem(system.call(service, "GET", path, token=tampered), 401)
        assert_problem(system.call(service, "GET", path), 401)


def test_a_reused_idempotency_key_with_another_body_is_a_conflict(system: System) -> None:
    person = new_person()
    token = system.token("applicant", "c-idem", id_number=person)
    key = f"idem-{person}"
    assert apply(system, token, application(person), key=key).status_code == 201
    other = application(person, category="visual")
    problem = assert_problem(apply(system, token, other, key=key), 409)
    assert problem["code"] == "idempotency_key_reused"
    assert len(applications_of(system, token)) == 1


def test_an_unknown_application_is_a_problem_not_a_crash(system: System, reviewer: str) -> None:
    assert_problem(system.call("certificate", "GET", "/v1/applications/nope", token=reviewer), 404)
    assert_problem(
        system.call(
            "certificate", "POST", "/v1/applications/nope/decision", {"decision": "approve"}, reviewer
        ),
        404,
    )
    assert_problem(
        system.call("certificate", "POST", "/v1/applications/nope/decision", {"decision": "maybe"}, reviewer),
        422,
    )
