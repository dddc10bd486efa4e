"""A doctor in the browser: signs in with their doctor ID, reads the worklist, checks a level
against the measurements in words, is refused a level against them without a reason, and records
a result; the portal in-process, the four services real."""

from __future__ import annotations

import asyncio
import html
import re
from typing import Any

import httpx
import pytest

from .system import System, application, new_person, register_doctor, wait_for
from .test_main_flow import apply, status_of
from .test_portal_pages import hidden

# A county of its own (长兴县), with one institution and doctor for hearing disability: an
# application declared there goes to that doctor.
DOCTOR_REGION = "330522"


@pytest.fixture(scope="module")
def hearing_doctor(system: System, admin: str) -> str:
    return register_hearing_doctor(system, admin)


def register_hearing_doctor(system: System, admin: str) -> str:
    """A hearing doctor of DOCTOR_REGION; their id (the tests find the assigned one all the same)."""
    return register_doctor(system, admin, DOCTOR_REGION, ["hearing"], "长兴县人民医院", "周医生")


def register_multiple_doctor(system: System, admin: str) -> str:
    """A doctor of DOCTOR_REGION qualified for multiple disability and for hearing and visual, the
    components the tests grade; their id."""
    categories = ["multiple", "hearing", "visual"]
    return register_doctor(system, admin, DOCTOR_REGION, categories, "长兴县中医院", "钱医生")


def assigned_case(
    system: System, admin: str, doctor_id: str, category: str = "hearing"
) -> tuple[str, str, str, str]:
    """An adult's application of DOCTOR_REGION (hearing unless told), assigned: (application id,
    applicant token, assessment id, the id of the doctor it went to)."""
    person = new_person(DOCTOR_REGION)
    token = system.token("applicant", f"doctor-page-{person}", id_number=person)
    body = application(
        person, category=category, household_region=DOCTOR_REGION, residence_region=DOCTOR_REGION
    )
    created = apply(system, token, body)
    assert created.status_code == 201, created.text
    application_id = str(created.json()["id"])

    def scheduled() -> dict[str, Any] | None:
        # The doctor of the county first (a short list), else every scheduled one (admin).
        for asked, who in (("assigned=me", mine), ("status=scheduled&limit=500", admin)):
            items = system.call("assessment", "GET", f"/v1/assessments?{asked}", token=who).json()["items"]
            found = next((a for a in items if a["application_id"] == application_id), None)
            if found is not None and found["status"] == "scheduled":
                return found
        return None

    mine = system.token("doctor", f"doctor-{doctor_id}", doctor_id=doctor_id)
    assessment = wait_for(scheduled)
    detail = system.call("assessment", "GET", f"/v1/assessments/{assessment['id']}", token=admin).json()
    return application_id, token, str(assessment["id"]), str(detail["doctor_id"])


async def doctor_signed_in(visitor: httpx.AsyncClient, doctor_id: str) -> httpx.Response:
    answer = await visitor.post("/sign-in", data={"role": "doctor", "doctor_id": doctor_id})
    assert answer.status_code == 303, answer.text
    return answer


async def test_the_check_shows_the_range_the_assessment_service_gives(
    visitor: httpx.AsyncClient, system: System, admin: str, hearing_doctor: str
) -> None:
    """An adult's IQ and WHO-DAS II point at different grades: the page shows, measure by measure,
    the range the assessment service's grading check answers (the portal keeps no table of its own)."""
    _, _, assessment_id, doctor_id = await asyncio.to_thread(assigned_case, system, admin, hearing_doctor)
    age = system.call("assessment", "GET", f"/v1/assessments/{assessment_id}", token=admin).json()[
        "age_years"
    ]
    doctor = system.token("doctor", f"doctor-{doctor_id}", doctor_id=doctor_id)
    question = {"category": "intellectual", "age_years": age, "measurements": {"iq": 30, "whodas_score": 100}}
    given = system.call("assessment", "POST", "/v1/grading/check", question, token=doctor).json()
    low, high = given["expected_levels"][0], given["expected_levels"][-1]
    assert low < high, given  # a range

    await doctor_signed_in(visitor, doctor_id)
    case = await visitor.get(f"/worklist/{assessment_id}")
    form = {
        "csrf": hidden(case.text, "csrf"),
        "form_token": hidden(case.text, "form_token"),
        "category": "intellectual",
        "iq": "30",
        "whodas_score": "100",
        "action": "check",
    }
    checked = await visitor.post(f"/worklist/{assessment_id}", data=form)
    assert checked.status_code == 200
    assert f"测量结果对应{low}至{high}级。" in checked.text
    labels = {"iq": "智商（IQ）", "whodas_score": "WHO-DAS II 分值"}
    for weighed in given["weighed"]:
        assert f"{labels[weighed['measure']]} {weighed['value']:g}：{weighed['level']}级。" in checked.text
    assert "与此不同的等级须填写偏离理由。" in checked.text  # no level chosen yet


async def test_a_doctor_signs_in_and_only_doctors_use_the_worklist(
    visitor: httpx.AsyncClient, system: System
) -> None:
    missing = await visitor.post("/sign-in", data={"role": "doctor", "doctor_id": ""})
    assert missing.status_code == 422
    assert 'href="#doctor_id"' in missing.text
    assert 'aria-describedby="doctor_id-hint doctor_id-error"' in missing.text
    answer = await doctor_signed_in(visitor, "doctor-of-nobody")
    assert answer.headers["location"] == "/worklist"
    empty = await visitor.get("/worklist")
    assert empty.status_code == 200
    assert "目前没有分配给您的评定。" in empty.text
    assert (await visitor.get("/")).headers["location"] == "/worklist"
    for path in ("/applications/new", "/inbox", "/access-log", "/review"):
        assert (await visitor.get(path)).status_code == 403, path
    await visitor.post("/sign-in", data={"role": "reviewer", "region": "330502"})
    assert (await visitor.get("/worklist")).status_code == 403
    person = new_person()
    await visitor.post("/sign-in", data={"role": "applicant", "id_number": person})
    assert (await visitor.get("/worklist")).status_code == 403
    assert (await visitor.get("/worklist/some-id")).status_code == 403


async def test_the_doctor_checks_the_level_is_refused_a_contradiction_and_records_a_result(
    visitor: httpx.AsyncClient, system: System, admin: str, hearing_doctor: str
) -> None:
    application_id, applicant, assessment_id, doctor_id = await asyncio.to_thread(
        assigned_case, system, admin, hearing_doctor
    )
    await doctor_signed_in(visitor, doctor_id)
    worklist = await visitor.get("/worklist")
    assert worklist.status_code == 200
    assert worklist.text.count("<h1>") == 1
    assert f'href="/worklist/{assessment_id}"' in worklist.text
    assert "听力残疾" in worklist.text
    assert "待评定" in worklist.text  # the status, and a due date in the locale's form
    assert "年" in worklist.text
    assert "月" in worklist.text

    case = await visitor.get(f"/worklist/{assessment_id}")
    assert case.status_code == 200
    assert 'id="category-hearing" name="category" value="hearing" checked' in case.text
    assert '<label for="hearing_loss_db">' in case.text
    assert 'aria-describedby="level-check"' in case.text
    form = {
        "csrf": hidden(case.text, "csrf"),
        "form_token": hidden(case.text, "form_token"),
        "category": "hearing",
        "hearing_loss_db": "85",
        "level": "1",
        "findings": "双耳感音神经性聋",
    }

    checked = await visitor.post(f"/worklist/{assessment_id}", data={**form, "action": "check"})
    assert checked.status_code == 200
    assert "听力损失（dB HL） 85：2级。" in checked.text
    assert "测量结果对应2级。" in checked.text
    assert "您选择的1级与之不符" in checked.text
    assert 'value="85"' in checked.text
    assert 'id="level-1" name="level" value="1" checked' in checked.text
    in_english = await visitor.post(f"/worklist/{assessment_id}?lang=en", data={**form, "action": "check"})
    assert "The measurements give level 2." in in_english.text

    refused = await visitor.post(f"/worklist/{assessment_id}?lang=zh-CN", data={**form, "action": "record"})
    assert refused.status_code == 422
    assert 'role="alert"' in refused.text
    assert 'href="#level"' in refused.text
    assert 'href="#override_reason"' in refused.text
    assert 'id="level-error"' in refused.text
    assert 'id="override_reason-error"' in refused.text
    assert "测量结果对应2级：请改正等级或填写偏离理由。" in refused.text
    assert "双耳感音神经性聋" in refused.text  # everything typed is kept
    still = system.call("assessment", "GET", f"/v1/assessments/{assessment_id}", token=admin).json()
    assert still["status"] == "scheduled"
    assert still["result"] is None

    not_a_number = await visitor.post(
        f"/worklist/{assessment_id}",
        data={**form, "hearing_loss_db": "八十五", "level": "", "action": "record"},
    )
    assert not_a_number.status_code == 422
    assert 'href="#hearing_loss_db"' in not_a_number.text
    assert 'href="#level"' in not_a_number.text

    recorded = await visitor.post(
        f"/worklist/{assessment_id}", data={**form, "level": "2", "action": "record"}
    )
    assert recorded.status_code == 303
    assert recorded.headers["location"] == f"/worklist/{assessment_id}?recorded=1"
    shown = await visitor.get(recorded.headers["location"])
    assert "评定结果已记录。" in shown.text
    assert "已记录的评定结果" in shown.text
    assert 'name="action"' not in shown.text  # no second result
    await asyncio.to_thread(wait_for, lambda: status_of(system, applicant, application_id) == "assessed")


async def test_the_doctor_records_a_multiple_disability_by_its_components(
    visitor: httpx.AsyncClient, system: System, admin: str
) -> None:
    multiple_doctor = await asyncio.to_thread(register_multiple_doctor, system, admin)
    application_id, applicant, assessment_id, doctor_id = await asyncio.to_thread(
        assigned_case, system, admin, multiple_doctor, "multiple"
    )
    await doctor_signed_in(visitor, doctor_id)
    case = await visitor.get(f"/worklist/{assessment_id}")
    assert case.status_code == 200
    # The declared multiple disability is preselected; a fieldset per single category, with its
    # checkbox, its level and only its own measurements.
    assert 'id="category-multiple" name="category" value="multiple" checked' in case.text
    assert "<legend>视力残疾</legend>" in case.text
    assert "<legend>听力残疾</legend>" in case.text
    assert '<label for="component-hearing">属于本次多重残疾</label>' in case.text
    assert '<label for="component-hearing-hearing_loss_db">' in case.text
    assert 'id="component-hearing-best_corrected_acuity"' not in case.text
    assert 'id="component-visual-level-3" name="component-visual-level" value="3"' in case.text
    ids = re.findall(r'\sid="([^"]+)"', case.text)
    assert len(ids) == len(set(ids))
    for control in re.findall(r'<input type="(?:text|checkbox|radio)"[^>]*\sid="([^"]+)"', case.text):
        assert f'<label for="{control}">' in case.text, control
    assert "style=" not in case.text
    form = {
        "csrf": hidden(case.text, "csrf"),
        "form_token": hidden(case.text, "form_token"),
        "category": "multiple",
        "component-hearing": "1",
        "component-hearing-hearing_loss_db": "85",
        "component-hearing-level": "2",
        "component-visual": "1",
        "component-visual-best_corrected_acuity": "0.08",
        "component-visual-level": "3",
        "findings": "双耳感音神经性聋，双眼视力低下",
    }

    def unrecorded() -> bool:
        still = system.call("assessment", "GET", f"/v1/assessments/{assessment_id}", token=admin).json()
        return bool(still["status"] == "scheduled" and still["result"] is None)

    # One component only, ticked without a level: both mistakes at once, nothing sent.
    one = await visitor.post(
        f"/worklist/{assessment_id}",
        data={**form, "component-hearing": "", "component-visual-level": "", "action": "record"},
    )
    assert one.status_code == 422
    assert 'role="alert"' in one.text
    assert 'href="#components"' in one.text
    assert 'href="#component-visual-level"' in one.text
    assert 'id="components-error"' in one.text
    assert 'id="component-visual-level-error"' in one.text
    assert "请勾选两类或两类以上残疾" in one.text
    assert "视力残疾：请选择等级。" in one.text
    assert 'value="0.08"' in one.text
    assert 'value="85"' in one.text
    assert 'id="component-visual" name="component-visual" value="1" checked' in one.text
    assert "双耳感音神经性聋，双眼视力低下" in one.text
    assert unrecorded()

    # Two components, one without a level and with a bad number: both at their fields.
    two = await visitor.post(
        f"/worklist/{assessment_id}",
        data={
            **form,
            "component-visual-level": "",
            "component-visual-best_corrected_acuity": "零点零八",
            "action": "record",
        },
    )
    assert two.status_code == 422
    assert 'href="#component-visual-level"' in two.text
    assert 'href="#component-visual-best_corrected_acuity"' in two.text
    assert 'href="#components"' not in two.text
    assert 'href="#component-hearing-level"' not in two.text
    assert 'id="component-visual-best_corrected_acuity-error"' in two.text
    assert 'value="零点零八"' in two.text
    assert unrecorded()

    # The check in words, per component, and the overall level.
    checked = await visitor.post(f"/worklist/{assessment_id}", data={**form, "action": "check-components"})
    assert checked.status_code == 200
    assert "听力损失（dB HL） 85：2级。" in checked.text
    assert "最佳矫正视力 0.08：3级。" in checked.text
    assert "总体等级取各类残疾中最重的等级：2级。" in checked.text
    in_english = await visitor.post(
        f"/worklist/{assessment_id}?lang=en", data={**form, "action": "check-components"}
    )
    assert "The overall level is the most severe component's: level 2." in html.unescape(in_english.text)
    assert unrecorded()

    # A component's level against its measurements is refused at that component's level.
    refused = await visitor.post(
        f"/worklist/{assessment_id}?lang=zh-CN",
        data={**form, "component-hearing-level": "1", "action": "record"},
    )
    assert refused.status_code == 422
    assert 'href="#component-hearing-level"' in refused.text
    assert 'href="#override_reason"' in refused.text
    assert "测量结果对应2级：请改正等级或填写偏离理由。" in refused.text
    assert unrecorded()

    recorded = await visitor.post(f"/worklist/{assessment_id}", data={**form, "action": "record"})
    assert recorded.status_code == 303, recorded.text
    mine = system.token("doctor", f"doctor-{doctor_id}", doctor_id=doctor_id)
    result = system.call("assessment", "GET", f"/v1/assessments/{assessment_id}", token=mine).json()["result"]
    assert result["category"] == "multiple"
    assert result["level"] == 2
    assert sorted((c["category"], c["level"], c["measurements"]) for c in result["components"]) == [
        ("hearing", 2, {"hearing_loss_db": 85}),
        ("visual", 3, {"best_corrected_acuity": 0.08}),
    ]
    assert result["measurements"] == {}  # no measurements of its own
    shown = await visitor.get(recorded.headers["location"])
    assert "评定结果已记录。" in shown.text
    assert "多重残疾" in shown.text
    assert "听力残疾：残疾等级" in shown.text
    assert 'name="action"' not in shown.text
    await asyncio.to_thread(wait_for, lambda: status_of(system, applicant, application_id) == "assessed")


def test_the_multiple_disability_form_passes_axe(portal: str, system: System, admin: str) -> None:
    """The components in a browser: shown for 多重残疾 only, and without WCAG 2.2 AA violations
    when shown, checked, and with errors."""
    from playwright.sync_api import sync_playwright

    from .test_portal_accessibility import CHROMIUM, violations

    multiple_doctor = register_multiple_doctor(system, admin)
    _, _, assessment_id, doctor_id = assigned_case(system, admin, multiple_doctor, "multiple")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(locale="zh-CN")
        page.goto(f"{portal}/sign-in?lang=zh-CN")
        page.locator("select[name=role]").select_option("doctor")
        page.get_by_label(re.compile("医生编号|[Dd]octor ID")).fill(doctor_id)
        page.locator("button[type=submit]").first.click()
        page.wait_for_url(re.compile(r"/worklist$"))
        page.goto(f"{portal}/worklist/{assessment_id}")
        found = {"case": violations(page)}
        assert page.locator("#component-hearing").is_visible()
        assert not page.locator("#level").is_visible()
        page.locator("#category-hearing").check()
        assert page.locator("#level").is_visible()
        assert not page.locator("#component-hearing").is_visible()
        page.locator("#category-multiple").check()
        page.get_by_label("属于本次多重残疾").first.check()  # visual only: one component
        page.locator("button[name=action][value=record]").click()
        page.wait_for_load_state()
        assert page.get_by_role("alert").get_by_role("link").count() == 2
        page.get_by_role("alert").get_by_role("link").first.click()
        found["errors"] = violations(page)
        page.locator("#component-hearing").check()
        page.locator("#component-hearing-hearing_loss_db").fill("85")
        page.locator("#component-hearing-level-2").check()
        page.locator("#component-visual-best_corrected_acuity").fill("0.08")
        page.locator("#component-visual-level-3").check()
        page.locator("button[name=action][value=check-components]").click()
        page.wait_for_load_state()
        assert page.locator("#components-check li").count() == 1
        assert page.locator("#component-hearing-check li").count() >= 2
        found["checked"] = violations(page)
        browser.close()
    assert {name: v for name, v in found.items() if v} == {}
