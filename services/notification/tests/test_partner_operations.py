"""What partners and operators do after onboarding: change a policy (also mid-flight), filter by
region, rotate a secret, look into dead letters and replay them, ask for deliveries again."""

from __future__ import annotations

import asyncio
import http.server
import itertools
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import jwt
from standardwebhooks import Webhook

from dcert_dev.testing import run_console

if TYPE_CHECKING:
    from conftest import NotificationService, Starter, WebhookReceiver

FIELDS = ("certificate_number", "category", "level", "expires_on")
_serials = itertools.count(5000)


def issued(**overrides: Any) -> dict[str, Any]:
    return {
        "certificate_number": f"33050220160417{next(_serials):04d}41",
        "application_id": str(uuid.uuid4()),
        "person_ref": uuid.uuid4().hex * 2,
        "agent_refs": [],
        "category": "physical",
        "level": 1,
        "issued_on": "2025-01-02",
        "expires_on": "2035-01-02",
        "household_region": "330502",
        "residence_region": "330502",
        "age_years": 9,
        **overrides,
    }


async def subscribed(
    service: NotificationService, receiver: WebhookReceiver, name: str = "民政局"
) -> tuple[str, dict[str, Any]]:
    token = await service.partner(event_types=("CertificateIssued",), fields=FIELDS, name=name)
    return token, await service.subscribe(token, receiver, ("CertificateIssued",))


async def quiet(seconds: float = 0.4) -> None:
    await asyncio.sleep(seconds)


def partner_id_of(token: str) -> str:
    return str(jwt.decode(token, options={"verify_signature": False})["partner_id"])


async def test_onboarding_records_the_basis_and_a_policy_change_is_a_new_version(
    service: NotificationService,
) -> None:
    answer = await service.call(
        "POST",
        "/v1/partners",
        service.admin,
        {
            "name": "湖州市人社局",
            "policy": {"event_types": ["CertificateIssued"], "fields": list(FIELDS)},
            "legal_basis": "《残疾人保障法》第五十条；国发〔2015〕52号",
            "purpose": "代缴城乡居民养老保险",
            "contacts": [{"name": "数据专员", "role": "data protection officer", "email": "dpo@example.cn"}],
        },
    )
    assert answer.status_code == 201, answer.text
    partner = answer.json()
    assert (partner["policy"]["version"], partner["policy"]["purpose"]) == (1, "代缴城乡居民养老保险")
    changed = await service.call(
        "PUT",
        f"/v1/partners/{partner['id']}/policy",
        service.admin,
        {
            "policy": {
                "event_types": ["CertificateIssued", "CertificateCancelled"],
                "fields": ["certificate_number"],
            }
        },
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["policy"]["version"] == 2
    assert changed.json()["policy"]["legal_basis"] == "《残疾人保障法》第五十条；国发〔2015〕52号"  # kept
    versions = (
        await service.call("GET", f"/v1/partners/{partner['id']}/policy/versions", service.admin)
    ).json()
    assert [(v["version"], v["fields"]) for v in versions["items"]] == [
        (1, list(FIELDS)),
        (2, ["certificate_number"]),
    ]
    own = await service.call("GET", "/v1/partners/me/policy", service.partner_token(partner["id"]))
    assert own.json()["version"] == 2
    assert own.json()["event_types"] == [
        "CertificateIssued",
        "CertificateCancelled",
    ]
    same = await service.call(
        "PUT",
        f"/v1/partners/{partner['id']}/policy",
        service.admin,
        {
            "policy": {
                "event_types": ["CertificateIssued", "CertificateCancelled"],
                "fields": ["certificate_number"],
            }
        },
    )
    assert same.json()["policy"]["version"] == 2, "no change, no new version"
    bad = await service.call(
        "PUT",
        f"/v1/partners/{partner['id']}/policy",
        service.admin,
        {"policy": {"event_types": ["Nope"], "fields": []}},
    )
    assert bad.status_code == 422
    assert (
        await service.call(
            "PUT",
            f"/v1/partners/{partner['id']}/policy",
            service.partner_token(partner["id"]),
            {"policy": {"event_types": [], "fields": []}},
        )
    ).status_code == 403


async def test_a_field_taken_away_is_not_sent_after_the_change_even_for_deliveries_already_queued(
    start_service: Starter,
) -> None:
    async with start_service(webhook_retry_schedule_seconds=[1.0, 1.0, 1.0]) as service:
        receiver = service.receiver(plan=[500])
        token, _ = await subscribed(service, receiver)
        await service.publish("certificate", "CertificateIssued", issued())
        [failed] = await receiver.got(1)
        assert "level" in failed.event["data"]
        partner_id = partner_id_of(token)
        await service.call(
            "PUT",
            f"/v1/partners/{partner_id}/policy",
            service.admin,
            {
                "policy": {
                    "event_types": ["CertificateIssued"],
                    "fields": ["certificate_number", "expires_on"],
                }
            },
        )
        retried = (await receiver.got(2, timeout=5))[1]
        assert failed.headers["webhook-id"] == retried.headers["webhook-id"]
        assert set(retried.event["data"]) == {"certificate_number", "expires_on"}
        await service.publish("certificate", "CertificateIssued", issued())
        later = (await receiver.got(3, timeout=5))[2]
        assert set(later.event["data"]) == {"certificate_number", "expires_on"}


async def test_an_event_type_withdrawn_from_the_policy_is_not_sent_at_all(start_service: Starter) -> None:
    async with start_service(webhook_retry_schedule_seconds=[1.0, 1.0]) as service:
        receiver = service.receiver(plan=[500])
        token, _ = await subscribed(service, receiver)
        await service.publish("certificate", "CertificateIssued", issued())
        await receiver.got(1)
        await service.call(
            "PUT",
            f"/v1/partners/{partner_id_of(token)}/policy",
            service.admin,
            {"policy": {"event_types": ["CertificateCancelled"], "fields": ["certificate_number"]}},
        )
        [withdrawn] = await service.deliveries_once("withdrawn")
        await quiet(1.5)
        assert len(receiver.received) == 1
        assert withdrawn["attempts"] == 1


async def test_a_subscription_limited_to_a_region_gets_only_that_regions_events_including_later_ones(
    service: NotificationService,
) -> None:
    receiver = service.receiver()
    token = await service.partner(event_types=("CertificateIssued", "CertificateCancelled"))
    answer = await service.call(
        "POST",
        "/v1/subscriptions",
        token,
        {
            "url": receiver.url,
            "event_types": ["CertificateIssued", "CertificateCancelled"],
            "regions": ["330500"],
        },
    )
    assert answer.status_code == 201
    assert answer.json()["regions"] == ["330500"]
    huzhou, hefei = issued(), issued(household_region="340104")
    await service.publish("certificate", "CertificateIssued", huzhou)
    await service.publish("certificate", "CertificateIssued", hefei)
    for data in (huzhou, hefei):  # a cancellation names no region: the certificate's is remembered
        await service.publish(
            "certificate",
            "CertificateCancelled",
            {
                "certificate_number": data["certificate_number"],
                "person_ref": data["person_ref"] + "0",
                "reason": "voluntary",
                "effective_date": "2025-05-01",
                "application_id": None,
            },
        )
    got = await receiver.got(2)
    await quiet()
    assert [(g.event["type"], g.event["data"]["certificate_number"]) for g in receiver.received] == [
        ("CertificateIssued", huzhou["certificate_number"]),
        ("CertificateCancelled", huzhou["certificate_number"]),
    ]
    assert len(got) == 2
    bad = await service.call(
        "POST",
        "/v1/subscriptions",
        token,
        {"url": receiver.url, "event_types": ["CertificateIssued"], "regions": ["33"]},
    )
    assert bad.status_code == 422


async def test_after_a_rotation_both_secrets_sign_until_the_overlap_ends(start_service: Starter) -> None:
    async with start_service(webhook_secret_overlap_hours=1) as service:
        receiver = service.receiver()
        token, subscription = await subscribed(service, receiver)
        rotated = await service.call("POST", f"/v1/subscriptions/{subscription['id']}/secret", token)
        assert rotated.status_code == 200, rotated.text
        new_secret = rotated.json()["secret"]
        assert new_secret != subscription["secret"]
        until = datetime.fromisoformat(rotated.json()["previous_valid_until"])
        assert timedelta(minutes=59) < until - datetime.now(UTC) <= timedelta(hours=1)
        await service.publish("certificate", "CertificateIssued", issued())
        [got] = await receiver.got(1)
        assert len(got.headers["webhook-signature"].split(" ")) == 2
        Webhook(new_secret).verify(got.body, got.headers)
        Webhook(subscription["secret"]).verify(got.body, got.headers)
        other = await service.partner(name="他人")
        refused = await service.call("POST", f"/v1/subscriptions/{subscription['id']}/secret", other)
        assert refused.status_code == 404


async def test_dead_letters_are_listed_filtered_and_replayed_with_the_same_webhook_id(
    start_service: Starter,
) -> None:
    async with start_service(webhook_retry_schedule_seconds=[0.05]) as service:
        receiver = service.receiver(plan=[500, 500])
        token, subscription = await subscribed(service, receiver)
        await service.publish("certificate", "CertificateIssued", issued())
        [dead] = await service.deliveries_once("dead")
        listed = await service.call(
            "GET",
            f"/v1/dead-letters?subscription_id={subscription['id']}&event_type=CertificateIssued",
            service.admin,
        )
        assert [item["id"] for item in listed.json()["items"]] == [dead["id"]]
        elsewhere = await service.call(
            "GET", "/v1/dead-letters?event_type=CertificateCancelled", service.admin
        )
        assert elsewhere.json()["items"] == []
        assert (await service.call("GET", "/v1/dead-letters", token)).status_code == 403
        too_broad = await service.call("POST", "/v1/dead-letters/replay", service.admin, {})
        assert too_broad.status_code == 422
        replayed = await service.call("POST", "/v1/dead-letters/replay", service.admin, {"ids": [dead["id"]]})
        assert replayed.json() == {"replayed": 1}
        tries = await receiver.got(3)
        assert {got.headers["webhook-id"] for got in tries} == {dead["id"]}
        [delivered] = await service.deliveries_once("delivered")
        assert delivered["id"] == dead["id"]
        assert delivered["attempts"] == 1


async def test_a_partner_asks_for_its_deliveries_since_a_time_again_and_gets_them_in_order(
    service: NotificationService,
) -> None:
    receiver = service.receiver()
    token, _ = await subscribed(service, receiver)
    before = datetime.now(UTC)
    ids = [str(await service.publish("certificate", "CertificateIssued", issued())) for _ in range(3)]
    await receiver.got(3)
    other_receiver = service.receiver()
    await subscribed(service, other_receiver, name="他人")
    answer = await service.call("POST", "/v1/deliveries/replay", token, {"since": before.isoformat()})
    assert answer.json() == {"replayed": 3}
    again = (await receiver.got(6))[3:]
    assert sorted(got.event["id"] for got in again) == sorted(ids)
    await quiet()
    assert other_receiver.received == [], "another partner's deliveries are not touched"
    bad = await service.call("POST", "/v1/deliveries/replay", service.admin, {"since": before.isoformat()})
    assert bad.status_code == 403
    body: dict[str, Any] = json.loads(again[0].body)
    assert set(body["data"]) <= set(FIELDS)


async def console(service: NotificationService, *args: str) -> str:
    answer = await run_console({"notification": service.settings}, "--lang", "en", "dead-letters", *args)
    assert answer.status == 0, answer.errors[-2000:]
    return answer.output


async def test_an_operator_lists_and_replays_dead_letters_from_the_command_line(
    start_service: Starter,
) -> None:
    async with start_service(webhook_retry_schedule_seconds=[0.05]) as service:
        receiver = service.receiver(plan=[500, 500])
        _, subscription = await subscribed(service, receiver)
        await service.publish("certificate", "CertificateIssued", issued())
        [dead] = await service.deliveries_once("dead")
        listed = await console(service, "webhooks", "--subscription", subscription["id"])
        assert dead["id"] in listed
        assert receiver.url not in listed, "never a URL (nor a body)"
        replayed = await console(service, "replay-webhooks", "--subscription", subscription["id"], "--yes")
        assert replayed.startswith("1 webhook deliveries queued again")
        [third] = (await receiver.got(3))[2:]
        assert third.headers["webhook-id"] == dead["id"]


async def test_a_redirecting_endpoint_is_retried_and_the_redirect_never_followed(
    start_service: Starter,
) -> None:
    async with start_service(webhook_retry_schedule_seconds=[0.05, 0.05]) as service:
        elsewhere = service.receiver()
        hits: list[str] = []

        class Redirecting(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                hits.append(self.headers["webhook-id"])
                self.send_response(307)
                self.send_header("location", elsewhere.url)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        try:
            token = await service.partner(event_types=("CertificateIssued",), fields=FIELDS)
            url = f"http://127.0.0.1:{server.server_address[1]}/hook"
            answer = await service.call(
                "POST", "/v1/subscriptions", token, {"url": url, "event_types": ["CertificateIssued"]}
            )
            assert answer.status_code == 201
            await service.publish("certificate", "CertificateIssued", issued())
            [dead] = await service.deliveries_once("dead")
            assert (dead["attempts"], dead["last_status_code"]) == (3, 307)
            assert len(hits) == 3
            assert elsewhere.received == []
        finally:
            server.shutdown()
            server.server_close()
