"""The card centre's API (制卡中心): batches of ordered cards with their print data, state
reports back, and the list of cards with overdue ones, which reviewers and admins see too.

A card centre's token carries `region` (required): it acts for that region's province only
(api/policy.py).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import TypeAdapter

from dcert_shared.access_log import Reads
from dcert_shared.api import IdempotencyKey, Pool, idempotency, mark_replayed, principal_context
from dcert_shared.auth import CurrentPrincipal
from dcert_shared.ids import mask_numbers

from ..adapters.cards import CardView
from ..adapters.queries import CardDue, CardFilter
from ..application.cards import CardReport
from ..domain.card import CardStatus
from .access_log import record_card_reads
from .card_schemas import (
    Batch,
    BatchCard,
    BatchList,
    BatchReports,
    BatchRequest,
    BatchStatus,
    BatchSummary,
    CardList,
    CardListed,
    CardStatusCounts,
    CardStatusName,
)
from .dependencies import Cards, Policy

router = APIRouter(prefix="/v1", tags=["cards"])

Delivery = Literal["mail", "collect"]

# The read model's values, as the answers state them.
CARD_STATUS = TypeAdapter[CardStatusName](CardStatusName)
DELIVERY = TypeAdapter[Delivery](Delivery)


@router.post("/card-batches", status_code=201, response_model=Batch)
async def take_batch(
    body: BatchRequest,
    principal: CurrentPrincipal,
    cards: Cards,
    policy: Policy,
    reads: Reads,
    db: Pool,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """The card centre takes up to `limit` ordered cards of its province, oldest first, with
    what it prints; they are in production from now. No card waiting: an empty batch."""
    scope = policy.card_centre_province(principal)
    once = idempotency(principal, idempotency_key, body)
    batch, replayed = await cards.take_batch(principal_context(principal), once, scope, body.limit)
    await record_card_reads(reads, db, [card["certificate_number"] for card in batch["cards"]])
    mark_replayed(response, replayed)
    return batch


@router.get("/card-batches", response_model=BatchList)
async def list_batches(
    principal: CurrentPrincipal,
    cards: Cards,
    policy: Policy,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> BatchList:
    """The card centre's batches of its province, newest first: when each was taken, its number
    of cards and how many are in each state now. Counts only, naming no card or person, so the
    read is not recorded in the access log. A batch taken empty has no card and is not listed."""
    summaries = await cards.batches(policy.card_centre_province(principal), limit)
    return BatchList(
        items=[
            BatchSummary(
                id=uuid.UUID(summary.batch_id),
                taken_at=summary.taken_at,
                card_count=summary.card_count,
                counts=CardStatusCounts(**summary.counts),
            )
            for summary in summaries
        ]
    )


@router.get("/card-batches/{batch_id}", response_model=BatchStatus)
async def get_batch(
    batch_id: uuid.UUID, principal: CurrentPrincipal, cards: Cards, policy: Policy, reads: Reads, db: Pool
) -> BatchStatus:
    """A batch's cards and their current states (no name, no address); another province's
    batch is answered as absent."""
    in_batch = await cards.batch(str(batch_id), policy.card_centre_province(principal))
    await record_card_reads(reads, db, [card.certificate_number for card in in_batch])
    return _batch_status(batch_id, in_batch)


@router.post("/card-batches/{batch_id}/reports", response_model=BatchStatus)
async def report_states(
    batch_id: uuid.UUID, body: BatchReports, principal: CurrentPrincipal, cards: Cards, policy: Policy
) -> BatchStatus:
    """The card centre reports produced, dispatched (with a tracking number), delivered,
    collected or invalidated for cards of a batch: all of them apply, or none."""
    scope = policy.card_centre_province(principal)
    reports = [
        CardReport(
            card_id=report.card_id, status=CardStatus(report.status), tracking_number=report.tracking_number
        )
        for report in body.reports
    ]
    in_batch = await cards.report(principal_context(principal), str(batch_id), scope, reports)
    return _batch_status(batch_id, in_batch)


@router.get("/cards", response_model=CardList)
async def list_cards(
    principal: CurrentPrincipal,
    cards: Cards,
    policy: Policy,
    reads: Reads,
    db: Pool,
    status: CardStatusName | None = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> CardList:
    """Cards in the caller's scope, oldest order first; `overdue=true`: not yet in the holder's
    hands (nor lost or invalidated) more than the configured days after the order."""
    wanted = CardFilter(
        region_prefix=policy.card_list_scope(principal),
        status=CardStatus(status) if status else None,
        overdue=overdue,
        limit=limit,
    )
    listed = await cards.list_cards(wanted)
    await record_card_reads(reads, db, [due.card.certificate_number for due in listed])
    shown = policy.shows_numbers(principal)
    return CardList(items=[_listed(due, shown) for due in listed])


def _batch_status(batch_id: uuid.UUID, in_batch: list[CardView]) -> BatchStatus:
    return BatchStatus(
        id=batch_id,
        cards=[
            BatchCard(
                card_id=card.card_id,
                certificate_number=card.certificate_number,
                region=card.region,
                status=CARD_STATUS.validate_python(card.status),
                delivery=DELIVERY.validate_python(card.delivery),
                tracking_number=card.tracking_number,
                ordered_on=card.ordered_on,
                updated_at=card.updated_at,
            )
            for card in in_batch
        ],
    )


def _listed(due: CardDue, numbers_shown: bool) -> CardListed:
    card = due.card
    return CardListed(
        card_id=card.card_id,
        certificate_number=card.certificate_number
        if numbers_shown
        else mask_numbers(card.certificate_number),
        status=CARD_STATUS.validate_python(card.status),
        region=card.region,
        ordered_on=card.ordered_on,
        due_on=due.due_on,
        overdue=due.overdue,
        tracking_number=card.tracking_number,
        batch_id=uuid.UUID(card.batch_id) if card.batch_id is not None else None,
    )
