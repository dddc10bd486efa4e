"""Before recording a result, a doctor (or the reviewer of the case) asks which grades the
measurements give: the service's own table answers, measure by measure."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from dcert_shared.ids import make_identity_number

if TYPE_CHECKING:
    from conftest import AssessmentService

PROBLEM = "application/problem+json"
CHECK = "/v1/grading/check"


async def test_a_doctor_learns_the_range_an_adults_iq_and_whodas_give(service: AssessmentService) -> None:
    question = {"category": "intellectual", "age_years": 40, "measurements": {"iq": 30, "whodas_score": 100}}
    answer = await service.call("POST", CHECK, service.doctor_token("d-1"), question)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "category": "intellectual",
        "age_years": 40,
        "outcome": "levels",
        "expected_levels": [2, 3],
        "weighed": [
            {"measure": "iq", "value": 30.0, "level": 2},
            {"measure": "whodas_score", "value": 100.0, "level": 3},
        ],
        "foreign_measurements": [],
    }


async def test_a_reviewer_learns_what_is_not_weighed_and_why(service: AssessmentService) -> None:
    reviewer = service.token("reviewer", "reviewer-1", region=service.regions.home)

    async def check(category: str, age_years: int, measurements: dict[str, float]) -> dict[str, object]:
        answer = await service.call(
            "POST",
            CHECK,
            reviewer,
            {"category": category, "age_years": age_years, "measurements": measurements},
        )
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    visual = await check("visual", 40, {"best_corrected_acuity": 0.5, "hearing_loss_db": 85})
    assert visual["outcome"] == "no_level"
    assert visual["expected_levels"] == []
    assert visual["foreign_measurements"] == ["hearing_loss_db"]
    assert (await check("physical", 40, {}))["outcome"] == "functional_assessment"
    assert (await check("mental", 15, {"whodas_score": 120}))["outcome"] == "adaptive_behaviour"
    short = await check("mental", 40, {"whodas_score": 120, "illness_months": 6})
    assert short["outcome"] == "short_illness"
    assert short["weighed"] == []
    assert (await check("hearing", 40, {}))["outcome"] == "not_measured"


async def test_only_doctors_and_reviewers_ask(service: AssessmentService) -> None:
    question = {"category": "hearing", "age_years": 40, "measurements": {"hearing_loss_db": 85}}
    applicant = service.token(
        "applicant", "citizen-1", id_number=make_identity_number("330502", date(1981, 1, 1), 5)
    )
    for caller in (service.admin, applicant):
        assert (await service.call("POST", CHECK, caller, question)).status_code == 403
    assert (await service.call("POST", CHECK, None, question)).status_code == 401


async def test_a_measurement_out_of_range_is_a_problem_in_either_language(service: AssessmentService) -> None:
    question = {"category": "hearing", "age_years": 40, "measurements": {"hearing_loss_db": 500}}
    messages = []
    for language in ("zh-CN", "en"):
        answer = await service.call(
            "POST", CHECK, service.doctor_token("d-1"), question, headers={"Accept-Language": language}
        )
        assert answer.status_code == 422
        assert answer.headers["content-type"].startswith(PROBLEM)
        problem = answer.json()
        assert problem["code"] == "validation_failed"
        [error] = problem["errors"]
        assert error["field"] == "measurements.hearing_loss_db"
        messages.append((problem["detail"], error["message"]))
    assert messages[0] != messages[1]
