"""A partner subscribes webhooks: event types within its policy, URLs that stay outside our network."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import NotificationService, Starter


async def test_a_partner_subscribes_and_gets_a_standard_webhooks_secret_once(
    service: NotificationService,
) -> None:
    token = await service.partner(event_types=("CertificateIssued", "CertificateCancelled"))
    receiver = service.receiver()
    answer = await service.call(
        "POST", "/v1/subscriptions", token, {"url": receiver.url, "event_types": ["CertificateIssued"]}
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["url"] == receiver.url
    assert created["event_types"] == ["CertificateIssued"]
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 24

    listed = await service.call("GET", "/v1/subscriptions", token)
    assert listed.status_code == 200
    [item] = listed.json()["items"]
    assert item["id"] == created["id"]
    assert "secret" not in item

    # At rest the secret is sealed: not in the stored events, not in the read model.
    stored = await service.fetch("SELECT payload::text AS text FROM events")
    view = await service.fetch("SELECT secret FROM subscription_view WHERE id = $1", created["id"])
    assert all(created["secret"] not in row["text"] for row in stored)
    assert view[0]["secret"].startswith("v1.")
    assert created["secret"] not in view[0]["secret"]


async def test_a_partner_sees_only_its_own_subscriptions(service: NotificationService) -> None:
    civil_affairs, transport = await service.partner(), await service.partner(name="交通运输局")
    await service.subscribe(civil_affairs, service.receiver())
    assert (await service.call("GET", "/v1/subscriptions", transport)).json()["items"] == []
    assert (await service.call("GET", "/v1/subscriptions", service.admin)).status_code == 403


async def test_event_types_outside_the_policy_are_forbidden(service: NotificationService) -> None:
    token = await service.partner(event_types=("CertificateIssued",))
    answer = await service.call(
        "POST",
        "/v1/subscriptions",
        token,
        {"url": service.receiver().url, "event_types": ["CertificateIssued", "CertificateCancelled"]},
    )
    assert answer.status_code == 403
    problem = answer.json()
    assert problem["code"] == "event_types_outside_policy"
    assert "CertificateCancelled" in problem["detail"]
    assert (await service.call("GET", "/v1/subscriptions", token)).json()["items"] == []


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://partner.example/hook", "scheme_not_allowed"),
        ("http://169.254.169.254/latest/meta-data/iam/", "metadata_address"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata_address"),
        ("http://[fe80::1]:8080/hook", "link_local_address"),
        ("not a url", "invalid_url"),
    ],
)
async def test_webhook_urls_reaching_into_the_cloud_or_off_the_web_are_refused(
    service: NotificationService, url: str, code: str
) -> None:
    token = await service.partner()
    answer = await service.call(
        "POST", "/v1/subscriptions", token, {"url": url, "event_types": ["CertificateIssued"]}
    )
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert [(e["field"], e["code"]) for e in answer.json()["errors"]] == [("url", code)]


async def test_a_loopback_webhook_is_refused_where_private_targets_are_not_allowed(
    start_service: Starter,
) -> None:
    async with start_service(webhook_allow_private_targets=False) as service:
        token = await service.partner()
        for url in (service.receiver().url, "http://localhost:8080/hook", "http://10.0.0.7/hook"):
            answer = await service.call(
                "POST", "/v1/subscriptions", token, {"url": url, "event_types": ["CertificateIssued"]}
            )
            assert answer.status_code == 422, url
            assert answer.json()["errors"][0]["field"] == "url"


async def test_subscribing_again_with_the_same_idempotency_key_answers_the_same_secret(
    service: NotificationService,
) -> None:
    token = await service.partner()
    body: dict[str, Any] = {"url": service.receiver().url, "event_types": ["CertificateIssued"]}
    key = {"Idempotency-Key": "sub-1"}
    first = await service.call("POST", "/v1/subscriptions", token, body, key)
    again = await service.call("POST", "/v1/subscriptions", token, body, key)
    assert first.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    other = await service.call(
        "POST", "/v1/subscriptions", token, {**body, "url": service.receiver().url}, key
    )
    assert other.status_code == 409
    assert len((await service.call("GET", "/v1/subscriptions", token)).json()["items"]) == 1


async def test_a_token_of_an_unregistered_partner_cannot_subscribe(service: NotificationService) -> None:
    token = service.partner_token("6c1e55c0-0000-4000-8000-000000000000")
    answer = await service.call(
        "POST",
        "/v1/subscriptions",
        token,
        {"url": service.receiver().url, "event_types": ["CertificateIssued"]},
    )
    assert answer.status_code == 403
    assert answer.json()["code"] == "partner_not_registered"
