"""The assigned doctor records the grade; the standard and the doctor's authority are checked."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conftest import AssessmentService

PROBLEM = "application/problem+json"


async def scheduled_with(
    service: AssessmentService,
    category: str = "visual",
    age_years: int = 40,
    doctor_categories: tuple[str, ...] = ("visual", "hearing", "intellectual", "multiple"),
) -> tuple[str, str]:
    """(assessment id, doctor id) of an assessment scheduled with a freshly registered doctor."""
    doctor = await service.qualified_doctor(service.regions.home, doctor_categories)
    application_id = await service.request_assessment(category, service.regions.home, age_years)
    return str((await service.assessment_of(application_id))["id"]), doctor


async def record(service: AssessmentService, assessment_id: str, doctor: str, body: dict[str, Any]) -> Any:
    return await service.call(
        "POST", f"/v1/assessments/{assessment_id}/result", service.doctor_token(doctor), body
    )


async def test_the_doctor_records_a_grade_and_the_published_event_holds_no_findings(
    service: AssessmentService,
) -> None:
    assessment_id, doctor = await scheduled_with(service)
    answer = await record(
        service,
        assessment_id,
        doctor,
        {
            "category": "visual",
            "level": 2,
            "findings": "双眼视神经萎缩",
            "measurements": {"best_corrected_acuity": 0.03, "visual_field_radius_deg": 20},
        },
    )
    assert answer.status_code == 201, answer.text
    assert answer.json() == {
        "id": assessment_id,
        "status": "assessed",
        "category": "visual",
        "level": 2,
        "components": [],
        "override_reason_given": False,
    }
    [published] = await service.published("GradeRecorded")
    assert published["data"] == {
        "assessment_id": assessment_id,
        "application_id": published["data"]["application_id"],
        "category": "visual",
        "level": 2,
        "components": [],
        "override_reason_given": False,
        "round": 0,
    }
    assert "双眼" not in str(published)
    detail = (
        await service.call("GET", f"/v1/assessments/{assessment_id}", service.doctor_token(doctor))
    ).json()
    assert detail["status"] == "assessed"
    assert detail["result"]["findings"] == "双眼视神经萎缩"
    assert detail["result"]["measurements"] == {"best_corrected_acuity": 0.03, "visual_field_radius_deg": 20}


async def test_a_grade_the_measurements_contradict_is_refused_naming_the_grades_they_give(
    service: AssessmentService,
) -> None:
    assessment_id, doctor = await scheduled_with(service, "hearing")
    body = {
        "category": "hearing",
        "level": 1,
        "findings": "双耳感音神经性聋",
        "measurements": {"hearing_loss_db": 85},
    }
    answer = await record(service, assessment_id, doctor, body)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith(PROBLEM)
    problem = answer.json()
    assert problem["expected_levels"] == [2]
    assert problem["code"] == "grade_outside_standard"
    assert problem["errors"] == [
        {"field": "level", "code": "grade_outside_standard", "message": "测量结果对应的等级：[2]"}
    ]
    assert "等级与测量结果不符" in problem["title"]
    in_english = await service.call(
        "POST",
        f"/v1/assessments/{assessment_id}/result",
        service.doctor_token(doctor),
        body,
        {"Accept-Language": "en"},
    )
    assert in_english.json()["title"].startswith("The grade contradicts the measurements")
    assert in_english.json()["errors"][0]["message"] == "expected levels: [2]"
    detail = (
        await service.call("GET", f"/v1/assessments/{assessment_id}", service.doctor_token(doctor))
    ).json()
    assert detail["status"] == "scheduled"
    assert detail["result"] is None


async def test_an_override_reason_lets_a_contradicting_grade_through_and_is_kept(
    service: AssessmentService,
) -> None:
    assessment_id, doctor = await scheduled_with(service, "hearing")
    answer = await record(
        service,
        assessment_id,
        doctor,
        {
            "category": "hearing",
            "level": 1,
            "measurements": {"hearing_loss_db": 85},
            "override_reason": "伴前庭功能丧失，实际交流能力按一级评定",
        },
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["override_reason_given"] is True
    [published] = await service.published("GradeRecorded")
    assert published["data"]["override_reason_given"] is True
    assert "override_reason" not in published["data"]
    detail = (
        await service.call("GET", f"/v1/assessments/{assessment_id}", service.doctor_token(doctor))
    ).json()
    assert detail["result"]["override_reason"] == "伴前庭功能丧失，实际交流能力按一级评定"
    report = (await service.call("GET", "/v1/reports/overrides", service.admin)).json()["items"]
    assert {"doctor_id": doctor, "results": 1, "overrides": 1} in report
    refused = await service.call("GET", "/v1/reports/overrides", service.doctor_token(doctor))
    assert refused.status_code == 403


async def test_a_childs_intellectual_grade_is_checked_against_the_development_quotient(
    service: AssessmentService,
) -> None:
    assessment_id, doctor = await scheduled_with(service, "intellectual", age_years=5)
    refused = await record(
        service,
        assessment_id,
        doctor,
        {"category": "intellectual", "level": 4, "measurements": {"dq": 30, "iq": 60}},
    )
    assert refused.status_code == 422
    assert refused.json()["expected_levels"] == [2]
    accepted = await record(
        service, assessment_id, doctor, {"category": "intellectual", "level": 2, "measurements": {"dq": 30}}
    )
    assert accepted.status_code == 201, accepted.text


async def test_a_multiple_disability_carries_its_most_severe_component(service: AssessmentService) -> None:
    assessment_id, doctor = await scheduled_with(service, "multiple")
    one = await record(
        service,
        assessment_id,
        doctor,
        {
            "category": "multiple",
            "components": [{"category": "hearing", "level": 3, "measurements": {"hearing_loss_db": 70}}],
        },
    )
    assert one.status_code == 422
    assert one.json()["code"] == "invalid_composition"
    contradicting = await record(
        service,
        assessment_id,
        doctor,
        {
            "category": "multiple",
            "components": [
                {"category": "hearing", "level": 1, "measurements": {"hearing_loss_db": 70}},
                {"category": "visual", "level": 2, "measurements": {"best_corrected_acuity": 0.03}},
            ],
        },
    )
    assert contradicting.status_code == 422
    assert contradicting.json()["expected_levels"] == [3]
    answer = await record(
        service,
        assessment_id,
        doctor,
        {
            "category": "multiple",
            "findings": "听力、视力双重残疾",
            "components": [
                {"category": "hearing", "level": 3, "measurements": {"hearing_loss_db": 70}},
                {"category": "visual", "level": 2, "measurements": {"best_corrected_acuity": 0.03}},
            ],
        },
    )
    assert answer.status_code == 201, answer.text
    [published] = await service.published("GradeRecorded")
    assert published["data"]["category"] == "multiple"
    assert published["data"]["level"] == 2
    assert published["data"]["components"] == [
        {"category": "hearing", "level": 3},
        {"category": "visual", "level": 2},
    ]


async def test_another_doctor_may_neither_see_nor_record_the_assessment(service: AssessmentService) -> None:
    assessment_id, _ = await scheduled_with(service)
    other = await service.doctor(await service.institution("110105"), ("visual",))
    body = {"category": "visual", "level": 4, "measurements": {"best_corrected_acuity": 0.2}}
    refused = await record(service, assessment_id, other, body)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith(PROBLEM)
    assert refused.json()["code"] == "not_the_assigned_doctor"
    seen = await service.call("GET", f"/v1/assessments/{assessment_id}", service.doctor_token(other))
    assert seen.status_code == 403


async def test_a_doctor_records_only_categories_they_are_qualified_for(service: AssessmentService) -> None:
    assessment_id, doctor = await scheduled_with(service, "visual", doctor_categories=("visual", "hearing"))
    answer = await record(service, assessment_id, doctor, {"category": "physical", "level": 2})
    assert answer.status_code == 403
    assert answer.json()["code"] == "doctor_not_qualified"
    reason = answer.json()
    assert (reason["category"], reason["qualified_categories"]) == ("physical", ["visual", "hearing"])
    assert reason["title"] == "医生无该残疾类别的评定资格"


async def test_a_result_is_recorded_once(service: AssessmentService) -> None:
    assessment_id, doctor = await scheduled_with(service)
    body = {"category": "visual", "level": 4, "measurements": {"best_corrected_acuity": 0.2}}
    assert (await record(service, assessment_id, doctor, body)).status_code == 201
    again = await record(service, assessment_id, doctor, {**body, "level": 3, "override_reason": "复查"})
    assert again.status_code == 409
    assert again.json()["code"] == "result_already_recorded"


async def test_an_unknown_assessment_is_not_found(service: AssessmentService) -> None:
    doctor = await service.qualified_doctor()
    answer = await record(service, "no-such-assessment", doctor, {"category": "visual", "level": 4})
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith(PROBLEM)
    seen = await service.call("GET", "/v1/assessments/no-such-assessment", service.doctor_token(doctor))
    assert seen.status_code == 404


async def test_an_admin_sees_the_grade_without_findings_or_measurements(service: AssessmentService) -> None:
    assessment_id, doctor = await scheduled_with(service)
    await record(
        service,
        assessment_id,
        doctor,
        {
            "category": "visual",
            "level": 3,
            "findings": "高度近视性黄斑病变",
            "measurements": {"best_corrected_acuity": 0.06},
        },
    )
    seen = (await service.call("GET", f"/v1/assessments/{assessment_id}", service.admin)).json()
    assert seen["result"]["level"] == 3
    assert seen["doctor_id"] == doctor
    assert "findings" not in seen["result"]
    assert "measurements" not in seen["result"]
    assert "黄斑" not in str(seen)
    assert "0.06" not in str(seen)


async def test_a_withdrawn_application_cancels_its_assessment_and_a_late_result_is_refused(
    service: AssessmentService,
) -> None:
    assessment_id, doctor = await scheduled_with(service)
    assessment = await service.call("GET", f"/v1/assessments/{assessment_id}", service.admin)
    application_id = assessment.json()["application_id"]
    await service.publish(
        "certificate", "ApplicationWithdrawn", {"application_id": application_id, "matter": "new"}
    )
    await service.handled("certificate")
    listed = await service.call("GET", "/v1/assessments?assigned=me", service.doctor_token(doctor))
    assert [item["status"] for item in listed.json()["items"] if item["id"] == assessment_id] == ["cancelled"]
    late = await record(
        service, assessment_id, doctor, {"category": "visual", "level": 2, "findings": "", "measurements": {}}
    )
    assert late.status_code == 409
    assert late.json()["code"] == "assessment_cancelled"
    [cancelled] = await service.published("AssessmentCancelled")
    assert cancelled["data"] == {
        "assessment_id": assessment_id,
        "application_id": application_id,
        "doctor_id": doctor,
        "reason": "withdrawn",
    }
    another = await service.request_assessment("visual", service.regions.home)
    assert await service.assigned_doctor(another) == doctor, "the cancelled one still counted as open load"


async def test_results_outside_the_standard_are_refused_whole(service: AssessmentService) -> None:
    assessment_id, doctor = await scheduled_with(service)
    wrong_kind = await record(
        service,
        assessment_id,
        doctor,
        {
            "category": "visual",
            "level": 2,
            "findings": "",
            "measurements": {"best_corrected_acuity": 0.03, "iq": 30},
        },
    )
    assert wrong_kind.status_code == 422
    assert wrong_kind.json()["code"] == "measurement_not_for_category"
    assert [error["field"] for error in wrong_kind.json()["errors"]] == ["measurements.iq"]
    beyond = await record(service, assessment_id, doctor, {"category": "visual", "level": 5, "findings": ""})
    assert beyond.status_code == 422
    alone = await record(
        service,
        assessment_id,
        doctor,
        {"category": "multiple", "findings": "", "components": [{"category": "visual", "level": 2}]},
    )
    assert alone.status_code == 422
    assert alone.json()["code"] == "invalid_composition"
    stored = await service.call("GET", f"/v1/assessments/{assessment_id}", service.doctor_token(doctor))
    assert stored.json()["status"] == "scheduled", "a refused result changed the assessment"


async def test_two_results_recorded_at_once_on_one_assessment_one_wins(service: AssessmentService) -> None:
    for _ in range(5):
        assessment_id, doctor = await scheduled_with(service)
        body = {
            "category": "visual",
            "level": 2,
            "findings": "",
            "measurements": {"best_corrected_acuity": 0.03},
        }
        answers = await asyncio.gather(*(record(service, assessment_id, doctor, body) for _ in range(2)))
        assert sorted(answer.status_code for answer in answers) == [201, 409]


async def test_findings_are_shown_to_the_doctor_the_reviewer_of_the_case_and_the_person_only(
    service: AssessmentService,
) -> None:
    from dcert_shared.ids import keyed_hash, make_identity_number

    doctor = await service.qualified_doctor(service.regions.home, ("visual",))
    person = make_identity_number(service.regions.home, date(1966, 6, 6), 66)
    application_id = str(uuid.uuid4())
    await service.publish(
        "certificate",
        "AssessmentRequested",
        {
            "application_id": application_id,
            "person_ref": keyed_hash(service.settings.identity_hash_key_bytes, person),
            "age_years": 60,
            "declared_category": "visual",
            "residence_region": service.regions.home,
            "household_region": service.regions.home,
            "home_visit": False,
        },
    )
    assessment_id = (await service.assessment_of(application_id))["id"]
    body = {
        "category": "visual",
        "level": 2,
        "findings": "双眼视神经萎缩",
        "measurements": {"best_corrected_acuity": 0.03},
    }
    assert (await record(service, assessment_id, doctor, body)).status_code == 201

    def findings_for(token: str) -> Any:
        return service.call("GET", f"/v1/assessments/{assessment_id}", token)

    for token in (
        service.doctor_token(doctor),
        service.token("reviewer", "reviewer-home", region=service.regions.home),
        service.token("applicant", "the-person", id_number=person),
    ):
        seen = await findings_for(token)
        assert seen.status_code == 200
        assert seen.json()["result"]["findings"] == "双眼视神经萎缩"
    other_person = make_identity_number(service.regions.home, date(1966, 6, 6), 67)
    for token in (
        service.token("reviewer", "reviewer-far", region=service.regions.other_province),
        service.token("applicant", "someone-else", id_number=other_person),
    ):
        refused = await findings_for(token)
        assert refused.status_code == 403
        assert refused.json()["code"] == "not_your_assessment"
    admin_view = (await findings_for(service.admin)).json()
    assert "findings" not in admin_view["result"]


async def test_findings_are_stored_sealed_and_erasing_the_person_leaves_only_the_grade(
    service: AssessmentService,
) -> None:
    person_ref = uuid.uuid4().hex * 2
    doctor = await service.qualified_doctor(service.regions.home, ("visual",))
    application_id = await service.request_assessment("visual", person_ref=person_ref)
    assessment_id = (await service.assessment_of(application_id))["id"]
    body = {
        "category": "visual",
        "level": 2,
        "findings": "右眼球摘除术后，左眼视神经萎缩",
        "measurements": {"best_corrected_acuity": 0.03},
    }
    assert (await record(service, assessment_id, doctor, body)).status_code == 201

    async def stored_text() -> str:
        async with service.runtime.pool.acquire() as conn:
            events = await conn.fetch("SELECT payload::text FROM events WHERE event_type = 'GradeRecorded'")
            views = await conn.fetch(
                "SELECT row_to_json(v)::text FROM assessment_view v WHERE id = $1", assessment_id
            )
        return " ".join(row[0] for row in [*events, *views])

    stored = await stored_text()
    assert "视神经萎缩" not in stored
    assert "best_corrected_acuity" not in stored
    # The value itself, as JSON writes it after its key (a bare "0.03" also matches timestamps).
    assert ": 0.03" not in stored
    assert ":0.03" not in stored

    def seen_by_the_doctor() -> Any:
        return service.call("GET", f"/v1/assessments/{assessment_id}", service.doctor_token(doctor))

    assert (await seen_by_the_doctor()).json()["result"]["findings"] == body["findings"]

    async with service.runtime.pool.acquire() as conn:
        assert await service.runtime.vault.erase(conn, person_ref)
        assert not await service.runtime.vault.erase(conn, person_ref)
    await service.runtime.rebuild_read_models()

    erased = (await seen_by_the_doctor()).json()["result"]
    assert (erased["category"], erased["level"]) == ("visual", 2)
    assert erased["findings"] is None
    assert erased["measurements"] == {}
    assert "视神经萎缩" not in await stored_text()


async def test_two_doctors_recording_at_once_while_the_assessment_moves_keep_one_result(
    service: AssessmentService,
) -> None:
    """The assigned doctor records while being suspended; the next doctor records at once too."""
    body = {"category": "visual", "level": 2, "findings": "", "measurements": {"best_corrected_acuity": 0.03}}
    for _ in range(3):
        first = await service.qualified_doctor(service.regions.home, ("visual",))
        application_id = await service.request_assessment("visual", service.regions.home)
        assessment_id = str((await service.assessment_of(application_id))["id"])
        assert await service.assigned_doctor(application_id) == first
        second = await service.qualified_doctor(service.regions.home, ("visual",))

        recorded, suspended = await asyncio.gather(
            record(service, assessment_id, first, body),
            service.call("POST", f"/v1/doctors/{first}/suspension", service.admin, {"reason": "停止执业"}),
        )
        assert suspended.status_code == 200, suspended.text
        if recorded.status_code == 201:  # the result came first: nothing left to move
            assert suspended.json()["reassigned"] == 0
            assert (await record(service, assessment_id, second, body)).status_code == 403
        else:
            assert recorded.status_code == 403
            assert suspended.json()["reassigned"] == 1
            late, on_time = await asyncio.gather(
                record(service, assessment_id, first, body), record(service, assessment_id, second, body)
            )
            assert (late.status_code, on_time.status_code) == (403, 201)
        async with service.runtime.pool.acquire() as conn:
            results = await conn.fetchval(
                "SELECT count(*) FROM events WHERE event_type = 'GradeRecorded' AND stream_id = $1",
                f"assessment-{assessment_id}",
            )
        assert results == 1
        # The next round starts with doctors of its own.
        await service.call("POST", f"/v1/doctors/{second}/suspension", service.admin, {"reason": "轮换"})
