"""代办 (API): what a person sees of the applications made in their name and of their agents,
and how an agency is ended or confirmed (docs/agents.md).

- `GET /v1/me/applications`: every application in the person's name, who made it (themself, or an
  agent: masked name, relationship, verified or not) and whether the person may withdraw it.
- `GET /v1/me/agents`, `POST /v1/me/agents/{agency_id}/revocation`: the person's agents; the
  person ends one.
- `GET /v1/certificates/{number}/agents`, `POST .../agents/{agency_id}/revocation` and
  `.../confirmation`: a reviewer of the certificate's household area ends one, or confirms one
  on the evidence checked (a guardian of an adult without capacity renewed at 18).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

import asyncpg
from fastapi import APIRouter
from pydantic import BaseModel, Field

from dcert_shared.access_log import Reads
from dcert_shared.api import Pool, principal_context
from dcert_shared.auth import CurrentPrincipal

from ..domain.errors import AgencyNotFound
from .dependencies import Commands
from .policy import Policy

router = APIRouter(prefix="/v1", tags=["agents"])

AgencyStatus = Literal["claimed", "verified", "refused", "ended"]


class MadeBy(BaseModel):
    """Who made an application in the person's name."""

    who: Literal["self", "agent"]
    agent_name: str | None = Field(default=None, description="masked")
    relationship: str | None = None
    agent_status: AgencyStatus | None = None


class MyApplication(BaseModel):
    id: str
    matter: str
    status: str
    made_by: MadeBy
    withdrawable: bool = Field(description="still open: the person may withdraw it")
    submitted_at: datetime
    updated_at: datetime


class MyApplications(BaseModel):
    items: list[MyApplication]


class Agency(BaseModel):
    """An agent of the person and how far they may act for them."""

    id: str = Field(description="opaque")
    agent_name: str | None = Field(description="masked, as the latest application they made gives it")
    relationship: str
    status: AgencyStatus
    basis: str | None = Field(description="what verified them: reviewer, household_register, ...")
    until: date | None = Field(description="their last day (a minor's guardian: before the 18th birthday)")
    ended_reason: str | None
    since: datetime


class Agencies(BaseModel):
    items: list[Agency]


class AgencyConfirmation(BaseModel):
    """The evidence a reviewer checked: a guardianship or household-register document, a
    notarised or in-person power of attorney, a court's decision on an adult without capacity."""

    basis: Literal["guardianship_document", "household_register", "power_of_attorney", "guardian_of_adult"]


_OPEN = ("submitted", "assessing", "assessed", "public_notice", "returned", "migrating")

_AGENCIES = """
SELECT agency.*, (
    SELECT agent_name_masked FROM application_view WHERE application_view.person_ref = agency.person_ref
      AND application_view.agent_ref = agency.agent_ref ORDER BY submitted_at DESC LIMIT 1
) AS agent_name_masked
FROM agency_view agency WHERE agency.person_ref = $1
"""


def _agency(row: asyncpg.Record) -> Agency:
    return Agency(
        id=row["agency_id"],
        agent_name=row["agent_name_masked"],
        relationship=row["relationship"],
        status=row["status"],
        basis=row["basis"],
        until=row["until"],
        ended_reason=row["ended_reason"],
        since=row["since"],
    )


@router.get("/me/applications", response_model=MyApplications)
async def my_applications(principal: CurrentPrincipal, policy: Policy, db: Pool) -> MyApplications:
    """Every application made in my name, by me or by anyone who named themself my agent, and
    who made it; an open one I may withdraw (`POST /v1/applications/{id}/withdrawal`)."""
    person_ref = policy.require_applicant(principal)
    rows = await db.fetch(
        "SELECT id, matter, status, agent_ref, agent_status, agent_relationship, agent_name_masked,"
        " submitted_at, updated_at FROM application_view WHERE person_ref = $1 ORDER BY submitted_at DESC",
        person_ref,
    )
    return MyApplications(
        items=[
            MyApplication(
                id=row["id"],
                matter=row["matter"],
                status=row["status"],
                made_by=MadeBy(who="self")
                if row["agent_status"] is None
                else MadeBy(
                    who="agent",
                    agent_name=row["agent_name_masked"],
                    relationship=row["agent_relationship"],
                    agent_status=row["agent_status"],
                ),
                withdrawable=row["status"] in _OPEN,
                submitted_at=row["submitted_at"],
                updated_at=row["updated_at"],
            )
            for row in rows
        ]
    )


@router.get("/me/agents", response_model=Agencies)
async def my_agents(principal: CurrentPrincipal, policy: Policy, db: Pool) -> Agencies:
    """Everyone who named themself my agent, and whether they may act for me."""
    person_ref = policy.require_applicant(principal)
    rows = await db.fetch(f"{_AGENCIES} ORDER BY agency.since", person_ref)
    return Agencies(items=[_agency(row) for row in rows])


@router.post("/me/agents/{agency_id}/revocation", response_model=Agency)
async def revoke_my_agent(
    agency_id: str, principal: CurrentPrincipal, policy: Policy, service: Commands, db: Pool
) -> Agency:
    """I end an agency (claimed or verified): from now on they act for me in nothing."""
    person_ref = policy.require_applicant(principal)
    row = await _agency_row(db, person_ref, agency_id)
    await service.end_agency(principal_context(principal), person_ref, row["agent_ref"], "revoked_by_person")
    return _agency(await _agency_row(db, person_ref, agency_id))


@router.get("/certificates/{number}/agents", response_model=Agencies)
async def certificate_agents(
    number: str, principal: CurrentPrincipal, policy: Policy, db: Pool, reads: Reads
) -> Agencies:
    """The holder's agents, for a reviewer of the certificate's household area."""
    holder = policy.require_agency_reviewer(principal, await _certificate_holder(db, number))
    await reads.record(db, "agents", [(holder["person_ref"], holder["number"])])
    rows = await db.fetch(f"{_AGENCIES} ORDER BY agency.since", holder["person_ref"])
    return Agencies(items=[_agency(row) for row in rows])


@router.post("/certificates/{number}/agents/{agency_id}/revocation", response_model=Agency)
async def revoke_agent(
    number: str, agency_id: str, principal: CurrentPrincipal, policy: Policy, service: Commands, db: Pool
) -> Agency:
    """A reviewer ends an agency (the evidence no longer holds, a court ended a guardianship)."""
    holder = policy.require_agency_reviewer(principal, await _certificate_holder(db, number))
    row = await _agency_row(db, holder["person_ref"], agency_id)
    await service.end_agency(
        principal_context(principal), holder["person_ref"], row["agent_ref"], "revoked_by_reviewer"
    )
    return _agency(await _agency_row(db, holder["person_ref"], agency_id))


@router.post("/certificates/{number}/agents/{agency_id}/confirmation", response_model=Agency)
async def confirm_agent(
    number: str,
    agency_id: str,
    body: AgencyConfirmation,
    principal: CurrentPrincipal,
    policy: Policy,
    service: Commands,
    db: Pool,
) -> Agency:
    """A reviewer confirms an agent on the evidence checked, without an end: a claimed one, or a
    guardian renewed as the guardian of an adult without capacity when the child came of age."""
    holder = policy.require_agency_reviewer(principal, await _certificate_holder(db, number))
    row = await _agency_row(db, holder["person_ref"], agency_id)
    await service.confirm_agency(
        principal_context(principal), holder["person_ref"], row["agent_ref"], body.basis
    )
    return _agency(await _agency_row(db, holder["person_ref"], agency_id))


async def _certificate_holder(db: asyncpg.Pool, number: str) -> asyncpg.Record | None:
    return await db.fetchrow(
        "SELECT number, person_ref, household_region FROM certificate_view WHERE number = $1", number
    )


async def _agency_row(db: asyncpg.Pool, person_ref: str, agency_id: str) -> asyncpg.Record:
    row = await db.fetchrow(f"{_AGENCIES} AND agency.agency_id = $2", person_ref, agency_id)
    if row is None:
        raise AgencyNotFound()
    return row
