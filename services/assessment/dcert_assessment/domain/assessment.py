"""The assessment (残疾评定): requested for an application, scheduled with a doctor, graded once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from dcert_shared.aggregate import Aggregate
from dcert_shared.envelope import DomainEvent
from dcert_shared.ids import check_level
from dcert_shared.problems import Bilingual, FieldError

from .errors import (
    AssessmentCancelledError,
    DoctorNotQualified,
    DoctorSuspendedError,
    GradeOutsideStandard,
    InvalidComposition,
    LevelRequired,
    MeasurementsNotForCategory,
    NotBookable,
    NotTheAssignedDoctor,
    ResultAlreadyRecorded,
)
from .events import (
    AppointmentBooked,
    AssessmentCancelled,
    AssessmentOpened,
    AssessmentReleased,
    AssessmentScheduled,
    ComponentGrade,
    GradeRecorded,
    MedicalRecord,
)
from .grading import Measurements, contradiction, foreign_measurements, most_severe_level
from .staff import Doctor

MULTIPLE = "multiple"


class AssessmentStatus(StrEnum):
    UNASSIGNED = "unassigned"  # no qualified doctor yet: waits for one to be registered
    SCHEDULED = "scheduled"
    ASSESSED = "assessed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class AssessmentRequest:
    """What the certificate service asks to be assessed (its AssessmentRequested event)."""

    application_id: str
    person_ref: str
    age_years: int
    declared_category: str
    residence_region: str
    household_region: str
    home_visit: bool
    round: int = 0  # 0 the first assessment, 1 复核 (re-assessment), 2 the final appeal
    agent_refs: tuple[str, ...] = ()
    excluded_doctors: tuple[str, ...] = ()
    excluded_institutions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Component:
    """One category of a multiple disability, graded on its own measurements."""

    category: str
    level: int
    measurements: Measurements = Measurements()


@dataclass(frozen=True)
class Result:
    """The doctor's result: one category and grade, or `multiple` with its components."""

    category: str
    level: int | None
    findings: str | None = None
    measurements: Measurements = Measurements()
    override_reason: str | None = None
    components: tuple[Component, ...] = field(default=())

    def medical_record(self) -> MedicalRecord:
        return MedicalRecord(
            findings=self.findings,
            measurements=self.measurements.given(),
            component_measurements=[component.measurements.given() for component in self.components],
            override_reason=self.override_reason,
        )

    def graded_parts(self) -> list[tuple[str, Component]]:
        """What is checked against the standard, by field: the components, or the result itself."""
        if self.category == MULTIPLE:
            return [
                (f"components.{index}.level", component) for index, component in enumerate(self.components)
            ]
        assert self.level is not None
        return [("level", Component(self.category, self.level, self.measurements))]


@dataclass(frozen=True)
class Contradiction:
    """A grade the measurements do not give, and the grades they do give."""

    field: str  # where the contradicting level was submitted: `level` or `components.<n>.level`
    category: str
    level: int
    expected_levels: tuple[int, ...]
    measured: tuple[str, ...]


class Assessment(Aggregate):
    """残疾评定 of one application."""

    stream_type = "assessment"

    @property
    def partition_key(self) -> str:
        """The person: every event about them is kept in order by consumers, whatever its stream."""
        return self.person_ref or self.stream_id

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.application_id = ""
        self.age_years = 0
        self.declared_category = ""
        self.residence_region = ""
        self.home_visit = False
        self.person_ref = ""
        self.round = 0
        self.appointment_at: datetime | None = None
        self.excluded_doctors: frozenset[str] = frozenset()
        self.excluded_institutions: frozenset[str] = frozenset()
        self.status = AssessmentStatus.UNASSIGNED
        self.doctor_id: str | None = None

    @classmethod
    def open(cls, assessment_id: str, request: AssessmentRequest) -> Assessment:
        assessment = cls(assessment_id)
        assessment.trigger(
            AssessmentOpened(
                assessment_id=assessment_id,
                application_id=request.application_id,
                person_ref=request.person_ref,
                age_years=request.age_years,
                declared_category=request.declared_category,
                residence_region=request.residence_region,
                household_region=request.household_region,
                home_visit=request.home_visit,
                round=request.round,
                agent_refs=list(request.agent_refs),
                excluded_doctors=list(request.excluded_doctors),
                excluded_institutions=list(request.excluded_institutions),
            )
        )
        return assessment

    def schedule(self, doctor_id: str, institution_id: str, due_on: date | None = None) -> None:
        """Assign a doctor; an assessment already scheduled keeps its doctor."""
        if self.status is not AssessmentStatus.UNASSIGNED:
            return
        self.trigger(
            AssessmentScheduled(
                assessment_id=self.id,
                application_id=self.application_id,
                doctor_id=doctor_id,
                institution_id=institution_id,
                home_visit=self.home_visit,
                declared_category=self.declared_category,
                due_on=due_on,
                round=self.round,
            )
        )

    def record_grade(self, doctor: Doctor, result: Result, sealed_record: str) -> None:
        """Check the result against the standard; `sealed_record` is its `medical_record()`, sealed."""
        if self.doctor_id is None or doctor.id != self.doctor_id:
            raise NotTheAssignedDoctor()
        if doctor.suspended:
            raise DoctorSuspendedError()
        if self.status is AssessmentStatus.ASSESSED:
            raise ResultAlreadyRecorded()
        if self.status is AssessmentStatus.CANCELLED:
            raise AssessmentCancelledError()
        if not doctor.qualified_for(result.category):
            raise DoctorNotQualified(
                detail=Bilingual(
                    f"可评定：{'、'.join(doctor.categories)}；不可评定：{result.category}",
                    f"qualified for {', '.join(doctor.categories)}; not for {result.category}",
                ),
                category=result.category,
                qualified_categories=list(doctor.categories),
            )
        level = _level_of(result)
        _require_measures_of_the_category(result)
        contradictions = self._contradictions(result)
        if contradictions and not result.override_reason:
            raise GradeOutsideStandard.for_contradictions(contradictions)
        self.trigger(
            GradeRecorded(
                assessment_id=self.id,
                application_id=self.application_id,
                round=self.round,
                category=result.category,
                level=level,
                components=[ComponentGrade(category=c.category, level=c.level) for c in result.components],
                override_reason_given=bool(result.override_reason),
                doctor_id=doctor.id,
                sealed_record=sealed_record,
            )
        )

    def release(self, doctor_id: str, reason: str) -> bool:
        """The doctor can no longer assess: unassigned again, to be assigned to another.

        False when the assessment is no longer scheduled with that doctor (a result came first)."""
        if self.status is not AssessmentStatus.SCHEDULED or self.doctor_id != doctor_id:
            return False
        self.trigger(
            AssessmentReleased(
                assessment_id=self.id,
                application_id=self.application_id,
                doctor_id=doctor_id,
                reason=reason,
            )
        )
        return True

    def book(self, starts_at: datetime) -> None:
        """预约: a time with the assigned doctor; booking again moves the appointment."""
        if self.status is not AssessmentStatus.SCHEDULED or self.doctor_id is None:
            raise NotBookable(detail=Bilingual.status(self.status.value))
        if starts_at == self.appointment_at:
            return
        self.trigger(
            AppointmentBooked(
                assessment_id=self.id,
                application_id=self.application_id,
                doctor_id=self.doctor_id,
                starts_at=starts_at,
                home_visit=self.home_visit,
                previous_starts_at=self.appointment_at,
            )
        )

    def cancel(self, reason: str) -> None:
        """The application ended before a result; an assessed one keeps its result."""
        if self.status in (AssessmentStatus.UNASSIGNED, AssessmentStatus.SCHEDULED):
            self.trigger(
                AssessmentCancelled(
                    assessment_id=self.id,
                    application_id=self.application_id,
                    doctor_id=self.doctor_id,
                    reason=reason,
                )
            )

    def _contradictions(self, result: Result) -> list[Contradiction]:
        found = []
        for field_path, part in result.graded_parts():
            expectation = contradiction(part.category, part.level, part.measurements, self.age_years)
            if expectation is not None:
                found.append(
                    Contradiction(
                        field_path, part.category, part.level, expectation.levels, expectation.basis
                    )
                )
        return found

    def apply(self, event: DomainEvent) -> None:
        match event:
            case AssessmentOpened():
                self.application_id = event.application_id
                self.person_ref = event.person_ref
                self.round = event.round
                self.excluded_doctors = frozenset(event.excluded_doctors)
                self.excluded_institutions = frozenset(event.excluded_institutions)
                self.age_years = event.age_years
                self.declared_category = event.declared_category
                self.residence_region = event.residence_region
                self.home_visit = event.home_visit
            case AssessmentScheduled():
                self.status = AssessmentStatus.SCHEDULED
                self.doctor_id = event.doctor_id
            case GradeRecorded():
                self.status = AssessmentStatus.ASSESSED
            case AssessmentCancelled():
                self.status = AssessmentStatus.CANCELLED
            case AssessmentReleased():
                self.status = AssessmentStatus.UNASSIGNED
                self.doctor_id = None
                self.appointment_at = None  # the new doctor's time is booked anew
            case AppointmentBooked(starts_at=starts_at):
                self.appointment_at = starts_at


def _require_measures_of_the_category(result: Result) -> None:
    errors = [
        FieldError(
            field=f"{path.removesuffix('level')}measurements.{name}",
            code=MeasurementsNotForCategory.code,
            message=Bilingual(f"不是{part.category}类别的测量项目", f"not a measure of {part.category}"),
        )
        for path, part in result.graded_parts()
        for name in foreign_measurements(part.category, part.measurements)
    ]
    if errors:
        raise MeasurementsNotForCategory(errors=errors)


def _level_of(result: Result) -> int:
    """The grade of the result; for 多重残疾 the most severe component's, checked for composition."""
    if result.category != MULTIPLE:
        if result.components:
            raise InvalidComposition(
                detail=Bilingual(
                    "只有多重残疾才填写各项残疾", "components are given only for a multiple disability"
                )
            )
        if result.level is None:
            raise LevelRequired()
        return check_level(result.level)
    categories = [component.category for component in result.components]
    if len(categories) < 2 or len(set(categories)) != len(categories) or MULTIPLE in categories:
        raise InvalidComposition(
            detail=Bilingual(
                "须有两项或以上、类别各不相同的单项残疾",
                "two or more components, each of a different single category",
            )
        )
    level = most_severe_level([check_level(component.level) for component in result.components])
    if result.level is not None and result.level != level:
        raise InvalidComposition(
            detail=Bilingual(
                f"多重残疾的等级为其中最重一项的等级：{level}",
                f"the level of a multiple disability is its most severe component's: {level}",
            )
        )
    return level
