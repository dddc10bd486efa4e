"""An applicant in the browser: signs in, applies (with mistakes first), follows the application;
the portal in-process, the four services real."""

from __future__ import annotations

import re
from typing import Any

import httpx

from .system import System, new_person


def hidden(page: str, name: str) -> str:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden {name}"
    return match.group(1)


async def signed_in(visitor: httpx.AsyncClient, person: str) -> httpx.Response:
    answer = await visitor.post("/sign-in", data={"role": "applicant", "id_number": person})
    assert answer.status_code == 303, answer.text
    return answer


async def the_form(visitor: httpx.AsyncClient) -> dict[str, str]:
    page = await visitor.get("/applications/new")
    assert page.status_code == 200
    return {"csrf": hidden(page.text, "csrf"), "form_token": hidden(page.text, "form_token")}


def filled_in(person: str, **changes: str) -> dict[str, str]:
    return {
        "applicant_id_number": person,
        "applicant_name": "王小明",
        "applicant_phone": "13800000000",
        "applicant_household_region": "330502",
        "applicant_residence_region": "330502",
        "applicant_address": "湖州市吴兴区人民路1号",
        "declared_category": "physical",
        "consent": "yes",
        **changes,
    }


def applications_of(system: System, person: str) -> list[dict[str, Any]]:
    token = system.token("applicant", f"check-{person}", id_number=person)
    answer = system.call("certificate", "GET", "/v1/applications", token=token)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]  # type: ignore[no-any-return]


async def test_a_visitor_signs_in_and_sees_their_home(visitor: httpx.AsyncClient) -> None:
    assert (await visitor.get("/")).headers["location"].startswith("/sign-in")
    person = new_person()
    answer = await signed_in(visitor, person)
    assert answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"]
    home = await visitor.get("/")
    assert home.status_code == 200
    assert '<html lang="zh-CN">' in home.text
    assert "<h1>我的申请</h1>" in home.text
    assert '<a class="skip-link" href="#main">' in home.text
    assert "您还没有申请。" in home.text
    assert person not in home.text  # shown masked
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()


async def test_a_wrong_identity_number_is_refused_at_sign_in(visitor: httpx.AsyncClient) -> None:
    page = await visitor.post("/sign-in", data={"role": "applicant", "id_number": "330502196001010011"})
    assert page.status_code == 422
    assert 'role="alert"' in page.text
    assert 'href="#id_number"' in page.text
    assert 'aria-describedby="id_number-hint id_number-error id_number-check"' in page.text


async def test_a_form_with_several_mistakes_shows_them_all_keeps_everything_and_creates_nothing(
    visitor: httpx.AsyncClient, system: System
) -> None:
    person = new_person()
    await signed_in(visitor, person)
    tokens = await the_form(visitor)
    typed = filled_in(
        person,
        applicant_name="",
        applicant_phone="not a phone",
        applicant_household_region="99",
        applicant_address="湖州市吴兴区人民路2号",
        declared_category="",
        consent="",
    )
    page = await visitor.post("/applications/new", data={**typed, **tokens})
    assert page.status_code == 422
    summary = page.text[
        page.text.index('role="alert"') : page.text.index("</div>", page.text.index('role="alert"'))
    ]
    for field in (
        "applicant_name",
        "applicant_phone",
        "applicant_household_region",
        "declared_category",
        "consent",
    ):
        assert f'href="#{field}"' in summary, field
        assert f'id="{field}-error"' in page.text, field
    for field in ("applicant_name", "applicant_phone", "applicant_household_region", "consent"):
        assert re.search(rf'id="{field}"[^>]*aria-describedby="[^"]*{field}-error"', page.text), field
    assert 'value="not a phone"' in page.text
    assert 'value="99"' in page.text
    assert 'value="湖州市吴兴区人民路2号"' in page.text
    assert "请填写此项。" in page.text
    assert applications_of(system, person) == []


async def test_a_correct_application_is_created_once_and_shown(
    visitor: httpx.AsyncClient, system: System
) -> None:
    person = new_person()
    await signed_in(visitor, person)
    answer = await visitor.post(
        "/applications/new", data={**filled_in(person, home_visit="yes"), **await the_form(visitor)}
    )
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    [created] = applications_of(system, person)
    assert location == f"/applications/{created['id']}"
    page = await visitor.get(location)
    assert page.status_code == 200
    assert "新办残疾人证" in page.text
    assert "办理进度" in page.text
    assert '<ol class="timeline">' in page.text  # the submission at least
    assert "<h1>" in page.text
    assert page.text.count("<h1>") == 1
    home = await visitor.get("/")
    assert location in home.text


async def test_the_same_form_sent_twice_creates_one_application(
    visitor: httpx.AsyncClient, system: System
) -> None:
    person = new_person()
    await signed_in(visitor, person)
    form = {**filled_in(person), **await the_form(visitor)}
    first = await visitor.post("/applications/new", data=form)
    second = await visitor.post("/applications/new", data=form)
    assert first.status_code == second.status_code == 303, second.text
    assert first.headers["location"] == second.headers["location"]
    assert len(applications_of(system, person)) == 1


async def test_pages_are_in_english_when_chosen(visitor: httpx.AsyncClient) -> None:
    await signed_in(visitor, new_person())
    home = await visitor.get("/?lang=en")
    assert '<html lang="en">' in home.text
    assert "<h1>My applications</h1>" in home.text
    for path, heading in (
        ("/applications/new", "Apply for a disability certificate"),
        ("/inbox", "Inbox"),
        ("/access-log", "Who read my record"),
    ):
        page = await visitor.get(path)  # the choice is remembered
        assert page.status_code == 200, path
        assert f"<h1>{heading}</h1>" in page.text, path
    back = await visitor.get("/?lang=zh-CN")
    assert "<h1>我的申请</h1>" in back.text


async def test_signing_out_ends_the_session(visitor: httpx.AsyncClient) -> None:
    await signed_in(visitor, new_person())
    csrf = hidden((await visitor.get("/")).text, "csrf")
    assert (await visitor.post("/sign-out", data={"csrf": csrf})).status_code == 303
    assert (await visitor.get("/")).headers["location"].startswith("/sign-in")
