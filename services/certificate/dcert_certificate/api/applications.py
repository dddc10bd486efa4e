"""Applications (docs/api.md): every matter, the reviewer's queue, decisions, withdrawal, correction, timeline."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from dcert_shared.access_log import Reads
from dcert_shared.api import IdempotencyKey, Pool, idempotency, mark_replayed, principal_context
from dcert_shared.auth import CurrentPrincipal, Principal
from dcert_shared.i18n import negotiate
from dcert_shared.ids import IdentityNumber, mask_numbers
from dcert_shared.problems import Bilingual, FieldError, ValidationFailed

from ..adapters import queries
from ..adapters.queries import ApplicationRecord
from ..application.service import CertificateService
from ..application.submissions import MatterRequest, NewApplication
from ..domain.application import Agent, AgentDecision, Applicant, Decision, MatterKind
from .agents import AGENCY_STATUS
from .completeness import check_submission
from .dependencies import Decisions, Policy, Service, Submissions
from .policy import CertificatePolicy
from .schemas import AgentDecision as AgentDecisionIn
from .schemas import (
    ApplicationAgent,
    ApplicationCreate,
    ApplicationCreated,
    ApplicationList,
    ApplicationPublic,
    ApplicationStatus,
    Assessment,
    Deadlines,
    Dispute,
    NextStep,
    Resubmission,
    Timeline,
)
from .schemas import Decision as DecisionIn
from .timeline import STEP_TITLES, timeline_entries

router = APIRouter(prefix="/v1")

_BODY_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApplicationCreate"}}},
    }
}


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        raw = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raw = None
    if not isinstance(raw, dict):
        raise ValidationFailed(
            errors=[
                FieldError(
                    field="body",
                    code="json_invalid",
                    message=Bilingual("请提交 JSON 对象", "a JSON object is required"),
                )
            ]
        )
    return raw


async def _own_certificate_region(
    db: Pool, raw: dict[str, Any], principal: Principal, policy: CertificatePolicy
) -> str | None:
    """The household region of the certificate a matter is about, once the caller is its holder
    or verified for them: before anything that depends on the certificate, so that someone else
    learns nothing of it (whether it exists, where, its grade) from the answer."""
    number = raw.get("certificate_number")
    if raw.get("matter") == MatterKind.NEW or not isinstance(number, str):
        return None
    return policy.require_holders_certificate(
        principal, await queries.certificate(db, number)
    ).household_region


@router.post(
    "/applications",
    status_code=201,
    response_model=ApplicationCreated,
    tags=["applications"],
    openapi_extra=_BODY_SCHEMA,
)
async def submit_application(
    request: Request,
    principal: CurrentPrincipal,
    service: Service,
    submissions: Submissions,
    policy: Policy,
    db: Pool,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """申请: the holder (or an agent) applies for any matter; everything missing is listed at once."""
    policy.require_applicant(principal)
    raw = await _json_object(request)
    language = negotiate(request.headers.get("accept-language"))
    region = await _own_certificate_region(db, raw, principal, policy)
    body, errors = check_submission(raw, region, service.today(), language)
    if body is None:
        raise ValidationFailed(errors=errors)
    once = idempotency(principal, idempotency_key, body)
    if MatterKind(body.matter) is MatterKind.NEW:
        result, replayed = await submissions.submit_new(
            principal_context(principal), once, _new(body, principal, policy, service)
        )
    else:
        matter = _matter(body, principal, policy)
        result, replayed = await submissions.submit_matter(principal_context(principal), once, matter)
    mark_replayed(response, replayed)
    return result


def _new(
    body: ApplicationCreate, principal: Principal, policy: CertificatePolicy, service: CertificateService
) -> NewApplication:
    assert body.applicant is not None
    assert body.declared_category is not None
    policy.require_applying_for(
        principal, body.applicant.id_number, body.agent.id_number if body.agent else None
    )
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
    return NewApplication(
        applicant,
        agent,
        body.declared_category,
        body.home_visit,
        documents=_documents(body),
        card_delivery=body.card_delivery,
    )


def _matter(body: ApplicationCreate, principal: Principal, policy: CertificatePolicy) -> MatterRequest:
    policy.require_agent_is_caller(principal, body.agent.id_number if body.agent else None)
    assert body.certificate_number is not None
    return MatterRequest(
        kind=MatterKind(body.matter),
        certificate_number=body.certificate_number,
        requester_ref=policy.require_applicant(principal),
        reason=body.reason,
        to_region=body.to_region,
        declared_category=body.declared_category,
        declared_level=body.declared_level,
        residence_region=body.residence_region,
        home_visit=body.home_visit,
        documents=_documents(body),
        card_delivery=body.card_delivery,
    )


def _documents(body: ApplicationCreate) -> list[dict[str, str]]:
    return [document.model_dump(mode="json", exclude_none=True) for document in body.documents]


# -- reading ----------------------------------------------------------------------------------
def next_step(application: ApplicationRecord, today: date, language: str) -> NextStep | None:
    """What comes next, who acts and by when: no step is a black hole."""
    row, card = application.view, application.card
    status = row.status
    step: tuple[str, str, str | None, date | None] | None = None
    if status == "submitted" and row.review_due is None or status == "assessing":
        step = ("assessment", "doctor", row.accepting_region, None)
    elif status == "public_notice":
        step = ("public_notice_end", "system", row.accepting_region, row.notice_until)
    elif status in ("submitted", "assessed", "migrating"):
        step = ("review", "reviewer", row.queue_region, row.review_due)
    elif status == "returned":
        step = ("resubmission", "applicant", None, None)
    elif status in ("issued", "completed") and card is not None and card.status not in _CARD_DONE:
        step = ("card_delivery", "card_centre", card.region, card.due_on)
    if step is None:
        return None
    name, role, region, due_on = step
    return NextStep(
        step=name,
        title=STEP_TITLES[name][0 if language != "en" else 1],
        actor_role=role,
        region=region,
        due_on=due_on,
        overdue=due_on is not None and today > due_on,
    )


_CARD_DONE = ("delivered", "collected", "lost", "invalidated")


def application_public(
    application: ApplicationRecord, today: date, language: str, numbers_shown: bool = True
) -> ApplicationPublic:
    shown = _as_is if numbers_shown else _masked
    row = application.view
    return ApplicationPublic(
        id=row.id,
        matter=row.matter,
        status=row.status,
        household_region=row.household_region,
        residence_region=row.residence_region,
        accepting_region=row.accepting_region,
        queue_region=row.queue_region,
        to_region=row.to_region,
        declared_category=row.declared_category,
        home_visit=row.home_visit,
        is_minor=row.is_minor,
        applicant_name=row.applicant_name_masked,
        reason=row.reason,
        assessment=Assessment(
            assessment_id=row.assessment_id,
            doctor_id=row.doctor_id,
            category=row.category,
            level=row.level,
            override_reason_given=row.override_reason_given,
        ),
        notice_until=row.notice_until,
        deadlines=Deadlines(
            notice_until=row.notice_until, review_due=row.review_due, dispute_until=row.dispute_until
        ),
        due_on=row.due_on,
        overdue=row.due_on is not None and today > row.due_on,
        next_step=next_step(application, today, language),
        decision_reason=row.decision_reason,
        returned_from=row.returned_from,
        dispute_round=row.dispute_round,
        migration_number=shown(row.migration_number),
        subject_certificate=shown(row.subject_certificate),
        certificate_number=shown(row.certificate_number),
        agent=ApplicationAgent(
            name=row.agent_name_masked,
            relationship=row.agent_relationship,
            status=AGENCY_STATUS.validate_python(row.agent_status),
        )
        if row.agent_status
        else None,
        person_state=row.person_state,
        submitted_at=row.submitted_at,
        updated_at=row.updated_at,
    )


def _as_is(number: str | None) -> str | None:
    return number


def _masked(number: str | None) -> str | None:
    return mask_numbers(number) if number is not None else None


def application_status(application: ApplicationRecord) -> ApplicationStatus:
    """What an agent whose claim is not verified reads of what they submitted."""
    row = application.view
    return ApplicationStatus(
        id=row.id,
        matter=row.matter,
        status=row.status,
        agent_status=AGENCY_STATUS.validate_python(row.agent_status or "claimed"),
        assessment_id=row.assessment_id,
        submitted_at=row.submitted_at,
        updated_at=row.updated_at,
    )


async def _answer(
    db: Pool,
    request: Request,
    service: CertificateService,
    application_id: str,
    numbers_shown: bool = True,
) -> ApplicationPublic:
    application = await queries.application_with_card(db, application_id, service.settings.card_overdue_days)
    assert application is not None  # read after the caller was allowed to see it
    language = negotiate(request.headers.get("accept-language"))
    return application_public(application, service.today(), language, numbers_shown)


@router.get(
    "/applications/{application_id}",
    response_model=ApplicationPublic | ApplicationStatus,
    tags=["applications"],
)
async def get_application(
    application_id: str,
    request: Request,
    principal: CurrentPrincipal,
    service: Service,
    policy: Policy,
    db: Pool,
    reads: Reads,
) -> ApplicationPublic | ApplicationStatus:
    """The application: for its person, their verified agents and the staff of its area; an
    agent whose claim is not verified reads only the status of what they submitted."""
    application, view = policy.require_application_view(
        principal, await queries.application(db, application_id)
    )
    if view == "status":
        return application_status(application)
    await reads.record(db, "application", [(application.view.person_ref, application_id)])
    return await _answer(db, request, service, application_id, policy.shows_numbers(principal))


@router.get("/applications", response_model=ApplicationList, tags=["applications"])
async def list_applications(
    request: Request,
    principal: CurrentPrincipal,
    service: Service,
    policy: Policy,
    db: Pool,
    reads: Reads,
    status: Annotated[str | None, Query(max_length=30)] = None,
    matter: Annotated[str | None, Query(max_length=30)] = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ApplicationList:
    """A reviewer's queue: the applications whose current step is their area's, the most
    urgent first; or an applicant's own applications (and, as an agent, the status of those
    they submitted, or all of the person's once verified)."""
    scope = policy.application_list_scope(principal)
    today = service.today()
    found = await queries.applications(
        db,
        scope,
        status=status,
        matter=matter,
        overdue=overdue,
        today=today,
        limit=limit,
        card_overdue_days=service.settings.card_overdue_days,
    )
    views = [(application, policy.application_view(principal, application)) for application in found]
    full = [application.view for application, view in views if view == "full"]
    await reads.record(db, "application", [(row.person_ref, row.id) for row in full])
    language = negotiate(request.headers.get("accept-language"))
    return ApplicationList(
        items=[
            application_public(application, today, language)
            if view == "full"
            else application_status(application)
            for application, view in views
            if view is not None
        ]
    )


@router.post("/applications/{application_id}/decision", response_model=ApplicationPublic, tags=["review"])
async def decide(
    application_id: str,
    body: DecisionIn,
    request: Request,
    principal: CurrentPrincipal,
    service: Service,
    decisions: Decisions,
    policy: Policy,
    db: Pool,
) -> ApplicationPublic:
    """审核: the reviewer whose part it is approves, rejects (with reason) or returns for correction.
    A transfer is approved twice: by the old region (migration certificate), then the new one."""
    policy.require_decider(principal, await queries.application(db, application_id))
    if Decision(body.decision) is not Decision.APPROVE and not body.reason:
        raise ValidationFailed(
            errors=[
                FieldError(
                    field="reason", code="missing", message=Bilingual("请填写理由", "a reason is required")
                )
            ]
        )
    await decisions.decide(
        principal_context(principal),
        application_id,
        Decision(body.decision),
        body.reason or "",
        AgentDecision(body.agent) if body.agent else None,
    )
    return await _answer(db, request, service, application_id)


@router.post("/applications/{application_id}/agent", response_model=ApplicationPublic, tags=["review"])
async def decide_agent(
    application_id: str,
    body: AgentDecisionIn,
    request: Request,
    principal: CurrentPrincipal,
    service: Service,
    decisions: Decisions,
    policy: Policy,
    db: Pool,
) -> ApplicationPublic:
    """代办核验: a reviewer of the household area confirms or refuses the agent who applied, on
    the evidence checked, apart from the decision on the matter (which may also carry it)."""
    application = policy.require_agent_reviewer(principal, await queries.application(db, application_id))
    if application.view.agent_status is None:
        raise ValidationFailed(
            errors=[
                FieldError(
                    field="decision",
                    code="no_agent",
                    message=Bilingual("本人申请，没有代办人", "the person applied themself"),
                )
            ]
        )
    await decisions.decide_agent(principal_context(principal), application_id, AgentDecision(body.decision))
    return await _answer(db, request, service, application_id)


@router.post(
    "/applications/{application_id}/withdrawal",
    response_model=ApplicationPublic | ApplicationStatus,
    tags=["applications"],
)
async def withdraw(
    application_id: str,
    request: Request,
    principal: CurrentPrincipal,
    service: Service,
    submissions: Submissions,
    policy: Policy,
    db: Pool,
) -> ApplicationPublic | ApplicationStatus:
    """撤回: the person (whoever made it in their name), a verified agent, or the agent who
    submitted it withdraws it before a decision."""
    application = policy.require_own_application(
        principal, await queries.application(db, application_id), submitter_too=True
    )
    await submissions.withdraw(principal_context(principal), application_id)
    if policy.application_view(principal, application) == "status":
        refreshed = await queries.application(db, application_id)
        assert refreshed is not None
        return application_status(refreshed)
    return await _answer(db, request, service, application_id)


@router.post(
    "/applications/{application_id}/resubmission",
    response_model=ApplicationPublic | ApplicationStatus,
    tags=["applications"],
)
async def resubmit(
    application_id: str,
    body: Resubmission,
    request: Request,
    principal: CurrentPrincipal,
    service: Service,
    submissions: Submissions,
    policy: Policy,
    db: Pool,
) -> ApplicationPublic | ApplicationStatus:
    """补正后重新提交: back to the reviewer where it was returned, without starting over."""
    corrections: dict[str, object] = {}
    if body.applicant is not None:
        corrections.update(body.applicant.model_dump(exclude_none=True))
    if body.documents:
        corrections["documents"] = [d.model_dump(mode="json", exclude_none=True) for d in body.documents]
    if body.note:
        corrections["note"] = body.note
    if not corrections:
        raise ValidationFailed(
            errors=[
                FieldError(
                    field="body",
                    code="missing",
                    message=Bilingual("请说明补正了哪些内容", "state what was corrected"),
                )
            ]
        )
    application = policy.require_own_application(
        principal, await queries.application(db, application_id), submitter_too=True
    )
    await submissions.resubmit(principal_context(principal), application_id, corrections)
    if policy.application_view(principal, application) == "status":
        refreshed = await queries.application(db, application_id)
        assert refreshed is not None
        return application_status(refreshed)
    return await _answer(db, request, service, application_id)


@router.post(
    "/applications/{application_id}/dispute",
    response_model=ApplicationPublic | ApplicationStatus,
    tags=["applications"],
)
async def dispute(
    application_id: str,
    body: Dispute,
    request: Request,
    principal: CurrentPrincipal,
    service: Service,
    submissions: Submissions,
    policy: Policy,
    db: Pool,
) -> ApplicationPublic | ApplicationStatus:
    """复核: within the dispute window (working days from the result) the applicant asks for a
    re-assessment by another institution; a second time, the provincial expert committee's final
    answer. The application goes back to assessment; the new result replaces the old one."""
    application = policy.require_own_application(
        principal, await queries.application(db, application_id), submitter_too=True
    )
    await submissions.dispute(principal_context(principal), application_id, body.reason)
    if policy.application_view(principal, application) == "status":
        refreshed = await queries.application(db, application_id)
        assert refreshed is not None
        return application_status(refreshed)
    return await _answer(db, request, service, application_id)


@router.get("/applications/{application_id}/timeline", response_model=Timeline, tags=["applications"])
async def timeline(
    application_id: str,
    request: Request,
    principal: CurrentPrincipal,
    service: Service,
    policy: Policy,
    db: Pool,
    reads: Reads,
) -> Timeline:
    """Every step with when it happened and which role acted, and what comes next by when."""
    application = policy.require_readable_application(
        principal, await queries.application(db, application_id)
    )
    await reads.record(db, "application_timeline", [(application.view.person_ref, application_id)])
    language = negotiate(request.headers.get("accept-language"))
    answer = await _answer(db, request, service, application_id)
    events = await queries.timeline_events(db, service.es.store, application_id)
    steps = timeline_entries(events, language)
    return Timeline(
        application_id=application_id, status=answer.status, steps=steps, next_step=answer.next_step
    )
