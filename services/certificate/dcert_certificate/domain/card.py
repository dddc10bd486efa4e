"""The smart card (第三代智能化残疾人证): ordered on issuance, produced by the provincial card
centre (制卡中心), dispatched and delivered or collected; it may be reported lost (挂失) or
invalidated (作废) when a renewal, replacement, transfer or closure supersedes it.

One stream per card. The holder's name and mail address travel in `CardOrdered` for printing
and posting; they stay in this service (private fields) and reach only the card centre.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from enum import StrEnum
from typing import ClassVar, Final, Self

from dcert_shared.aggregate import Aggregate
from dcert_shared.envelope import DomainEvent, EventRegistry
from dcert_shared.problems import Bilingual, Conflict, NotFound, ValidationFailed

DELIVERY_MODES: Final = frozenset({"mail", "collect"})


class CardStatus(StrEnum):
    ORDERED = "ordered"
    IN_PRODUCTION = "in_production"
    PRODUCED = "produced"
    DISPATCHED = "dispatched"
    DELIVERED = "delivered"
    COLLECTED = "collected"
    LOST = "lost"
    INVALIDATED = "invalidated"


# Where a card may come from for each state the card centre reports.
CENTRE_REPORTS: Final[Mapping[CardStatus, frozenset[CardStatus]]] = {
    CardStatus.PRODUCED: frozenset({CardStatus.IN_PRODUCTION}),
    CardStatus.DISPATCHED: frozenset({CardStatus.PRODUCED}),
    CardStatus.DELIVERED: frozenset({CardStatus.DISPATCHED}),
    # Collected at the counter: straight from production, or after being sent to the county.
    CardStatus.COLLECTED: frozenset({CardStatus.PRODUCED, CardStatus.DISPATCHED}),
    # Spoiled in production or returned undeliverable.
    CardStatus.INVALIDATED: frozenset({CardStatus.IN_PRODUCTION, CardStatus.PRODUCED, CardStatus.DISPATCHED}),
}
# The card's life is over: nothing more happens to it.
ENDED: Final = frozenset({CardStatus.LOST, CardStatus.INVALIDATED})
# In the holder's hands, or ended: no longer awaited from the card centre.
SETTLED: Final = frozenset({CardStatus.DELIVERED, CardStatus.COLLECTED, *ENDED})
# A retried report of the state the card is already in changes nothing.
REPEATABLE: Final = frozenset(CENTRE_REPORTS) - ENDED
INVALIDATED_BY_CARD_CENTRE: Final = "card_centre"


# -- errors -----------------------------------------------------------------------------------
class CardAlreadyLost(Conflict):
    code = "card_already_lost"
    title_zh = "该证卡已挂失"
    title_en = "This card was already reported lost"


class CardNotValid(Conflict):
    code = "card_not_valid"
    title_zh = "该证卡已作废"
    title_en = "This card is no longer valid"


class CardTransitionNotAllowed(Conflict):
    """Raised with `card_status`: the card's current state does not allow this step."""

    code = "card_transition_not_allowed"
    title_zh = "证卡当前状态不能办理此环节"
    title_en = "The card's current status does not allow this step"


class CardBatchNotFound(NotFound):
    code = "card_batch_not_found"
    title_zh = "未找到该制卡批次"
    title_en = "Card batch not found"


class CardNotInBatch(ValidationFailed):
    code = "card_not_in_batch"
    title_zh = "证卡不属于该制卡批次"
    title_en = "The card is not in this batch"


# -- events -----------------------------------------------------------------------------------
class CardEvent(DomainEvent):
    """What every card event carries: which card, of which certificate, in which region."""

    card_id: str
    certificate_number: str
    region: str


class CardOrdered(CardEvent):
    """下单制卡: the card centre of the region's province will print and post (or hand over) it."""

    private_fields: ClassVar[frozenset[str]] = frozenset(
        {"holder_name", "mail_address", "serial", "person_ref"}
    )
    sealed_fields: ClassVar[Mapping[str, frozenset[str]]] = {
        "person_ref": frozenset({"holder_name", "mail_address"})
    }
    application_id: str
    serial: str
    ordered_on: date
    delivery: str
    holder_name: str | None
    mail_address: str | None
    person_ref: str | None = None  # whose key seals name and address (None: stored before sealing)


class CardProductionStarted(CardEvent):
    batch_id: str


class CardProduced(CardEvent):
    pass


class CardDispatched(CardEvent):
    tracking_number: str | None


class CardDelivered(CardEvent):
    """送达 by post, or collected (领取) at the counter when `collected`."""

    collected: bool


class CardReportedLost(CardEvent):
    pass


class CardInvalidated(CardEvent):
    reason: str


def register_events(events: EventRegistry) -> None:
    """Register the card's events."""
    events.register(
        CardOrdered,
        CardProductionStarted,
        CardProduced,
        CardDispatched,
        CardDelivered,
        CardReportedLost,
        CardInvalidated,
    )


# -- the aggregate ----------------------------------------------------------------------------
class Card(Aggregate):
    """One physical card of a certificate, from the order to the holder's hands (or its end)."""

    stream_type = "card"

    @property
    def partition_key(self) -> str:
        """The person: every event about them is kept in order by consumers, whatever its stream."""
        return self.person_ref or self.stream_id

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.status = CardStatus.ORDERED
        self.certificate_number = ""
        self.region = ""
        self.application_id = ""
        self.serial = ""
        self.delivery = "mail"
        self.holder_name = ""
        self.mail_address = ""
        self.person_ref = ""
        self.ordered_on = date.min
        self.batch_id: str | None = None
        self.tracking_number: str | None = None

    @classmethod
    def order(
        cls,
        card_id: str,
        *,
        certificate_number: str,
        application_id: str,
        region: str,
        serial: str,
        person_ref: str,
        holder_name: str,
        mail_address: str,
        delivery: str,
        today: date,
    ) -> Self:
        if delivery not in DELIVERY_MODES:
            raise ValueError(f"delivery must be one of {sorted(DELIVERY_MODES)}")
        card = cls(card_id)
        card.trigger(
            CardOrdered(
                card_id=card_id,
                certificate_number=certificate_number,
                region=region,
                application_id=application_id,
                serial=serial,
                ordered_on=today,
                delivery=delivery,
                holder_name=holder_name,
                mail_address=mail_address,
                person_ref=person_ref,
            )
        )
        return card

    @property
    def _identity(self) -> dict[str, str]:
        return {"card_id": self.id, "certificate_number": self.certificate_number, "region": self.region}

    # -- the holder and the certificate's matters ---------------------------------------------
    def report_lost(self) -> None:
        """挂失: a card in production, on its way or in the holder's hands stops counting."""
        if self.status is CardStatus.LOST:
            raise CardAlreadyLost()
        if self.status is CardStatus.INVALIDATED:
            raise CardNotValid()
        self.trigger(CardReportedLost(**self._identity))

    def invalidate(self, reason: str) -> None:
        """作废: superseded by a renewal, replacement or transfer, or the certificate closed."""
        if self.status in ENDED:
            return
        self.trigger(CardInvalidated(**self._identity, reason=reason))

    def reordered(self, card_id: str, today: date) -> Card:
        """A new order with the same print data, for a card the centre spoiled."""
        return Card.order(
            card_id,
            certificate_number=self.certificate_number,
            application_id=self.application_id,
            region=self.region,
            serial=self.serial,
            person_ref=self.person_ref,
            holder_name=self.holder_name,
            mail_address=self.mail_address,
            delivery=self.delivery,
            today=today,
        )

    # -- the card centre ----------------------------------------------------------------------
    def start_production(self, batch_id: str) -> None:
        self._require({CardStatus.ORDERED})
        self.trigger(CardProductionStarted(**self._identity, batch_id=batch_id))

    def report(self, status: CardStatus, tracking_number: str | None = None) -> None:
        """A state the card centre reports. Reporting the state the card is in again changes
        nothing (a retried report), except a corrected tracking number on a dispatched card."""
        if status is self.status and status in REPEATABLE:
            self._correct_tracking_number(tracking_number)
            return
        self._require(CENTRE_REPORTS.get(status, frozenset()))
        match status:
            case CardStatus.PRODUCED:
                self.trigger(CardProduced(**self._identity))
            case CardStatus.DISPATCHED:
                self.trigger(CardDispatched(**self._identity, tracking_number=tracking_number))
            case CardStatus.DELIVERED | CardStatus.COLLECTED:
                self.trigger(CardDelivered(**self._identity, collected=status is CardStatus.COLLECTED))
            case CardStatus.INVALIDATED:
                self.trigger(CardInvalidated(**self._identity, reason=INVALIDATED_BY_CARD_CENTRE))

    def _correct_tracking_number(self, tracking_number: str | None) -> None:
        if self.status is CardStatus.DISPATCHED and tracking_number not in (None, self.tracking_number):
            self.trigger(CardDispatched(**self._identity, tracking_number=tracking_number))

    def _require(self, allowed_from: Collection[CardStatus]) -> None:
        if self.status not in allowed_from:
            raise CardTransitionNotAllowed(
                detail=Bilingual.status(self.status.value), card_status=self.status.value
            )

    def apply(self, event: DomainEvent) -> None:
        match event:
            case CardOrdered():
                self.status = CardStatus.ORDERED
                self.certificate_number = event.certificate_number
                self.region = event.region
                self.application_id = event.application_id
                self.serial = event.serial
                self.delivery = event.delivery
                self.holder_name = event.holder_name or ""
                self.mail_address = event.mail_address or ""
                self.person_ref = event.person_ref or ""
                self.ordered_on = event.ordered_on
            case CardProductionStarted():
                self.status = CardStatus.IN_PRODUCTION
                self.batch_id = event.batch_id
            case CardProduced():
                self.status = CardStatus.PRODUCED
            case CardDispatched():
                self.status = CardStatus.DISPATCHED
                self.tracking_number = event.tracking_number
            case CardDelivered():
                self.status = CardStatus.COLLECTED if event.collected else CardStatus.DELIVERED
            case CardReportedLost():
                self.status = CardStatus.LOST
            case CardInvalidated():
                self.status = CardStatus.INVALIDATED
