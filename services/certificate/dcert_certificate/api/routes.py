"""HTTP routes of the certificate service (API.md): applications, review, certificates, verify."""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Query, Request, Response

from dcert_shared.api import IdempotencyKey, Pool, idempotency, mark_replayed, principal_context
from dcert_shared.auth import CurrentPrincipal, Principal
from dcert_shared.ids import IdentityNumber
from dcert_shared.problems import FieldError, Forbidden, ValidationFailed

from ..adapters.ecert import CodeContent, ECertificateSigner, InvalidCode
from ..application.commands import CATEGORY_CODES, CertificateCommands, NewApplication
from ..domain.application import Agent, Applicant
from ..domain.errors import ApplicationNotFound, CertificateNotFound, MatterNotAvailable, NotYourApplication
from .schemas import (
    ApplicationCreate,
    ApplicationCreated,
    ApplicationList,
    ApplicationPublic,
    Assessment,
    Card,
    CertificatePublic,
    Decision,
    ECertificate,
    Verification,
)

router = APIRouter(prefix="/v1")

CATEGORY_NAMES = {code: name for name, code in CATEGORY_CODES.items()}


def commands(request: Request) -> CertificateCommands:
    return request.app.state.commands  # type: ignore[no-any-return]


Commands = Annotated[CertificateCommands, Depends(commands)]


@router.post("/applications", status_code=201, response_model=ApplicationCreated, tags=["applications"])
async def submit_application(
    body: ApplicationCreate,
    principal: CurrentPrincipal,
    service: Commands,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """申请: an applicant applies for themself, or an agent for the person they act for."""
    if principal.role != "applicant":
        raise Forbidden()
    if body.matter != "new":
        raise MatterNotAvailable(detail=body.matter)
    missing = [
        FieldError(field=name, code="missing", message="required for a new certificate")
        for name, value in (("applicant", body.applicant), ("declared_category", body.declared_category))
        if value is None
    ]
    if missing:
        raise ValidationFailed(errors=missing)
    assert body.applicant is not None and body.declared_category is not None
    acting_for_self = body.agent is None and principal.id_number == body.applicant.id_number
    acting_as_agent = body.agent is not None and principal.id_number == body.agent.id_number
    if not (acting_for_self or acting_as_agent):
        raise NotYourApplication()
    identity = IdentityNumber.parse(body.applicant.id_number)
    applicant = Applicant(
        id_number=identity.value,
        name=body.applicant.name,
        phone=body.applicant.phone,
        address=body.applicant.address,
        household_region=body.applicant.household_region,
        residence_region=body.applicant.residence_region,
        birth_date=identity.birth_date,
        person_ref=service.person_ref(identity.value),
    )
    agent = None
    if body.agent is not None:
        agent = Agent(
            id_number=body.agent.id_number,
            name=body.agent.name,
            relationship=body.agent.relationship,
            agent_ref=service.person_ref(body.agent.id_number),
        )
    result, replayed = await service.submit_new(
        principal_context(principal),
        idempotency(principal, idempotency_key, body),
        NewApplication(applicant, agent, body.declared_category, body.home_visit),
    )
    mark_replayed(response, replayed)
    return result


def _application(row: asyncpg.Record) -> ApplicationPublic:
    return ApplicationPublic(
        id=row["id"],
        matter=row["matter"],
        status=row["status"],
        household_region=row["household_region"],
        residence_region=row["residence_region"],
        declared_category=row["declared_category"],
        home_visit=row["home_visit"],
        is_minor=row["is_minor"],
        applicant_name=row["applicant_name_masked"],
        assessment=Assessment(
            assessment_id=row["assessment_id"],
            doctor_id=row["doctor_id"],
            category=row["category"],
            level=row["level"],
            override_reason_given=row["override_reason_given"],
        ),
        notice_until=row["notice_until"],
        decision_reason=row["decision_reason"],
        certificate_number=row["certificate_number"],
        submitted_at=row["submitted_at"],
        updated_at=row["updated_at"],
    )


def _may_see(
    principal: Principal, service: CertificateCommands, people: set[str | None], household_region: str
) -> bool:
    """The person, their agent, a reviewer of the household region, or an admin."""
    if principal.role == "applicant" and principal.id_number:
        return service.person_ref(principal.id_number) in people
    if principal.role == "reviewer":
        return principal.region == household_region
    return principal.role == "admin"


@router.get("/applications/{application_id}", response_model=ApplicationPublic, tags=["applications"])
async def get_application(
    application_id: str, principal: CurrentPrincipal, service: Commands, db: Pool
) -> ApplicationPublic:
    row = await db.fetchrow("SELECT * FROM application_view WHERE id = $1", application_id)
    # Someone else's application is answered as absent: its existence is personal data too.
    if row is None or not _may_see(
        principal, service, {row["person_ref"], row["agent_ref"]}, row["household_region"]
    ):
        raise ApplicationNotFound()
    return _application(row)


@router.get("/applications", response_model=ApplicationList, tags=["applications"])
async def list_applications(
    principal: CurrentPrincipal,
    service: Commands,
    db: Pool,
    status: Annotated[str | None, Query(max_length=30)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ApplicationList:
    """A reviewer's queue (their region only, oldest first), or an applicant's own applications."""
    if principal.role == "reviewer":
        where, key = "household_region = $1", principal.region
    elif principal.role == "applicant" and principal.id_number:
        where, key = "(person_ref = $1 OR agent_ref = $1)", service.person_ref(principal.id_number)
    else:
        raise Forbidden()
    rows = await db.fetch(
        f"SELECT * FROM application_view WHERE {where} AND ($2::text IS NULL OR status = $2)"
        " ORDER BY updated_at LIMIT $3",
        key,
        status,
        limit,
    )
    return ApplicationList(items=[_application(row) for row in rows])


@router.post("/applications/{application_id}/decision", response_model=ApplicationPublic, tags=["review"])
async def decide(
    application_id: str, body: Decision, principal: CurrentPrincipal, service: Commands, db: Pool
) -> ApplicationPublic:
    """审核: the reviewer of the household region approves, rejects (with reason) or returns."""
    if principal.role != "reviewer":
        raise Forbidden()
    if body.decision != "approve" and not body.reason:
        raise ValidationFailed(
            errors=[FieldError(field="reason", code="missing", message="a reason is required")]
        )
    row = await db.fetchrow("SELECT household_region FROM application_view WHERE id = $1", application_id)
    if row is None or row["household_region"] != principal.region:
        raise ApplicationNotFound()
    await service.decide(principal_context(principal), application_id, body.decision, body.reason or "")
    updated = await db.fetchrow("SELECT * FROM application_view WHERE id = $1", application_id)
    return _application(updated)


async def _certificate_row(
    db: asyncpg.Pool, number: str, principal: Principal, service: CertificateCommands
) -> asyncpg.Record:
    row = await db.fetchrow("SELECT * FROM certificate_view WHERE number = $1", number)
    if row is None or not _may_see(
        principal, service, {row["person_ref"], *row["agent_refs"]}, row["household_region"]
    ):
        raise CertificateNotFound()
    return row


@router.get("/certificates/{number}", response_model=CertificatePublic, tags=["certificates"])
async def get_certificate(
    number: str, principal: CurrentPrincipal, service: Commands, db: Pool
) -> CertificatePublic:
    row = await _certificate_row(db, number, principal, service)
    return CertificatePublic(
        number=row["number"],
        status=row["status"],
        category=row["category"],
        level=row["level"],
        issued_on=row["issued_on"],
        expires_on=row["expires_on"],
        region=row["household_region"],
        residence_region=row["residence_region"],
        holder=row["holder_name_masked"],
        card=Card(id=row["card_id"], status=row["card_status"]),
    )


def signer(request: Request) -> ECertificateSigner:
    return request.app.state.signer  # type: ignore[no-any-return]


Signer = Annotated[ECertificateSigner, Depends(signer)]


@router.get("/certificates/{number}/e-certificate", response_model=ECertificate, tags=["certificates"])
async def get_e_certificate(
    number: str, principal: CurrentPrincipal, service: Commands, db: Pool, keys: Signer
) -> ECertificate:
    """电子证照: the holder's or agent's signed code, for a QR code."""
    if principal.role != "applicant":
        raise CertificateNotFound()
    row = await _certificate_row(db, number, principal, service)
    code = keys.sign(
        CodeContent(
            serial=row["serial"],
            category=CATEGORY_CODES[row["category"]],
            level=row["level"],
            expires_on=row["expires_on"],
            holder_masked=row["holder_name_masked"],
        )
    )
    return ECertificate(code=code, key_id=keys.key_id, expires_on=row["expires_on"])


@router.get("/verify", response_model=Verification, tags=["verification"])
async def verify(
    code: Annotated[str, Query(min_length=1, max_length=2000)], db: Pool, keys: Signer
) -> Verification:
    """Anyone, without a token: is this code genuine, and is the certificate live now?"""
    try:
        content = keys.verify(code)
    except InvalidCode:
        return Verification(valid=False, reason_code="signature_invalid")
    row = await db.fetchrow(
        "SELECT status, expires_on FROM certificate_view WHERE serial = $1", content.serial
    )
    status = row["status"] if row else "unknown"
    return Verification(
        valid=status == "active",
        status=status,
        category=CATEGORY_NAMES[content.category],
        level=content.level,
        expires_on=content.expires_on,
        holder=content.holder_masked,
        reason_code=None if status == "active" else f"certificate_{status}",
    )


@router.get("/e-certificate/keys", tags=["verification"])
async def public_keys(keys: Signer) -> dict[str, Any]:
    """The public keys for verifying codes offline (Ed25519, raw, base64url)."""
    return {"algorithm": "Ed25519", "keys": keys.public_keys()}
