"""The portal in a real browser (Debian's Chromium through Playwright): every page passes axe-core
with no WCAG 2.0/2.1/2.2 A or AA violation, in Chinese and in English, on a phone and at 200 %;
an application is made by keyboard alone; errors are announced and lead to their fields.
Screenshots of the pages go to docs/screenshots/."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

from .conftest import REGION
from .system import System, application, new_person
from .test_main_flow import apply, approved
from .test_portal_doctor import assigned_case, register_hearing_doctor
from .test_portal_matters import being_assessed
from .test_portal_review import assessed_application

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PHONE = {"width": 360, "height": 780}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def signed_in(
    browser: Browser, portal: str, id_number: str, language: str = "zh-CN", **context: object
) -> Page:
    page = browser.new_page(locale=language, **context)  # type: ignore[arg-type]
    page.goto(f"{portal}/sign-in?lang={'en' if language == 'en' else 'zh-CN'}")
    page.get_by_label(re.compile("身份证|[Ii]dentity")).first.fill(id_number)
    page.locator("select[name=role]").select_option("applicant")
    page.locator("button[type=submit]").first.click()
    page.wait_for_load_state()
    return page


def violations(page: Page) -> list[str]:
    result = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])})" for v in result.response["violations"]]


def no_sideways_scroll(page: Page) -> bool:
    return bool(
        page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1")
    )


@pytest.fixture(scope="module")
def an_application(system: System, portal: str, browser: Browser) -> tuple[str, str]:
    """An adult's application made through the portal, for the pages that show one."""
    person = new_person()
    page = signed_in(browser, portal, person)
    page.goto(f"{portal}/applications/new")
    submit_complete_form(page, person)
    page.wait_for_url(re.compile(r"/applications/[0-9a-f-]{36}$"))
    application_id = page.url.rsplit("/", 1)[1]
    page.close()
    return person, application_id


def submit_complete_form(page: Page, person: str) -> None:
    form = page.locator("form").filter(has=page.locator("[name=consent]"))
    values = {
        "applicant_id_number": person,
        "applicant_name": "王小明",
        "applicant_phone": "13800000000",
        "applicant_address": "湖州市吴兴区人民路1号",
        "applicant_household_region": "330502",
        "applicant_residence_region": "330502",
    }
    for name, value in values.items():
        field = form.locator(f"[name={name}]")
        if field.count():
            field.fill(value)
    form.locator("[name=declared_category][value=physical]").check()
    form.locator("[name=consent]").check()
    form.locator("button[type=submit]").click()


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_every_page_passes_axe_in_both_languages(
    portal: str, browser: Browser, an_application: tuple[str, str], language: str
) -> None:
    person, application_id = an_application
    page = signed_in(browser, portal, person, language)
    found = {}
    for path in (
        "/",
        "/applications/new",
        f"/applications/{application_id}",
        "/inbox",
        "/access-log",
        "/certificate",
    ):
        page.goto(portal + path)
        assert page.locator("h1").count() == 1, path
        found[path] = violations(page)
        if language == "zh-CN" or path == "/":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            name = (path.strip("/").replace("/", "-") or "home").replace(application_id, "case")
            page.screenshot(path=str(SCREENSHOTS / f"{name}.{language}.png"), full_page=True)
    page.goto(f"{portal}/sign-in")
    found["/sign-in"] = violations(page)
    assert {path: v for path, v in found.items() if v} == {}
    assert page.evaluate("document.documentElement.lang").startswith("zh" if language == "zh-CN" else "en")


def test_a_form_with_errors_announces_them_all_and_leads_to_each_field(
    portal: str, browser: Browser, system: System
) -> None:
    person = new_person()
    page = signed_in(browser, portal, person)
    page.goto(f"{portal}/applications/new")
    page.locator("[name=applicant_name]").fill("王小明")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()
    summary = page.get_by_role("alert")
    assert summary.count() >= 1
    links = summary.first.locator("a[href^='#']")
    assert links.count() >= 2, "every error is listed at the top"
    for index in range(links.count()):
        target = links.nth(index).get_attribute("href")
        field = page.locator(str(target))
        assert field.count() == 1, target
        described = field.get_attribute("aria-describedby")
        assert described, target
        assert page.locator(f"#{described.split()[0]}").is_visible(), target
        if field.evaluate("element => element.tagName") != "FIELDSET":  # a group names its error
            assert field.get_attribute("aria-invalid") == "true", target
    assert page.locator("[name=applicant_name]").input_value() == "王小明", "what was typed is kept"
    assert violations(page) == []
    mine = system.call(
        "certificate", "GET", "/v1/applications", token=system.token("applicant", "p", id_number=person)
    )
    assert mine.json()["items"] == [], "a refused form created an application"


def test_an_application_is_made_by_keyboard_alone(portal: str, browser: Browser) -> None:
    person = new_person(birth=date(1975, 5, 5))
    page = signed_in(browser, portal, person)
    page.goto(f"{portal}/applications/new")
    page.locator("body").focus()
    typed = {
        "applicant_id_number": person,
        "applicant_name": "王小明",
        "applicant_phone": "13800000000",
        "applicant_address": "湖州市吴兴区人民路1号",
        "applicant_household_region": "330502",
        "applicant_residence_region": "330502",
    }
    seen: set[str] = set()
    for _ in range(80):  # Tab through the form once, answering each control from the keyboard
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement; return e ? [e.tagName, e.name || '', e.type || '',"
            " e.value || '', getComputedStyle(e).outlineStyle, getComputedStyle(e).boxShadow] : null }"
        )
        tag, name, kind, value, outline, shadow = focused
        if tag in ("INPUT", "SELECT", "TEXTAREA", "BUTTON"):
            assert outline != "none" or shadow != "none", f"no visible focus on {name or tag}"
        if name in typed and name not in seen:
            page.keyboard.type(typed[name])
        elif name == "declared_category" and name not in seen or name == "consent" and name not in seen:
            page.keyboard.press("Space")
        elif tag == "BUTTON" and kind == "submit" and {"consent", "applicant_name"} <= seen:
            page.keyboard.press("Enter")
            break
        seen.add(name)
    page.wait_for_url(re.compile(r"/applications/[0-9a-f-]{36}$"), timeout=15_000)
    assert page.locator("h1").count() == 1


def test_the_identity_number_is_checked_as_it_is_typed(portal: str, browser: Browser) -> None:
    person = new_person(birth=date(1980, 7, 1))
    wrong_last = person[:17] + ("0" if person[17] != "0" else "1")
    page = signed_in(browser, portal, person)
    page.goto(f"{portal}/applications/new")
    field = page.locator("#applicant_id_number")
    said = page.locator("#applicant_id_number-check")
    assert said.get_attribute("aria-live") == "polite"
    assert "applicant_id_number-check" in (field.get_attribute("aria-describedby") or "")
    field.fill("")
    field.press_sequentially(person[:10])
    assert said.inner_text() == "", "nothing said while the number is still being typed"
    field.press_sequentially("A")
    assert "字母X" in said.inner_text(), "a wrong character is said at once"
    field.fill("")
    field.press_sequentially(wrong_last)
    assert "校验不通过" in said.inner_text()
    field.fill("")
    field.press_sequentially(person[:6] + "19800231" + person[14:])
    assert "出生日期" in said.inner_text()
    field.fill("")
    field.press_sequentially(person.lower())
    assert said.inner_text() == "身份证号码格式正确。"
    field.fill(person[:12])
    field.blur()
    assert "已输入12位" in said.inner_text(), "leaving the field says how far it got"
    assert violations(page) == []
    page.close()


@pytest.mark.parametrize("how", ["phone", "zoom"])
def test_pages_fit_a_phone_and_200_percent_zoom(
    portal: str, browser: Browser, an_application: tuple[str, str], how: str
) -> None:
    person, application_id = an_application
    context = {"viewport": PHONE} if how == "phone" else {"viewport": {"width": 1280, "height": 800}}
    page = signed_in(browser, portal, person, **context)
    for path in ("/", "/applications/new", f"/applications/{application_id}"):
        page.goto(portal + path)
        if how == "zoom":
            page.evaluate("document.documentElement.style.zoom = '200%'")
        assert no_sideways_scroll(page), f"{path} scrolls sideways ({how})"
    if how == "phone":
        page.goto(portal + "/applications/new")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "applications-new.phone.zh-CN.png"), full_page=True)


def test_the_reviewers_pages_pass_axe(portal: str, browser: Browser, system: System, doctor: str) -> None:
    reviewer = system.token("reviewer", "reviewer-axe", region=REGION)
    application_id = assessed_application(system, doctor, reviewer)
    page = browser.new_page(locale="zh-CN")
    page.goto(f"{portal}/sign-in?lang=zh-CN")
    page.locator("select[name=role]").select_option("reviewer")
    page.get_by_label(re.compile("地区代码|[Rr]egion code")).fill(REGION)
    page.locator("button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/review$"))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    found = {}
    for path, name in (("/review", "review"), (f"/review/{application_id}", "review-case")):
        page.goto(portal + path)
        assert page.locator("h1").count() == 1, path
        found[path] = violations(page)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.zh-CN.png"), full_page=True)
    page.locator("#decision-reject").check()
    page.locator("form button.primary").click()
    page.wait_for_load_state()
    assert page.get_by_role("alert").count() >= 1
    found["errors"] = violations(page)
    assert {path: v for path, v in found.items() if v} == {}
    page.close()


def test_the_matters_form_and_the_appointment_pass_axe(
    portal: str, browser: Browser, system: System, doctor: str, reviewer: str
) -> None:
    child, parent = new_person(birth=date(2016, 2, 9)), new_person()
    parent_token = system.token("applicant", f"axe-matters-{parent}", id_number=parent)
    made = apply(system, parent_token, application(child, agent=parent), key=f"axe-matters-{child}")
    assert made.status_code == 201, made.text
    approved(system, doctor, reviewer, made.json()["id"])
    assessing = apply(system, parent_token, application(new_person(birth=date(2018, 3, 1)), agent=parent))
    assert assessing.status_code == 201, assessing.text
    being_assessed(system, parent_token, assessing.json()["id"])

    page = signed_in(browser, portal, parent)
    found = {}
    page.goto(f"{portal}/certificate/{made.json()['id']}")
    page.get_by_role("link", name="迁移").click()
    page.wait_for_url(re.compile(r"/matters/new\?matter=transfer$"))
    assert page.locator("h1").count() == 1
    found["empty"] = violations(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "matters-new.zh-CN.png"), full_page=True)
    page.locator("form button.primary").click()
    page.wait_for_load_state()
    assert page.get_by_role("alert").count() == 1
    page.get_by_role("alert").get_by_role("link").first.click()
    found["errors"] = violations(page)
    page.goto(f"{portal}/applications/{assessing.json()['id']}")
    assert page.locator("input[name=starts_at]").count() >= 1
    found["slots"] = violations(page)
    page.locator("form button.primary").click()
    page.wait_for_load_state()
    assert page.get_by_role("alert").count() == 1
    found["slot errors"] = violations(page)
    assert {name: v for name, v in found.items() if v} == {}
    page.close()


def test_the_doctors_pages_pass_axe(portal: str, browser: Browser, system: System, admin: str) -> None:
    hearing_doctor = register_hearing_doctor(system, admin)
    _, _, assessment_id, doctor_id = assigned_case(system, admin, hearing_doctor)
    page = browser.new_page(locale="zh-CN")
    page.goto(f"{portal}/sign-in?lang=zh-CN")
    page.locator("select[name=role]").select_option("doctor")
    page.get_by_label(re.compile("医生编号|[Dd]octor ID")).fill(doctor_id)
    page.locator("button[type=submit]").first.click()
    page.wait_for_url(re.compile(r"/worklist$"))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    found = {}
    page.goto(f"{portal}/worklist")
    assert page.locator("h1").count() == 1
    found["worklist"] = violations(page)
    page.screenshot(path=str(SCREENSHOTS / "worklist.zh-CN.png"), full_page=True)
    page.goto(f"{portal}/worklist/{assessment_id}")
    found["case"] = violations(page)
    page.locator("#hearing_loss_db").fill("85")
    page.locator("#level-1").check()
    page.locator("button[name=action][value=check]").click()
    page.wait_for_load_state()
    assert page.locator("#level-check li").count() >= 2
    found["checked"] = violations(page)
    page.screenshot(path=str(SCREENSHOTS / "worklist-case.zh-CN.png"), full_page=True)
    page.locator("button[name=action][value=record]").click()
    page.wait_for_load_state()
    assert page.get_by_role("alert").count() == 1
    page.get_by_role("alert").get_by_role("link").first.click()
    found["errors"] = violations(page)
    assert {name: v for name, v in found.items() if v} == {}
    page.close()
