"""HTTP routes of the assessment service (docs/api.md): institutions, doctors, assessments, results."""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Query, Request, Response

from dcert_shared.access_log import Reads
from dcert_shared.api import IdempotencyKey, IsoDate, Pool, idempotency, mark_replayed, principal_context
from dcert_shared.auth import CurrentPrincipal

from ..adapters import medical_records
from ..application.commands import AssessmentCommands, NewDoctor, NewInstitution
from .policy import Admin, DoctorOrAdmin, DoctorPrincipal, Policy
from .schemas import (
    AccreditationCheck,
    AccreditationRenewal,
    Appointment,
    AssessmentDetail,
    AssessmentItem,
    AssessmentList,
    AssessmentPublic,
    DoctorCreate,
    DoctorList,
    DoctorOverrides,
    DoctorPublic,
    DoctorStatus,
    GradeDetail,
    GradePublic,
    InstitutionCreate,
    InstitutionList,
    InstitutionPublic,
    OverrideReport,
    ResultCreate,
    ResultRecorded,
    Slot,
    Slots,
    Status,
    Suspension,
)

router = APIRouter(prefix="/v1")


def commands(request: Request) -> AssessmentCommands:
    return request.app.state.commands  # type: ignore[no-any-return]


Commands = Annotated[AssessmentCommands, Depends(commands)]


@router.post("/institutions", status_code=201, response_model=InstitutionPublic, tags=["institutions"])
async def register_institution(
    body: InstitutionCreate,
    principal: Admin,
    service: Commands,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """评定机构: an admin registers an institution accredited for some categories."""
    created, replayed = await service.register_institution(
        principal_context(principal),
        idempotency(principal, idempotency_key, body),
        NewInstitution(body.name, body.region, list(body.categories), body.accredited_until),
    )
    mark_replayed(response, replayed)
    return created


@router.get("/institutions", response_model=InstitutionList, tags=["institutions"])
async def list_institutions(_: Admin, db: Pool) -> InstitutionList:
    rows = await db.fetch(
        "SELECT id, name, region, categories, accredited_until, lapsed FROM institution_view"
        " ORDER BY registered_at, id"
    )
    return InstitutionList(items=[InstitutionPublic(**dict(row)) for row in rows])


@router.post(
    "/institutions/{institution_id}/accreditation", response_model=InstitutionPublic, tags=["institutions"]
)
async def renew_accreditation(
    institution_id: str, body: AccreditationRenewal, principal: Admin, service: Commands, db: Pool
) -> InstitutionPublic:
    """评定机构资质续期: a new last day; the institution's doctors take waiting assessments again."""
    await service.renew_accreditation(principal_context(principal), institution_id, body.accredited_until)
    row = await db.fetchrow(
        "SELECT id, name, region, categories, accredited_until, lapsed FROM institution_view WHERE id = $1",
        institution_id,
    )
    return InstitutionPublic(**dict(row))


@router.post("/jobs/accreditation", response_model=AccreditationCheck, tags=["operations"])
async def check_accreditations(principal: Admin, service: Commands) -> AccreditationCheck:
    """The accreditation check now (it also runs on its own): lapsed institutions' assessments move."""
    return AccreditationCheck(**await service.lapse_accreditations(principal_context(principal)))


@router.post("/doctors", status_code=201, response_model=DoctorPublic, tags=["doctors"])
async def register_doctor(
    body: DoctorCreate,
    principal: Admin,
    service: Commands,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """评残医生: an admin registers a doctor of an institution; waiting assessments may go to them."""
    created, replayed = await service.register_doctor(
        principal_context(principal),
        idempotency(principal, idempotency_key, body),
        NewDoctor(
            body.name,
            body.institution_id,
            body.license_no,
            list(body.categories),
            body.home_visits,
            body.id_number,
        ),
    )
    mark_replayed(response, replayed)
    return created


@router.get("/doctors", response_model=DoctorList, tags=["doctors"])
async def list_doctors(_: Admin, db: Pool) -> DoctorList:
    rows = await db.fetch(
        "SELECT id, name, institution_id, license_no, categories, suspended FROM doctor_view"
        " ORDER BY registered_at, id"
    )
    return DoctorList(items=[DoctorPublic(**dict(row)) for row in rows])


@router.post("/doctors/{doctor_id}/suspension", response_model=DoctorStatus, tags=["doctors"])
async def suspend_doctor(
    doctor_id: str, body: Suspension, principal: Admin, service: Commands
) -> DoctorStatus:
    """停止执业: the doctor gets no new assessments and their open ones go to other doctors."""
    return DoctorStatus(**await service.suspend_doctor(principal_context(principal), doctor_id, body.reason))


@router.post("/doctors/{doctor_id}/reinstatement", response_model=DoctorStatus, tags=["doctors"])
async def reinstate_doctor(doctor_id: str, principal: Admin, service: Commands) -> DoctorStatus:
    """恢复执业: the doctor takes assessments again, first those waiting for one."""
    return DoctorStatus(**await service.reinstate_doctor(principal_context(principal), doctor_id))


@router.get("/assessments", response_model=AssessmentList, tags=["assessments"])
async def list_assessments(
    principal: DoctorOrAdmin,
    service: Commands,
    policy: Policy,
    db: Pool,
    reads: Reads,
    assigned: Annotated[str | None, Query(pattern="^me$")] = None,
    status: Status | None = None,
    home_visit: bool | None = None,
    assigned_from: IsoDate | None = None,
    assigned_to: IsoDate | None = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AssessmentList:
    """A doctor's worklist (`assigned=me`), most urgent first, with due dates; filters by status,
    home visit, the day assigned (from/to, inclusive) and `overdue`. An admin sees every assessment."""
    doctor_id = policy.worklist_doctor(principal, assigned)
    today = service.today()
    rows = await db.fetch(
        "SELECT *, (status = 'scheduled' AND due_on < $7) AS overdue FROM assessment_view"
        " WHERE ($1::text IS NULL OR doctor_id = $1) AND ($2::text IS NULL OR status = $2)"
        " AND ($3::boolean IS NULL OR home_visit = $3)"
        " AND ($4::date IS NULL OR (assigned_at AT TIME ZONE 'Asia/Shanghai')::date >= $4)"
        " AND ($5::date IS NULL OR (assigned_at AT TIME ZONE 'Asia/Shanghai')::date <= $5)"
        " AND (NOT $6 OR (status = 'scheduled' AND due_on < $7))"
        " ORDER BY due_on NULLS LAST, coalesce(assigned_at, requested_at), id LIMIT $8",
        doctor_id,
        status,
        home_visit,
        assigned_from,
        assigned_to,
        overdue,
        today,
        limit,
    )
    await reads.record(db, "assessment", [(row["person_ref"], row["id"]) for row in rows])
    return AssessmentList(items=[AssessmentItem.model_validate(dict(row)) for row in rows])


@router.get(
    "/assessments/{assessment_id}", response_model=AssessmentDetail | AssessmentPublic, tags=["assessments"]
)
async def get_assessment(
    assessment_id: str, principal: CurrentPrincipal, policy: Policy, db: Pool, request: Request, reads: Reads
) -> AssessmentDetail | AssessmentPublic:
    """Findings and measurements are sensitive: the assigned doctor, the reviewer of the case (its
    household region) and the person assessed see them; an admin sees the grade only."""
    fields, view = policy.readable(principal, await _assessment(db, assessment_id))
    await reads.record(db, "assessment", [(fields["person_ref"], assessment_id)])
    if view == "grade":
        result = GradePublic.model_validate(fields) if fields["status"] == "assessed" else None
        return AssessmentPublic.model_validate({**fields, "result": result})
    detail = await _grade_detail(fields, db, request) if fields["status"] == "assessed" else None
    return AssessmentDetail.model_validate({**fields, "result": detail})


async def _grade_detail(fields: dict[str, Any], db: asyncpg.Pool, request: Request) -> GradeDetail:
    async with db.acquire() as conn:
        record = await medical_records.open_record(
            request.app.state.runtime.vault, conn, fields["person_ref"], fields["sealed_record"]
        )
    measured = record.component_measurements or [{} for _ in fields["components"]]
    components = [
        {**grade, "measurements": measurements}
        for grade, measurements in zip(fields["components"], measured, strict=True)
    ]
    return GradeDetail.model_validate({**fields, **record.model_dump(), "components": components})


async def _assessment(db: asyncpg.Pool, assessment_id: str) -> dict[str, Any] | None:
    row = await db.fetchrow(
        "SELECT a.*, (SELECT coalesce(array_agg(agent_ref), '{}') FROM agencies g"
        " WHERE g.person_ref = a.person_ref) AS verified_agents FROM assessment_view a WHERE a.id = $1",
        assessment_id,
    )
    return None if row is None else dict(row)


@router.get("/assessments/{assessment_id}/slots", response_model=Slots, tags=["appointments"])
async def free_slots(
    assessment_id: str, principal: CurrentPrincipal, service: Commands, policy: Policy, db: Pool
) -> Slots:
    """预约: the assigned doctor's free times on the coming working days (Asia/Shanghai)."""
    fields = policy.require_booker(principal, await _assessment(db, assessment_id))
    if fields["status"] != "scheduled" or fields["doctor_id"] is None:
        return Slots(appointment_at=fields["appointment_at"], items=[])
    free = await service.free_slots(fields["doctor_id"], assessment_id)
    return Slots(appointment_at=fields["appointment_at"], items=[Slot(starts_at=moment) for moment in free])


@router.post("/assessments/{assessment_id}/appointment", response_model=Appointment, tags=["appointments"])
async def book_appointment(
    assessment_id: str,
    body: Slot,
    principal: CurrentPrincipal,
    service: Commands,
    policy: Policy,
    db: Pool,
) -> Appointment:
    """预约 or 改约: one of the offered slots; booking again moves the appointment."""
    policy.require_booker(principal, await _assessment(db, assessment_id))
    booked = await service.book(principal_context(principal), assessment_id, body.starts_at)
    return Appointment(assessment_id=assessment_id, appointment_at=booked)


@router.post(
    "/assessments/{assessment_id}/result",
    status_code=201,
    response_model=ResultRecorded,
    tags=["assessments"],
)
async def record_result(
    assessment_id: str,
    body: ResultCreate,
    principal: DoctorPrincipal,
    service: Commands,
    policy: Policy,
    db: Pool,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """The assigned doctor records category, grade, findings and measurements, once."""
    policy.require_assigned_doctor(principal, await _assessment(db, assessment_id))
    recorded, replayed = await service.record_result(
        principal_context(principal),
        idempotency(principal, idempotency_key, body),
        assessment_id,
        principal.doctor_id,
        body.to_domain(),
    )
    mark_replayed(response, replayed)
    return recorded


@router.get("/reports/overrides", response_model=OverrideReport, tags=["reports"])
async def override_report(_: Admin, db: Pool) -> OverrideReport:
    """Per doctor, results recorded and those kept against the measurements with a reason."""
    rows = await db.fetch(
        "SELECT doctor_id, count(*) AS results, count(*) FILTER (WHERE override_reason_given) AS overrides"
        " FROM assessment_view WHERE status = 'assessed' GROUP BY doctor_id"
        " ORDER BY count(*) FILTER (WHERE override_reason_given) DESC, doctor_id"
    )
    return OverrideReport(items=[DoctorOverrides(**dict(row)) for row in rows])
