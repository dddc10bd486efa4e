"""Grading rules of GB/T 26341-2010 (残疾人残疾分类和分级): which grades the measurements give.

Pure functions over numbers. A level is 1 (一级, the most severe) to 4 (四级); a measurement
that reaches no grade gives `None` (not disabled by that measure). The table is that of
docs/domain.md (grading).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Literal

ADULT_AGE = 18
SCHOOL_AGE = 7  # IQ from 7; development quotient (DQ) for ages 0-6
MENTAL_ILLNESS_MIN_MONTHS = 12  # 精神残疾: the illness has lasted over one year


@dataclass(frozen=True)
class Measurements:
    """What the doctor measured; every field optional, only those of the category are checked."""

    best_corrected_acuity: float | None = None  # better eye, decimal acuity
    visual_field_radius_deg: float | None = None
    hearing_loss_db: float | None = None  # better ear, average dB HL
    speech_intelligibility_pct: float | None = None  # 语音清晰度
    iq: float | None = None
    dq: float | None = None
    whodas_score: float | None = None  # WHO-DAS II
    illness_months: float | None = None

    def given(self) -> dict[str, float]:
        return {name: value for name, value in asdict(self).items() if value is not None}


@dataclass(frozen=True)
class Expectation:
    """The grades the measurements of one category give, and the measurements weighed.

    `levels` empty means the measurements reach no grade at all.
    """

    levels: tuple[int, ...]
    basis: tuple[str, ...]

    def admits(self, level: int) -> bool:
        return level in self.levels


@dataclass(frozen=True)
class Scale:
    """The grade limits of one measure, most severe first: a value reaching limit n is grade n."""

    reaches: Callable[[float, float], bool]
    limits: tuple[float, ...]

    def level(self, value: float) -> int | None:
        for level, limit in enumerate(self.limits, start=1):
            if self.reaches(value, limit):
                return level
        return None


# GB/T 26341-2010, as docs/domain.md (grading) tabulates it.
SCALES: dict[str, Scale] = {
    # better eye: < 0.02 一级, 0.02-< 0.05 二级, 0.05-< 0.1 三级, 0.1-< 0.3 四级
    "best_corrected_acuity": Scale(operator.lt, (0.02, 0.05, 0.1, 0.3)),
    # < 5° 一级, < 10° 二级; a wider field gives no grade by itself
    "visual_field_radius_deg": Scale(operator.lt, (5, 10)),
    # better ear: > 90 dB 一级, 81-90 二级, 61-80 三级, 41-60 四级
    "hearing_loss_db": Scale(operator.gt, (90, 80, 60, 40)),
    # ≤ 10 % 一级, 11-25 % 二级, 26-45 % 三级, 46-65 % 四级
    "speech_intelligibility_pct": Scale(operator.le, (10, 25, 45, 65)),
    # development quotient, ages 0-6: ≤ 25 一级, 26-39 二级, 40-54 三级, 55-75 四级
    "dq": Scale(operator.le, (25, 39, 54, 75)),
    # ages 7 and over: < 20 一级, 20-34 二级, 35-49 三级, 50-69 四级
    "iq": Scale(operator.lt, (20, 35, 50, 70)),
    # WHO-DAS II, adults: ≥ 116 一级, 106-115 二级, 96-105 三级, 52-95 四级
    "whodas_score": Scale(operator.ge, (116, 106, 96, 52)),
}


@dataclass(frozen=True)
class MeasureGrade:
    """One weighed measurement and the grade it reaches on its own (None: no grade)."""

    measure: str
    value: float
    level: int | None


# Why the measurements give the grades they give, or why nothing is checked.
Outcome = Literal[
    "levels",  # the measurements give these grades
    "no_level",  # they reach no grade at all
    "short_illness",  # mental: an illness of 12 months or less reaches no grade
    "not_measured",  # no measure of the category was recorded: nothing to check
    "functional_assessment",  # physical: the doctor's functional findings, no numeric check
    "adaptive_behaviour",  # mental under 18: the doctor's judgement, no numeric check
]


@dataclass(frozen=True)
class Reading:
    """What the measurements say about the grade of one category, for a person of an age:
    the grades that agree (`expectation`, None when nothing is checked), each measurement
    weighed with the grade it reaches alone, and the measurements of another category."""

    outcome: Outcome
    expectation: Expectation | None
    weighed: tuple[MeasureGrade, ...] = ()
    foreign: tuple[str, ...] = ()


def _most_severe(levels: list[int]) -> tuple[int, ...]:
    # Visual acuity *or* field (the standard's "或"): whichever gives the more severe grade decides.
    return (min(levels),)


def _span(levels: list[int]) -> tuple[int, ...]:
    # An adult may bring both an IQ and a WHO-DAS II score; the standard weighs them together
    # with adaptive behaviour, so every grade between the two agrees with the measurements.
    return tuple(range(min(levels), max(levels) + 1))


def _weighed_measures(category: str, age_years: int) -> tuple[str, ...]:
    """The measures the grade of `category` rests on at this age (mental: adults only)."""
    match category:
        case "visual":
            return ("best_corrected_acuity", "visual_field_radius_deg")
        case "hearing":
            return ("hearing_loss_db",)
        case "speech":
            return ("speech_intelligibility_pct",)
        case "intellectual" if age_years < SCHOOL_AGE:
            return ("dq",)
        case "intellectual" if age_years < ADULT_AGE:
            return ("iq",)
        case "intellectual":
            return ("iq", "whodas_score")
        case "mental":
            return ("whodas_score",)
        case _:
            return ()


def read(category: str, measurements: Measurements, age_years: int) -> Reading:
    """What the measurements give for `category` at `age_years`, measure by measure.

    Only the measures of the category (and, for intellectual and mental, of the person's age)
    are weighed. Physical disability is graded by the doctor's functional assessment (no
    numeric check); a multiple disability is checked component by component.
    """
    foreign = tuple(foreign_measurements(category, measurements))
    if category == "physical":
        return Reading("functional_assessment", None, foreign=foreign)
    if category == "mental" and age_years < ADULT_AGE:
        return Reading("adaptive_behaviour", None, foreign=foreign)
    months = measurements.illness_months
    if category == "mental" and months is not None and months <= MENTAL_ILLNESS_MIN_MONTHS:
        return Reading("short_illness", Expectation(levels=(), basis=("illness_months",)), foreign=foreign)
    given = measurements.given()
    weighed = tuple(
        MeasureGrade(name, given[name], SCALES[name].level(given[name]))
        for name in _weighed_measures(category, age_years)
        if name in given
    )
    if not weighed:
        return Reading("not_measured", None, foreign=foreign)
    basis = tuple(grade.measure for grade in weighed)
    reached = [grade.level for grade in weighed if grade.level is not None]
    if not reached:
        return Reading("no_level", Expectation(levels=(), basis=basis), weighed, foreign)
    combine = _span if category == "intellectual" else _most_severe
    return Reading("levels", Expectation(levels=combine(reached), basis=basis), weighed, foreign)


def expected_levels(category: str, measurements: Measurements, age_years: int) -> Expectation | None:
    """The grades the measurements give for `category`; None when there is nothing to check."""
    return read(category, measurements, age_years).expectation


def contradiction(
    category: str, level: int, measurements: Measurements, age_years: int
) -> Expectation | None:
    """The expectation that `level` contradicts, or None when the level agrees or nothing is checked."""
    expectation = expected_levels(category, measurements, age_years)
    if expectation is None or expectation.admits(level):
        return None
    return expectation


def most_severe_level(levels: list[int]) -> int:
    """多重残疾: the certificate carries the most severe component grade (the smallest number)."""
    return min(levels)


# The measures of each category (the table of docs/domain.md, grading); physical disability has none (the doctor's
# functional findings), a multiple disability has those of its components.
MEASURES: dict[str, frozenset[str]] = {
    "visual": frozenset({"best_corrected_acuity", "visual_field_radius_deg"}),
    "hearing": frozenset({"hearing_loss_db"}),
    "speech": frozenset({"speech_intelligibility_pct"}),
    "intellectual": frozenset({"iq", "dq", "whodas_score"}),
    "mental": frozenset({"whodas_score", "illness_months"}),
    "physical": frozenset(),
}


def foreign_measurements(category: str, measurements: Measurements) -> list[str]:
    """Recorded measurements that are not measures of `category` (a hearing loss for a visual
    disability): recorded under the wrong category, so refused rather than silently ignored."""
    return sorted(set(measurements.given()) - MEASURES.get(category, frozenset()))
