"""Reactions to other services' events (JetStream consumers)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from dcert_shared.envelope import EventEnvelope
from dcert_shared.uow import UnitOfWork

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
    """Open the application's one assessment and assign it.

    The inbox drops a redelivered message; the application's unique key also stops a second
    request for the same application (another event id) from opening a second assessment.
    """
    data = envelope.payload
    request = AssessmentRequest(
        application_id=str(data["application_id"]),
        person_ref=str(data["person_ref"]),
        age_years=int(data["age_years"]),
        declared_category=str(data["declared_category"]),
        residence_region=str(data["residence_region"]),
        household_region=str(data["household_region"]),
        home_visit=bool(data["home_visit"]),
    )
    if await uow.load(UniqueKey, UniqueKey.key_id(APPLICATION, request.application_id)) is not None:
        return
    assessment = Assessment.open(str(uuid.uuid4()), request)
    uow.track(assessment)
    uow.track(UniqueKey.claim(APPLICATION, request.application_id, assessment.id))
    await assign(uow, assessment, deadline)


async def on_application_ended(uow: UnitOfWork, envelope: EventEnvelope) -> None:
    """certificate.ApplicationWithdrawn / ApplicationRejected: an assessment not yet done is cancelled,
    so it leaves the doctor's worklist and load; one already assessed keeps its result."""
    application_id = str(envelope.payload["application_id"])
    key = await uow.load(UniqueKey, UniqueKey.key_id(APPLICATION, application_id))
    if key is None:
        return
    assessment = await uow.load(Assessment, key.owner_id)
    if assessment is not None:
        assessment.cancel(
            "withdrawn" if envelope.event_type == "ApplicationWithdrawn" else "application_ended"
        )
