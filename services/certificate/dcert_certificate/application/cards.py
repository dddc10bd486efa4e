"""The card centre's use cases (制卡中心): take a batch of ordered cards, report their states,
list cards and follow overdue ones.

A batch is the set of cards whose production started under one batch id. The print data
(holder's name, mail address) comes from each card's own events and goes only to the card
centre: it is neither projected nor kept with the Idempotency-Key's answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from dcert_shared.envelope import CommandContext
from dcert_shared.problems import Bilingual, FieldError
from dcert_shared.uow import EventSourcing, Idempotency, UnitOfWork

from ..adapters import queries
from ..adapters.cards import CardView
from ..adapters.queries import BatchSummary, CardDue, CardFilter
from ..domain.card import Card, CardBatchNotFound, CardNotInBatch, CardStatus, CardTransitionNotAllowed
from .service import CertificateService


@dataclass(frozen=True)
class CardReport:
    """One state the card centre reports for one card of a batch."""

    card_id: str
    status: CardStatus
    tracking_number: str | None = None


class CardCommands:
    """The card centre's commands and queries over the certificate service's event store."""

    def __init__(self, service: CertificateService) -> None:
        self.service = service

    @property
    def es(self) -> EventSourcing:
        return self.service.es

    # -- batches ------------------------------------------------------------------------------
    async def take_batch(
        self, context: CommandContext, once: Idempotency, region_prefix: str, limit: int
    ) -> tuple[dict[str, Any], bool]:
        """Up to `limit` waiting cards of the scope, oldest first, now in production under a new
        batch id; with each card's print data. A replayed key answers the same batch."""

        async def decide(uow: UnitOfWork) -> dict[str, Any]:
            batch_id = str(uuid.uuid4())
            card_ids = await queries.take_waiting_cards(uow.conn, region_prefix, limit)
            for card in await self._load_cards(uow, card_ids):
                card.start_production(batch_id)
            return {"id": batch_id, "card_ids": card_ids}

        taken, replayed = await self.es.execute_idempotent(
            context, once.principal, once.key, once.request, decide
        )
        cards = await self.print_data(context, taken["card_ids"])
        return {"id": taken["id"], "cards": cards}, replayed

    async def print_data(self, context: CommandContext, card_ids: Sequence[str]) -> list[dict[str, Any]]:
        """What the card centre prints and posts, read from the cards' own events."""

        async def read(uow: UnitOfWork) -> list[dict[str, Any]]:
            return [_print_data(card) for card in await self._load_cards(uow, card_ids)]

        return await self.es.execute(context, read)

    async def batch(self, batch_id: str, region_prefix: str) -> list[CardView]:
        """The batch's cards in the caller's scope, with their current states."""
        cards = await queries.cards_of_batch(self.es.pool, batch_id, region_prefix)
        if not cards:
            raise CardBatchNotFound()
        return cards

    async def batches(self, region_prefix: str, limit: int) -> list[BatchSummary]:
        """The scope's batches, newest first, with the number of cards in each state."""
        return await queries.batches(self.es.pool, region_prefix, limit)

    async def report(
        self, context: CommandContext, batch_id: str, region_prefix: str, reports: Sequence[CardReport]
    ) -> list[CardView]:
        """The states of a batch's cards, all or nothing: one card not in the batch or one
        impossible step refuses the whole report. Reports of one card apply in their order.
        A card the centre invalidates is ordered again at once."""

        async def decide(uow: UnitOfWork) -> None:
            in_batch = await queries.cards_of_batch(uow.conn, batch_id, region_prefix)
            if not in_batch:
                raise CardBatchNotFound()
            _require_all_in_batch(reports, {card.card_id for card in in_batch})
            named = dict.fromkeys(report.card_id for report in reports)
            cards = {card.id: card for card in await self._load_cards(uow, named)}
            for index, report in enumerate(reports):
                card = cards[report.card_id]
                _apply_report(card, report, index)
                if report.status is CardStatus.INVALIDATED:
                    # 作废 at the centre (spoiled in production): the holder still needs a card.
                    uow.track(card.reordered(uuid.uuid4().hex, self.service.today()))

        await self.es.execute(context, decide)
        return await self.batch(batch_id, region_prefix)

    # -- lists --------------------------------------------------------------------------------
    async def list_cards(self, wanted: CardFilter) -> list[CardDue]:
        service = self.service
        return await queries.cards(
            service.es.pool, wanted, service.today(), service.settings.card_overdue_days
        )

    @staticmethod
    async def _load_cards(uow: UnitOfWork, card_ids: Iterable[str]) -> list[Card]:
        cards = [await uow.load(Card, card_id) for card_id in card_ids]
        return [card for card in cards if card is not None]


def _print_data(card: Card) -> dict[str, Any]:
    return {
        "card_id": card.id,
        "certificate_number": card.certificate_number,
        "holder_name": card.holder_name,
        # Minimum necessary: a card handed over at the counter needs no address.
        "mail_address": card.mail_address if card.delivery == "mail" else None,
        "delivery": card.delivery,
        "region": card.region,
        "ordered_on": card.ordered_on.isoformat(),
    }


def _require_all_in_batch(reports: Sequence[CardReport], batch: set[str]) -> None:
    """Every card outside the batch named at once, by its place in the request."""
    errors = [
        FieldError(
            field=f"reports.{index}.card_id",
            code=CardNotInBatch.code,
            message=Bilingual.title_of(CardNotInBatch),
        )
        for index, report in enumerate(reports)
        if report.card_id not in batch
    ]
    if errors:
        raise CardNotInBatch(errors=errors)


def _apply_report(card: Card, report: CardReport, index: int) -> None:
    try:
        card.report(report.status, report.tracking_number)
    except CardTransitionNotAllowed as refused:
        field = f"reports.{index}.status"
        raise CardTransitionNotAllowed(
            detail=refused.detail,
            errors=[FieldError(field=field, code=refused.code, message=Bilingual.title_of(refused))],
            card_id=card.id,
            card_status=card.status.value,
        ) from None
