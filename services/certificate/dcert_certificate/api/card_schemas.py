"""Request and response models of the card centre's API. Responses list what they show: the
holder's name and address appear only in a batch's print data, which only the card centre gets."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dcert_shared.api import stripped_text_needs_content

ReportedStatus = Literal["produced", "dispatched", "delivered", "collected", "invalidated"]
CardStatusName = Literal[
    "ordered", "in_production", "produced", "dispatched", "delivered", "collected", "lost", "invalidated"
]


class Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra=stripped_text_needs_content
    )


class BatchRequest(Strict):
    limit: int = Field(ge=1, le=500)


class PrintCard(BaseModel):
    """印制数据: what the card centre prints on the card and the envelope."""

    card_id: str
    certificate_number: str
    holder_name: str
    mail_address: str | None
    delivery: Literal["mail", "collect"]
    region: str
    ordered_on: date


class Batch(BaseModel):
    id: uuid.UUID
    cards: list[PrintCard]


class BatchCard(BaseModel):
    card_id: str
    certificate_number: str
    region: str
    status: CardStatusName
    delivery: Literal["mail", "collect"]
    tracking_number: str | None
    ordered_on: date
    updated_at: datetime


class BatchStatus(BaseModel):
    id: uuid.UUID
    cards: list[BatchCard]


class CardStatusCounts(BaseModel):
    """How many cards of a batch are in each state now."""

    ordered: int = 0
    in_production: int = 0
    produced: int = 0
    dispatched: int = 0
    delivered: int = 0
    collected: int = 0
    lost: int = 0
    invalidated: int = 0


class BatchSummary(BaseModel):
    """A batch in the card centre's list: counts only, no card and no person."""

    id: uuid.UUID
    taken_at: datetime
    card_count: int
    counts: CardStatusCounts


class BatchList(BaseModel):
    items: list[BatchSummary]


class CardReportIn(Strict):
    card_id: str = Field(min_length=1, max_length=64)
    status: ReportedStatus
    tracking_number: str | None = Field(default=None, min_length=1, max_length=64)


class BatchReports(Strict):
    reports: list[CardReportIn] = Field(min_length=1, max_length=500)


class CardListed(BaseModel):
    card_id: str
    certificate_number: str
    status: CardStatusName
    region: str
    ordered_on: date
    due_on: date
    overdue: bool
    tracking_number: str | None
    batch_id: uuid.UUID | None


class CardList(BaseModel):
    items: list[CardListed]
