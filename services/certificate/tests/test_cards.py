"""The card centre's work over HTTP, on real PostgreSQL and NATS: batches, reports, overdue cards.

Cards are ordered straight through the event store, as issuance orders them; everything else
is the API as a provincial card centre (制卡中心), a county reviewer and an admin use it.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any

import pytest
import pytest_asyncio

from dcert_certificate.bootstrap import create_app
from dcert_certificate.domain.card import Card, CardAlreadyLost
from dcert_certificate.domain.certificate import Certificate, Holder
from dcert_certificate.settings import CertificateSettings
from dcert_dev.testing import ServiceUnderTest, SettingsMaker, running_service
from dcert_shared.envelope import Actor
from dcert_shared.ids import make_identity_number
from dcert_shared.telemetry import command_context
from dcert_shared.uow import UnitOfWork

HOME = "330502"  # 湖州市吴兴区, province 33 (浙江)
NEIGHBOUR = "330106"  # 杭州市西湖区, same province
OTHER_PROVINCE = "310101"  # 上海市黄浦区
TODAY = date(2026, 11, 20)
HOLDER_NAME = "李明华"
ADDRESS = "浙江省湖州市吴兴区人民路1号"
OVERDUE_DAYS = 30

_people = itertools.count(1)


def a_certificate_number(region: str = HOME) -> str:
    person = next(_people)
    return (
        make_identity_number(region, date(1960, 1, 1) + timedelta(days=person * 37), person % 999 + 1) + "42"
    )


@dataclass
class CardWorld(ServiceUnderTest):
    """The certificate service with cards ordered as issuance orders them, and its callers."""

    def reviewer_of(self, region: str) -> str:
        return self.token("reviewer", f"reviewer-{region}", region=region)

    def centre(self, region: str | None = HOME, subject: str = "centre-zj") -> str:
        return self.token("card_centre", subject, **({"region": region} if region else {}))

    async def execute(self, decide: Any) -> Any:
        context = command_context(Actor(role="service", subject="test"))
        return await self.runtime.es.execute(context, decide)

    async def order_cards(
        self, count: int = 1, region: str = HOME, delivery: str = "mail", ordered_on: date = TODAY
    ) -> list[str]:
        card_ids = [uuid.uuid4().hex for _ in range(count)]

        async def order(uow: UnitOfWork) -> None:
            for card_id in card_ids:
                uow.track(a_card_order(card_id, a_certificate_number(region), region, delivery, ordered_on))

        await self.execute(order)
        return card_ids

    async def issue_with_card(self, region: str = HOME) -> tuple[str, str]:
        """A certificate issued and its card ordered in one transaction; (number, card id)."""
        number, card_id = a_certificate_number(region), uuid.uuid4().hex

        async def issue(uow: UnitOfWork) -> None:
            certificate = Certificate(number)
            uow.track(certificate)
            certificate.issue(
                application_id=str(uuid.uuid4()),
                holder=Holder(f"ref-{card_id}", [], HOLDER_NAME, ADDRESS, 40),
                category="physical",
                level=2,
                household_region=region,
                residence_region=region,
                today=TODAY,
            )
            uow.track(a_card_order(card_id, number, region, "mail", TODAY))

        await self.execute(issue)
        return number, card_id

    async def take_batch(
        self, limit: int, token: str | None = None, key: str | None = None, expect: int = 201
    ) -> dict[str, Any]:
        headers = {"Idempotency-Key": key} if key else None
        answer = await self.call(
            "POST", "/v1/card-batches", token or self.centre(), {"limit": limit}, headers=headers
        )
        assert answer.status_code == expect, answer.text
        return dict(answer.json())

    async def report(
        self, batch_id: str, *reports: tuple[str, str], tracking: str | None = None, expect: int = 200
    ) -> dict[str, Any]:
        body = {
            "reports": [
                {"card_id": card_id, "status": status, "tracking_number": tracking}
                for card_id, status in reports
            ]
        }
        answer = await self.call("POST", f"/v1/card-batches/{batch_id}/reports", self.centre(), body)
        assert answer.status_code == expect, answer.text
        return dict(answer.json())

    async def statuses(self, batch_id: str) -> dict[str, str]:
        answer = await self.call("GET", f"/v1/card-batches/{batch_id}", self.centre())
        assert answer.status_code == 200, answer.text
        return {card["card_id"]: card["status"] for card in answer.json()["cards"]}

    async def cards(self, token: str, query: str = "") -> list[dict[str, Any]]:
        answer = await self.call("GET", f"/v1/cards{query}", token)
        assert answer.status_code == 200, answer.text
        return list(answer.json()["items"])

    async def certificate_card(self, number: str) -> dict[str, Any]:
        rows = await self.fetch("SELECT card_id, card_status FROM certificate_view WHERE number = $1", number)
        return rows[0]


def a_card_order(card_id: str, number: str, region: str, delivery: str, ordered_on: date) -> Card:
    return Card.order(
        card_id,
        certificate_number=number,
        application_id=str(uuid.uuid4()),
        region=region,
        serial=uuid.uuid4().hex,
        person_ref=f"ref-{card_id}",
        holder_name=HOLDER_NAME,
        mail_address=ADDRESS,
        delivery=delivery,
        today=ordered_on,
    )


@pytest_asyncio.fixture(loop_scope="session")
async def world(service_settings: SettingsMaker) -> AsyncIterator[CardWorld]:
    settings = service_settings(
        CertificateSettings, card_overdue_days=OVERDUE_DAYS, expiry_check_seconds=3600
    )
    async with running_service(
        partial(create_app, today=lambda: TODAY), settings, ("assessment", "benefits"), service_type=CardWorld
    ) as service:
        yield service


async def test_a_card_goes_from_the_order_to_the_holders_door_and_the_certificate_shows_each_step(
    world: CardWorld,
) -> None:
    number, card_id = await world.issue_with_card()
    assert await world.certificate_card(number) == {"card_id": card_id, "card_status": "ordered"}

    batch = await world.take_batch(10)
    assert [card["card_id"] for card in batch["cards"]] == [card_id]
    assert batch["cards"][0] == {
        "card_id": card_id,
        "certificate_number": number,
        "holder_name": HOLDER_NAME,
        "mail_address": ADDRESS,
        "delivery": "mail",
        "region": HOME,
        "ordered_on": TODAY.isoformat(),
    }
    assert (await world.certificate_card(number))["card_status"] == "in_production"

    for status in ("produced", "dispatched", "delivered"):
        answer = await world.report(batch["id"], (card_id, status), tracking="SF1234567890")
        assert [(card["card_id"], card["status"]) for card in answer["cards"]] == [(card_id, status)]
        assert (await world.certificate_card(number))["card_status"] == status

    followed = await world.call("GET", f"/v1/card-batches/{batch['id']}", world.centre())
    card = followed.json()["cards"][0]
    assert (card["status"], card["tracking_number"]) == ("delivered", "SF1234567890")
    delivered = await world.published("CardDelivered")
    assert delivered[0]["data"] == {
        "card_id": card_id,
        "certificate_number": number,
        "region": HOME,
        "collected": False,
    }


async def test_two_card_centres_taking_batches_at_once_never_get_the_same_card(world: CardWorld) -> None:
    for round_number in range(5):
        waiting = set(await world.order_cards(12))
        first, second = await asyncio.gather(
            world.take_batch(8, world.centre(subject="centre-a")),
            world.take_batch(8, world.centre(subject="centre-b")),
        )
        taken_first = {card["card_id"] for card in first["cards"]}
        taken_second = {card["card_id"] for card in second["cards"]}
        assert not taken_first & taken_second, f"round {round_number}: a card in two batches"
        assert taken_first | taken_second == waiting, f"round {round_number}: a waiting card was left"
    started = await world.fetch(
        "SELECT stream_id FROM events WHERE event_type = 'CardProductionStarted'"
        " GROUP BY stream_id HAVING count(*) > 1"
    )
    assert started == [], "a card went into production twice"


async def test_a_batch_being_taken_does_not_hold_up_another_centre(world: CardWorld) -> None:
    held, free = await world.order_cards(2)
    async with world.runtime.pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT 1 FROM card_view WHERE card_id = $1 FOR UPDATE", held)
        async with asyncio.timeout(5):
            batch = await world.take_batch(2)
    assert [card["card_id"] for card in batch["cards"]] == [free]
    assert [card["card_id"] for card in (await world.take_batch(2))["cards"]] == [held]


async def test_the_oldest_orders_are_taken_first(world: CardWorld) -> None:
    older = await world.order_cards(2, ordered_on=TODAY - timedelta(days=3))
    await world.order_cards(2)
    batch = await world.take_batch(2)
    assert [card["card_id"] for card in batch["cards"]] == older


async def test_one_impossible_step_refuses_the_whole_report_naming_the_current_status(
    world: CardWorld,
) -> None:
    first, second = await world.order_cards(2)
    batch = await world.take_batch(2)
    refused = await world.report(batch["id"], (first, "produced"), (second, "delivered"), expect=409)
    assert refused["code"] == "card_transition_not_allowed"
    assert refused["card_status"] == "in_production"
    assert "in_production" in refused["detail"]
    assert [error["field"] for error in refused["errors"]] == ["reports.1.status"]
    assert await world.statuses(batch["id"]) == {first: "in_production", second: "in_production"}
    produced = await world.fetch("SELECT count(*) AS n FROM events WHERE event_type = 'CardProduced'")
    assert produced[0]["n"] == 0, "part of a refused report was recorded"

    done = await world.report(batch["id"], (first, "produced"), (first, "collected"), (second, "produced"))
    assert {card["card_id"]: card["status"] for card in done["cards"]} == {
        first: "collected",
        second: "produced",
    }
    after_collection = await world.report(batch["id"], (first, "delivered"), expect=409)
    assert after_collection["card_status"] == "collected"


async def test_a_card_outside_the_batch_is_named_by_its_place_and_nothing_changes(world: CardWorld) -> None:
    mine = (await world.order_cards(1))[0]
    batch = await world.take_batch(1)
    elsewhere = (await world.order_cards(1))[0]
    await world.take_batch(1)
    refused = await world.report(
        batch["id"], (mine, "produced"), (elsewhere, "produced"), ("no-such-card", "produced"), expect=422
    )
    assert refused["code"] == "card_not_in_batch"
    assert [error["field"] for error in refused["errors"]] == ["reports.1.card_id", "reports.2.card_id"]
    assert elsewhere not in str(refused), "input echoed back"
    assert "no-such-card" not in str(refused), "input echoed back"
    assert await world.statuses(batch["id"]) == {mine: "in_production"}
    unknown = await world.call("GET", f"/v1/card-batches/{uuid.uuid4()}", world.centre())
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "card_batch_not_found"


async def test_a_lost_card_cannot_be_reported_lost_again_nor_delivered(world: CardWorld) -> None:
    number, card_id = await world.issue_with_card()
    batch = await world.take_batch(1)
    await world.report(batch["id"], (card_id, "produced"), (card_id, "dispatched"), tracking="SF1")

    async def report_lost(uow: UnitOfWork) -> None:
        card = await uow.load(Card, card_id)
        assert card is not None
        card.report_lost()

    await world.execute(report_lost)
    assert (await world.certificate_card(number))["card_status"] == "lost"
    with pytest.raises(CardAlreadyLost) as again:  # a lost card is never reported lost again
        await world.execute(report_lost)
    assert (again.value.status, again.value.code) == (409, "card_already_lost")
    refused = await world.report(batch["id"], (card_id, "delivered"), expect=409)
    assert refused["card_status"] == "lost"
    assert await world.statuses(batch["id"]) == {card_id: "lost"}


async def test_an_invalidated_card_rejects_every_report_and_its_successor_stays_current(
    world: CardWorld,
) -> None:
    number, old_card = await world.issue_with_card()
    batch = await world.take_batch(1)
    new_card = uuid.uuid4().hex

    async def renew(uow: UnitOfWork) -> None:
        # The new card's order is recorded before the old card's end: the end must not hide it.
        uow.track(a_card_order(new_card, number, HOME, "mail", TODAY))
        card = await uow.load(Card, old_card)
        assert card is not None
        card.invalidate("renewed")

    await world.execute(renew)
    assert await world.certificate_card(number) == {"card_id": new_card, "card_status": "ordered"}
    for status in ("produced", "invalidated", "delivered"):
        refused = await world.report(batch["id"], (old_card, status), expect=409)
        assert refused["card_status"] == "invalidated"
    assert await world.statuses(batch["id"]) == {old_card: "invalidated"}


async def test_a_card_spoiled_at_the_centre_is_ordered_again_for_the_holder(world: CardWorld) -> None:
    number, spoiled = await world.issue_with_card()
    batch = await world.take_batch(1)
    await world.report(batch["id"], (spoiled, "invalidated"))
    current = await world.certificate_card(number)
    assert current["card_id"] != spoiled
    assert current["card_status"] == "ordered"
    again = await world.take_batch(1)
    assert [card["card_id"] for card in again["cards"]] == [current["card_id"]]
    assert again["cards"][0]["holder_name"] == HOLDER_NAME


async def test_a_card_not_in_the_holders_hands_after_the_overdue_days_shows_as_overdue(
    world: CardWorld,
) -> None:
    late = (await world.order_cards(1, ordered_on=TODAY - timedelta(days=OVERDUE_DAYS + 1)))[0]
    due_today = (await world.order_cards(1, ordered_on=TODAY - timedelta(days=OVERDUE_DAYS)))[0]
    delivered_late = (await world.order_cards(1, ordered_on=TODAY - timedelta(days=OVERDUE_DAYS + 5)))[0]
    batch = await world.take_batch(1)
    assert [card["card_id"] for card in batch["cards"]] == [delivered_late]
    await world.report(batch["id"], (delivered_late, "produced"), (delivered_late, "collected"))

    overdue = await world.cards(world.admin, "?overdue=true")
    assert [card["card_id"] for card in overdue] == [late]
    assert overdue[0]["due_on"] == (TODAY - timedelta(days=1)).isoformat()
    assert overdue[0]["overdue"] is True
    everything = {card["card_id"]: card for card in await world.cards(world.reviewer_of(HOME))}
    assert everything[due_today]["overdue"] is False
    assert everything[due_today]["due_on"] == TODAY.isoformat()
    assert everything[delivered_late]["overdue"] is False
    assert everything[delivered_late]["batch_id"] == batch["id"]
    waiting = await world.cards(world.centre(), "?status=ordered&overdue=false")
    assert [card["card_id"] for card in waiting] == [due_today]


async def test_a_card_centre_of_another_province_sees_none_of_these_cards(world: CardWorld) -> None:
    ours = set(await world.order_cards(2)) | set(await world.order_cards(1, region=NEIGHBOUR))
    shanghai = world.centre(OTHER_PROVINCE, subject="centre-sh")
    nothing = await world.take_batch(10, shanghai)
    assert nothing["cards"] == [], "an empty batch is still a batch"
    assert await world.cards(shanghai) == []
    assert await world.cards(world.reviewer_of(OTHER_PROVINCE)) == []

    batch = await world.take_batch(10)
    assert {card["card_id"] for card in batch["cards"]} == ours, "the province's counties all belong to it"
    unseen = await world.call("GET", f"/v1/card-batches/{batch['id']}", shanghai)
    assert unseen.status_code == 404
    body = {"reports": [{"card_id": card_id, "status": "produced"} for card_id in ours]}
    meddling = await world.call("POST", f"/v1/card-batches/{batch['id']}/reports", shanghai, body)
    assert meddling.status_code == 404
    assert {card["card_id"] for card in await world.cards(world.admin)} == ours, "an admin sees every region"
    assert len(await world.cards(world.reviewer_of(NEIGHBOUR))) == 1, "a reviewer sees only its county"


async def test_only_card_centres_take_batches_and_only_staff_list_cards(world: CardWorld) -> None:
    applicant = world.token(
        "applicant", "citizen-1", id_number=make_identity_number(HOME, date(1980, 1, 1), 7)
    )
    for token in (applicant, world.reviewer_of(HOME), world.admin):
        refused = await world.call("POST", "/v1/card-batches", token, {"limit": 1})
        assert refused.status_code == 403
        assert refused.json()["code"] == "forbidden"
    assert (await world.call("GET", "/v1/cards", applicant)).status_code == 403
    too_many = await world.call("POST", "/v1/card-batches", world.centre(), {"limit": 501})
    assert too_many.status_code == 422
    extra = await world.call("POST", "/v1/card-batches", world.centre(), {"limit": 1, "priority": "high"})
    assert extra.status_code == 422


async def test_names_and_addresses_reach_only_the_card_centre_with_the_print_data(world: CardWorld) -> None:
    mailed = (await world.order_cards(1))[0]
    collected = (await world.order_cards(1, delivery="collect"))[0]
    batch = await world.take_batch(2)
    print_data = {card["card_id"]: card for card in batch["cards"]}
    assert print_data[mailed]["holder_name"] == HOLDER_NAME
    assert print_data[mailed]["mail_address"] == ADDRESS
    assert print_data[collected]["mail_address"] is None, "a card collected at the counter needs no address"

    for token in (world.centre(), world.reviewer_of(HOME), world.admin):
        listed = await world.call("GET", "/v1/cards", token)
        assert HOLDER_NAME not in listed.text
        assert ADDRESS not in listed.text
    followed = await world.call("GET", f"/v1/card-batches/{batch['id']}", world.centre())
    assert HOLDER_NAME not in followed.text
    assert ADDRESS not in followed.text
    stored = await world.fetch("SELECT * FROM card_view")
    assert HOLDER_NAME not in str(stored)
    assert ADDRESS not in str(stored)
    kept = await world.fetch("SELECT response::text AS response FROM idempotency_keys")
    assert HOLDER_NAME not in str(kept)
    ordered = await world.published("CardOrdered", 2)
    assert all({"holder_name", "mail_address", "serial"}.isdisjoint(event["data"]) for event in ordered)


async def test_a_replayed_idempotency_key_answers_the_same_batch(world: CardWorld) -> None:
    await world.order_cards(2)
    first = await world.take_batch(5, key="batch-2026-11-20-1")
    await world.order_cards(1)
    again = await world.call(
        "POST",
        "/v1/card-batches",
        world.centre(),
        {"limit": 5},
        headers={"Idempotency-Key": "batch-2026-11-20-1"},
    )
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first
    still_waiting = await world.cards(world.centre(), "?status=ordered")
    assert len(still_waiting) == 1, "the replay took new cards"
    other_body = await world.call(
        "POST",
        "/v1/card-batches",
        world.centre(),
        {"limit": 1},
        headers={"Idempotency-Key": "batch-2026-11-20-1"},
    )
    assert other_body.status_code == 409
    assert other_body.json()["code"] == "idempotency_key_reused"


async def test_a_card_centre_lists_its_provinces_batches_newest_first_with_counts_per_state(
    world: CardWorld,
) -> None:
    number, first = await world.issue_with_card()
    second = (await world.order_cards(1))[0]
    older = await world.take_batch(2)
    await world.report(older["id"], (first, "produced"), (first, "dispatched"), tracking="SF42")
    await world.report(older["id"], (second, "invalidated"))  # spoiled: ordered again at once
    newer = await world.take_batch(5)
    assert len(newer["cards"]) == 1, "the spoiled card's new order"
    shanghai_card = (await world.order_cards(1, region=OTHER_PROVINCE))[0]
    await world.take_batch(1, world.centre(OTHER_PROVINCE, subject="centre-sh"))

    reads_before = await world.fetch("SELECT count(*) AS n FROM access_log")
    answer = await world.call("GET", "/v1/card-batches", world.centre())
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert [item["id"] for item in items] == [newer["id"], older["id"]], "newest first, own province only"
    assert items[1]["card_count"] == 2
    assert items[0]["card_count"] == 1
    assert items[1]["counts"] == {
        "ordered": 0,
        "in_production": 0,
        "produced": 0,
        "dispatched": 1,
        "delivered": 0,
        "collected": 0,
        "lost": 0,
        "invalidated": 1,
    }
    assert items[0]["counts"]["in_production"] == 1
    assert items[1]["taken_at"] <= items[0]["taken_at"]
    assert first not in answer.text, "counts only, no card nor person"
    assert number[:18] not in answer.text, "counts only, no card nor person"
    assert shanghai_card not in answer.text

    limited = await world.call("GET", "/v1/card-batches?limit=1", world.centre())
    assert [item["id"] for item in limited.json()["items"]] == [newer["id"]]
    shanghai = await world.call("GET", "/v1/card-batches", world.centre(OTHER_PROVINCE, subject="centre-sh"))
    assert [item["card_count"] for item in shanghai.json()["items"]] == [1]
    for token in (world.reviewer_of(HOME), world.admin):
        refused = await world.call("GET", "/v1/card-batches", token)
        assert refused.status_code == 403
        assert refused.json()["code"] == "forbidden"
    assert (await world.call("GET", "/v1/card-batches?limit=0", world.centre())).status_code == 422
    assert reads_before[0]["n"] > 0, "taking the batch with its print data was recorded"
    reads_after = await world.fetch("SELECT count(*) AS n FROM access_log")
    assert reads_after == reads_before, "a list of counts names nobody: no read recorded"


async def test_a_double_click_with_one_key_takes_the_waiting_cards_in_one_batch(world: CardWorld) -> None:
    for round_number in range(5):
        waiting = set(await world.order_cards(3))
        key = f"double-click-{round_number}"
        first, second = await asyncio.gather(world.take_batch(5, key=key), world.take_batch(5, key=key))
        assert first == second, f"round {round_number}: two answers for one key"
        taken = {card["card_id"] for card in first["cards"]}
        assert taken == waiting, f"round {round_number}: the double click took {len(taken)} of 3 cards"
