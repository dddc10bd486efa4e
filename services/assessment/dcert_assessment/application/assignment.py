"""Assigning doctors: for a new assessment, and for those waiting when a doctor is registered.

Both record `AssessmentScheduled` through the aggregate, under the province's lock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from dcert_shared.uow import UnitOfWork
from dcert_shared.working_days import WorkingCalendar

from ..adapters import queries
from ..domain.assessment import Assessment
from ..domain.assignment import choose_doctor
from ..domain.staff import Doctor, Institution


@dataclass(frozen=True)
class Deadline:
    """An assessment is due this many working days after it is scheduled (local)."""

    calendar: WorkingCalendar
    working_days: int
    today: Callable[[], date]

    def due_on(self) -> date:
        return self.calendar.add_working_days(self.today(), self.working_days)


async def assign(uow: UnitOfWork, assessment: Assessment, deadline: Deadline) -> bool:
    """Schedule the assessment with the best qualified doctor; False when none qualifies yet."""
    await queries.lock_province(uow.conn, assessment.residence_region)
    found = await queries.candidates(uow.conn, assessment.declared_category, assessment.residence_region)
    chosen = choose_doctor(
        found,
        assessment.residence_region,
        assessment.home_visit,
        assessment.person_ref,
        assessment.excluded_doctors | assessment.excluded_institutions,
    )
    if chosen is None:
        return False
    assessment.schedule(chosen.doctor_id, chosen.institution_id, deadline.due_on())
    return True


async def assign_waiting(
    uow: UnitOfWork, doctor: Doctor, institution: Institution, deadline: Deadline
) -> int:
    """A doctor was registered: assessments that waited for one like them are scheduled now.

    The doctor's events are saved (and projected) first, so the usual choice sees them; each
    assignment is saved before the next so that the loads stay true.
    """
    await queries.lock_province(uow.conn, institution.region)
    await uow.save()
    assigned = 0
    waiting = await queries.waiting_assessments(uow.conn, sorted(doctor.categories), institution.region)
    for assessment_id in waiting:
        assessment = await uow.load(Assessment, assessment_id)
        if assessment is not None and await assign(uow, assessment, deadline):
            await uow.save()
            assigned += 1
    return assigned


async def reassign_from(uow: UnitOfWork, doctor: Doctor, reason: str, deadline: Deadline) -> tuple[int, int]:
    """The doctor's open assessments go to other qualified doctors (those that find none wait):
    (reassigned, waiting). The doctor's change is saved first, so the choice leaves them out."""
    await uow.save()
    reassigned = waiting = 0
    for assessment_id in await queries.open_assessments_of(uow.conn, doctor.id):
        assessment = await uow.load(Assessment, assessment_id)
        if assessment is None or not assessment.release(doctor.id, reason):
            continue  # the list is a read model: a result may have been recorded since
        await uow.save()
        if await assign(uow, assessment, deadline):
            reassigned += 1
        else:
            waiting += 1
        await uow.save()
    return reassigned, waiting
