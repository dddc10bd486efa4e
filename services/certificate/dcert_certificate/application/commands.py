"""Use cases of the certificate service: load, decide, save. Reactions to other services too."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from dcert_shared.envelope import CommandContext, EventEnvelope
from dcert_shared.ids import china_today, keyed_hash
from dcert_shared.runtime import ServiceRuntime
from dcert_shared.uow import EventSourcing, Idempotency, UnitOfWork

from ..domain.application import Agent, Applicant, Application, Grade, age_on
from ..domain.certificate import Certificate
from ..domain.errors import ApplicationNotFound
from ..domain.person import Person
from ..settings import CertificateSettings

CATEGORY_CODES = {
    "visual": 1,
    "hearing": 2,
    "speech": 3,
    "physical": 4,
    "intellectual": 5,
    "mental": 6,
    "multiple": 7,
}


@dataclass(frozen=True)
class NewApplication:
    applicant: Applicant
    agent: Agent | None
    declared_category: str
    home_visit: bool


class CertificateCommands:
    """The certificate service's commands over its event store."""

    def __init__(
        self, runtime: ServiceRuntime, settings: CertificateSettings, today: Callable[[], date] = china_today
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.today = today

    @property
    def es(self) -> EventSourcing:
        return self.runtime.es

    def person_ref(self, id_number: str) -> str:
        return keyed_hash(self.settings.identity_hash_key_bytes, id_number)

    async def submit_new(
        self,
        context: CommandContext,
        once: Idempotency,
        application: NewApplication,
    ) -> tuple[dict[str, Any], bool]:
        async def decide(uow: UnitOfWork) -> dict[str, Any]:
            application_id = str(uuid.uuid4())
            person_ref = application.applicant.person_ref
            person = await uow.load(Person, person_ref) or uow.track(Person(person_ref))
            assert isinstance(person, Person)
            person.open_new_application(application_id)
            submitted = Application.submit_new(
                application_id,
                application.applicant,
                application.agent,
                application.declared_category,
                application.home_visit,
                self.today(),
            )
            uow.track(submitted)
            return {"id": application_id, "status": submitted.status.value, "matter": "new"}

        return await self.es.execute_idempotent(context, once.principal, once.key, once.request, decide)

    async def decide(self, context: CommandContext, application_id: str, decision: str, reason: str) -> None:
        async def run(uow: UnitOfWork) -> None:
            application = await uow.load(Application, application_id)
            if application is None:
                raise ApplicationNotFound()
            if decision == "approve":
                await self._approve(uow, application)
            elif decision == "reject":
                application.reject(reason)
                await self._close_for_person(uow, application)
            else:
                application.return_for_correction(reason)

        await self.es.execute(context, run)

    async def _approve(self, uow: UnitOfWork, application: Application) -> None:
        assert application.grade is not None
        grade = application.grade
        number = f"{application.applicant_id_number}{CATEGORY_CODES[grade.category]}{grade.level}"
        application.approve(number)
        person = await uow.load(Person, application.person_ref)
        assert person is not None
        person.certificate_issued(application.id, number)
        uow.track(
            Certificate.issue(
                number,
                application_id=application.id,
                person_ref=application.person_ref,
                agent_refs=[application.agent_ref] if application.agent_ref else [],
                category=grade.category,
                level=grade.level,
                household_region=application.household_region,
                residence_region=application.residence_region,
                age_years=age_on(application.birth_date, self.today()),
                holder_name=application.applicant_name,
                today=self.today(),
            )
        )

    async def _close_for_person(self, uow: UnitOfWork, application: Application) -> None:
        person = await uow.load(Person, application.person_ref)
        if person is not None:
            person.close_application(application.id)

    async def end_due_public_notices(self, context: CommandContext) -> int:
        """公示期满: move every application whose notice period has passed to the review queue."""
        async with self.es.pool.acquire() as conn:
            due = await conn.fetch(
                "SELECT id FROM application_view WHERE status = 'public_notice' AND notice_until <= $1",
                self.today(),
            )
        ended = 0
        for row in due:

            async def run(uow: UnitOfWork, application_id: str = row["id"]) -> bool:
                application = await uow.load(Application, application_id)
                return application is not None and application.end_public_notice(self.today())

            ended += await self.es.execute(context, run)
        return ended

    async def on_death_reported(self, uow: UnitOfWork, envelope: EventEnvelope) -> None:
        """A partner reported the holder's death (through the benefits service): 注销 at once."""
        data = envelope.payload
        person = await uow.load(Person, data["person_ref"])
        if person is None or person.live_certificate is None:
            return
        certificate = await uow.load(Certificate, person.live_certificate)
        if certificate is not None and certificate.cancel(
            "death", date.fromisoformat(data["effective_date"])
        ):
            person.certificate_closed(certificate.id)

    async def on_assessment_scheduled(self, uow: UnitOfWork, envelope: EventEnvelope) -> None:
        data = envelope.payload
        application = await uow.load(Application, data["application_id"])
        if application is not None:
            application.assessment_assigned(data["assessment_id"], data["doctor_id"])

    async def on_grade_recorded(self, uow: UnitOfWork, envelope: EventEnvelope) -> None:
        data = envelope.payload
        application = await uow.load(Application, data["application_id"])
        if application is None:
            return
        application.result_received(
            assessment_id=data["assessment_id"],
            grade=Grade(data["category"], int(data["level"])),
            components=list(data.get("components") or []),
            override_reason_given=bool(data.get("override_reason_given")),
            today=self.today(),
            notice_working_days=self.settings.public_notice_working_days,
            holidays=frozenset(self.settings.holidays),
        )
