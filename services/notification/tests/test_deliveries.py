"""Published events reach partners' webhooks: signed, reduced to the policy, retried, in order."""

from __future__ import annotations

import asyncio
import itertools
import socket
import uuid
from collections import Counter
from typing import TYPE_CHECKING, Any

from standardwebhooks import Webhook

if TYPE_CHECKING:
    from conftest import NotificationService, Starter, WebhookReceiver

FIELDS = ("certificate_number", "category", "level", "expires_on")
# What a careless publisher might put in an event: none of it may reach a partner.
PERSONAL = {
    "name": "王小明",
    "phone": "13800000000",
    "address": "湖州市吴兴区人民路1号",
    "id_number": "330502201604170017",
}
_serials = itertools.count(1000)


def issued(**overrides: Any) -> dict[str, Any]:
    """certificate.CertificateIssued data as published, plus personal fields that must not leak."""
    return {
        "certificate_number": f"33050220160417{next(_serials):04d}41",
        "application_id": str(uuid.uuid4()),
        "person_ref": "ab" * 32,
        "agent_refs": ["cd" * 32],
        "category": "physical",
        "level": 1,
        "issued_on": "2025-01-02",
        "expires_on": "2035-01-02",
        "household_region": "330502",
        "residence_region": "330502",
        "age_years": 9,
        **PERSONAL,
        **overrides,
    }


async def subscribed(
    service: NotificationService,
    receiver: WebhookReceiver,
    event_types: tuple[str, ...] = ("CertificateIssued",),
    fields: tuple[str, ...] = FIELDS,
    name: str = "民政局",
) -> tuple[str, dict[str, Any]]:
    """A partner granted `event_types` and `fields`, subscribed to them at `receiver`."""
    token = await service.partner(event_types=event_types, fields=fields, name=name)
    return token, await service.subscribe(token, receiver, event_types)


async def quiet(seconds: float = 0.4) -> None:
    """Give the service time to (wrongly) send something more."""
    await asyncio.sleep(seconds)


async def test_a_certificate_issued_reaches_the_partner_once_signed_and_holding_only_its_fields(
    service: NotificationService,
) -> None:
    receiver = service.receiver()
    _, subscription = await subscribed(service, receiver)
    data = issued()
    event_id = await service.publish("certificate", "CertificateIssued", data)

    [got] = await receiver.got(1)
    assert Webhook(subscription["secret"]).verify(got.body, got.headers) == got.event
    event = got.event
    assert event["id"] == str(event_id)
    assert event["type"] == "CertificateIssued"
    assert event["specversion"] == "1.0"
    assert event["data"] == {field: data[field] for field in FIELDS}
    assert got.headers["content-type"] == "application/cloudevents+json"
    text = got.body.decode()
    for personal in [
        *PERSONAL.values(),
        data["person_ref"],
        data["application_id"],
        "traceparent",
        "subject",
    ]:
        assert personal not in text, f"the partner received {personal!r}"

    await quiet()
    assert len(receiver.received) == 1
    [delivery] = await service.deliveries()
    assert delivery["id"] == got.headers["webhook-id"]
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("delivered", 1, 204)


async def test_a_partner_gets_only_event_types_it_both_subscribed_to_and_is_granted(
    service: NotificationService,
) -> None:
    issued_only, cancelled_only = service.receiver(), service.receiver()
    token = await service.partner(event_types=("CertificateIssued", "CertificateCancelled"))
    await service.subscribe(token, issued_only, ("CertificateIssued",))
    await subscribed(
        service, cancelled_only, ("CertificateCancelled",), ("certificate_number", "reason"), "公安局"
    )

    await service.publish("certificate", "ApplicationSubmitted", {"application_id": "a-1", "matter": "new"})
    await service.publish(
        "certificate",
        "CertificateCancelled",
        {"certificate_number": "33050220160417000141", "reason": "death"},
    )
    await service.publish("certificate", "CertificateIssued", issued())

    [issued_delivery] = await issued_only.got(1)
    [cancelled_delivery] = await cancelled_only.got(1)
    await quiet()
    assert issued_delivery.event["type"] == "CertificateIssued"
    assert len(issued_only.received) == 1
    assert cancelled_delivery.event["type"] == "CertificateCancelled"
    assert len(cancelled_only.received) == 1
    assert cancelled_delivery.event["data"] == {
        "certificate_number": "33050220160417000141",
        "reason": "death",
    }


async def test_a_benefits_event_reaches_a_partner_granted_it(service: NotificationService) -> None:
    receiver = service.receiver()
    await subscribed(
        service, receiver, ("BenefitActivated",), ("certificate_number", "benefit", "active_from")
    )
    await service.publish(
        "benefits",
        "BenefitActivated",
        {
            "certificate_number": "33050220160417000241",
            "person_ref": "ab" * 32,
            "benefit": "nursing_subsidy",
            "monthly_amount_fen": 10000,
            "active_from": "2025-02-01",
            "reason_code": "level_1",
        },
    )
    [got] = await receiver.got(1)
    assert got.event["source"] == "/dcert/benefits"
    assert got.event["data"] == {
        "certificate_number": "33050220160417000241",
        "benefit": "nursing_subsidy",
        "active_from": "2025-02-01",
    }


async def test_a_receiver_that_fails_twice_gets_the_same_webhook_id_each_time(
    service: NotificationService,
) -> None:
    receiver = service.receiver(plan=[500, 503])
    _, subscription = await subscribed(service, receiver)
    await service.publish("certificate", "CertificateIssued", issued())

    tries = await receiver.got(3)
    assert len({got.headers["webhook-id"] for got in tries}) == 1
    assert len({got.body for got in tries}) == 1
    for got in tries:
        Webhook(subscription["secret"]).verify(got.body, got.headers)

    [delivery] = await service.deliveries_once("delivered")
    assert (delivery["attempts"], delivery["last_status_code"]) == (3, 204)
    await quiet()
    assert len(receiver.received) == 3


async def test_a_receiver_that_never_accepts_is_given_up_after_the_schedule_and_kept_as_dead(
    service: NotificationService,
) -> None:
    receiver = service.receiver(plan=[500] * 20)
    await subscribed(service, receiver)
    await service.publish("certificate", "CertificateIssued", issued())

    await receiver.got(4)  # the first try and one per delay of the test schedule (3)
    dead = await service.deliveries_once("dead")
    assert [(d["status"], d["attempts"], d["last_status_code"], d["next_attempt_at"]) for d in dead] == [
        ("dead", 4, 500, None)
    ]
    await quiet(0.6)
    assert len(receiver.received) == 4, "a dead delivery was tried again"
    assert await service.deliveries(status="pending") == []


async def test_an_unreachable_receiver_is_retried_then_dead(service: NotificationService) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    token = await service.partner()
    answer = await service.call(
        "POST",
        "/v1/subscriptions",
        token,
        {"url": f"http://127.0.0.1:{closed_port}/hook", "event_types": ["CertificateIssued"]},
    )
    assert answer.status_code == 201
    await service.publish("certificate", "CertificateIssued", issued())

    [delivery] = await service.deliveries_once("dead")
    assert (delivery["attempts"], delivery["last_status_code"], delivery["last_error"]) == (
        4,
        None,
        "ConnectError",
    )


async def test_a_receiver_slower_than_the_timeout_is_tried_again(start_service: Starter) -> None:
    async with start_service(webhook_timeout_seconds=0.3) as service:
        receiver = service.receiver(plan=[(204, 1.0)])
        await subscribed(service, receiver)
        await service.publish("certificate", "CertificateIssued", issued())
        tries = await receiver.got(2)
        assert tries[0].headers["webhook-id"] == tries[1].headers["webhook-id"]
        [delivery] = await service.deliveries_once("delivered")
        assert delivery["attempts"] == 2


async def test_a_slow_partner_does_not_delay_another_partners_delivery(start_service: Starter) -> None:
    async with start_service(webhook_timeout_seconds=5) as service:
        slow, fast = service.receiver(plan=[(204, 1.5)]), service.receiver()
        await subscribed(service, slow, name="慢单位")
        await subscribed(service, fast, name="快单位")
        await service.publish("certificate", "CertificateIssued", issued())

        [fast_got] = await fast.got(1, timeout=2)
        [slow_got] = await slow.got(1, timeout=5)
        assert slow_got.at - fast_got.at > 1.0, "the fast partner waited for the slow one"


async def test_one_certificates_events_arrive_in_order_and_a_retried_one_holds_up_no_other(
    start_service: Starter,
) -> None:
    async with start_service(webhook_retry_schedule_seconds=[1.5, 1.5]) as service:
        receiver = service.receiver(plan=[500])
        await subscribed(service, receiver, event_types=("CertificateIssued", "CertificateCancelled"))
        first = issued()
        issued_id = await service.publish("certificate", "CertificateIssued", first)
        await receiver.got(1)  # its first try failed: the next is 1.5 s away
        cancelled = {
            "certificate_number": first["certificate_number"],
            "person_ref": first["person_ref"],
            "reason": "voluntary",
            "effective_date": "2025-03-01",
            "application_id": None,
        }
        cancelled_id = await service.publish("certificate", "CertificateCancelled", cancelled)
        other_id = await service.publish("certificate", "CertificateIssued", issued())

        tries = await receiver.got(4, timeout=10)
        assert [got.event["id"] for got in tries] == [
            str(issued_id),
            str(other_id),
            str(issued_id),
            str(cancelled_id),
        ]


async def test_a_redelivered_event_makes_no_second_delivery(service: NotificationService) -> None:
    receiver = service.receiver()
    await subscribed(service, receiver)
    event_id = uuid.uuid4()
    data = issued()
    await service.publish("certificate", "CertificateIssued", data, event_id=event_id)
    await service.publish(
        "certificate", "CertificateIssued", data, event_id=event_id, message_id=f"again-{event_id}"
    )
    await service.all_handled()

    await receiver.got(1)
    await quiet()
    assert len(receiver.received) == 1
    assert len(await service.deliveries()) == 1


async def test_partners_list_their_own_deliveries_and_an_admin_lists_all(
    service: NotificationService,
) -> None:
    first_receiver, second_receiver = service.receiver(), service.receiver(plan=[500] * 20)
    first, first_subscription = await subscribed(service, first_receiver, name="民政局")
    second, _ = await subscribed(service, second_receiver, name="残联")
    await service.publish("certificate", "CertificateIssued", issued())
    await first_receiver.got(1)
    await service.deliveries_once("dead", second)

    [own] = await service.deliveries(first)
    assert set(own) >= {
        "id",
        "subscription_id",
        "event_type",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
    }
    assert (own["subscription_id"], own["status"]) == (first_subscription["id"], "delivered")
    assert len(await service.deliveries()) == 2
    assert [d["status"] for d in await service.deliveries(status="dead")] == ["dead"]
    assert await service.deliveries(first, status="dead") == []
    stranger = service.token("applicant", "citizen-1", id_number="330502201604170017")
    assert (await service.call("GET", "/v1/deliveries", stranger)).status_code == 403


async def test_a_pending_retry_goes_out_after_a_restart_with_the_same_webhook_id(
    start_service: Starter,
) -> None:
    async with start_service(webhook_retry_schedule_seconds=[3.0]) as service:
        receiver = service.receiver(plan=[500])
        _, subscription = await subscribed(service, receiver)
        await service.publish("certificate", "CertificateIssued", issued())
        [first_try] = await receiver.got(1)
    assert len(receiver.received) == 1, "retried before the restart"
    async with start_service(webhook_retry_schedule_seconds=[3.0]) as restarted:
        [_, second_try] = await receiver.got(2, timeout=5)
        assert second_try.headers["webhook-id"] == first_try.headers["webhook-id"]
        Webhook(subscription["secret"]).verify(second_try.body, second_try.headers)
        [delivery] = await restarted.deliveries_once("delivered")
        assert delivery["attempts"] == 2


async def test_a_webhook_named_by_host_name_goes_to_a_checked_address_of_that_name(
    service: NotificationService,
) -> None:
    receiver = service.receiver()
    token = await service.partner()
    url = receiver.url.replace("127.0.0.1", "localhost")
    answer = await service.call(
        "POST", "/v1/subscriptions", token, {"url": url, "event_types": ["CertificateIssued"]}
    )
    assert answer.status_code == 201, answer.text
    await service.publish("certificate", "CertificateIssued", issued())
    [got] = await receiver.got(1)
    assert got.headers["host"] == url.removeprefix("http://").split("/")[0]
    Webhook(answer.json()["secret"]).verify(got.body, got.headers)


async def test_two_replicas_share_the_queue_and_send_each_event_once(
    start_service: Starter,
) -> None:
    async with start_service() as first, start_service() as second:
        receiver = first.receiver(plan=[500, 500])
        await subscribed(first, receiver)
        ids = []
        for count in range(1, 6):
            ids.append(str(await first.publish("certificate", "CertificateIssued", issued())))
            await second.queued(count)  # one of the two replicas queued it, in publication order

        await receiver.got(7)
        await quiet()
        # Two tries failed (whichever events they were); each event was then delivered once.
        assert len(receiver.received) == 7
        assert set(Counter(got.event["id"] for got in receiver.received)) == set(ids)
        delivered = await first.deliveries(status="delivered")
        assert len(delivered) == 5
        assert sum(delivery["attempts"] for delivery in delivered) == 7


async def test_an_imported_holder_reaches_only_partners_subscribed_to_imports(
    service: NotificationService,
) -> None:
    """存量导入 brings in a province's holders at once: no CertificateIssued flood."""
    issued_receiver, imported_receiver = service.receiver(), service.receiver()
    await subscribed(service, issued_receiver, ("CertificateIssued",))
    await subscribed(service, imported_receiver, ("CertificateImported",), name="人社局")
    data = issued(card_generation=2, card_status="valid", benefits_from="2026-12-01", replacement_count=0)

    await service.publish("certificate", "CertificateImported", data)

    [got] = await imported_receiver.got(1)
    assert got.event["type"] == "CertificateImported"
    assert got.event["data"] == {field: data[field] for field in FIELDS}
    await quiet()
    assert issued_receiver.received == []
