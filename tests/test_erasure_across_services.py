"""An admin erases a person on a legal request: every service forgets them, not only the one asked."""

from __future__ import annotations

import secrets

from .system import System, application, new_person, wait_for
from .test_main_flow import apply, assessment_of, decide, graded


def test_an_erasure_reaches_the_findings_the_contact_and_the_application_in_every_service(
    system: System, doctor: str, reviewer: str, admin: str
) -> None:
    person = new_person()
    token = system.token("applicant", f"citizen-{secrets.token_hex(3)}", id_number=person)
    phone = f"137{secrets.randbelow(10**8):08d}"
    contact = system.call(
        "notification", "PUT", "/v1/me/contact", {"phone": phone, "channels": ["sms"]}, token
    )
    assert contact.status_code == 200, contact.text
    application_id = apply(system, token, application(person)).json()["id"]
    graded(system, doctor, application_id, level=4, findings="左上肢缺失")
    assert decide(system, reviewer, application_id, "reject", "材料与评定结果不符")["status"] == "rejected"
    assessment_id = assessment_of(system, doctor, application_id)["id"]

    def findings() -> str | None:
        answer = system.call("assessment", "GET", f"/v1/assessments/{assessment_id}", token=doctor)
        assert answer.status_code == 200, answer.text
        return answer.json()["result"]["findings"]

    assert findings() == "左上肢缺失"
    assert system.call("notification", "GET", "/v1/me/contact", token=token).json()["phone"] is not None

    erased = system.call(
        "certificate",
        "POST",
        "/v1/people/erasure",
        {"id_number": person, "legal_basis": "consent_withdrawn"},
        admin,
    )
    assert erased.status_code == 200, erased.text

    wait_for(lambda: findings() is None)
    wait_for(
        lambda: system.call("notification", "GET", "/v1/me/contact", token=token).json()["phone"] is None
    )
    seen = system.call("certificate", "GET", f"/v1/applications/{application_id}", token=reviewer).json()
    assert seen["applicant_name"] == ""
    assert seen["status"] == "rejected"
    # The grade (not personal on its own) and the decision stay: the counts are right.
    detail = system.call("assessment", "GET", f"/v1/assessments/{assessment_id}", token=doctor).json()
    assert detail["result"]["level"] == 4
    assert detail["status"] == "assessed"
    again = apply(system, token, application(person))
    assert again.status_code == 409
    assert again.json()["code"] == "person_erased"
