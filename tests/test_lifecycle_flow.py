"""Matters after issuance across the real services: a grade change re-assessed by a doctor of the
assessment service, and a child's certificate handled by the parent as agent."""

from __future__ import annotations

from datetime import date
from typing import Any

from .system import System, application, new_person, wait_for
from .test_main_flow import apply, assessment_of, graded, status_of


def issued(system: System, doctor: str, reviewer: str, token: str, body: dict[str, Any], level: int) -> str:
    application_id = apply(system, token, body).json()["id"]
    graded(system, doctor, application_id, level=level)
    wait_for(lambda: status_of(system, reviewer, application_id) == "assessed")
    approved = system.call(
        "certificate",
        "POST",
        f"/v1/applications/{application_id}/decision",
        {"decision": "approve"},
        reviewer,
    )
    assert approved.status_code == 200, approved.text
    return str(approved.json()["certificate_number"])


def test_a_parent_changes_a_childs_grade_through_a_real_reassessment(
    system: System, doctor: str, reviewer: str
) -> None:
    child, parent = new_person(birth=date(2017, 6, 1)), new_person()
    parent_token = system.token("applicant", "parent-grade-change", id_number=parent)
    number = issued(system, doctor, reviewer, parent_token, application(child, agent=parent), level=3)
    code = system.call("certificate", "GET", f"/v1/certificates/{number}/e-certificate", token=parent_token)
    assert code.status_code == 200

    change = apply(
        system,
        parent_token,
        {
            "matter": "grade_change",
            "certificate_number": number,
            "declared_category": "physical",
            "consent": True,
        },
    )
    assert change.status_code == 201, change.text
    reassessment = assessment_of(system, doctor, change.json()["id"])
    assert reassessment["declared_category"] == "physical"
    graded(system, doctor, change.json()["id"], level=1)
    wait_for(lambda: status_of(system, reviewer, change.json()["id"]) == "assessed")
    approved = system.call(
        "certificate",
        "POST",
        f"/v1/applications/{change.json()['id']}/decision",
        {"decision": "approve"},
        reviewer,
    )
    new_number = approved.json()["certificate_number"]
    assert new_number == number[:18] + "41"
    old = system.call("certificate", "GET", f"/v1/certificates/{number}", token=parent_token).json()
    assert (old["status"], old["replaced_by"]) == ("replaced", new_number)
    verified = system.client.get(
        system.url("certificate", "/v1/verify"), params={"code": code.json()["code"]}
    )
    assert verified.json()["valid"] is False
    assert verified.json()["status"] == "replaced"
    timeline = system.call(
        "certificate", "GET", f"/v1/applications/{change.json()['id']}/timeline", token=parent_token
    ).json()
    assert [step["actor_role"] for step in timeline["steps"] if step["step"] == "assessed"] == ["doctor"]


def test_a_withdrawn_application_leaves_the_doctors_worklist_as_cancelled(
    system: System, doctor: str, reviewer: str
) -> None:
    person = new_person()
    token = system.token("applicant", "citizen-withdraws", id_number=person)
    application_id = apply(system, token, application(person)).json()["id"]
    assessment = assessment_of(system, doctor, application_id)
    withdrawn = system.call(
        "certificate", "POST", f"/v1/applications/{application_id}/withdrawal", token=token
    )
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"

    def cancelled() -> bool:
        items = system.call("assessment", "GET", "/v1/assessments?assigned=me", token=doctor).json()["items"]
        return any(item["id"] == assessment["id"] and item["status"] == "cancelled" for item in items)

    wait_for(cancelled)
    late = system.call(
        "assessment",
        "POST",
        f"/v1/assessments/{assessment['id']}/result",
        {"category": "physical", "level": 2, "findings": "x", "measurements": {}},
        doctor,
    )
    assert late.status_code == 409
    assert late.json()["code"] == "assessment_cancelled"


def test_a_disputed_result_is_reassessed_by_another_institution_across_the_services(
    system: System, doctor: str, reviewer: str, admin: str
) -> None:
    institution = system.call(
        "assessment",
        "POST",
        "/v1/institutions",
        {"name": "南浔区人民医院", "region": "330503", "categories": ["physical"]},
        admin,
    )
    system.call(
        "assessment",
        "POST",
        "/v1/doctors",
        {
            "name": "复核医生",
            "institution_id": institution.json()["id"],
            "license_no": f"LIC-R-{new_person()}",
            "categories": ["physical"],
        },
        admin,
    )
    child, parent = new_person(birth=date(2018, 2, 2)), new_person()
    token = system.token("applicant", "parent-disputes", id_number=parent)
    application_id = apply(system, token, application(child, agent=parent)).json()["id"]
    graded(system, doctor, application_id, level=3)
    wait_for(lambda: status_of(system, token, application_id) == "assessed")
    disputed = system.call(
        "certificate", "POST", f"/v1/applications/{application_id}/dispute", {"reason": "等级偏轻"}, token
    )
    # The parent is not verified before the approval: they see the status of what they sent.
    assert disputed.status_code == 200
    assert disputed.json()["status"] == "assessing"

    def second_round() -> dict[str, Any] | None:
        items = system.call("assessment", "GET", "/v1/assessments?status=scheduled", token=admin).json()[
            "items"
        ]
        return next((item for item in items if item["application_id"] == application_id), None)

    reassessment = wait_for(second_round)
    detail = system.call("assessment", "GET", f"/v1/assessments/{reassessment['id']}", token=admin).json()
    assessed = system.call("assessment", "GET", "/v1/assessments?status=assessed", token=admin).json()[
        "items"
    ]
    first_id = next(item["id"] for item in assessed if item["application_id"] == application_id)
    first = system.call("assessment", "GET", f"/v1/assessments/{first_id}", token=admin).json()
    assert first["institution_id"]
    assert detail["institution_id"] != first["institution_id"]
    assert detail["doctor_id"] != first["doctor_id"]
    second_doctor = system.token("doctor", "second-doctor", doctor_id=detail["doctor_id"])
    recorded = system.call(
        "assessment",
        "POST",
        f"/v1/assessments/{reassessment['id']}/result",
        {"category": "physical", "level": 2, "findings": "复核所见", "measurements": {}},
        second_doctor,
    )
    assert recorded.status_code == 201, recorded.text

    def regraded() -> bool:
        current = system.call(
            "certificate", "GET", f"/v1/applications/{application_id}", token=reviewer
        ).json()
        return current["status"] == "assessed" and current["assessment"]["level"] == 2

    wait_for(regraded)
