"""HTTP routes of the benefits service (docs/api.md): a certificate's benefits and partner facts.

Paths hold certificate numbers, which contain identity numbers: nothing here logs a path, a
number or an identity number.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response

from dcert_shared.access_log import Reads
from dcert_shared.api import Pool, mark_replayed, principal_context
from dcert_shared.auth import CurrentPrincipal
from dcert_shared.i18n import negotiate

from ..adapters import queries
from ..adapters.read_models import BenefitPeriod, BenefitView
from ..application.commands import BenefitsCommands
from ..application.facts import checked_report
from ..domain.reasons import reason_text
from .dependencies import Commands, Policy
from .policy import require_partner
from .schemas import BenefitList, BenefitPublic, FactAccepted, FactCreate, UpcomingChange

router = APIRouter(prefix="/v1")


# --- a certificate's benefits ------------------------------------------------------------------


@router.get("/certificates/{number}/benefits", response_model=BenefitList, tags=["benefits"])
async def certificate_benefits(
    number: str,
    principal: CurrentPrincipal,
    service: Commands,
    policy: Policy,
    db: Pool,
    reads: Reads,
    response: Response,
    accept_language: Annotated[str | None, Header()] = None,
) -> BenefitList:
    """两项补贴: the state of each benefit of a certificate, with its reason in the caller's language."""
    holder = policy.require_benefits_reader(
        principal, number, await queries.holder_of_certificate(db, number)
    )
    await reads.record(db, "benefits", [(holder.person_ref, number)])
    benefits = await queries.benefits_of(db, holder.person_ref)
    lang = negotiate(accept_language)
    response.headers["Content-Language"] = lang
    paying_now = await queries.periods_paying_on(db, holder.person_ref, service.today())
    return BenefitList(
        items=[_public(benefit, paying_now.get(benefit.benefit), service, lang) for benefit in benefits]
    )


def _public(
    benefit: BenefitView, paying_now: BenefitPeriod | None, service: BenefitsCommands, lang: str
) -> BenefitPublic:
    """One benefit as the person sees it today: an active one past its known last day has ended;
    a change decided for later (a new amount from January) is shown beside what is paid now."""
    today = service.today()
    status, reason_code = benefit.status, benefit.reason_code
    if status == "active" and benefit.active_to is not None and benefit.active_to < today:
        status, reason_code = "terminated", benefit.ends_because or reason_code
    now: BenefitView | BenefitPeriod = benefit
    upcoming = None
    if (
        status == "active"
        and paying_now is not None
        and benefit.active_from is not None
        and benefit.active_from > today
    ):
        upcoming = UpcomingChange.model_validate(
            {
                "monthly_amount_fen": benefit.monthly_amount_fen,
                "active_from": benefit.active_from,
                "active_to": benefit.active_to,
            }
        )
        now = paying_now
    code = benefit.benefit
    catalogue = service.catalogue
    return BenefitPublic.model_validate(
        {
            "code": code,
            "name": catalogue.policy(code).name(lang) if code in catalogue else code,
            "kind": catalogue.policy(code).kind_on(today) if code in catalogue else "cash",
            "status": status,
            "monthly_amount": now.monthly_amount_fen,
            "monthly_amount_fen": now.monthly_amount_fen,
            "active_from": now.active_from,
            "active_to": now.active_to,
            "reason_code": reason_code,
            "reason": reason_text(reason_code, lang),
            "policy_version": now.policy_version,
            "upcoming": upcoming,
        }
    )


# --- partner facts -------------------------------------------------------------------------------


@router.post("/facts", status_code=202, response_model=FactAccepted, tags=["facts"])
async def report_fact(
    body: FactCreate, principal: CurrentPrincipal, service: Commands, response: Response
) -> dict[str, Any]:
    """A partner agency's fact (低保 started/ended, death and its correction, household moved,
    guardianship), idempotent by fact id. Answered `received` whatever the person's state: only
    facts about people in the partner's jurisdiction count, and nobody is told which did."""
    report = checked_report(require_partner(principal), body)
    answer, replayed = await service.report_fact(principal_context(principal), report)
    mark_replayed(response, replayed)
    return answer
