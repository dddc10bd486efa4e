"""A partner's jurisdiction (管辖范围) is the admin's to grant, in the policy; a subscription only
narrows it, and deliveries go out for events inside both."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conftest import NotificationService, Starter

FIELDS = ("certificate_number", "level")
_serials = itertools.count(7000)


def issued(region: str) -> dict[str, Any]:
    return {
        "certificate_number": f"33050220160417{next(_serials):04d}41",
        "application_id": str(uuid.uuid4()),
        "person_ref": uuid.uuid4().hex * 2,
        "agent_refs": [],
        "category": "physical",
        "level": 1,
        "issued_on": "2025-01-02",
        "expires_on": "2035-01-02",
        "household_region": region,
        "residence_region": region,
        "age_years": 9,
    }


async def quiet(seconds: float = 0.5) -> None:
    """Give the service time to (wrongly) send something more."""
    await asyncio.sleep(seconds)


async def test_a_policy_without_regions_is_written_down_as_the_whole_country(
    service: NotificationService,
) -> None:
    token = await service.partner()
    policy = (await service.call("GET", "/v1/partners/me/policy", token)).json()
    assert policy["regions"] == ["000000"]


async def test_an_empty_or_unreal_jurisdiction_is_refused_and_registers_nothing(
    service: NotificationService,
) -> None:
    for regions, code in (
        ([], "too_short"),
        (["990000"], "region_invalid"),
        (["33"], "string_pattern_mismatch"),
    ):
        policy = {"event_types": ["CertificateIssued"], "fields": ["level"], "regions": regions}
        answer = await service.call(
            "POST", "/v1/partners", service.admin, {"name": "民政局", "policy": policy}
        )
        assert answer.status_code == 422, (regions, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert [error["code"] for error in answer.json()["errors"]] == [code], regions
    assert (await service.call("GET", "/v1/partners", service.admin)).json()["items"] == []


async def test_a_subscription_narrows_the_jurisdiction_and_never_widens_it(
    service: NotificationService,
) -> None:
    token = await service.partner(regions=("330500",))
    receiver = service.receiver()
    inside = await service.subscribe(token, receiver, regions=("330502",))
    assert inside["regions"] == ["330502"]

    for regions in (["440305"], ["330000"], ["000000"], ["330502", "340100"]):
        body = {"url": receiver.url, "event_types": ["CertificateIssued"], "regions": regions}
        answer = await service.call("POST", "/v1/subscriptions", token, body)
        assert answer.status_code == 403, (regions, answer.text)
        assert answer.json()["code"] == "regions_outside_policy"
    empty = await service.call(
        "POST",
        "/v1/subscriptions",
        token,
        {"url": receiver.url, "event_types": ["CertificateIssued"], "regions": []},
    )
    assert empty.status_code == 422
    assert [e["code"] for e in empty.json()["errors"]] == ["too_short"]
    listed = (await service.call("GET", "/v1/subscriptions", token)).json()["items"]
    assert [item["id"] for item in listed] == [inside["id"]]


async def test_deliveries_go_out_only_for_events_inside_the_policy_and_the_subscription(
    service: NotificationService,
) -> None:
    token = await service.partner(fields=FIELDS, regions=("330500",))
    whole, narrowed = service.receiver(), service.receiver()
    await service.subscribe(token, whole)  # no regions: the policy's jurisdiction
    await service.subscribe(token, narrowed, regions=("330503",))
    wuxing, nanxun, hefei = issued("330502"), issued("330503"), issued("340104")
    for data in (wuxing, nanxun, hefei):
        await service.publish("certificate", "CertificateIssued", data)
    await whole.got(2)
    await narrowed.got(1)
    await quiet()
    assert sorted(got.event["data"]["certificate_number"] for got in whole.received) == sorted(
        [wuxing["certificate_number"], nanxun["certificate_number"]]
    )
    assert [got.event["data"]["certificate_number"] for got in narrowed.received] == [
        nanxun["certificate_number"]
    ]


async def test_an_event_whose_region_is_unknown_reaches_only_a_nationwide_partner(
    service: NotificationService,
) -> None:
    nationwide, local = service.receiver(), service.receiver()
    for receiver, regions in ((nationwide, None), (local, ("330500",))):
        token = await service.partner(event_types=("CertificateCancelled",), fields=FIELDS, regions=regions)
        await service.subscribe(token, receiver, ("CertificateCancelled",))
    unknown = {
        "certificate_number": f"33050220160417{next(_serials):04d}41",
        "person_ref": uuid.uuid4().hex * 2,
        "reason": "voluntary",
        "effective_date": "2025-05-01",
        "application_id": None,
    }
    await service.publish("certificate", "CertificateCancelled", unknown)
    await nationwide.got(1)
    await quiet()
    assert local.received == []


async def test_a_jurisdiction_narrowed_later_withdraws_what_is_queued_outside_it(
    start_service: Starter,
) -> None:
    async with start_service(webhook_retry_schedule_seconds=[1.0, 1.0]) as service:
        token = await service.partner(fields=FIELDS, regions=("330000", "340000"))
        partner_id = (await service.call("GET", "/v1/partners", service.admin)).json()["items"][0]["id"]
        receiver = service.receiver(plan=[500, 500])  # the first try of each fails: both wait
        await service.subscribe(token, receiver)
        huzhou, hefei = issued("330502"), issued("340104")
        await service.publish("certificate", "CertificateIssued", huzhou)
        await service.publish("certificate", "CertificateIssued", hefei)
        await receiver.got(2)

        narrowed = {
            "policy": {"event_types": ["CertificateIssued"], "fields": list(FIELDS), "regions": ["330000"]}
        }
        changed = await service.call("PUT", f"/v1/partners/{partner_id}/policy", service.admin, narrowed)
        assert changed.status_code == 200
        assert changed.json()["policy"]["regions"] == ["330000"]
        [withdrawn] = await service.deliveries_once("withdrawn")
        await service.deliveries_once("delivered")
        await quiet(1.5)
        assert [got.event["data"]["certificate_number"] for got in receiver.received[2:]] == [
            huzhou["certificate_number"]
        ]
        assert withdrawn["attempts"] == 1


async def test_a_policy_change_that_names_no_regions_keeps_the_jurisdiction(
    service: NotificationService,
) -> None:
    await service.partner(fields=FIELDS, regions=("330000", "340000"))
    partner_id = (await service.call("GET", "/v1/partners", service.admin)).json()["items"][0]["id"]
    unchanged = {"policy": {"event_types": ["CertificateIssued"], "fields": ["level"]}}
    again = await service.call("PUT", f"/v1/partners/{partner_id}/policy", service.admin, unchanged)
    assert again.status_code == 200
    assert again.json()["policy"]["regions"] == ["330000", "340000"]
    assert again.json()["policy"]["version"] == 2
    path = f"/v1/partners/{partner_id}/policy/versions"
    versions = (await service.call("GET", path, service.admin)).json()["items"]
    assert [item["regions"] for item in versions] == [["330000", "340000"], ["330000", "340000"]]
