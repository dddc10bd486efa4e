"""Request and response models of the grading check (docs/api.md, assessment service): what
grades GB/T 26341-2010 gives for some measurements, asked before a result is recorded."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ..domain.grading import MeasureGrade, Outcome, Reading
from .schemas import MeasurementsIn, SingleCategory, Strict


class GradingQuestion(Strict):
    category: SingleCategory = Field(
        description="a single category: a multiple disability is asked per component"
    )
    age_years: int = Field(
        ge=0, le=150, description="the age of the person assessed (it chooses the measures)"
    )
    measurements: MeasurementsIn = Field(default_factory=MeasurementsIn)


class WeighedMeasurement(BaseModel):
    measure: str
    value: float
    level: int | None = Field(description="the grade this measurement reaches on its own; null: none")

    @classmethod
    def of(cls, grade: MeasureGrade) -> WeighedMeasurement:
        return cls(measure=grade.measure, value=grade.value, level=grade.level)


class GradingCheck(BaseModel):
    """What the measurements give, as the result's check weighs them: a result whose level is not
    among `expected_levels` (when `outcome` is `levels`, `no_level` or `short_illness`) needs an
    override reason."""

    category: str
    age_years: int
    outcome: Outcome = Field(
        description="levels: the measurements give `expected_levels`; no_level: they reach no grade;"
        " short_illness: a mental illness of 12 months or less reaches no grade; not_measured: no"
        " measure of the category was given; functional_assessment (physical) and adaptive_behaviour"
        " (mental, under 18): graded by the doctor, no numeric check"
    )
    expected_levels: list[int] = Field(
        description="the grades that agree with the measurements, most severe (1) first; empty otherwise"
    )
    weighed: list[WeighedMeasurement] = Field(description="each measurement weighed, in the standard's order")
    foreign_measurements: list[str] = Field(
        description="measurements that are not of this category: a result recording them is refused"
    )

    @classmethod
    def of(cls, question: GradingQuestion, reading: Reading) -> GradingCheck:
        return cls(
            category=question.category,
            age_years=question.age_years,
            outcome=reading.outcome,
            expected_levels=list(reading.expectation.levels) if reading.expectation else [],
            weighed=[WeighedMeasurement.of(grade) for grade in reading.weighed],
            foreign_measurements=list(reading.foreign),
        )
