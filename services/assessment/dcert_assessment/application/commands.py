"""Use cases of the assessment service over HTTP: load, decide, save."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from dcert_shared.envelope import CommandContext
from dcert_shared.ids import keyed_hash
from dcert_shared.runtime import ServiceRuntime
from dcert_shared.uow import Idempotency, UnitOfWork

from ..adapters import medical_records, queries
from ..domain.appointments import offered_slots
from ..domain.assessment import Assessment, Result
from ..domain.errors import (
    AssessmentNotFound,
    DoctorNotFound,
    InstitutionNotFound,
    LicenceAlreadyRegistered,
    NotBookable,
    NotTheAssignedDoctor,
    SlotNotOffered,
    SlotTaken,
)
from ..domain.staff import Doctor, Institution, UniqueKey
from ..settings import AssessmentSettings
from .assignment import Deadline, assign_waiting, reassign_from

LICENCE = "licence"


@dataclass(frozen=True)
class NewInstitution:
    name: str
    region: str
    categories: list[str]
    accredited_until: date | None = None


@dataclass(frozen=True)
class NewDoctor:
    name: str
    institution_id: str
    license_no: str
    categories: list[str]
    home_visits: bool = False
    id_number: str | None = None  # to make sure no doctor assesses themself


class AssessmentCommands:
    """The assessment service's commands over its event store."""

    def __init__(self, runtime: ServiceRuntime, deadline: Deadline, settings: AssessmentSettings) -> None:
        self.runtime = runtime
        self.deadline = deadline
        self.settings = settings

    def today(self) -> date:
        return self.deadline.today()

    async def register_institution(
        self, context: CommandContext, once: Idempotency, new: NewInstitution
    ) -> tuple[dict[str, Any], bool]:
        async def decide(uow: UnitOfWork) -> dict[str, Any]:
            institution = Institution.register(
                str(uuid.uuid4()), new.name, new.region, new.categories, new.accredited_until
            )
            uow.track(institution)
            return {
                "id": institution.id,
                "name": new.name,
                "region": new.region,
                "categories": list(institution.categories),
                "accredited_until": new.accredited_until.isoformat() if new.accredited_until else None,
            }

        return await self.runtime.es.execute_idempotent(
            context, once.principal, once.key, once.request, decide
        )

    async def register_doctor(
        self, context: CommandContext, once: Idempotency, new: NewDoctor
    ) -> tuple[dict[str, Any], bool]:
        async def decide(uow: UnitOfWork) -> dict[str, Any]:
            institution = await uow.load(Institution, new.institution_id)
            if institution is None:
                raise InstitutionNotFound()
            # 多点执业: a doctor may practise at several institutions, once at each.
            licence_at_institution = f"{new.license_no}@{institution.id}"
            if await uow.load(UniqueKey, UniqueKey.key_id(LICENCE, licence_at_institution)) is not None:
                raise LicenceAlreadyRegistered()
            doctor_id = str(uuid.uuid4())
            person_ref = (
                keyed_hash(self.runtime.settings.identity_hash_key_bytes, new.id_number)
                if new.id_number
                else None
            )
            doctor = Doctor.register(
                doctor_id, institution, new.name, new.license_no, new.categories, new.home_visits, person_ref
            )
            uow.track(doctor)
            uow.track(UniqueKey.claim(LICENCE, licence_at_institution, doctor_id))
            await assign_waiting(uow, doctor, institution, self.deadline)
            return {
                "id": doctor_id,
                "name": new.name,
                "institution_id": institution.id,
                "license_no": new.license_no,
                "categories": list(doctor.categories),
            }

        return await self.runtime.es.execute_idempotent(
            context, once.principal, once.key, once.request, decide
        )

    async def record_result(
        self,
        context: CommandContext,
        once: Idempotency,
        assessment_id: str,
        doctor_id: str | None,
        result: Result,
    ) -> tuple[dict[str, Any], bool]:
        async def decide(uow: UnitOfWork) -> dict[str, Any]:
            assessment = await uow.load(Assessment, assessment_id)
            if assessment is None:
                raise AssessmentNotFound()
            doctor = await uow.load(Doctor, doctor_id) if doctor_id else None
            if doctor is None:
                raise NotTheAssignedDoctor()
            sealed = await medical_records.seal(
                self.runtime.vault, uow.conn, assessment.person_ref, result.medical_record()
            )
            assessment.record_grade(doctor, result, sealed)
            [recorded] = assessment.pending_events
            return {
                "id": assessment.id,
                "status": assessment.status.value,
                **recorded.model_dump(
                    mode="json", include={"category", "level", "components", "override_reason_given"}
                ),
            }

        return await self.runtime.es.execute_idempotent(
            context, once.principal, once.key, once.request, decide
        )

    async def suspend_doctor(self, context: CommandContext, doctor_id: str, reason: str) -> dict[str, Any]:
        """停止执业: no new assessments; the open ones are reassigned, by events."""

        async def decide(uow: UnitOfWork) -> dict[str, Any]:
            doctor = await self._doctor(uow, doctor_id)
            reassigned = waiting = 0
            if doctor.suspend(reason):
                reassigned, waiting = await reassign_from(uow, doctor, "doctor_suspended", self.deadline)
            return {"id": doctor.id, "suspended": True, "reassigned": reassigned, "waiting": waiting}

        return await self.runtime.es.execute(context, decide)

    async def reinstate_doctor(self, context: CommandContext, doctor_id: str) -> dict[str, Any]:
        async def decide(uow: UnitOfWork) -> dict[str, Any]:
            doctor = await self._doctor(uow, doctor_id)
            assigned = 0
            if doctor.reinstate():
                institution = await uow.load(Institution, doctor.institution_id)
                assert institution is not None
                assigned = await assign_waiting(uow, doctor, institution, self.deadline)
            return {"id": doctor.id, "suspended": False, "reassigned": assigned, "waiting": 0}

        return await self.runtime.es.execute(context, decide)

    @staticmethod
    async def _doctor(uow: UnitOfWork, doctor_id: str) -> Doctor:
        doctor = await uow.load(Doctor, doctor_id)
        if doctor is None:
            raise DoctorNotFound()
        return doctor

    async def renew_accreditation(self, context: CommandContext, institution_id: str, until: date) -> int:
        """A renewed accreditation: the institution's doctors take waiting assessments again."""

        async def decide(uow: UnitOfWork) -> int:
            institution = await uow.load(Institution, institution_id)
            if institution is None:
                raise InstitutionNotFound()
            institution.renew_accreditation(until)
            await uow.save()
            assigned = 0
            for doctor_id in await queries.doctors_of(uow.conn, institution.id):
                doctor = await uow.load(Doctor, doctor_id)
                if doctor is not None and not doctor.suspended:
                    assigned += await assign_waiting(uow, doctor, institution, self.deadline)
            return assigned

        return await self.runtime.es.execute(context, decide)

    async def lapse_accreditations(self, context: CommandContext) -> dict[str, int]:
        """Institutions past their accreditation: recorded once, their open assessments reassigned."""
        today = self.today()
        lapsed = reassigned = waiting = 0
        for institution_id in await queries.lapsing_institutions(self.runtime.pool, today):

            async def decide(uow: UnitOfWork, institution_id: str = institution_id) -> tuple[int, int, int]:
                institution = await uow.load(Institution, institution_id)
                if institution is None or not institution.lapse_if_expired(today):
                    return 0, 0, 0
                moved = left = 0
                for doctor_id in await queries.doctors_of(uow.conn, institution_id):
                    doctor = await uow.load(Doctor, doctor_id)
                    if doctor is not None:
                        done, wait = await reassign_from(uow, doctor, "accreditation_lapsed", self.deadline)
                        moved, left = moved + done, left + wait
                return 1, moved, left

            counts = await self.runtime.es.execute(context, decide)
            lapsed, reassigned, waiting = lapsed + counts[0], reassigned + counts[1], waiting + counts[2]
        return {"lapsed": lapsed, "reassigned": reassigned, "waiting": waiting}

    async def free_slots(self, doctor_id: str, assessment_id: str) -> list[datetime]:
        taken = await queries.booked_times(self.runtime.pool, doctor_id, assessment_id)
        return self._offered(taken)

    def _offered(self, taken: list[datetime]) -> list[datetime]:
        return offered_slots(
            self.deadline.calendar,
            self.today(),
            self.settings.appointment_working_days,
            self.settings.appointment_hours,
            taken,
        )

    async def book(self, context: CommandContext, assessment_id: str, starts_at: datetime) -> datetime:
        """预约 or 改约: one of the doctor's free slots; two people never get the same one."""

        async def decide(uow: UnitOfWork) -> datetime:
            assessment = await uow.load(Assessment, assessment_id)
            if assessment is None:
                raise AssessmentNotFound()
            if assessment.doctor_id is None:
                raise NotBookable()
            await queries.lock_doctor_calendar(uow.conn, assessment.doctor_id)
            free = self._offered(await queries.booked_times(uow.conn, assessment.doctor_id, assessment.id))
            if starts_at not in free:
                if starts_at in self._offered([]):
                    raise SlotTaken()
                raise SlotNotOffered()
            assessment.book(starts_at)
            return starts_at

        return await self.runtime.es.execute(context, decide)
