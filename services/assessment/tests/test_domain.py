"""The assessment model without I/O: who is assigned, and what a doctor may record."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from dcert_assessment.domain.assessment import (
    Assessment,
    AssessmentRequest,
    AssessmentStatus,
    Component,
    Result,
)
from dcert_assessment.domain.assignment import Candidate, choose_doctor, distance
from dcert_assessment.domain.errors import (
    CategoriesOutsideInstitution,
    DoctorNotQualified,
    GradeOutsideStandard,
    InvalidComposition,
    NotTheAssignedDoctor,
    ResultAlreadyRecorded,
)
from dcert_assessment.domain.events import GradeRecorded
from dcert_assessment.domain.grading import Measurements
from dcert_assessment.domain.staff import Doctor, Institution

SEALED = "v1.c2VhbGVk"  # what the vault made of the record: the domain never opens it

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def a_candidate(
    doctor_id: str, region: str, open_assessments: int = 0, registered_minutes: int = 0, total: int = 0
) -> Candidate:
    return Candidate(
        doctor_id,
        f"inst-{doctor_id}",
        region,
        open_assessments,
        T0 + timedelta(minutes=registered_minutes),
        total,
    )


def test_nearness_is_region_then_city_then_province() -> None:
    assert distance("330502", "330502") == 0
    assert distance("330502", "330503") == 1
    assert distance("330502", "330102") == 2
    assert distance("330502", "320502") is None


def test_the_nearest_doctor_wins_even_when_busier() -> None:
    chosen = choose_doctor(
        [
            a_candidate("province", "330102"),
            a_candidate("city", "330503", 3),
            a_candidate("county", "330502", 9),
        ],
        "330502",
    )
    assert chosen is not None
    assert chosen.doctor_id == "county"


def test_among_equally_near_doctors_the_least_loaded_then_the_first_registered_goes_first() -> None:
    doctors = [
        a_candidate("b", "330502", 1, 1),
        a_candidate("a", "330502", 1, 2),
        a_candidate("c", "330502", 2, 0),
    ]
    assert choose_doctor(doctors, "330502").doctor_id == "b"  # type: ignore[union-attr]


def test_a_newly_registered_doctor_is_not_passed_over_by_an_idle_old_hand() -> None:
    doctors = [
        a_candidate("veteran", "330502", 0, 0, total=40),
        a_candidate("newcomer", "330502", 0, 60, total=0),
    ]
    assert choose_doctor(doctors, "330502").doctor_id == "newcomer"  # type: ignore[union-attr]


def test_no_doctor_outside_the_province_is_chosen() -> None:
    assert choose_doctor([a_candidate("far", "110101")], "330502") is None


def an_institution(
    categories: tuple[str, ...] = ("visual", "hearing", "multiple", "physical"),
) -> Institution:
    return Institution.register("inst-1", "吴兴区人民医院", "330502", categories)


def a_doctor(
    doctor_id: str = "doc-1", categories: tuple[str, ...] = ("visual", "hearing", "multiple")
) -> Doctor:
    doctor = Doctor.register(doctor_id, an_institution(), "李医生", f"LIC-{doctor_id}", categories)
    doctor.mark_saved()
    return doctor


def a_scheduled_assessment(
    category: str = "visual", age_years: int = 40, doctor_id: str = "doc-1"
) -> Assessment:
    assessment = Assessment.open(
        "asmt-1", AssessmentRequest("app-1", "ref", age_years, category, "330502", "330502", False)
    )
    assessment.schedule(doctor_id, "inst-1")
    assessment.mark_saved()
    return assessment


def test_a_doctor_cannot_be_qualified_beyond_their_institution() -> None:
    with pytest.raises(CategoriesOutsideInstitution):
        Doctor.register("doc-2", an_institution(("visual",)), "王医生", "LIC-2", ["visual", "mental"])


def test_a_scheduled_assessment_keeps_its_doctor() -> None:
    assessment = a_scheduled_assessment()
    assessment.schedule("doc-9", "inst-9")
    assert assessment.doctor_id == "doc-1"
    assert assessment.pending_events == []


def test_the_assigned_doctor_records_a_grade_that_agrees_with_the_measurements() -> None:
    assessment = a_scheduled_assessment()
    assessment.record_grade(
        a_doctor(), Result("visual", 2, "双眼", Measurements(best_corrected_acuity=0.03)), SEALED
    )
    [recorded] = assessment.pending_events
    assert isinstance(recorded, GradeRecorded)
    assert (recorded.level, recorded.override_reason_given) == (2, False)
    assert assessment.status is AssessmentStatus.ASSESSED
    assert "sealed_record" not in recorded.published_data()


def test_only_the_assigned_and_qualified_doctor_records_and_only_once() -> None:
    assessment = a_scheduled_assessment()
    with pytest.raises(NotTheAssignedDoctor):
        assessment.record_grade(a_doctor("doc-2"), Result("visual", 4), SEALED)
    with pytest.raises(DoctorNotQualified):
        assessment.record_grade(a_doctor(categories=("hearing",)), Result("visual", 4), SEALED)
    assessment.record_grade(a_doctor(), Result("visual", 4), SEALED)
    with pytest.raises(ResultAlreadyRecorded):
        assessment.record_grade(a_doctor(), Result("visual", 4), SEALED)


def test_a_contradicting_grade_needs_a_reason_which_is_kept() -> None:
    assessment = a_scheduled_assessment()
    measured = Measurements(best_corrected_acuity=0.03)
    with pytest.raises(GradeOutsideStandard) as refused:
        assessment.record_grade(a_doctor(), Result("visual", 4, None, measured), SEALED)
    assert refused.value.expected_levels == [2]
    assert assessment.pending_events == []
    assessment.record_grade(
        a_doctor(), Result("visual", 4, None, measured, override_reason="合并眼球震颤"), SEALED
    )
    [recorded] = assessment.pending_events
    assert isinstance(recorded, GradeRecorded)
    assert recorded.override_reason_given
    assert recorded.sealed_record == SEALED


def test_a_multiple_disability_has_two_different_components_and_their_most_severe_grade() -> None:
    hearing = Component("hearing", 3, Measurements(hearing_loss_db=70))
    visual = Component("visual", 2, Measurements(best_corrected_acuity=0.03))
    for components in ((hearing,), (hearing, hearing)):
        with pytest.raises(InvalidComposition):
            a_scheduled_assessment("multiple").record_grade(
                a_doctor(), Result("multiple", None, components=components), SEALED
            )
    assessment = a_scheduled_assessment("multiple")
    assessment.record_grade(a_doctor(), Result("multiple", None, components=(hearing, visual)), SEALED)
    [recorded] = assessment.pending_events
    assert isinstance(recorded, GradeRecorded)
    assert recorded.category == "multiple"
    assert recorded.level == 2
    assert [c.model_dump() for c in recorded.components] == [
        {"category": "hearing", "level": 3},
        {"category": "visual", "level": 2},
    ]


def test_a_home_visit_goes_first_to_a_doctor_who_does_home_visits_but_never_waits_for_one() -> None:
    office = a_candidate("office", "330502", 0, 0)
    visiting = replace(a_candidate("visiting", "330503", 3, 1), home_visits=True)
    assert choose_doctor([office, visiting], "330502", home_visit=True).doctor_id == "visiting"  # type: ignore[union-attr]
    assert choose_doctor([office, visiting], "330502").doctor_id == "office"  # type: ignore[union-attr]
    assert choose_doctor([office], "330502", home_visit=True).doctor_id == "office"  # type: ignore[union-attr]


def test_a_doctor_never_gets_their_own_assessment() -> None:
    themself = replace(a_candidate("self", "330502", 0, 0), person_ref="ref-doctor")
    other = a_candidate("other", "330503", 5, 1)
    assert choose_doctor([themself, other], "330502", person_ref="ref-doctor").doctor_id == "other"  # type: ignore[union-attr]
    assert choose_doctor([themself], "330502", person_ref="ref-doctor") is None


async def test_a_grade_recorded_before_sealing_still_reads_as_its_record() -> None:
    from dcert_assessment.adapters.medical_records import open_record
    from dcert_assessment.domain.events import MedicalRecord, registry
    from dcert_shared.envelope import EventEnvelope
    from dcert_shared.vault import LocalKeyManager, Vault

    version_1 = {
        "assessment_id": "asm-1",
        "application_id": "app-1",
        "category": "visual",
        "level": 2,
        "components": [],
        "override_reason_given": False,
        "doctor_id": "doc-1",
        "findings": "双眼视神经萎缩",
        "measurements": {"best_corrected_acuity": 0.03},
        "component_measurements": [],
        "override_reason": None,
    }
    stored = EventEnvelope(
        event_id=uuid.uuid4(),
        event_type="GradeRecorded",
        schema_version=1,
        stream_id="assessment-asm-1",
        stream_version=3,
        payload=version_1,
        source="/dcert/assessment",
        occurred_at=datetime.now(UTC),
        correlation_id=uuid.uuid4(),
    )
    event = registry().decode(stored)
    assert isinstance(event, GradeRecorded)
    assert event.level == 2
    # The legacy token never reaches the vault: no connection is needed to read it.
    record = await open_record(Vault(LocalKeyManager(bytes(32))), None, "ab" * 32, event.sealed_record)  # type: ignore[arg-type]
    assert record == MedicalRecord(findings="双眼视神经萎缩", measurements={"best_corrected_acuity": 0.03})


def test_only_a_scheduled_assessment_of_that_doctor_is_released() -> None:
    assessment = a_scheduled_assessment()
    assert not assessment.release("doc-9", "doctor_suspended")
    assessment.record_grade(a_doctor(), Result("visual", 4), SEALED)
    assert not assessment.release("doc-1", "doctor_suspended"), "a result came before the suspension"
    assert [type(event) for event in assessment.pending_events] == [GradeRecorded]
