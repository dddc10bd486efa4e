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

from fastapi import APIRouter
from pydantic import BaseModel, Field, TypeAdapter

from dcert_shared.access_log import Reads
from dcert_shared.api import Pool, principal_context
from dcert_shared.auth import CurrentPrincipal

from ..adapters import queries
from ..adapters.queries import AgencyRecord
from ..domain.errors import AgencyNotFound
from .dependencies import People, Policy

router = APIRouter(prefix="/v1", tags=["agents"])

AgencyStatus = Literal["claimed", "verified", "refused", "ended"]
AGENCY_STATUS = TypeAdapter[AgencyStatus](AgencyStatus)  # a read-model status, as the answer states it


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


def _agency(agency: AgencyRecord) -> Agency:
    row = agency.view
    return Agency(
        id=row.agency_id,
        agent_name=agency.agent_name_masked,
        relationship=row.relationship,
        status=AGENCY_STATUS.validate_python(row.status),
        basis=row.basis,
        until=row.until,
        ended_reason=row.ended_reason,
        since=row.since,
    )


@router.get("/me/applications", response_model=MyApplications)
async def my_applications(principal: CurrentPrincipal, policy: Policy, db: Pool) -> MyApplications:
    """Every application made in my name, by me or by anyone who named themself my agent, and
    who made it; an open one I may withdraw (`POST /v1/applications/{id}/withdrawal`)."""
    person_ref = policy.require_applicant(principal)
    return MyApplications(
        items=[
            MyApplication(
                id=row.id,
                matter=row.matter,
                status=row.status,
                made_by=MadeBy(who="self")
                if row.agent_status is None
                else MadeBy(
                    who="agent",
                    agent_name=row.agent_name_masked,
                    relationship=row.agent_relationship,
                    agent_status=AGENCY_STATUS.validate_python(row.agent_status),
                ),
                withdrawable=row.status in _OPEN,
                submitted_at=row.submitted_at,
                updated_at=row.updated_at,
            )
            for row in await queries.applications_of_person(db, person_ref)
        ]
    )


@router.get("/me/agents", response_model=Agencies)
async def my_agents(principal: CurrentPrincipal, policy: Policy, db: Pool) -> Agencies:
    """Everyone who named themself my agent, and whether they may act for me."""
    person_ref = policy.require_applicant(principal)
    return Agencies(items=[_agency(agency) for agency in await queries.agencies(db, person_ref)])


@router.post("/me/agents/{agency_id}/revocation", response_model=Agency)
async def revoke_my_agent(
    agency_id: str, principal: CurrentPrincipal, policy: Policy, people: People, db: Pool
) -> Agency:
    """I end an agency (claimed or verified): from now on they act for me in nothing."""
    person_ref = policy.require_applicant(principal)
    agency = await _agency_of(db, person_ref, agency_id)
    await people.end_agency(
        principal_context(principal), person_ref, agency.view.agent_ref, "revoked_by_person"
    )
    return _agency(await _agency_of(db, person_ref, agency_id))


@router.get("/certificates/{number}/agents", response_model=Agencies)
async def certificate_agents(
    number: str, principal: CurrentPrincipal, policy: Policy, db: Pool, reads: Reads
) -> Agencies:
    """The holder's agents, for a reviewer of the certificate's household area."""
    holder = policy.require_agency_reviewer(principal, await queries.certificate(db, number))
    await reads.record(db, "agents", [(holder.person_ref, holder.number)])
    return Agencies(items=[_agency(agency) for agency in await queries.agencies(db, holder.person_ref)])


@router.post("/certificates/{number}/agents/{agency_id}/revocation", response_model=Agency)
async def revoke_agent(
    number: str, agency_id: str, principal: CurrentPrincipal, policy: Policy, people: People, db: Pool
) -> Agency:
    """A reviewer ends an agency (the evidence no longer holds, a court ended a guardianship)."""
    holder = policy.require_agency_reviewer(principal, await queries.certificate(db, number))
    agency = await _agency_of(db, holder.person_ref, agency_id)
    await people.end_agency(
        principal_context(principal), holder.person_ref, agency.view.agent_ref, "revoked_by_reviewer"
    )
    return _agency(await _agency_of(db, holder.person_ref, agency_id))


@router.post("/certificates/{number}/agents/{agency_id}/confirmation", response_model=Agency)
async def confirm_agent(
    number: str,
    agency_id: str,
    body: AgencyConfirmation,
    principal: CurrentPrincipal,
    policy: Policy,
    people: People,
    db: Pool,
) -> Agency:
    """A reviewer confirms an agent on the evidence checked, without an end: a claimed one, or a
    guardian renewed as the guardian of an adult without capacity when the child came of age."""
    holder = policy.require_agency_reviewer(principal, await queries.certificate(db, number))
    agency = await _agency_of(db, holder.person_ref, agency_id)
    await people.confirm_agency(
        principal_context(principal), holder.person_ref, agency.view.agent_ref, body.basis
    )
    return _agency(await _agency_of(db, holder.person_ref, agency_id))


async def _agency_of(db: Pool, person_ref: str, agency_id: str) -> AgencyRecord:
    agency = await queries.agency(db, person_ref, agency_id)
    if agency is None:
        raise AgencyNotFound()
    return agency
