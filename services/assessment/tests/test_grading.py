"""The GB/T 26341-2010 table, boundary by boundary: which grades the measurements give."""

from __future__ import annotations

import pytest

from dcert_assessment.domain.grading import (
    SCALES,
    Measurements,
    contradiction,
    expected_levels,
    most_severe_level,
)

ADULT, CHILD, SCHOOLCHILD = 40, 5, 12


@pytest.mark.parametrize(
    ("acuity", "level"),
    [
        (0.0, 1),
        (0.019, 1),
        (0.02, 2),
        (0.049, 2),
        (0.05, 3),
        (0.09, 3),
        (0.1, 4),
        (0.29, 4),
        (0.3, None),
        (1.0, None),
    ],
)
def test_best_corrected_acuity_of_the_better_eye_sets_the_visual_grade(
    acuity: float, level: int | None
) -> None:
    assert SCALES["best_corrected_acuity"].level(acuity) == level


@pytest.mark.parametrize(("radius", "level"), [(0, 1), (4.9, 1), (5, 2), (9.9, 2), (10, None), (60, None)])
def test_a_narrow_visual_field_alone_gives_grade_one_or_two(radius: float, level: int | None) -> None:
    assert SCALES["visual_field_radius_deg"].level(radius) == level


@pytest.mark.parametrize(
    ("loss_db", "level"),
    [
        (120, 1),
        (91, 1),
        (90.5, 1),
        (90, 2),
        (81, 2),
        (80, 3),
        (61, 3),
        (60, 4),
        (41, 4),
        (40, None),
        (20, None),
    ],
)
def test_average_hearing_loss_of_the_better_ear_sets_the_hearing_grade(
    loss_db: float, level: int | None
) -> None:
    assert SCALES["hearing_loss_db"].level(loss_db) == level


@pytest.mark.parametrize(
    ("pct", "level"),
    [(0, 1), (10, 1), (11, 2), (25, 2), (26, 3), (45, 3), (46, 4), (65, 4), (66, None), (100, None)],
)
def test_speech_intelligibility_sets_the_speech_grade(pct: float, level: int | None) -> None:
    assert SCALES["speech_intelligibility_pct"].level(pct) == level


@pytest.mark.parametrize(
    ("dq", "level"), [(10, 1), (25, 1), (26, 2), (39, 2), (40, 3), (54, 3), (55, 4), (75, 4), (76, None)]
)
def test_development_quotient_grades_young_children(dq: float, level: int | None) -> None:
    assert SCALES["dq"].level(dq) == level


@pytest.mark.parametrize(
    ("iq", "level"), [(5, 1), (19, 1), (20, 2), (34, 2), (35, 3), (49, 3), (50, 4), (69, 4), (70, None)]
)
def test_intelligence_quotient_grades_from_age_seven(iq: float, level: int | None) -> None:
    assert SCALES["iq"].level(iq) == level


@pytest.mark.parametrize(
    ("score", "level"),
    [(180, 1), (116, 1), (115, 2), (106, 2), (105, 3), (96, 3), (95, 4), (52, 4), (51, None), (36, None)],
)
def test_whodas_score_grades_adults(score: float, level: int | None) -> None:
    assert SCALES["whodas_score"].level(score) == level


def test_visual_grade_follows_the_more_severe_of_acuity_and_field() -> None:
    measured = Measurements(best_corrected_acuity=0.2, visual_field_radius_deg=8)
    expectation = expected_levels("visual", measured, ADULT)
    assert expectation is not None
    assert expectation.levels == (2,)
    assert expectation.basis == ("best_corrected_acuity", "visual_field_radius_deg")


def test_good_sight_and_a_wide_field_reach_no_visual_grade() -> None:
    expectation = expected_levels(
        "visual", Measurements(best_corrected_acuity=0.5, visual_field_radius_deg=30), ADULT
    )
    assert expectation is not None
    assert expectation.levels == ()


def test_a_five_year_old_is_graded_by_dq_not_iq() -> None:
    measured = Measurements(dq=30, iq=60)
    expectation = expected_levels("intellectual", measured, CHILD)
    assert expectation is not None
    assert expectation.levels == (2,)
    assert expectation.basis == ("dq",)


def test_a_schoolchild_is_graded_by_iq_and_the_adult_whodas_is_not_weighed() -> None:
    measured = Measurements(dq=30, iq=45, whodas_score=120)
    expectation = expected_levels("intellectual", measured, SCHOOLCHILD)
    assert expectation is not None
    assert expectation.levels == (3,)
    assert expectation.basis == ("iq",)


def test_age_six_still_uses_dq_and_age_seven_uses_iq() -> None:
    measured = Measurements(dq=30, iq=60)
    assert expected_levels("intellectual", measured, 6).levels == (2,)  # type: ignore[union-attr]
    assert expected_levels("intellectual", measured, 7).levels == (4,)  # type: ignore[union-attr]


def test_an_adult_with_iq_and_whodas_apart_may_be_graded_anywhere_between() -> None:
    measured = Measurements(iq=30, whodas_score=60)  # IQ says 二级, WHO-DAS II says 四级
    expectation = expected_levels("intellectual", measured, ADULT)
    assert expectation is not None
    assert expectation.levels == (2, 3, 4)
    assert contradiction("intellectual", 3, measured, ADULT) is None
    assert contradiction("intellectual", 1, measured, ADULT) == expectation


def test_mental_disability_is_graded_by_whodas_for_adults_ill_over_a_year() -> None:
    measured = Measurements(whodas_score=110, illness_months=24)
    assert contradiction("mental", 2, measured, ADULT) is None
    assert contradiction("mental", 3, measured, ADULT) is not None


def test_a_mental_illness_of_twelve_months_or_less_reaches_no_grade() -> None:
    expectation = contradiction("mental", 2, Measurements(whodas_score=110, illness_months=12), ADULT)
    assert expectation is not None
    assert expectation.levels == ()
    assert expectation.basis == ("illness_months",)
    assert contradiction("mental", 2, Measurements(whodas_score=110, illness_months=13), ADULT) is None


def test_a_minors_mental_grade_is_the_doctors_judgement() -> None:
    assert expected_levels("mental", Measurements(whodas_score=60, illness_months=3), 17) is None
    assert expected_levels("mental", Measurements(whodas_score=60, illness_months=24), 18) is not None


def test_physical_disability_has_no_numeric_check() -> None:
    assert expected_levels("physical", Measurements(hearing_loss_db=100, iq=10), ADULT) is None
    assert contradiction("physical", 1, Measurements(), ADULT) is None


def test_measurements_of_another_category_are_not_weighed() -> None:
    assert expected_levels("hearing", Measurements(best_corrected_acuity=0.01), ADULT) is None


def test_no_measurements_means_nothing_to_check() -> None:
    for category in ("visual", "hearing", "speech", "intellectual", "mental"):
        assert expected_levels(category, Measurements(), ADULT) is None


def test_a_grade_that_agrees_passes_and_one_that_does_not_names_the_expected_grade() -> None:
    measured = Measurements(hearing_loss_db=85)
    assert contradiction("hearing", 2, measured, ADULT) is None
    expectation = contradiction("hearing", 1, measured, ADULT)
    assert expectation is not None
    assert expectation.levels == (2,)
    assert expectation.basis == ("hearing_loss_db",)


def test_multiple_disability_carries_the_most_severe_component_grade() -> None:
    assert most_severe_level([3, 1, 4]) == 1
    assert most_severe_level([2, 2]) == 2
