"""Request and response models of the benefits API (docs/api.md). Responses list what they show."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dcert_shared.api import stripped_text_needs_content

from ..application.facts import FactCreate as FactCreate
from ..domain.calendar import MONTH_PATTERN

BenefitStatus = Literal["active", "not_eligible", "terminated", "suspended"]


class Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra=stripped_text_needs_content
    )


class BenefitPublic(BaseModel):
    code: str
    name: str
    kind: Literal["cash", "in_kind"] = Field(
        "cash", description="cash: paid monthly; in_kind: a service or exemption (amount 0)"
    )
    status: BenefitStatus
    monthly_amount: int | None = Field(description="Integer fen per month (same as monthly_amount_fen)")
    monthly_amount_fen: int | None
    active_from: date | None
    active_to: date | None
    reason_code: str
    reason: str = Field(description="The reason in the request's language (Accept-Language: zh-CN or en)")
    policy_version: str | None
    upcoming: UpcomingChange | None = Field(
        None, description="a change already decided that starts later (e.g. a new amount from January)"
    )


class UpcomingChange(BaseModel):
    monthly_amount_fen: int
    active_from: date
    active_to: date | None


class BenefitList(BaseModel):
    items: list[BenefitPublic]


class FactAccepted(BaseModel):
    fact_id: str
    status: Literal["received"] = Field(
        description="always received: the answer never says whether the person holds a certificate, lies in"
        " the partner's jurisdiction or what became of the fact"
    )


class RunCreate(Strict):
    month: str = Field(pattern=MONTH_PATTERN, examples=["2025-05"])
    region: str = Field(pattern=r"^[0-9]{6}$", examples=["330500"])


class RunLinePublic(BaseModel):
    id: int = Field(description="stable order of the run's lines; page with ?after=<id>")
    certificate_number: str
    benefit: str
    household_region: str
    for_month: str = Field(description="YYYY-MM the line pays for")
    kind: Literal["regular", "arrears"] = Field(description="arrears (补发): a month before the run's")
    amount_fen: int
    policy_version: str


class RunPublic(BaseModel):
    id: str
    month: str
    region: str
    status: Literal["running", "completed", "closed"]
    lines: list[RunLinePublic] = Field(
        description="the first lines (see lines_truncated); all: /lines or /lines.csv"
    )
    line_count: int
    arrears_count: int
    lines_truncated: bool
    total_fen: int = Field(description="integer fen, the sum of every line of the run")
    started_at: datetime
    completed_at: datetime | None
    closed_at: datetime | None
