"""Events of the assessment context. Published data is listed in docs/events.md.

Names of institutions and doctors and licence numbers are kept in the stored events
(`private_fields`) and never published. Findings, measurements and the reason for a grade kept
against them are stored only sealed with the person's data key (dcert_shared.vault).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from dcert_shared.envelope import DomainEvent, EventRegistry


class InstitutionRegistered(DomainEvent):
    """评定机构: an institution accredited to assess the listed categories."""

    private_fields: ClassVar[frozenset[str]] = frozenset({"name"})
    institution_id: str
    region: str
    categories: list[str]
    name: str
    accredited_until: date | None = None


class AccreditationRenewed(DomainEvent):
    institution_id: str
    accredited_until: date


class AccreditationLapsed(DomainEvent):
    """The accreditation ran out: no new assessments; the open ones go to other institutions."""

    institution_id: str
    accredited_until: date


class DoctorRegistered(DomainEvent):
    """评残医生: a doctor of an institution, qualified for the listed categories."""

    private_fields: ClassVar[frozenset[str]] = frozenset({"name", "license_no", "person_ref"})
    doctor_id: str
    institution_id: str
    categories: list[str]
    name: str
    license_no: str
    home_visits: bool = False
    person_ref: str | None = None


class UniqueKeyClaimed(DomainEvent):
    """A value that must be unique (a licence number, an application) now belongs to `owner_id`."""

    public: ClassVar[bool] = False
    owner_id: str


class AssessmentOpened(DomainEvent):
    """The certificate service asked for an assessment; it waits for a doctor until scheduled."""

    public: ClassVar[bool] = False
    assessment_id: str
    application_id: str
    person_ref: str
    age_years: int
    declared_category: str
    residence_region: str
    household_region: str
    home_visit: bool
    round: int = 0
    agent_refs: list[str] = []
    excluded_doctors: list[str] = []
    excluded_institutions: list[str] = []


class AssessmentScheduled(DomainEvent):
    assessment_id: str
    application_id: str
    doctor_id: str
    institution_id: str
    home_visit: bool
    declared_category: str
    due_on: date | None = None  # the result is due by then (working days, local)
    round: int = 0  # 1: 复核 (re-assessment), 2: the provincial expert committee's final answer


class ComponentGrade(BaseModel):
    """One graded category of a multiple disability (多重残疾), as published."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    category: str
    level: int


class GradeRecorded(DomainEvent):
    """The assigned doctor's result.

    `sealed_record` holds the findings, measurements and override reason (`MedicalRecord`),
    sealed with the person's data key; only the grade is published.
    """

    schema_version: ClassVar[int] = 2
    private_fields: ClassVar[frozenset[str]] = frozenset({"doctor_id", "sealed_record"})
    assessment_id: str
    application_id: str
    category: str
    level: int
    components: list[ComponentGrade]
    override_reason_given: bool
    doctor_id: str
    sealed_record: str
    round: int = 0  # 2: the provincial expert committee's answer, final


class MedicalRecord(BaseModel):
    """What a `GradeRecorded` seals: health findings, never in the clear at rest."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    findings: str | None = None
    measurements: dict[str, float] = {}
    component_measurements: list[dict[str, float]] = []
    override_reason: str | None = None


LEGACY_UNSEALED = "unsealed."


class AssessmentCancelled(DomainEvent):
    """The application was withdrawn or ended before a result: the doctor need not assess."""

    assessment_id: str
    application_id: str
    doctor_id: str | None
    reason: str


class DoctorSuspended(DomainEvent):
    """停止执业: the doctor gets no new assessments; their open ones go to another doctor."""

    doctor_id: str
    reason: str


class DoctorReinstated(DomainEvent):
    doctor_id: str


class AssessmentReleased(DomainEvent):
    """The assigned doctor can no longer assess (suspended): the assessment is assigned again."""

    assessment_id: str
    application_id: str
    doctor_id: str
    reason: str


class AppointmentBooked(DomainEvent):
    """The applicant (or agent, or the doctor) picked a time; a second booking changes it."""

    assessment_id: str
    application_id: str
    doctor_id: str
    starts_at: datetime
    home_visit: bool
    previous_starts_at: datetime | None = None


def registry() -> EventRegistry:
    events = EventRegistry()
    events.register(
        InstitutionRegistered,
        DoctorRegistered,
        UniqueKeyClaimed,
        AssessmentOpened,
        AssessmentScheduled,
        GradeRecorded,
        AssessmentCancelled,
        DoctorSuspended,
        DoctorReinstated,
        AccreditationRenewed,
        AccreditationLapsed,
        AppointmentBooked,
        AssessmentReleased,
    )

    @events.upcaster("GradeRecorded", 1)
    def sealed_record_of_v1(payload: dict[str, Any]) -> dict[str, Any]:
        """Version 1 kept the record in the clear; it is carried as an `unsealed.` token."""
        record = MedicalRecord(
            findings=payload.pop("findings", None),
            measurements=payload.pop("measurements", {}),
            component_measurements=payload.pop("component_measurements", []),
            override_reason=payload.pop("override_reason", None),
        )
        return {**payload, "sealed_record": LEGACY_UNSEALED + record.model_dump_json()}

    return events
