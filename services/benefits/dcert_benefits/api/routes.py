"""HTTP routes of the benefits service (API.md): a certificate's benefits and partner facts.

Paths hold certificate numbers, which contain identity numbers: nothing here logs a path, a
number or an identity number.
"""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Header, Request, Response

from dcert_shared.api import Pool, mark_replayed, principal_context
from dcert_shared.auth import CurrentPrincipal, Principal
from dcert_shared.i18n import negotiate
from dcert_shared.problems import Forbidden

from ..adapters.access_log import record_access
from ..application.commands import BenefitsCommands
from ..application.facts import checked_report
from ..domain.calendar import covers
from ..domain.errors import CertificateNotFound
from ..domain.reasons import reason_text
from .schemas import BenefitList, BenefitPublic, FactAccepted, FactCreate, UpcomingChange

router = APIRouter(prefix="/v1")


def commands(request: Request) -> BenefitsCommands:
    return request.app.state.commands  # type: ignore[no-any-return]


Commands = Annotated[BenefitsCommands, Depends(commands)]


# --- a certificate's benefits ------------------------------------------------------------------


def _may_see(principal: Principal, service: BenefitsCommands, number: str, holding: asyncpg.Record) -> bool:
    """The holder, their agent, a reviewer of the household region, or an admin."""
    if principal.role == "admin":
        return True
    if principal.role == "reviewer":
        return bool(principal.region) and covers(str(principal.region), holding["household_region"])
    if principal.role == "applicant" and principal.id_number:
        id_number = principal.id_number.upper()
        if id_number == number[:18].upper():
            return True
        return service.person_ref(id_number) in {holding["person_ref"], *holding["agent_refs"]}
    return False


@router.get("/certificates/{number}/benefits", response_model=BenefitList, tags=["benefits"])
async def certificate_benefits(
    number: str,
    principal: CurrentPrincipal,
    service: Commands,
    db: Pool,
    response: Response,
    accept_language: Annotated[str | None, Header()] = None,
) -> BenefitList:
    """两项补贴: the state of each benefit of a certificate, with its reason in the caller's language."""
    if principal.role not in ("applicant", "reviewer", "admin"):
        raise Forbidden()
    holding = await db.fetchrow(
        "SELECT person_ref, agent_refs, household_region FROM holding_view WHERE certificate_number = $1",
        number,
    )
    # Someone else's certificate is answered as absent: its existence is personal data too.
    if holding is None or not _may_see(principal, service, number, holding):
        raise CertificateNotFound()
    await record_access(db, principal.role, principal.subject, holding["person_ref"], "benefits")
    rows = await db.fetch(
        "SELECT * FROM benefit_view WHERE person_ref = $1 ORDER BY benefit", holding["person_ref"]
    )
    lang = negotiate(accept_language)
    response.headers["Content-Language"] = lang
    today = service.today()
    paying_now = {
        period["benefit"]: period
        for period in await db.fetch(
            "SELECT benefit, monthly_amount_fen, active_from, active_to, policy_version FROM benefit_period"
            " WHERE person_ref = $1 AND active_from <= $2 AND (active_to IS NULL OR active_to >= $2)",
            holding["person_ref"],
            today,
        )
    }
    return BenefitList(items=[_public(row, paying_now.get(row["benefit"]), service, lang) for row in rows])


def _public(
    row: asyncpg.Record, paying_now: asyncpg.Record | None, service: BenefitsCommands, lang: str
) -> BenefitPublic:
    """One benefit as the person sees it today: an active one past its known last day has ended;
    a change decided for later (a new amount from January) is shown beside what is paid now."""
    today = service.today()
    status, reason_code = row["status"], row["reason_code"]
    if status == "active" and row["active_to"] is not None and row["active_to"] < today:
        status, reason_code = "terminated", row["ends_because"] or reason_code
    now = {key: row[key] for key in ("monthly_amount_fen", "active_from", "active_to", "policy_version")}
    upcoming = None
    if status == "active" and paying_now is not None and row["active_from"] > today:
        upcoming = UpcomingChange(
            monthly_amount_fen=row["monthly_amount_fen"],
            active_from=row["active_from"],
            active_to=row["active_to"],
        )
        now = dict(paying_now)
    code = row["benefit"]
    catalogue = service.catalogue
    return BenefitPublic(
        code=code,
        name=catalogue.policy(code).name(lang) if code in catalogue else code,
        kind=catalogue.policy(code).kind_on(today) if code in catalogue else "cash",
        status=status,
        monthly_amount=now["monthly_amount_fen"],
        monthly_amount_fen=now["monthly_amount_fen"],
        active_from=now["active_from"],
        active_to=now["active_to"],
        reason_code=reason_code,
        reason=reason_text(reason_code, lang),
        policy_version=now["policy_version"],
        upcoming=upcoming,
    )


# --- partner facts -------------------------------------------------------------------------------


def _partner_id(principal: Principal) -> str:
    if principal.role != "partner" or not principal.partner_id:
        raise Forbidden()
    return str(principal.partner_id)


@router.post("/facts", status_code=202, response_model=FactAccepted, tags=["facts"])
async def report_fact(
    body: FactCreate, principal: CurrentPrincipal, service: Commands, response: Response
) -> dict[str, Any]:
    """A partner agency's fact (低保 started/ended, death, household moved), idempotent by fact id."""
    report = checked_report(_partner_id(principal), body)
    answer, replayed = await service.report_fact(principal_context(principal), report)
    mark_replayed(response, replayed)
    return answer
