"""Reactions to other services' events (JetStream consumers)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from dcert_shared.envelope import EventEnvelope
from dcert_shared.uow import UnitOfWork

from ..adapters import queries
from ..domain.assessment import Assessment, AssessmentRequest
from ..domain.staff import UniqueKey
from .assignment import Deadline, assign

Handler = Callable[[UnitOfWork, EventEnvelope], Awaitable[None]]

APPLICATION = "application"


def on_assessment_requested(deadline: Deadline) -> Handler:
    """certificate.AssessmentRequested: open one assessment per application and assign a doctor,
    due `deadline` working days later."""

    async def handle(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        await open_assessment(uow, envelope, deadline)

    return handle


async def open_assessment(uow: UnitOfWork, envelope: EventEnvelope, deadline: Deadline) -> None:
    """Open the application's assessment of this round and assign it.

    The inbox drops a redelivered message; the unique key of (application, round) also stops a
    second request for the same round (another event id) from opening a second assessment. A
    re-assessment (复核, round 1) or the final appeal (round 2) goes to another institution and
    doctor than the earlier rounds.
    """
    data = envelope.payload
    round_ = int(data.get("round") or 0)
    application_id = str(data["application_id"])
    key = application_id if round_ == 0 else f"{application_id}#{round_}"
    if await uow.load(UniqueKey, UniqueKey.key_id(APPLICATION, key)) is not None:
        return
    doctors, institutions = await queries.earlier_rounds(uow.conn, application_id) if round_ else ([], [])
    request = AssessmentRequest(
        application_id=application_id,
        person_ref=str(data["person_ref"]),
        age_years=int(data["age_years"]),
        declared_category=str(data["declared_category"]),
        residence_region=str(data["residence_region"]),
        household_region=str(data["household_region"]),
        home_visit=bool(data["home_visit"]),
        round=round_,
        # Who may book its time: the agents verified then, and one who applied unverified.
        agent_refs=tuple(
            str(ref) for ref in [*(data.get("agent_refs") or ()), *(data.get("booker_refs") or ())]
        ),
        excluded_doctors=tuple(doctors),
        excluded_institutions=tuple(institutions),
    )
    assessment = Assessment.open(str(uuid.uuid4()), request)
    uow.track(assessment)
    uow.track(UniqueKey.claim(APPLICATION, key, assessment.id))
    await assign(uow, assessment, deadline)


async def on_application_ended(uow: UnitOfWork, envelope: EventEnvelope) -> None:
    """certificate.ApplicationWithdrawn / ApplicationRejected: an assessment not yet done is cancelled,
    so it leaves the doctor's worklist and load; one already assessed keeps its result."""
    reason = "withdrawn" if envelope.event_type == "ApplicationWithdrawn" else "application_ended"
    for assessment_id in await queries.open_assessments_for(
        uow.conn, str(envelope.payload["application_id"])
    ):
        assessment = await uow.load(Assessment, assessment_id)
        if assessment is not None:
            assessment.cancel(reason)
