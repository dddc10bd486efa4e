"""Attack: a partner chooses its own jurisdiction (issue 18, finding 3).

A subscription with `regions: []` (or none) received every event of the country, whatever the
partner was for. The jurisdiction is the admin's, in the data-sharing policy; a subscription
may only narrow it, and an empty list is refused.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from ..system import System, WebhookReceiver, wait_for
from .holders import holder_in, partner_with

ZHEJIANG, GUANGDONG = "330000", "440000"
pytestmark = pytest.mark.usefixtures("doctor")  # the session's doctor grades the holders of 330502


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    started = WebhookReceiver()
    yield started
    started.close()


def subscribe(system: System, token: str, url: str, **extra: object) -> tuple[int, dict[str, object]]:
    answer = system.call(
        "notification",
        "POST",
        "/v1/subscriptions",
        {"url": url, "event_types": ["CertificateIssued"], **extra},
        token,
    )
    return answer.status_code, answer.json()


def test_an_empty_region_list_is_refused_not_taken_as_the_whole_country(
    system: System, admin: str, receiver: WebhookReceiver
) -> None:
    _, token = partner_with(system, admin, [], None)  # registered as in API v1
    status, problem = subscribe(system, token, receiver.url, regions=[])
    assert status == 422, problem
    assert [error["field"] for error in problem["errors"]] == ["regions"]  # type: ignore[index,union-attr]


def test_a_partner_cannot_give_itself_the_country_or_another_province(
    system: System, admin: str, receiver: WebhookReceiver
) -> None:
    _, token = partner_with(system, admin, [], [ZHEJIANG])
    for regions, status, code in (
        ([], 422, "validation_failed"),
        (["000000"], 403, "regions_outside_policy"),
        ([GUANGDONG], 403, "regions_outside_policy"),
        (["330502", "440305"], 403, "regions_outside_policy"),
    ):
        got, problem = subscribe(system, token, receiver.url, regions=regions)
        assert (got, problem.get("code")) == (status, code), regions
    listed = system.call("notification", "GET", "/v1/subscriptions", token=token).json()["items"]
    assert listed == [], "a refused subscription left something behind"
    policy = system.call("notification", "GET", "/v1/partners/me/policy", token=token).json()
    assert policy["regions"] == [ZHEJIANG]


def test_a_partner_receives_only_the_events_of_its_jurisdiction(
    system: System, admin: str, receiver: WebhookReceiver
) -> None:
    _, nationwide = partner_with(system, admin, [], None)  # the admin granted it the country
    _, zhejiang = partner_with(system, admin, [], [ZHEJIANG])
    barrier = WebhookReceiver()
    try:
        assert subscribe(system, nationwide, barrier.url)[0] == 201
        assert subscribe(system, zhejiang, receiver.url)[0] == 201
        outside = holder_in(system, admin, "440305")
        inside = holder_in(system, admin, "330502")
        wait_for(lambda: barrier.bodies_with(outside.number) and barrier.bodies_with(inside.number))
        wait_for(lambda: receiver.bodies_with(inside.number))
        time.sleep(1)  # what was queued with the barrier's has gone out by now
        assert not receiver.bodies_with(outside.number), "an event of another province reached the partner"
    finally:
        barrier.close()


def test_a_policy_change_that_narrows_the_jurisdiction_narrows_every_subscription(
    system: System, admin: str, receiver: WebhookReceiver
) -> None:
    partner_id, token = partner_with(system, admin, [], [ZHEJIANG, GUANGDONG])
    _, nationwide = partner_with(system, admin, [], None)
    barrier = WebhookReceiver()
    try:
        assert subscribe(system, nationwide, barrier.url)[0] == 201
        assert subscribe(system, token, receiver.url, regions=[GUANGDONG])[0] == 201
        narrowed = {
            "policy": {
                "event_types": ["CertificateIssued"],
                "fields": ["certificate_number", "level"],
                "regions": [ZHEJIANG],
            }
        }
        changed = system.call("notification", "PUT", f"/v1/partners/{partner_id}/policy", narrowed, admin)
        assert changed.status_code == 200, changed.text
        outside = holder_in(system, admin, "440305")
        wait_for(lambda: barrier.bodies_with(outside.number))
        time.sleep(1)
        assert not receiver.bodies_with(outside.number), "the subscription still reached beyond the policy"
    finally:
        barrier.close()
