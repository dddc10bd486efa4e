"""The smart card's life, without I/O: the card centre's steps, loss and invalidation."""

from __future__ import annotations

from datetime import date

import pytest

from dcert_certificate.domain.card import (
    Card,
    CardAlreadyLost,
    CardDelivered,
    CardDispatched,
    CardInvalidated,
    CardNotValid,
    CardOrdered,
    CardStatus,
    CardTransitionNotAllowed,
)
from dcert_certificate.domain.events import registry
from dcert_shared.envelope import CommandContext, EventEnvelope

ORDERED_ON = date(2026, 11, 20)


def a_card(delivery: str = "mail") -> Card:
    card = Card.order(
        "card-1",
        certificate_number="33050219500101001X42",
        application_id="application-1",
        region="330502",
        serial="serial-1",
        person_ref="person-1",
        holder_name="李明华",
        mail_address="人民路1号",
        delivery=delivery,
        today=ORDERED_ON,
    )
    card.mark_saved()
    return card


def a_card_at(status: CardStatus) -> Card:
    card = a_card()
    steps = {
        CardStatus.ORDERED: [],
        CardStatus.IN_PRODUCTION: [],
        CardStatus.PRODUCED: [CardStatus.PRODUCED],
        CardStatus.DISPATCHED: [CardStatus.PRODUCED, CardStatus.DISPATCHED],
        CardStatus.DELIVERED: [CardStatus.PRODUCED, CardStatus.DISPATCHED, CardStatus.DELIVERED],
        CardStatus.COLLECTED: [CardStatus.PRODUCED, CardStatus.COLLECTED],
    }
    if status is not CardStatus.ORDERED:
        card.start_production("batch-1")
    for step in steps[status]:
        card.report(step, "SF1234567890" if step is CardStatus.DISPATCHED else None)
    card.mark_saved()
    return card


def test_a_mailed_card_goes_from_order_to_the_holders_door() -> None:
    card = a_card()
    card.start_production("batch-1")
    card.report(CardStatus.PRODUCED)
    card.report(CardStatus.DISPATCHED, "SF1234567890")
    card.report(CardStatus.DELIVERED)
    assert card.status is CardStatus.DELIVERED
    assert card.batch_id == "batch-1"
    assert card.tracking_number == "SF1234567890"
    assert [type(event).__name__ for event in card.pending_events] == [
        "CardProductionStarted",
        "CardProduced",
        "CardDispatched",
        "CardDelivered",
    ]


def test_a_card_may_be_collected_at_the_counter_without_being_posted() -> None:
    card = a_card_at(CardStatus.PRODUCED)
    card.report(CardStatus.COLLECTED)
    assert card.status is CardStatus.COLLECTED
    assert card.pending_events == [
        CardDelivered(
            card_id="card-1", certificate_number=card.certificate_number, region="330502", collected=True
        )
    ]


@pytest.mark.parametrize(
    ("current", "reported"),
    [
        (CardStatus.ORDERED, CardStatus.PRODUCED),
        (CardStatus.IN_PRODUCTION, CardStatus.DELIVERED),
        (CardStatus.IN_PRODUCTION, CardStatus.DISPATCHED),
        (CardStatus.PRODUCED, CardStatus.DELIVERED),
        (CardStatus.DELIVERED, CardStatus.DISPATCHED),
        (CardStatus.DELIVERED, CardStatus.INVALIDATED),
        (CardStatus.COLLECTED, CardStatus.DELIVERED),
        (CardStatus.PRODUCED, CardStatus.LOST),
        (CardStatus.PRODUCED, CardStatus.ORDERED),
    ],
)
def test_an_impossible_step_is_refused_naming_the_current_status(
    current: CardStatus, reported: CardStatus
) -> None:
    card = a_card_at(current)
    with pytest.raises(CardTransitionNotAllowed) as refused:
        card.report(reported)
    assert refused.value.status == 409
    assert refused.value.extra == {"card_status": current.value}
    assert refused.value.detail is not None
    assert current.value in refused.value.detail.zh
    assert current.value in refused.value.detail.en
    assert card.status is current
    assert card.pending_events == []


def test_production_starts_only_once() -> None:
    card = a_card_at(CardStatus.IN_PRODUCTION)
    with pytest.raises(CardTransitionNotAllowed):
        card.start_production("batch-2")
    assert card.batch_id == "batch-1"


def test_a_retried_report_changes_nothing_but_a_corrected_tracking_number_is_kept() -> None:
    card = a_card_at(CardStatus.DISPATCHED)
    card.report(CardStatus.DISPATCHED, "SF1234567890")
    card.report(CardStatus.DISPATCHED, None)
    assert card.pending_events == []
    card.report(CardStatus.DISPATCHED, "EMS0000000001")
    assert card.tracking_number == "EMS0000000001"
    assert [type(event) for event in card.pending_events] == [CardDispatched]


@pytest.mark.parametrize("status", list(CardStatus))
def test_an_invalidated_card_rejects_every_report(status: CardStatus) -> None:
    card = a_card_at(CardStatus.DISPATCHED)
    card.invalidate("replaced")
    card.mark_saved()
    with pytest.raises(CardTransitionNotAllowed) as refused:
        card.report(status)
    assert refused.value.extra == {"card_status": "invalidated"}
    with pytest.raises(CardTransitionNotAllowed):
        card.start_production("batch-2")


def test_a_lost_card_cannot_be_delivered_nor_reported_lost_again() -> None:
    card = a_card_at(CardStatus.DISPATCHED)
    card.report_lost()
    assert card.status is CardStatus.LOST
    with pytest.raises(CardAlreadyLost) as again:
        card.report_lost()
    assert again.value.code == "card_already_lost"
    assert again.value.status == 409
    with pytest.raises(CardTransitionNotAllowed):
        card.report(CardStatus.DELIVERED)


@pytest.mark.parametrize("status", [CardStatus.ORDERED, CardStatus.IN_PRODUCTION, CardStatus.DELIVERED])
def test_a_card_may_be_reported_lost_in_production_on_its_way_or_in_hand(status: CardStatus) -> None:
    card = a_card_at(status)
    card.report_lost()
    assert card.status is CardStatus.LOST


def test_an_invalidated_card_cannot_be_reported_lost() -> None:
    card = a_card()
    card.invalidate("cancelled")
    with pytest.raises(CardNotValid) as refused:
        card.report_lost()
    assert refused.value.code == "card_not_valid"


def test_invalidating_an_ended_card_records_nothing() -> None:
    lost = a_card_at(CardStatus.DELIVERED)
    lost.report_lost()
    lost.mark_saved()
    lost.invalidate("replaced")
    assert lost.status is CardStatus.LOST
    assert lost.pending_events == []
    invalidated = a_card()
    invalidated.invalidate("renewed")
    invalidated.invalidate("cancelled")
    assert invalidated.pending_events == [
        CardInvalidated(
            card_id="card-1",
            certificate_number=invalidated.certificate_number,
            region="330502",
            reason="renewed",
        )
    ]


def test_the_card_centre_may_invalidate_a_spoiled_card_but_not_one_in_the_holders_hands() -> None:
    spoiled = a_card_at(CardStatus.PRODUCED)
    spoiled.report(CardStatus.INVALIDATED)
    assert spoiled.status is CardStatus.INVALIDATED
    with pytest.raises(CardTransitionNotAllowed):
        a_card_at(CardStatus.COLLECTED).report(CardStatus.INVALIDATED)


def test_the_holders_name_and_address_stay_in_the_service() -> None:
    ordered = a_card()
    event = Card.order(
        "card-2",
        certificate_number=ordered.certificate_number,
        application_id="application-1",
        region="330502",
        serial="serial-2",
        person_ref="person-1",
        holder_name="李明华",
        mail_address="人民路1号",
        delivery="collect",
        today=ORDERED_ON,
    ).pending_events[0]
    assert isinstance(event, CardOrdered)
    published = event.published_data()
    assert {"holder_name", "mail_address", "serial"}.isdisjoint(published)
    assert published["card_id"] == "card-2"
    assert published["region"] == "330502"
    assert published["delivery"] == "collect"
    assert published["ordered_on"] == "2026-11-20"


def test_replaying_the_stored_events_rebuilds_the_card() -> None:
    card = Card.order(
        "card-1",
        certificate_number="33050219500101001X42",
        application_id="application-1",
        region="330502",
        serial="serial-1",
        person_ref="person-1",
        holder_name="李明华",
        mail_address="人民路1号",
        delivery="mail",
        today=ORDERED_ON,
    )
    card.start_production("batch-1")
    card.report(CardStatus.PRODUCED)
    card.report(CardStatus.DISPATCHED, "SF1234567890")
    stored = [
        EventEnvelope.record(event, card.stream_id, version, "/dcert/certificate", CommandContext())
        for version, event in enumerate(card.pending_events, start=1)
    ]
    events = registry()
    rebuilt = Card.rehydrate("card-1", [events.decode(envelope) for envelope in stored])
    assert rebuilt.status is CardStatus.DISPATCHED
    assert rebuilt.tracking_number == "SF1234567890"
    assert rebuilt.holder_name == "李明华"
    assert rebuilt.mail_address == "人民路1号"
    assert rebuilt.batch_id == "batch-1"
    assert rebuilt.ordered_on == ORDERED_ON
    assert rebuilt.version == 4


def test_an_unknown_delivery_mode_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="delivery must be one of"):
        a_card(delivery="drone")
