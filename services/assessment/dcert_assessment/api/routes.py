"""HTTP routes of the assessment service (docs/api.md): institutions, doctors, assessments, results."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from dcert_shared.api import IsoDate, idempotency, mark_replayed, principal_context

from ..adapters import medical_records, queries
from ..adapters.read_models import AssessmentView, InstitutionView
from ..application.commands import NewDoctor, NewInstitution
from ..domain import grading
from ..domain.errors import InstitutionNotFound
from ..domain.events import MedicalRecord
from .dependencies import (
    Admin,
    Commands,
    CurrentPrincipal,
    DoctorOrAdmin,
    DoctorOrReviewer,
    DoctorPrincipal,
    IdempotencyKey,
    PersonalDataVault,
    Policy,
    Pool,
    Reads,
)
from .grading_schemas import GradingCheck, GradingQuestion
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
    return InstitutionList(items=[_institution(view) for view in await queries.institutions(db)])


@router.post(
    "/institutions/{institution_id}/accreditation", response_model=InstitutionPublic, tags=["institutions"]
)
async def renew_accreditation(
    institution_id: str, body: AccreditationRenewal, principal: Admin, service: Commands, db: Pool
) -> InstitutionPublic:
    """评定机构资质续期: a new last day; the institution's doctors take waiting assessments again."""
    await service.renew_accreditation(principal_context(principal), institution_id, body.accredited_until)
    renewed = await queries.institution(db, institution_id)
    if renewed is None:
        raise InstitutionNotFound()
    return _institution(renewed)


def _institution(view: InstitutionView) -> InstitutionPublic:
    return InstitutionPublic.model_validate(view, from_attributes=True)


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
    return DoctorList(
        items=[DoctorPublic.model_validate(view, from_attributes=True) for view in await queries.doctors(db)]
    )


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
    wanted = queries.WorklistFilter(doctor_id, status, home_visit, assigned_from, assigned_to, overdue, limit)
    entries = await queries.worklist(db, wanted, service.today())
    await reads.record(db, "assessment", [(entry.view.person_ref, entry.view.id) for entry in entries])
    return AssessmentList(
        items=[
            AssessmentItem.model_validate({**entry.view.model_dump(), "overdue": entry.overdue})
            for entry in entries
        ]
    )


@router.get(
    "/assessments/{assessment_id}", response_model=AssessmentDetail | AssessmentPublic, tags=["assessments"]
)
async def get_assessment(
    assessment_id: str,
    principal: CurrentPrincipal,
    policy: Policy,
    db: Pool,
    vault: PersonalDataVault,
    reads: Reads,
) -> AssessmentDetail | AssessmentPublic:
    """Findings and measurements are sensitive: the assigned doctor, the reviewer of the case (its
    household region) and the person assessed see them; an admin sees the grade only."""
    found, view = policy.readable(principal, await queries.assessment(db, assessment_id))
    assessment = found.view
    await reads.record(db, "assessment", [(assessment.person_ref, assessment_id)])
    fields = assessment.model_dump()
    if view == "grade":
        result = GradePublic.model_validate(fields) if assessment.status == "assessed" else None
        return AssessmentPublic.model_validate({**fields, "result": result})
    detail = None
    if assessment.status == "assessed":
        assert assessment.sealed_record is not None  # recorded with the grade
        record = await medical_records.open_record(vault, db, assessment.person_ref, assessment.sealed_record)
        detail = _grade_detail(assessment, record)
    return AssessmentDetail.model_validate({**fields, "result": detail})


def _grade_detail(assessment: AssessmentView, record: MedicalRecord) -> GradeDetail:
    """The grade with its findings, and each component with its own measurements."""
    grades = assessment.components or []
    measured = record.component_measurements or [{} for _ in grades]
    components = [
        {**grade, "measurements": measurements} for grade, measurements in zip(grades, measured, strict=True)
    ]
    return GradeDetail.model_validate(
        {**assessment.model_dump(), **record.model_dump(), "components": components}
    )


@router.get("/assessments/{assessment_id}/slots", response_model=Slots, tags=["appointments"])
async def free_slots(
    assessment_id: str, principal: CurrentPrincipal, service: Commands, policy: Policy, db: Pool
) -> Slots:
    """预约: the assigned doctor's free times on the coming working days (Asia/Shanghai)."""
    assessment = policy.require_booker(principal, await queries.assessment(db, assessment_id)).view
    if assessment.status != "scheduled" or assessment.doctor_id is None:
        return Slots(appointment_at=assessment.appointment_at, items=[])
    free = await service.free_slots(assessment.doctor_id, assessment_id)
    return Slots(appointment_at=assessment.appointment_at, items=[Slot(starts_at=moment) for moment in free])


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
    policy.require_booker(principal, await queries.assessment(db, assessment_id))
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
    policy.require_assigned_doctor(principal, await queries.assessment(db, assessment_id))
    recorded, replayed = await service.record_result(
        principal_context(principal),
        idempotency(principal, idempotency_key, body),
        assessment_id,
        principal.doctor_id,
        body.to_domain(),
    )
    mark_replayed(response, replayed)
    return recorded


@router.post("/grading/check", response_model=GradingCheck, tags=["grading"])
async def check_grading(body: GradingQuestion, _: DoctorOrReviewer) -> GradingCheck:
    """GB/T 26341-2010: the grades some measurements give for a category at an age, measure by
    measure, as the check of a result weighs them; the doctor's form explains it before recording."""
    return GradingCheck.of(body, grading.read(body.category, body.measurements.to_domain(), body.age_years))


@router.get("/reports/overrides", response_model=OverrideReport, tags=["reports"])
async def override_report(_: Admin, db: Pool) -> OverrideReport:
    """Per doctor, results recorded and those kept against the measurements with a reason."""
    counts = await queries.override_counts(db)
    return OverrideReport(
        items=[DoctorOverrides.model_validate(count, from_attributes=True) for count in counts]
    )
