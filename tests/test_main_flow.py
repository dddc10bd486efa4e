"""The main flow of the public API (docs/api.md) across the four services running as real processes."""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from urllib.parse import quote

from standardwebhooks.webhooks import Webhook

from .conftest import POLICY_FIELDS
from .system import System, WebhookReceiver, application, new_person, wait_for


def apply(system: System, token: str, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key else None
    return system.call("certificate", "POST", "/v1/applications", body, token, headers)


def assessment_of(system: System, doctor: str, application_id: str) -> dict[str, Any]:
    def mine() -> dict[str, Any] | None:
        items = system.call("assessment", "GET", "/v1/assessments?assigned=me", token=doctor).json()["items"]
        return next((a for a in items if a["application_id"] == application_id), None)

    return wait_for(mine)


def status_of(system: System, token: str, application_id: str) -> str:
    return str(
        system.call("certificate", "GET", f"/v1/applications/{application_id}", token=token).json()["status"]
    )


def graded(
    system: System,
    doctor: str,
    application_id: str,
    level: int = 1,
    category: str = "physical",
    findings: str = "双下肢功能丧失",
) -> None:
    assessment = assessment_of(system, doctor, application_id)
    recorded = system.call(
        "assessment",
        "POST",
        f"/v1/assessments/{assessment['id']}/result",
        {"category": category, "level": level, "findings": findings, "measurements": {}},
        doctor,
    )
    assert recorded.status_code in (200, 201), recorded.text


def decide(
    system: System, reviewer: str, application_id: str, decision: str = "approve", reason: str | None = None
) -> dict[str, Any]:
    """The reviewer's decision on an assessed application, once it is in their queue."""
    wait_for(lambda: status_of(system, reviewer, application_id) == "assessed")
    body = {"decision": decision, **({"reason": reason} if reason else {})}
    answer = system.call("certificate", "POST", f"/v1/applications/{application_id}/decision", body, reviewer)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def approved(
    system: System, doctor: str, reviewer: str, application_id: str, findings: str = "双下肢功能丧失"
) -> str:
    """An application through assessment and approval: the new certificate's number."""
    graded(system, doctor, application_id, findings=findings)
    return str(decide(system, reviewer, application_id)["certificate_number"])


def test_a_parent_applies_for_a_child_and_the_whole_chain_follows(
    system: System, doctor: str, reviewer: str, partner: tuple[str, dict[str, Any], WebhookReceiver]
) -> None:
    _, subscription, receiver = partner
    child, parent = new_person(birth=date(2016, 4, 17)), new_person()
    parent_token = system.token("applicant", "citizen-parent", id_number=parent)
    body = application(child, agent=parent)

    first = apply(system, parent_token, body, key=f"k-{child}")
    again = apply(system, parent_token, body, key=f"k-{child}")
    assert first.status_code == 201, first.text
    assert again.json()["id"] == first.json()["id"], "a retried submission made a second application"
    application_id = first.json()["id"]

    assessment = assessment_of(system, doctor, application_id)
    assert assessment["declared_category"] == "physical"
    assert assessment["status"] in ("assigned", "scheduled")
    graded(system, doctor, application_id, level=1)
    # A minor's result is not publicly posted: straight to the reviewer's queue.
    wait_for(lambda: status_of(system, reviewer, application_id) == "assessed")
    queue = system.call("certificate", "GET", "/v1/applications?status=assessed", token=reviewer).json()[
        "items"
    ]
    assert application_id in [item["id"] for item in queue]

    decided = system.call(
        "certificate",
        "POST",
        f"/v1/applications/{application_id}/decision",
        {"decision": "approve"},
        reviewer,
    )
    assert decided.status_code == 200, decided.text
    number = wait_for(
        lambda: (
            system.call("certificate", "GET", f"/v1/applications/{application_id}", token=parent_token)
            .json()
            .get("certificate_number")
        )
    )
    assert number == child + "41"

    certificate = system.call("certificate", "GET", f"/v1/certificates/{number}", token=parent_token).json()
    assert certificate["status"] == "active"
    assert certificate["level"] == 1
    assert certificate["category"] == "physical"
    assert certificate["card"]["status"] == "ordered"
    assert int(certificate["expires_on"][:4]) - int(certificate["issued_on"][:4]) == 10  # valid ten years

    code = system.call(
        "certificate", "GET", f"/v1/certificates/{number}/e-certificate", token=parent_token
    ).json()["code"]
    verified = system.call("certificate", "GET", "/v1/verify?code=" + quote(code)).json()
    assert verified["valid"] is True
    assert verified["status"] == "active"
    assert verified["level"] == 1
    assert verified["holder"] == "王*明"
    assert child not in json.dumps(verified)
    forged = code[:-3] + ("AAA" if not code.endswith("AAA") else "BBB")
    assert system.call("certificate", "GET", "/v1/verify?code=" + quote(forged)).json()["valid"] is False

    def benefits() -> dict[str, Any] | None:
        items = system.call(
            "benefits", "GET", f"/v1/certificates/{number}/benefits", token=parent_token
        ).json()
        by_code = {item["code"]: item for item in items.get("items", [])}
        return by_code if by_code.get("nursing_subsidy", {}).get("status") == "active" else None

    by_code = wait_for(benefits)
    assert by_code["nursing_subsidy"]["monthly_amount"] > 0
    assert by_code["living_subsidy"]["status"] == "not_eligible"
    assert by_code["living_subsidy"]["reason"]

    [(headers, delivered)] = wait_for(lambda: receiver.bodies_with(number))
    Webhook(subscription["secret"]).verify(delivered, headers)  # raises when the signature is wrong
    event = json.loads(delivered)
    assert event["type"] == "CertificateIssued"
    assert event["specversion"] == "1.0"
    assert set(event["data"]) <= set(POLICY_FIELDS)
    for personal in ("王小明", "王大明", "13800000000", "人民路", parent):
        assert personal not in delivered.decode(), "the partner received a field outside its policy"


def test_an_adults_result_is_publicly_posted_before_review(
    system: System, doctor: str, reviewer: str
) -> None:
    person = new_person()
    token = system.token("applicant", "citizen-adult", id_number=person)
    created = apply(system, token, application(person))
    assert created.status_code == 201, created.text
    application_id = created.json()["id"]
    graded(system, doctor, application_id, level=3)
    seen: set[str] = set()

    def reached_review() -> bool:
        answer = system.call(
            "certificate", "GET", f"/v1/applications/{application_id}", token=reviewer
        ).json()
        seen.add(answer["status"])
        return answer["status"] == "assessed"

    wait_for(reached_review, interval=0.02)
    answer = system.call("certificate", "GET", f"/v1/applications/{application_id}", token=token).json()
    assert answer["notice_until"] is not None, "an adult's result was never posted"


def test_a_reviewer_can_reject_with_a_reason_and_the_person_may_apply_again(
    system: System, doctor: str, reviewer: str
) -> None:
    person = new_person()
    token = system.token("applicant", "citizen-reject", id_number=person)
    application_id = apply(system, token, application(person)).json()["id"]
    graded(system, doctor, application_id, level=4)
    wait_for(lambda: status_of(system, reviewer, application_id) == "assessed")
    no_reason = system.call(
        "certificate", "POST", f"/v1/applications/{application_id}/decision", {"decision": "reject"}, reviewer
    )
    assert no_reason.status_code == 422
    rejected = system.call(
        "certificate",
        "POST",
        f"/v1/applications/{application_id}/decision",
        {"decision": "reject", "reason": "材料与评定结果不符"},
        reviewer,
    )
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["decision_reason"] == "材料与评定结果不符"
    assert apply(system, token, application(person)).status_code == 201


def test_the_reviewer_can_return_an_application_for_correction(
    system: System, doctor: str, reviewer: str
) -> None:
    person = new_person()
    token = system.token("applicant", "citizen-return", id_number=person)
    application_id = apply(system, token, application(person)).json()["id"]
    graded(system, doctor, application_id, level=2)
    wait_for(lambda: status_of(system, reviewer, application_id) == "assessed")
    returned = system.call(
        "certificate",
        "POST",
        f"/v1/applications/{application_id}/decision",
        {"decision": "return", "reason": "请补充近期照片"},
        reviewer,
    )
    assert returned.status_code == 200
    assert returned.json()["status"] == "returned"
    approve_now = system.call(
        "certificate",
        "POST",
        f"/v1/applications/{application_id}/decision",
        {"decision": "approve"},
        reviewer,
    )
    assert approve_now.status_code == 409
    assert approve_now.headers["content-type"].startswith("application/problem+json")


def test_a_reported_death_holds_the_certificate_until_the_reviewer_confirms_it(
    system: System, doctor: str, reviewer: str, partner: tuple[str, dict[str, Any], WebhookReceiver]
) -> None:
    partner_token, _, _ = partner
    person = new_person(birth=date(2012, 6, 1))
    parent = new_person()
    token = system.token("applicant", "citizen-death", id_number=parent)
    application_id = apply(system, token, application(person, agent=parent)).json()["id"]
    graded(system, doctor, application_id, level=2)
    wait_for(lambda: status_of(system, reviewer, application_id) == "assessed")
    system.call(
        "certificate",
        "POST",
        f"/v1/applications/{application_id}/decision",
        {"decision": "approve"},
        reviewer,
    )
    number = person + "42"
    wait_for(
        lambda: (
            system.call("certificate", "GET", f"/v1/certificates/{number}", token=token).status_code == 200
        )
    )
    code = system.call("certificate", "GET", f"/v1/certificates/{number}/e-certificate", token=token).json()[
        "code"
    ]

    def benefits() -> dict[str, str]:
        answer = system.call("benefits", "GET", f"/v1/certificates/{number}/benefits", token=token)
        items = answer.json()["items"] if answer.status_code == 200 else []
        return {item["code"]: item["status"] for item in items}

    wait_for(lambda: benefits().get("nursing_subsidy") == "active")
    fact = {
        "fact_id": f"gongan-{person}",
        "type": "death",
        "id_number": person,
        "effective_date": "2026-11-01",
        "details": {},
    }
    answer = system.call("benefits", "POST", "/v1/facts", fact, partner_token)
    assert answer.status_code == 202
    assert answer.json() == {"fact_id": fact["fact_id"], "status": "received"}

    def status() -> str:
        return str(
            system.call("certificate", "GET", f"/v1/certificates/{number}", token=token).json()["status"]
        )

    wait_for(lambda: status() == "on_hold")
    verified = system.call("certificate", "GET", "/v1/verify?code=" + quote(code)).json()
    assert verified["valid"] is False
    assert verified["status"] == "on_hold"
    wait_for(lambda: benefits().get("nursing_subsidy") == "suspended")

    confirmed = system.call(
        "certificate",
        "POST",
        f"/v1/certificates/{number}/death-confirmation",
        {"decision": "confirm", "reason": "已核对死亡医学证明"},
        reviewer,
    )
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "cancelled"
    verified = system.call("certificate", "GET", "/v1/verify?code=" + quote(code)).json()
    assert verified["valid"] is False
    assert verified["status"] == "cancelled"
    wait_for(lambda: "active" not in benefits().values() and "suspended" not in benefits().values())
