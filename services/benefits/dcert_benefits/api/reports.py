"""Reports of the benefits service: 应享未享 (entitled but not receiving) per region."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Header, Query
from pydantic import BaseModel, Field

from dcert_shared.access_log import Reads
from dcert_shared.api import Pool
from dcert_shared.i18n import negotiate
from dcert_shared.ids import mask_numbers

from ..adapters import queries
from ..domain.calendar import Month, significant_digits
from ..domain.entitlement_review import FindingKind, Holder, review
from ..domain.reasons import reason_text
from .access import record_shown
from .dependencies import Commands, Staff
from .policy import shows_numbers, staff_region

router = APIRouter(prefix="/v1", tags=["reports"])


class EntitlementFinding(BaseModel):
    certificate_number: str
    household_region: str
    benefit: str
    kind: FindingKind
    reason_code: str
    reason: str = Field(description="in the request's language")
    status: str | None = Field(description="the benefit's current state; null: never decided")
    monthly_amount_fen: int | None = Field(description="what the rules would pay (entitled_not_receiving)")


class EntitlementReport(BaseModel):
    region: str
    month: str
    counts: dict[FindingKind, int]
    items: list[EntitlementFinding]


@router.get("/reports/entitlements", response_model=EntitlementReport)
async def entitlement_report(
    principal: Staff,
    db: Pool,
    reads: Reads,
    service: Commands,
    region: Annotated[str, Query(pattern=r"^[0-9]{6}$")],
    kind: FindingKind | None = None,
    accept_language: Annotated[str | None, Header()] = None,
) -> EntitlementReport:
    """应享未享: living holders of the region whose facts make them eligible for a benefit they do
    not receive (or lack only a fact another agency holds), and those receiving one they no
    longer qualify for, each with the reason. Computed on current data; changes nothing."""
    staff_region(principal, region)
    month = Month.of(service.today())
    prefix = significant_digits(region)
    holders = await queries.living_holders_in(db, prefix)
    statuses = await queries.benefit_statuses_in(db, prefix)
    findings = review(
        service.catalogue,
        (
            Holder(
                certificate_number=holder.certificate_number,
                circumstances=holder.circumstances,
                statuses=statuses.get(holder.person_ref, {}),
            )
            for holder in holders
        ),
        month.first_day,
    )
    if kind is not None:
        findings = [finding for finding in findings if finding.kind is kind]
    await record_shown(
        reads,
        db,
        "entitlement_review",
        [(holder.person_ref, holder.certificate_number) for holder in holders],
        (f.certificate_number for f in findings),
    )
    language = negotiate(accept_language)
    return EntitlementReport(
        region=region,
        month=str(month),
        counts=dict(Counter(finding.kind for finding in findings)),
        items=[
            EntitlementFinding(
                certificate_number=finding.certificate_number
                if shows_numbers(principal)
                else mask_numbers(finding.certificate_number),
                household_region=finding.household_region,
                benefit=finding.benefit,
                kind=finding.kind,
                reason_code=finding.reason_code,
                reason=reason_text(finding.reason_code, language),
                status=finding.status,
                monthly_amount_fen=finding.monthly_amount_fen,
            )
            for finding in findings
        ],
    )
