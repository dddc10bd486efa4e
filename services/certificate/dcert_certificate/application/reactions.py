"""The certificate service's reactions to other services' events, and the subscriptions that
bring them (their names, lanes and source streams are state on the broker: they stay as they are).
"""

from __future__ import annotations

import logging

from dcert_shared import access_relay
from dcert_shared.consumer import Subscription, typed
from dcert_shared.envelope import EventEnvelope
from dcert_shared.regions import NATIONAL
from dcert_shared.uow import UnitOfWork

from ..domain.application import Application, Grade
from ..domain.certificate import Certificate
from ..domain.holds import DEATH_CORRECTED
from ..domain.person import Person
from .inbound import AssessmentScheduled, DeathCorrected, DeathReported, GradeRecorded, GuardianshipReported
from .service import CertificateService

log = logging.getLogger(__name__)


class CertificateReactions:
    """Every reaction of the service, one method per consumed event."""

    def __init__(self, service: CertificateService) -> None:
        self.service = service

    def subscriptions(self) -> list[Subscription]:
        return [
            # One consumer of the assessment stream: a grade never before its scheduling.
            Subscription.reacting(
                "assessments",
                "assessment",
                {
                    "AssessmentScheduled": typed(AssessmentScheduled, self.on_assessment_scheduled),
                    "GradeRecorded": typed(GradeRecorded, self.on_grade_recorded),
                },
                formerly=("assessment-scheduled", "grade-recorded"),
            ),
            # The benefits service's facts about a person, in their order: a death (held for a
            # reviewer) and its correction, a guardian the register names.
            Subscription.reacting(
                "benefits-facts",
                "benefits",
                {
                    "DeathReported": typed(DeathReported, self.on_death_reported),
                    "DeathCorrected": typed(DeathCorrected, self.on_death_corrected),
                    "GuardianshipReported": typed(GuardianshipReported, self.on_guardianship_reported),
                },
                formerly=("death-reported",),
            ),
            # Every service's reads of a person's record, for GET /v1/me/access-log.
            access_relay.collector(),
        ]

    # -- the assessment service ---------------------------------------------------------------
    async def on_assessment_scheduled(
        self, uow: UnitOfWork, event: AssessmentScheduled, envelope: EventEnvelope
    ) -> None:
        application = await uow.load(Application, event.application_id)
        if application is not None:
            application.assessment_assigned(event.assessment_id, event.doctor_id)

    async def on_grade_recorded(self, uow: UnitOfWork, event: GradeRecorded, envelope: EventEnvelope) -> None:
        application = await uow.load(Application, event.application_id)
        if application is None:
            return
        application.result_received(
            assessment_id=event.assessment_id,
            grade=Grade(event.category, event.level),
            components=list(event.components or []),
            override_reason_given=bool(event.override_reason_given),
            today=self.service.today(),
            deadlines=self.service.deadlines,
        )

    # -- the benefits service -----------------------------------------------------------------
    async def on_death_reported(self, uow: UnitOfWork, event: DeathReported, envelope: EventEnvelope) -> None:
        """A partner reported the holder's death: 暂停 the live certificate for the reviewer."""
        certificate = await self.service.live_certificate(uow, event.person_ref)
        if certificate is None:
            log.info("a reported death names no live certificate: nothing to hold")
            return
        certificate.hold_for_death(
            event.fact_id, event.partner_id, event.effective_date, self.service.today()
        )

    async def on_death_corrected(
        self, uow: UnitOfWork, event: DeathCorrected, envelope: EventEnvelope
    ) -> None:
        """A partner corrected a death: the hold lifts, or a certificate cancelled for the death
        lives again (when the person holds no other), with a new card under its own application."""
        today = self.service.today()
        live = await self.service.live_certificate(uow, event.person_ref)
        if live is not None:
            live.lift_hold(DEATH_CORRECTED, today)
            return
        number = event.certificate_number
        certificate = await uow.load(Certificate, number) if number is not None else None
        if certificate is None or certificate.person_ref != event.person_ref:
            return
        person = await uow.load(Person, certificate.person_ref)
        if person is None or person.erased_on is not None:
            return
        if certificate.reinstate(event.fact_id, today):
            person.record_live(certificate.id)
            self.service.order_card(uow, certificate, certificate.application_id, certificate.mail_address)

    async def on_guardianship_reported(
        self, uow: UnitOfWork, event: GuardianshipReported, envelope: EventEnvelope
    ) -> None:
        """The household register (a partner's fact through the benefits service) names a
        guardian of the person: their claim is verified by it, now or when they make it."""
        person = await self.service.person(uow, event.person_ref)
        person.guardian_recorded(
            event.guardian_ref,
            event.relationship or "guardian",
            event.until,
            event.jurisdiction or [NATIONAL],
        )
