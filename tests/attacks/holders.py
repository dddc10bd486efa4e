"""Holders and partners the partner attacks need, made over the real flow as their people would."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from ..system import System, application, new_person, register_doctor, wait_for


@dataclass(frozen=True)
class Holder:
    id_number: str
    number: str
    region: str
    token: str


SESSION_REGION = "330502"  # its doctor is the session's (tests/conftest.py): no second one there
_doctors_in: set[str] = {SESSION_REGION}


def holder_in(system: System, admin: str, region: str, level: int = 2) -> Holder:
    """An adult of `region` applies, the doctor the routing chose grades, its reviewer approves.

    A doctor is registered in a region once (other tests expect their own doctor to be the one
    the routing chooses in theirs); in the session's region, the session's `doctor` grades."""
    if region not in _doctors_in:
        register_doctor(system, admin, region, ["physical"], f"攻击测试医院{region}", "赵医生")
        _doctors_in.add(region)
    person = new_person(region)
    token = system.token("applicant", f"attack-{person[-6:]}", id_number=person)
    body = application(person, household_region=region, residence_region=region)
    created = system.call("certificate", "POST", "/v1/applications", body, token)
    assert created.status_code == 201, created.text
    application_id = created.json()["id"]

    def assigned() -> dict[str, Any] | None:
        answer = system.call("certificate", "GET", f"/v1/applications/{application_id}", token=token).json()
        assessment = answer.get("assessment") or {}
        return assessment if assessment.get("assessment_id") and assessment.get("doctor_id") else None

    assessment = wait_for(assigned)
    doctor = system.token(
        "doctor", f"attack-doctor-{assessment['doctor_id']}", doctor_id=assessment["doctor_id"]
    )
    result = {"category": "physical", "level": level, "findings": "双下肢功能障碍", "measurements": {}}
    graded = system.call(
        "assessment", "POST", f"/v1/assessments/{assessment['assessment_id']}/result", result, doctor
    )
    assert graded.status_code == 201, graded.text
    reviewer = system.token("reviewer", f"attack-reviewer-{region}", region=region)

    def assessed() -> bool:
        answer = system.call("certificate", "GET", f"/v1/applications/{application_id}", token=reviewer)
        return answer.json().get("status") == "assessed"

    wait_for(assessed)
    decided = system.call(
        "certificate",
        "POST",
        f"/v1/applications/{application_id}/decision",
        {"decision": "approve"},
        reviewer,
    )
    assert decided.status_code == 200, decided.text
    number = str(decided.json()["certificate_number"])

    def decided() -> bool:  # the benefits service has the certificate (what it pays is the region's)
        answer = system.call("benefits", "GET", f"/v1/certificates/{number}/benefits", token=token)
        return answer.status_code == 200 and bool(answer.json()["items"])

    wait_for(decided)
    return Holder(person, number, region, token)


def benefit_status(benefits: dict[str, Any], code: str) -> str | None:
    return next((item["status"] for item in benefits["items"] if item["code"] == code), None)


def partner_with(
    system: System,
    admin: str,
    facts: list[str],
    regions: list[str] | None,
    event_types: tuple[str, ...] = ("CertificateIssued",),
) -> tuple[str, str]:
    """A partner the admin registered with this policy: its id and token."""
    policy: dict[str, Any] = {
        "event_types": list(event_types),
        "fields": ["certificate_number", "level"],
        "facts": facts,
    }
    if regions is not None:
        policy["regions"] = regions
    name = f"攻击测试单位-{uuid.uuid4().hex[:6]}"
    registered = system.call("notification", "POST", "/v1/partners", {"name": name, "policy": policy}, admin)
    assert registered.status_code == 201, registered.text
    partner_id = str(registered.json()["id"])
    return partner_id, system.token("partner", f"attack-{partner_id[:8]}", partner_id=partner_id)


def fact(fact_type: str, id_number: str, effective_date: str, **details: Any) -> dict[str, Any]:
    return {
        "fact_id": f"attack-{uuid.uuid4().hex[:12]}",
        "type": fact_type,
        "id_number": id_number,
        "effective_date": effective_date,
        "details": details,
    }
