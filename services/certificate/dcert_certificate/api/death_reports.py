"""死亡核实 (API): the reviewer's list of reported deaths and the decision on one.

A partner's death report puts the certificate on hold (application/reactions.py); the reviewer of
the household area lists what waits (`GET /v1/death-reports`) and confirms it (注销, reason
death) or rejects it (`POST /v1/certificates/{number}/death-confirmation`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from dcert_shared.api import Pool, principal_context
from dcert_shared.auth import CurrentPrincipal
from dcert_shared.ids import mask_numbers

from ..adapters import queries
from ..domain import holds
from .certificates import certificate_public
from .dependencies import Deaths, Policy, Service
from .schemas import CertificatePublic

router = APIRouter(prefix="/v1")

ReportStatus = Literal["pending", "confirmed", "rejected", "corrected"]
REPORT_STATUS = TypeAdapter[ReportStatus](ReportStatus)


class DeathDecision(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    decision: Literal["confirm", "reject"]
    reason: str = Field(min_length=1, max_length=500, description="what the reviewer checked (the evidence)")


class DeathReportPublic(BaseModel):
    certificate_number: str
    status: ReportStatus
    household_region: str
    holder: str = Field(description="masked name")
    died_on: date = Field(description="the day of death as reported")
    held_on: date
    partner_id: str | None = Field(description="the partner agency that reported it")
    decided_at: datetime | None


class DeathReportList(BaseModel):
    items: list[DeathReportPublic]


@router.get("/death-reports", response_model=DeathReportList, tags=["certificates"])
async def list_death_reports(
    principal: CurrentPrincipal,
    policy: Policy,
    db: Pool,
    status: ReportStatus = "pending",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> DeathReportList:
    """The reported deaths of the reviewer's area (an admin: every area), oldest first."""
    area = policy.death_report_scope(principal)
    shown = policy.shows_numbers(principal)
    return DeathReportList(
        items=[
            DeathReportPublic(
                certificate_number=report.view.certificate_number
                if shown
                else mask_numbers(report.view.certificate_number),
                status=REPORT_STATUS.validate_python(report.view.status),
                household_region=report.view.household_region,
                holder=report.holder_name_masked,
                died_on=report.view.died_on,
                held_on=report.view.held_on,
                partner_id=report.view.partner_id,
                decided_at=report.view.decided_at,
            )
            for report in await queries.death_reports(db, status, area, limit)
        ]
    )


@router.post(
    "/certificates/{number}/death-confirmation", response_model=CertificatePublic, tags=["certificates"]
)
async def decide_death(
    number: str,
    body: DeathDecision,
    principal: CurrentPrincipal,
    service: Service,
    deaths: Deaths,
    policy: Policy,
    db: Pool,
) -> CertificatePublic:
    """The reviewer of the household area confirms a reported death (注销, reason death, benefits
    end) or rejects it (the hold lifts, the benefits carry on and the months held are paid)."""
    policy.require_canceller(principal, await queries.certificate(db, number))
    assert principal.region is not None  # a reviewer of the household area
    # The command checks the area again on the certificate itself (a transfer may have moved it).
    await deaths.decide(
        principal_context(principal),
        number,
        holds.DeathDecision(body.decision),
        body.reason,
        principal.region,
    )
    return certificate_public(await queries.certificate(db, number), service)
