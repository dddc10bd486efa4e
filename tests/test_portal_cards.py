"""The card centre (制卡中心) in the portal: signs in with its province, sees the cards ordered for
it, takes a batch (a double click takes one), reports produced and dispatched with tracking numbers,
and is refused a dispatch without one, which changes nothing. The portal in-process, the four
services real. The province is one of its own (四川, 51), so no other test's cards mix in."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser

from .system import System, application, new_person, register_doctor
from .test_main_flow import apply, approved
from .test_portal_accessibility import PHONE, SCREENSHOTS, browser, no_sideways_scroll, violations
from .test_portal_pages import hidden, signed_in

__all__ = ["browser"]  # the module's Chromium, shared with the accessibility tests' fixture

COUNTY = "510104"  # 成都市锦江区: the only county of province 51 in the tests
PROVINCE = "510000"
OTHER_PROVINCE = "520000"  # 贵州: a card centre with no card here


@pytest.fixture(scope="module")
def certified(system: System, admin: str) -> Callable[[], str]:
    """A fresh certificate of COUNTY through the real flow (its card is ordered): its number."""
    doctor_id = register_doctor(system, admin, COUNTY, ["physical"], "锦江区人民医院", "蒲医生")
    doctor = system.token("doctor", "doctor-chengdu", doctor_id=doctor_id)
    reviewer = system.token("reviewer", "reviewer-chengdu", region=COUNTY)

    def make() -> str:
        person = new_person(COUNTY)
        token = system.token("applicant", f"cards-{person}", id_number=person)
        body = application(person, household_region=COUNTY, residence_region=COUNTY)
        created = apply(system, token, body, key=f"cards-{person}")
        assert created.status_code == 201, created.text
        return approved(system, doctor, reviewer, created.json()["id"])

    return make


async def centre_signed_in(visitor: httpx.AsyncClient, region: str = PROVINCE) -> None:
    answer = await visitor.post("/sign-in", data={"role": "card_centre", "region": region})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/cards"


def batch_link(page: str) -> str:
    """The link from the print data of a batch just taken to the batch's page."""
    match = re.search(r'href="(/cards/batches/[0-9a-f-]{36})"', page)
    assert match, "no link to the batch"
    return match.group(1)


async def take_batch(visitor: httpx.AsyncClient, limit: str = "50") -> httpx.Response:
    home = await visitor.get("/cards")
    form = {"csrf": hidden(home.text, "csrf"), "form_token": hidden(home.text, "form_token"), "limit": limit}
    return await visitor.post("/cards/batches", data=form)


def rows(page: str) -> dict[str, str]:
    """Each card row of a batch page, by card id."""
    found = re.findall(r'<tr[^>]*>\s*<td class="checkbox[^"]*">.*?</tr>', page, re.S)
    return {re.search(r'name="card" value="([0-9a-f]+)"', row).group(1): row for row in found}  # type: ignore[union-attr]


def card_of(page: str, number: str) -> str:
    """The id of the card printed for this certificate number on a batch page."""
    ids = [card for card, row in rows(page).items() if f">{number}</label>" in row]
    assert len(ids) == 1, f"{number} is not on the batch page once"
    return ids[0]


def batches_with(system: System, number: str) -> list[dict[str, Any]]:
    """The province's batches (the API) that hold the card of this number."""
    token = system.token("card_centre", "cards-check", region=PROVINCE)
    listed = system.call("certificate", "GET", "/v1/card-batches?limit=500", token=token).json()["items"]
    found = []
    for batch in listed:
        cards = system.call("certificate", "GET", f"/v1/card-batches/{batch['id']}", token=token).json()
        if any(card["certificate_number"] == number for card in cards["cards"]):
            found.append(batch)
    return found


async def test_a_card_centre_takes_a_batch_once_and_reports_produced_then_dispatched(
    visitor: httpx.AsyncClient, system: System, certified: Callable[[], str]
) -> None:
    number = await asyncio.to_thread(certified)
    await centre_signed_in(visitor)
    home = await visitor.get("/cards")
    assert home.status_code == 200
    assert home.text.count("<h1>") == 1
    waiting = home.text.split('id="waiting-title"')[1].split('id="overdue-title"')[0]
    assert number in waiting, "the ordered card waits for its province's card centre"

    form = {"csrf": hidden(home.text, "csrf"), "form_token": hidden(home.text, "form_token"), "limit": "50"}
    first, second = await asyncio.gather(
        visitor.post("/cards/batches", data=form), visitor.post("/cards/batches", data=form)
    )
    assert first.status_code == second.status_code == 201
    batch_path = batch_link(first.text)
    assert batch_link(second.text) == batch_path, "a double click took two batches"
    assert number in first.text, "the print data is shown when taken"
    assert "邮寄地址" in first.text, "the print data is shown when taken"
    assert len(await asyncio.to_thread(batches_with, system, number)) == 1

    page = await visitor.get(batch_path)
    assert page.status_code == 200
    card = card_of(page.text, number)
    assert "制作中" in rows(page.text)[card], "a card taken is in production"
    home = await visitor.get("/cards")
    assert number not in home.text.split('id="waiting-title"')[1].split('id="overdue-title"')[0]
    assert f'href="{batch_path}"' in home.text
    assert "制作中: 1" in home.text

    for status, tracking, shown in (("produced", "", "已制成"), ("dispatched", "SF5100001234", "已寄出")):
        page = await visitor.get(batch_path)
        data = {
            "csrf": hidden(page.text, "csrf"),
            "card": card,
            "status": status,
            f"tracking-{card}": tracking,
        }
        reported = await visitor.post(batch_path, data=data)
        assert reported.status_code == 303, reported.text
        assert reported.headers["location"] == batch_path + "?reported=1"
        after = await visitor.get(reported.headers["location"])
        assert 'role="status"' in after.text
        assert shown in rows(after.text)[card], status
    assert "SF5100001234" in rows(after.text)[card]
    english = await visitor.get(batch_path + "?lang=en")
    assert "Dispatched" in rows(english.text)[card]
    assert "Card batch" in english.text
    home = await visitor.get("/cards?lang=zh-CN")
    assert "已寄出: 1" in home.text


async def test_a_dispatch_without_a_tracking_number_shows_the_error_and_changes_nothing(
    visitor: httpx.AsyncClient, system: System, certified: Callable[[], str]
) -> None:
    numbers = await asyncio.gather(asyncio.to_thread(certified), asyncio.to_thread(certified))
    await centre_signed_in(visitor)
    taken = await take_batch(visitor)
    assert taken.status_code == 201, taken.text
    batch_path = batch_link(taken.text)
    page = await visitor.get(batch_path)
    first, second = (card_of(page.text, number) for number in numbers)
    produced = {"csrf": hidden(page.text, "csrf"), "card": [first, second], "status": "produced"}
    assert (await visitor.post(batch_path, data=produced)).status_code == 303

    # Both dispatched, only the first with its tracking number: nothing is recorded.
    data = {
        "csrf": hidden(page.text, "csrf"),
        "card": [first, second],
        "status": "dispatched",
        f"tracking-{first}": "SF5100009999",
    }
    refused = await visitor.post(batch_path, data=data)
    assert refused.status_code == 422
    summary = refused.text.split('role="alert"')[1].split("</div>")[0]
    assert f'href="#tracking-{second}"' in summary
    assert "快递单号" in summary
    assert f'id="tracking-{second}-error"' in refused.text
    assert f'aria-describedby="tracking-{second}-error"' in refused.text
    kept = rows(refused.text)
    assert 'value="SF5100009999"' in kept[first], "what was typed is kept"
    assert "checked" in kept[first], "what was chosen is kept"
    assert "checked" in kept[second], "what was chosen is kept"
    assert 'value="dispatched" aria-describedby="status-dispatched-hint" checked' in refused.text
    now = rows((await visitor.get(batch_path)).text)
    assert "已制成" in now[first], "a refused report changed a card"
    assert "已制成" in now[second], "a refused report changed a card"
    assert "SF5100009999" not in now[first]

    # A step the API refuses (delivered before dispatched) is shown at its card, and nothing changes.
    data = {"csrf": hidden(page.text, "csrf"), "card": [first, second], "status": "delivered"}
    refused = await visitor.post(batch_path, data=data)
    assert refused.status_code == 422
    summary = refused.text.split('role="alert"')[1].split("</div>")[0]
    assert f'href="#card-{first}"' in summary
    assert "已制成" in summary
    assert f'aria-describedby="card-{first}-error"' in refused.text
    now = rows((await visitor.get(batch_path)).text)
    assert "已制成" in now[first]
    assert "已制成" in now[second]

    nothing = await visitor.post(batch_path, data={"csrf": hidden(page.text, "csrf")})
    assert nothing.status_code == 422
    assert 'href="#cards"' in nothing.text
    assert 'href="#status"' in nothing.text


async def test_the_batch_form_checks_the_number_and_an_empty_province_takes_nothing(
    visitor: httpx.AsyncClient,
) -> None:
    await centre_signed_in(visitor, OTHER_PROVINCE)
    for limit in ("", "0", "501", "十"):
        refused = await take_batch(visitor, limit)
        assert refused.status_code == 422, limit
        assert 'href="#limit"' in refused.text
        assert 'aria-describedby="limit-hint limit-error"' in refused.text
    empty = await take_batch(visitor, "5")
    assert empty.headers["location"] == "/cards?empty=1"
    assert 'role="status"' in (await visitor.get("/cards?empty=1")).text


async def test_another_provinces_card_centre_sees_none_of_it_and_an_applicant_is_refused(
    visitor: httpx.AsyncClient, system: System, certified: Callable[[], str]
) -> None:
    number = await asyncio.to_thread(certified)
    batches = await asyncio.to_thread(batches_with, system, number)
    assert batches == [], "the card is still waiting"
    await centre_signed_in(visitor, OTHER_PROVINCE)
    home = await visitor.get("/cards")
    assert home.status_code == 200
    assert number not in home.text
    assert number[:6] not in home.text
    # Taken by its own centre, its batch is absent for the other one.
    own = system.token("card_centre", "cards-own", region=PROVINCE)
    batch = system.call("certificate", "POST", "/v1/card-batches", {"limit": 50}, own).json()
    assert number in [card["certificate_number"] for card in batch["cards"]]
    assert (await visitor.get(f"/cards/batches/{batch['id']}")).status_code == 404
    assert batch["id"] not in (await visitor.get("/cards")).text

    applicant = new_person(COUNTY)
    await signed_in(visitor, applicant)
    for path in ("/cards", f"/cards/batches/{batch['id']}"):
        refused = await visitor.get(path)
        assert refused.status_code == 403, path
    assert (await visitor.post("/cards/batches", data={"limit": "5"})).status_code == 403
    visitor.cookies.clear()
    assert (await visitor.get("/cards")).headers["location"] == "/sign-in?next=%2Fcards"


def test_the_card_centre_pages_pass_axe_in_both_languages_and_fit_a_phone(
    portal: str, browser: Browser, certified: Callable[[], str]
) -> None:
    number = certified()
    found: dict[str, list[str]] = {}
    batch_url = ""
    for language in ("zh-CN", "en"):
        page = browser.new_page(locale=language, viewport=PHONE)
        page.goto(f"{portal}/sign-in?lang={language}")
        page.locator("select[name=role]").select_option("card_centre")
        page.get_by_label(re.compile("地区代码|[Rr]egion code")).fill(PROVINCE)
        page.locator("button[type=submit]").first.click()
        page.wait_for_url(re.compile(r"/cards$"))
        assert page.locator("h1").count() == 1
        if not batch_url:
            assert number in page.content()
        found[f"/cards {language}"] = violations(page)
        assert no_sideways_scroll(page), f"/cards {language}"
        if language == "zh-CN":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "cards.zh-CN.png"), full_page=True)
            page.locator("form.take-batch button[type=submit]").click()
            page.wait_for_load_state()
            assert page.locator("h1").count() == 1
            found["print data"] = violations(page)
            page.screenshot(path=str(SCREENSHOTS / "card-print.zh-CN.png"), full_page=True)
            page.get_by_role("link", name=re.compile("前往该批次")).click()
            page.wait_for_url(re.compile(r"/cards/batches/[0-9a-f-]{36}$"))
            batch_url = page.url
        else:
            page.goto(batch_url)
        assert page.locator("h1").count() == 1
        found[f"batch {language}"] = violations(page)
        assert no_sideways_scroll(page), f"batch {language}"
        # A dispatch without its tracking number: the errors, announced, lead to their fields.
        page.locator("input[name=card]").first.check()
        page.locator("#status-dispatched").check()
        page.locator("form button.primary").click()
        page.wait_for_load_state()
        alert = page.get_by_role("alert")
        assert alert.count() == 1
        target = alert.get_by_role("link").first.get_attribute("href")
        assert target
        assert page.locator(str(target)).count() == 1
        found[f"batch errors {language}"] = violations(page)
        assert no_sideways_scroll(page), f"batch errors {language}"
        if language == "zh-CN":
            page.screenshot(path=str(SCREENSHOTS / "card-batch.zh-CN.png"), full_page=True)
        page.close()
    assert {name: v for name, v in found.items() if v} == {}
