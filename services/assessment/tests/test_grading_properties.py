"""Generated measurements against the GB/T 26341-2010 table of docs/domain.md (grading), read by
a plain oracle.

The oracle below is written from the table's text, not from grading.py's scales. The table
gives whole numbers; a fractional value between two bands (80.5 dB, 34.5 IQ) is read by carrying
each measure's grade-one inequality down the column, as grading.py does: hearing "> 90" gives
"> 80" for 81-90, so 80.5 dB is grade 2; speech and DQ "≤": 10.5 % is grade 2; IQ "< 20" gives
"< 35" for 20-34, so 34.5 is grade 2; WHO-DAS II "≥ 116" gives "≥ 106" for 106-115, so 115.5 is
grade 2 and 51.5 no grade. For whole numbers this is the table exactly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dcert_assessment.domain.grading import Measurements, expected_levels

# Reproducible in CI (derandomize, no example database), no timing flakiness (no deadline).
PROPERTY = settings(max_examples=400, derandomize=True, database=None, deadline=None)
AGES = st.integers(min_value=0, max_value=100)
CASES: Counter[str] = Counter()


def measured(low: float, high: float, boundaries: list[float]) -> st.SearchStrategy[float | None]:
    """A value in [low, high], often exactly on or just beside a boundary of the table; or not measured."""
    return st.one_of(
        st.none(),
        st.sampled_from(boundaries),
        st.integers(min_value=int(low), max_value=int(high)).map(float),
        st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False),
    )


ACUITY = measured(0.0, 2.0, [0.0, 0.019, 0.02, 0.0201, 0.049, 0.05, 0.099, 0.1, 0.299, 0.3, 0.31])
FIELD_RADIUS = measured(0.0, 90.0, [0.0, 4.9, 5.0, 5.1, 9.9, 10.0, 10.1])
HEARING_LOSS = measured(-10.0, 130.0, [40, 40.5, 41, 60, 60.5, 61, 80, 80.5, 81, 90, 90.5, 91])
SPEECH = measured(0.0, 100.0, [10, 10.5, 11, 25, 25.5, 26, 45, 45.5, 46, 65, 65.5, 66])
DQ = measured(0.0, 130.0, [25, 25.5, 26, 39, 39.5, 40, 54, 54.5, 55, 75, 75.5, 76])
IQ = measured(0.0, 150.0, [19, 19.5, 20, 34, 34.5, 35, 49, 49.5, 50, 69, 69.5, 70])
WHODAS = measured(36.0, 180.0, [51, 51.5, 52, 95, 95.5, 96, 105, 105.5, 106, 115, 115.5, 116])
ILLNESS_MONTHS = measured(0.0, 600.0, [0, 11, 12, 12.5, 13, 24])


# The oracle: one function per row of the table, most severe grade first; None is no grade.


def acuity_grade(acuity: float) -> int | None:
    if acuity < 0.02:
        return 1
    if acuity < 0.05:  # 0.02-< 0.05
        return 2
    if acuity < 0.1:  # 0.05-< 0.1
        return 3
    if acuity < 0.3:  # 0.1-< 0.3
        return 4
    return None


def field_grade(radius_deg: float) -> int | None:
    if radius_deg < 5:
        return 1
    if radius_deg < 10:
        return 2
    return None  # a wider field gives no grade by itself


def hearing_grade(loss_db: float) -> int | None:
    if loss_db > 90:
        return 1
    if loss_db > 80:  # 81-90
        return 2
    if loss_db > 60:  # 61-80
        return 3
    if loss_db > 40:  # 41-60
        return 4
    return None


def speech_grade(pct: float) -> int | None:
    if pct <= 10:
        return 1
    if pct <= 25:  # 11-25
        return 2
    if pct <= 45:  # 26-45
        return 3
    if pct <= 65:  # 46-65
        return 4
    return None


def dq_grade(dq: float) -> int | None:
    if dq <= 25:
        return 1
    if dq <= 39:  # 26-39
        return 2
    if dq <= 54:  # 40-54
        return 3
    if dq <= 75:  # 55-75
        return 4
    return None


def iq_grade(iq: float) -> int | None:
    if iq < 20:
        return 1
    if iq < 35:  # 20-34
        return 2
    if iq < 50:  # 35-49
        return 3
    if iq < 70:  # 50-69
        return 4
    return None


def whodas_grade(score: float) -> int | None:
    if score >= 116:
        return 1
    if score >= 106:  # 106-115
        return 2
    if score >= 96:  # 96-105
        return 3
    if score >= 52:  # 52-95
        return 4
    return None


def standard_levels(grades: list[int | None], combined_as_range: bool = False) -> tuple[int, ...] | None:
    """The grades the standard allows from the measures taken: None when none was taken, () when
    none reaches a grade, else the most severe one, or for an adult's IQ with WHO-DAS II every
    grade between the two (the measure reaching no grade does not narrow it)."""
    if not grades:
        return None
    reached = [grade for grade in grades if grade is not None]
    if not reached:
        return ()
    if combined_as_range:
        return tuple(range(min(reached), max(reached) + 1))
    return (min(reached),)


Row = Callable[[float], int | None]


def taken(*measures: tuple[float | None, Row]) -> list[int | None]:
    """The grade of every measure that was taken, by its row of the table."""
    return [row(value) for value, row in measures if value is not None]


def levels_of(category: str, measurements: Measurements, age_years: int) -> tuple[int, ...] | None:
    expectation = expected_levels(category, measurements, age_years)
    return None if expectation is None else expectation.levels


@PROPERTY
@given(acuity=ACUITY, field_radius=FIELD_RADIUS, age=AGES)
def test_visual_grade_is_the_more_severe_of_acuity_and_field(
    acuity: float | None, field_radius: float | None, age: int
) -> None:
    CASES["visual"] += 1
    measurements = Measurements(best_corrected_acuity=acuity, visual_field_radius_deg=field_radius)
    expected = standard_levels(taken((acuity, acuity_grade), (field_radius, field_grade)))
    assert levels_of("visual", measurements, age) == expected


@PROPERTY
@given(loss_db=HEARING_LOSS, age=AGES)
def test_hearing_grade_follows_the_average_loss_of_the_better_ear(loss_db: float | None, age: int) -> None:
    CASES["hearing"] += 1
    expected = standard_levels(taken((loss_db, hearing_grade)))
    assert levels_of("hearing", Measurements(hearing_loss_db=loss_db), age) == expected


@PROPERTY
@given(pct=SPEECH, age=AGES)
def test_speech_grade_follows_intelligibility(pct: float | None, age: int) -> None:
    CASES["speech"] += 1
    expected = standard_levels(taken((pct, speech_grade)))
    assert levels_of("speech", Measurements(speech_intelligibility_pct=pct), age) == expected


@PROPERTY
@given(dq=DQ, iq=IQ, whodas=WHODAS, age=AGES)
def test_intellectual_grade_follows_dq_to_six_iq_from_seven_and_whodas_for_adults(
    dq: float | None, iq: float | None, whodas: float | None, age: int
) -> None:
    CASES["intellectual"] += 1
    measurements = Measurements(dq=dq, iq=iq, whodas_score=whodas)
    if age <= 6:
        expected = standard_levels(taken((dq, dq_grade)))
    elif age < 18:
        expected = standard_levels(taken((iq, iq_grade)))
    else:
        expected = standard_levels(taken((iq, iq_grade), (whodas, whodas_grade)), combined_as_range=True)
    assert levels_of("intellectual", measurements, age) == expected


@PROPERTY
@given(whodas=WHODAS, illness_months=ILLNESS_MONTHS, age=AGES)
def test_mental_grade_follows_whodas_for_adults_ill_over_a_year(
    whodas: float | None, illness_months: float | None, age: int
) -> None:
    CASES["mental"] += 1
    measurements = Measurements(whodas_score=whodas, illness_months=illness_months)
    expected: tuple[int, ...] | None
    if age < 18:
        expected = None  # a minor's grade is the doctor's judgement: nothing to check
    elif illness_months is not None and illness_months <= 12:
        expected = ()  # not ill over one year: no grade by this measure
    else:
        expected = standard_levels(taken((whodas, whodas_grade)))
    assert levels_of("mental", measurements, age) == expected


def test_report_how_many_cases_were_generated(capsys: pytest.CaptureFixture[str]) -> None:
    # Last in the file, so pytest runs it after the properties above: it reports what they generated.
    categories = ("visual", "hearing", "speech", "intellectual", "mental")
    detail = ", ".join(f"{category} {CASES[category]}" for category in categories)
    with capsys.disabled():
        print(f"\ngrading property: {sum(CASES.values())} cases ({detail})")
