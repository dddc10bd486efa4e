"""Certificates (docs/api.md): reading one, its e-certificate, a loss report, staff cancellation on a
fact, the expiry job, and the SLA report of a region's steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request

from dcert_shared.access_log import Reads
from dcert_shared.api import Pool, RegionCodeSchema, principal_context
from dcert_shared.auth import CurrentPrincipal
from dcert_shared.ids import RegionCode, mask_numbers

from ..adapters import queries
from ..adapters.ecert import CodeContent, ECertificateSigner
from ..adapters.read_models import CertificateView
from ..application.service import CertificateService
from ..domain.certificate import CATEGORY_CODES, months_before
from .dependencies import Clocks, Decisions, Policy, Service, Submissions
from .schemas import (
    Card,
    CertificatePublic,
    ECertificate,
    ExpiryRun,
    SlaReport,
    StaffCancellation,
    StepFigures,
)

router = APIRouter(prefix="/v1")


def certificate_public(
    row: CertificateView | None, service: CertificateService, numbers_shown: bool = True
) -> CertificatePublic:
    assert row is not None  # read after the caller was allowed to see it

    def shown(number: str | None) -> str | None:
        return number if numbers_shown or number is None else mask_numbers(number)

    return CertificatePublic(
        number=row.number if numbers_shown else mask_numbers(row.number),
        status=row.status,
        category=row.category,
        level=row.level,
        issued_on=row.issued_on,
        expires_on=row.expires_on,
        region=row.household_region,
        residence_region=row.residence_region,
        holder=row.holder_name_masked,
        card=Card(id=row.card_id, status=row.card_status),
        previous_number=shown(row.previous_number),
        replaced_by=shown(row.replaced_by),
        open_matter=row.open_matter,
        renewal_window_opens_on=months_before(row.expires_on, service.settings.renewal_window_months),
    )


@router.get("/certificates/{number}", response_model=CertificatePublic, tags=["certificates"])
async def get_certificate(
    number: str, principal: CurrentPrincipal, service: Service, policy: Policy, db: Pool, reads: Reads
) -> CertificatePublic:
    row = policy.require_readable_certificate(principal, await queries.certificate(db, number))
    await reads.record(db, "certificate", [(row.person_ref, number)])
    return certificate_public(row, service, policy.shows_numbers(principal))


@router.get("/certificates/{number}/e-certificate", response_model=ECertificate, tags=["certificates"])
async def get_e_certificate(
    number: str,
    request: Request,
    principal: CurrentPrincipal,
    service: Service,
    policy: Policy,
    db: Pool,
    reads: Reads,
) -> ECertificate:
    """电子证照: the holder's or agent's signed codes, for a QR code: `code` verifies offline too
    and keeps verifying until the certificate stops; `online_code`, to show on a screen,
    verifies online only and for `DCERT_ECERT_ONLINE_CODE_SECONDS` (90) after it is made."""
    row = policy.require_holders_certificate(principal, await queries.certificate(db, number))
    await reads.record(db, "e_certificate", [(row.person_ref, number)])
    keys: ECertificateSigner = request.app.state.signer
    content = CodeContent(
        serial=row.serial,
        category=CATEGORY_CODES[row.category],
        level=row.level,
        expires_on=row.expires_on,
        holder_masked=row.holder_name_masked,
    )
    # The online code beside the offline one: a screenshot of it stops verifying (ecert.py).
    issued_at = datetime.now(UTC).replace(microsecond=0)
    return ECertificate(
        code=keys.sign(content),
        key_id=keys.key_id,
        expires_on=row.expires_on,
        online_code=keys.sign_online(content, issued_at),
        online_code_issued_at=issued_at,
        online_code_valid_until=issued_at + timedelta(seconds=service.settings.ecert_online_code_seconds),
    )


@router.post("/certificates/{number}/loss-report", response_model=CertificatePublic, tags=["certificates"])
async def report_loss(
    number: str,
    principal: CurrentPrincipal,
    service: Service,
    submissions: Submissions,
    policy: Policy,
    db: Pool,
) -> CertificatePublic:
    """挂失: the holder or agent reports the card lost; it and every code stop at once."""
    policy.require_holders_certificate(principal, await queries.certificate(db, number))
    await submissions.report_loss(principal_context(principal), number, policy.require_applicant(principal))
    return certificate_public(await queries.certificate(db, number), service)


@router.post("/certificates/{number}/cancellation", response_model=CertificatePublic, tags=["certificates"])
async def cancel_on_fact(
    number: str,
    body: StaffCancellation,
    principal: CurrentPrincipal,
    service: Service,
    decisions: Decisions,
    policy: Policy,
    db: Pool,
) -> CertificatePublic:
    """注销 on a fact (death, no longer eligible, fraud, settled abroad), by a reviewer of the region."""
    row = policy.require_canceller(principal, await queries.certificate(db, number))
    # The command checks the region again on the certificate itself (a transfer may have moved it).
    await decisions.cancel_on_fact(principal_context(principal), number, body.reason, row.household_region)
    return certificate_public(await queries.certificate(db, number), service)


@router.post("/jobs/expiry", response_model=ExpiryRun, tags=["operations"])
async def run_expiry(principal: CurrentPrincipal, clocks: Clocks, policy: Policy) -> ExpiryRun:
    """The expiry job now (it also runs on its own): expired certificates and renewal reminders."""
    policy.require_admin(principal)
    return ExpiryRun(**await clocks.run_expiry(principal_context(principal)))


@router.get("/reports/sla", response_model=SlaReport, tags=["reports"])
async def sla_report(
    principal: CurrentPrincipal,
    service: Service,
    policy: Policy,
    db: Pool,
    region: Annotated[str, Query(min_length=6, max_length=6), RegionCodeSchema],
) -> SlaReport:
    """Per step of a region: how many, how long (median, 90th percentile), how many overdue."""
    code = str(RegionCode.parse(region))
    policy.require_report_reader(principal, code)
    today = service.today()
    figures = await queries.sla_figures(db, code, today, service.settings.card_overdue_days)
    return SlaReport(
        region=code,
        as_of=today,
        steps=[
            StepFigures(
                step=step.step,
                count=step.completed + step.open,
                completed=step.completed,
                open=step.open,
                median_hours=_rounded(step.median_hours),
                p90_hours=_rounded(step.p90_hours),
                overdue=step.overdue,
                completed_late=step.completed_late,
            )
            for step in figures
        ],
    )


def _rounded(hours: float | None) -> float | None:
    return None if hours is None else round(hours, 3)
