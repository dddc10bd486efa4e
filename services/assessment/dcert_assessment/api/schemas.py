"""Request and response models of the assessment API (docs/api.md). Responses list what they show."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from dcert_shared.api import (
    IdentityNumberSchema,
    IsoAwareDateTime,
    IsoDate,
    RegionCodeSchema,
    stripped_text_needs_content,
)
from dcert_shared.ids import IdentityNumber, RegionCode
from dcert_shared.problems import DomainError

from ..domain.assessment import Component, Result
from ..domain.grading import Measurements

SingleCategory = Literal["visual", "hearing", "speech", "physical", "intellectual", "mental"]
CategoryName = SingleCategory | Literal["multiple"]
Level = Annotated[int, Field(ge=1, le=4, description="1 (一级) is the most severe")]
Status = Literal["unassigned", "scheduled", "assessed", "cancelled"]


def _region(value: str) -> str:
    try:
        return str(RegionCode.parse(value))
    except DomainError as error:
        raise PydanticCustomError(error.code, error.title_en) from None


def _distinct(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise PydanticCustomError("duplicate_category", "each category once")
    return values


Region = Annotated[str, AfterValidator(_region), RegionCodeSchema]
Categories = Annotated[
    list[CategoryName],
    Field(min_length=1, max_length=7, json_schema_extra={"uniqueItems": True}),
    AfterValidator(_distinct),
]


class Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra=stripped_text_needs_content
    )


class InstitutionCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    region: Region
    categories: Categories
    accredited_until: IsoDate | None = Field(default=None, description="the accreditation's last day")


class InstitutionPublic(BaseModel):
    id: str
    name: str
    region: str
    categories: list[str]
    accredited_until: date | None = None
    lapsed: bool = False


class AccreditationRenewal(Strict):
    accredited_until: IsoDate


class AccreditationCheck(BaseModel):
    lapsed: int
    reassigned: int
    waiting: int


class InstitutionList(BaseModel):
    items: list[InstitutionPublic]


class DoctorCreate(Strict):
    name: str = Field(min_length=1, max_length=60)
    institution_id: str = Field(min_length=1, max_length=64)
    license_no: str = Field(min_length=4, max_length=40, pattern=r"^[0-9A-Za-z\-]+$")
    categories: Categories
    home_visits: bool = Field(default=False, description="does home visits (上门评定)")
    id_number: Annotated[str, IdentityNumberSchema] | None = Field(
        default=None, description="the doctor's own identity number: never assigned their own assessment"
    )

    @field_validator("id_number")
    @classmethod
    def _identity(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return IdentityNumber.parse(value).value
        except DomainError as error:
            raise PydanticCustomError(error.code, error.title_en) from None


class DoctorPublic(BaseModel):
    id: str
    name: str
    institution_id: str
    license_no: str
    categories: list[str]
    suspended: bool = False


class Suspension(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Field(min_length=1, max_length=200)


class DoctorStatus(BaseModel):
    """After a suspension or reinstatement: how many open assessments moved, how many wait."""

    id: str
    suspended: bool
    reassigned: int
    waiting: int


class DoctorList(BaseModel):
    items: list[DoctorPublic]


class MeasurementsIn(Strict):
    """Measurement names of docs/api.md; only those of the graded category are checked."""

    best_corrected_acuity: float | None = Field(default=None, ge=0, le=2)
    visual_field_radius_deg: float | None = Field(default=None, ge=0, le=90)
    hearing_loss_db: float | None = Field(default=None, ge=-10, le=140)
    speech_intelligibility_pct: float | None = Field(default=None, ge=0, le=100)
    iq: float | None = Field(default=None, ge=0, le=200)
    dq: float | None = Field(default=None, ge=0, le=200)
    whodas_score: float | None = Field(default=None, ge=0, le=180)
    illness_months: float | None = Field(default=None, ge=0, le=1200)

    def to_domain(self) -> Measurements:
        return Measurements(**self.model_dump())


class ComponentIn(Strict):
    category: SingleCategory
    level: Level
    measurements: MeasurementsIn = Field(default_factory=MeasurementsIn)


class ResultCreate(Strict):
    category: CategoryName
    level: Level | None = None
    findings: str | None = Field(default=None, max_length=4000)
    measurements: MeasurementsIn = Field(default_factory=MeasurementsIn)
    override_reason: str | None = Field(default=None, max_length=2000)
    components: list[ComponentIn] = Field(default_factory=list, max_length=6)

    @field_validator("override_reason", "findings")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    def to_domain(self) -> Result:
        return Result(
            category=self.category,
            level=self.level,
            findings=self.findings,
            measurements=self.measurements.to_domain(),
            override_reason=self.override_reason,
            components=tuple(
                Component(c.category, c.level, c.measurements.to_domain()) for c in self.components
            ),
        )


class ComponentGrade(BaseModel):
    category: str
    level: int


class ComponentDetail(ComponentGrade):
    measurements: dict[str, float]


class ResultRecorded(BaseModel):
    id: str
    status: Status
    category: str
    level: int
    components: list[ComponentGrade]
    override_reason_given: bool


class AssessmentItem(BaseModel):
    id: str
    application_id: str
    declared_category: str
    status: Status
    home_visit: bool
    round: int = Field(default=0, description="0: first assessment; 1: re-assessment (复核); 2: final appeal")
    assigned_at: datetime | None
    appointment_at: datetime | None = None
    due_on: date | None = Field(default=None, description="the result is due by then (working days)")
    overdue: bool = False


class AssessmentList(BaseModel):
    items: list[AssessmentItem]


class GradeBase(BaseModel):
    category: str
    level: int
    override_reason_given: bool
    assessed_at: datetime


class GradePublic(GradeBase):
    """The recorded grade as staff without a need for the medical detail see it."""

    components: list[ComponentGrade]


class GradeDetail(GradeBase):
    """The recorded grade with its findings and measurements: for the assigned doctor."""

    components: list[ComponentDetail]
    findings: str | None
    measurements: dict[str, float]
    override_reason: str | None


class AssessmentBase(AssessmentItem):
    age_years: int
    residence_region: str
    doctor_id: str | None
    institution_id: str | None
    requested_at: datetime


class AssessmentPublic(AssessmentBase):
    """An assessment as an admin sees it: the grade without findings or measurements."""

    result: GradePublic | None


class AssessmentDetail(AssessmentBase):
    """An assessment as its assigned doctor sees it."""

    result: GradeDetail | None


class DoctorOverrides(BaseModel):
    doctor_id: str
    results: int
    overrides: int = Field(description="grades recorded against the measurements, with a reason")


class OverrideReport(BaseModel):
    """Per doctor: how often a grade was kept against what the measurements give (GB/T 26341)."""

    items: list[DoctorOverrides]


class Slot(BaseModel):
    model_config = ConfigDict(extra="forbid")
    starts_at: IsoAwareDateTime


class Slots(BaseModel):
    """The free times of the assigned doctor, and the one booked (if any)."""

    appointment_at: datetime | None
    items: list[Slot]


class Appointment(BaseModel):
    assessment_id: str
    appointment_at: datetime
