"""An admin registers partner agencies and their data-sharing policies; partners read their own."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from nats.js.api import ConsumerConfig, DeliverPolicy

if TYPE_CHECKING:
    from conftest import NotificationService

CIVIL_AFFAIRS: dict[str, Any] = {
    "name": "湖州市民政局",
    "policy": {
        "event_types": ["CertificateIssued", "CertificateCancelled"],
        "fields": ["certificate_number", "category", "level"],
        "facts": ["low_income_started", "death"],
        "regions": ["330500"],
    },
}


async def test_an_admin_registers_a_partner_and_its_policy_is_published_for_the_benefits_service(
    service: NotificationService,
) -> None:
    answer = await service.call("POST", "/v1/partners", service.admin, CIVIL_AFFAIRS)
    assert answer.status_code == 201, answer.text
    partner = answer.json()
    assert partner["name"] == "湖州市民政局"
    assert partner["policy"] == {**CIVIL_AFFAIRS["policy"], "version": 1, "legal_basis": "", "purpose": ""}

    shown = await service.call("GET", f"/v1/partners/{partner['id']}", service.admin)
    assert shown.status_code == 200
    assert shown.json() == partner

    subscription = await service.js.pull_subscribe(
        service.naming.event_subject("notification", "PartnerRegistered"),
        stream=service.naming.event_stream("notification"),
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
    )
    [message] = await subscription.fetch(1, timeout=10)
    event = json.loads(message.data)
    # The name (and contacts) stay here.
    assert event["data"] == {
        "partner_id": partner["id"],
        **CIVIL_AFFAIRS["policy"],
        "policy_version": 1,
        "legal_basis": "",
        "purpose": "",
    }
    await subscription.unsubscribe()


async def test_a_partner_reads_its_own_policy_and_nothing_else(service: NotificationService) -> None:
    registered = (await service.call("POST", "/v1/partners", service.admin, CIVIL_AFFAIRS)).json()
    token = service.partner_token(registered["id"])

    own = await service.call("GET", "/v1/partners/me/policy", token)
    assert own.status_code == 200
    assert own.json() == {**CIVIL_AFFAIRS["policy"], "version": 1, "legal_basis": "", "purpose": ""}
    assert (await service.call("GET", f"/v1/partners/{registered['id']}", token)).status_code == 403
    assert (await service.call("POST", "/v1/partners", token, CIVIL_AFFAIRS)).status_code == 403
    unknown = await service.call("GET", "/v1/partners/me/policy", service.partner_token("no-such-partner"))
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")


async def test_a_policy_naming_unknown_event_types_or_blank_fields_is_a_problem_naming_the_field(
    service: NotificationService,
) -> None:
    unknown = await service.call(
        "POST",
        "/v1/partners",
        service.admin,
        {
            "name": "交通运输局",
            "policy": {"event_types": ["CertificateIssued", "HolderMoved"], "fields": ["level"]},
        },
    )
    assert unknown.status_code == 422
    problem = unknown.json()
    assert problem["code"] == "policy_invalid"
    assert [(e["field"], e["message"]) for e in problem["errors"]] == [
        ("policy.event_types", "未知的事件类型：HolderMoved")
    ]

    blank = await service.call(
        "POST",
        "/v1/partners",
        service.admin,
        {"name": "交通运输局", "policy": {"event_types": ["CertificateIssued"], "fields": ["level", "  "]}},
    )
    assert blank.status_code == 422
    assert blank.headers["content-type"].startswith("application/problem+json")
    assert any("fields" in str(error.get("field", "")) for error in blank.json()["errors"])

    no_policy = await service.call("POST", "/v1/partners", service.admin, {"name": "交通运输局"})
    assert no_policy.status_code == 422
    listed = await service.call("GET", "/v1/partners", service.admin)
    assert listed.json()["items"] == [], "a refused registration left something behind"


async def test_an_unknown_partner_is_not_found(service: NotificationService) -> None:
    answer = await service.call("GET", "/v1/partners/5e0d3c57-0000-4000-8000-000000000000", service.admin)
    assert answer.status_code == 404
    assert answer.json()["code"] == "partner_not_found"


async def test_registering_again_with_the_same_idempotency_key_answers_the_first_registration(
    service: NotificationService,
) -> None:
    key = {"Idempotency-Key": "partner-civil-affairs-1"}
    first = await service.call("POST", "/v1/partners", service.admin, CIVIL_AFFAIRS, key)
    again = await service.call("POST", "/v1/partners", service.admin, CIVIL_AFFAIRS, key)
    assert first.status_code == 201
    assert again.status_code in (200, 201)
    assert again.json() == first.json()
    other = await service.call(
        "POST", "/v1/partners", service.admin, {**CIVIL_AFFAIRS, "name": "人社局"}, key
    )
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    assert len((await service.call("GET", "/v1/partners", service.admin)).json()["items"]) == 1


async def test_a_request_without_a_valid_token_is_refused(service: NotificationService) -> None:
    assert (await service.call("GET", "/v1/subscriptions", None)).status_code == 401
    assert (await service.call("POST", "/v1/partners", "not-a-token", CIVIL_AFFAIRS)).status_code == 401


async def test_the_service_answers_health_and_serves_its_openapi(service: NotificationService) -> None:
    health = await service.call("GET", "/health", None)
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    paths = (await service.call("GET", "/openapi.json", None)).json()["paths"]
    assert {"/v1/partners", "/v1/partners/me/policy", "/v1/subscriptions", "/v1/deliveries"} <= set(paths)
