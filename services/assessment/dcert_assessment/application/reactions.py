"""Reactions to other services' events (JetStream consumers): every one declared here."""

from __future__ import annotations

import uuid

from dcert_shared import agencies
from dcert_shared.consumer import Subscription, typed
from dcert_shared.envelope import EventEnvelope
from dcert_shared.uow import UnitOfWork

from ..adapters import queries
from ..domain.assessment import Assessment, AssessmentRequest
from ..domain.staff import UniqueKey
from .assignment import Deadline, assign
from .inbound import ApplicationEnded, AssessmentRequested

APPLICATION = "application"


class AssessmentReactions:
    """What the assessment service does when the certificate service reports on an application."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline

    def subscriptions(self) -> list[Subscription]:
        return [
            # One consumer of the certificate stream: a withdrawal never before its request.
            Subscription.reacting(
                "applications",
                "certificate",
                {
                    "AssessmentRequested": typed(AssessmentRequested, self.on_assessment_requested),
                    "ApplicationWithdrawn": typed(ApplicationEnded, self.on_application_ended),
                    "ApplicationRejected": typed(ApplicationEnded, self.on_application_ended),
                    # Who acts for whom, as the certificate service verifies it.
                    **agencies.HANDLERS,
                },
                formerly=("assessment-requested", "applications-ended"),
            ),
        ]

    async def on_assessment_requested(
        self, uow: UnitOfWork, requested: AssessmentRequested, envelope: EventEnvelope
    ) -> None:
        """Open the application's assessment of this round and assign a doctor, due `deadline`
        working days later.

        The inbox drops a redelivered message; the unique key of (application, round) also stops a
        second request for the same round (another event id) from opening a second assessment. A
        re-assessment (复核, round 1) or the final appeal (round 2) goes to another institution and
        doctor than the earlier rounds.
        """
        round_ = requested.round or 0
        application_id = requested.application_id
        key = application_id if round_ == 0 else f"{application_id}#{round_}"
        if await uow.load(UniqueKey, UniqueKey.key_id(APPLICATION, key)) is not None:
            return
        doctors, institutions = await queries.earlier_rounds(uow.conn, application_id) if round_ else ([], [])
        request = AssessmentRequest(
            application_id=application_id,
            person_ref=requested.person_ref,
            age_years=requested.age_years,
            declared_category=requested.declared_category,
            residence_region=requested.residence_region,
            household_region=requested.household_region,
            home_visit=requested.home_visit,
            round=round_,
            # Who may book its time: the agents verified then, and one who applied unverified.
            agent_refs=(*(requested.agent_refs or ()), *(requested.booker_refs or ())),
            excluded_doctors=tuple(doctors),
            excluded_institutions=tuple(institutions),
        )
        assessment = Assessment.open(str(uuid.uuid4()), request)
        uow.track(assessment)
        uow.track(UniqueKey.claim(APPLICATION, key, assessment.id))
        await assign(uow, assessment, self.deadline)

    async def on_application_ended(
        self, uow: UnitOfWork, ended: ApplicationEnded, envelope: EventEnvelope
    ) -> None:
        """An assessment not yet done is cancelled, so it leaves the doctor's worklist and load;
        one already assessed keeps its result."""
        reason = "withdrawn" if envelope.event_type == "ApplicationWithdrawn" else "application_ended"
        for assessment_id in await queries.open_assessments_for(uow.conn, ended.application_id):
            assessment = await uow.load(Assessment, assessment_id)
            if assessment is not None:
                assessment.cancel(reason)
