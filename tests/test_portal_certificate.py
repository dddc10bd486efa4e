"""The certificate page: a parent who applied for a child sees the child's certificate, its card
status, the e-certificate QR code and the benefits with their reasons; the portal in-process,
the four services real."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import httpx
import pytest
from markupsafe import escape
from playwright.sync_api import Browser

from .system import System, application, new_person, wait_for
from .test_main_flow import apply, approved
from .test_portal_accessibility import (  # noqa: F401 (browser: the fixture)
    PHONE,
    SCREENSHOTS,
    browser,
    no_sideways_scroll,
    violations,
)
from .test_portal_accessibility import signed_in as browser_signed_in
from .test_portal_pages import signed_in


@pytest.fixture(scope="module")
def a_childs_certificate(system: System, doctor: str, reviewer: str) -> tuple[str, str, dict[str, Any]]:
    """A child's certificate through the real flow, applied for by a parent as agent:
    (the parent, the number, the benefits by code once the nursing subsidy is active)."""
    child, parent = new_person(birth=date(2017, 9, 3)), new_person()
    parent_token = system.token("applicant", "portal-certificate-parent", id_number=parent)
    created = apply(system, parent_token, application(child, agent=parent), key=f"portal-cert-{child}")
    assert created.status_code == 201, created.text
    number = approved(system, doctor, reviewer, created.json()["id"])

    def benefits() -> dict[str, Any] | None:
        answer = system.call("benefits", "GET", f"/v1/certificates/{number}/benefits", token=parent_token)
        by_code = {item["code"]: item for item in answer.json().get("items", [])}
        return by_code if by_code.get("nursing_subsidy", {}).get("status") == "active" else None

    return parent, number, wait_for(benefits)


def hrefs(page: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', page)


async def test_a_parent_sees_the_childs_certificate_qr_code_and_benefits(
    visitor: httpx.AsyncClient, a_childs_certificate: tuple[str, str, dict[str, Any]]
) -> None:
    parent, number, benefits = a_childs_certificate
    await signed_in(visitor, parent)
    page = await visitor.get("/certificate")
    assert page.status_code == 200, page.text
    text = page.text
    assert text.count("<h1>") == 1
    assert "<h1>我的残疾人证</h1>" in text
    assert '<a class="skip-link" href="#main">' in text
    assert '<main id="main"' in text
    assert 'href="/certificate" aria-current="page"' in text  # the nav link
    assert number in text
    assert "肢体残疾" in text
    assert "一级（最重）" in text
    assert "有效" in text
    assert "已向制卡中心下单" in text  # the card as ordered on issuance
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日", text)  # dates in the locale's form
    # The QR code to show: the online one, in a frame of its own that reloads itself.
    frame = re.search(r'<iframe class="live-code" src="([^"]+)" title="([^"]+)"', text)
    assert frame
    assert frame.group(2) == "您的电子残疾人证二维码（每分钟更新）"
    assert "<figcaption>此二维码是您的电子残疾人证" in text
    assert "截图很快就会失效" in text
    live = await visitor.get(frame.group(1).replace("&amp;", "&"))
    assert live.status_code == 200
    assert "frame-ancestors 'self'" in live.headers["content-security-policy"]
    assert re.search(r'<meta http-equiv="refresh" content="\d+; url=/certificate/[^"]+round=1">', live.text)
    live_svg = re.search(r"<svg [^>]*>", live.text)
    assert live_svg
    assert 'role="img"' in live_svg.group(0)
    assert re.search(r'aria-label="您的电子残疾人证实时二维码，有效至\d', live_svg.group(0))
    # The offline code, for places without a network, one click away: an inline SVG with an
    # accessible name, and a text telling what it is.
    assert '<details class="offline-code">' in text
    svg = re.search(r"<svg [^>]*>", text)
    assert svg
    assert 'role="img"' in svg.group(0)
    assert re.search(r'aria-label="您的电子残疾人证二维码，有效期至\d{4}年', svg.group(0))
    assert "<path" in text
    assert "离线核验" in text
    assert "到期" in text
    # Benefits with their state, amount in yuan and the reason in Chinese.
    nursing = benefits["nursing_subsidy"]
    assert "正在发放" in text
    assert "¥" in text
    assert escape(nursing["name"]) in text
    assert escape(nursing["reason"]) in text
    assert escape(benefits["living_subsidy"]["reason"]) in text
    # No certificate or identity number in any link, or in the frame's address.
    for href in [*hrefs(text), frame.group(1)]:
        assert number not in href, href
        assert parent not in href, href


async def test_the_certificate_page_is_in_english_when_chosen(
    visitor: httpx.AsyncClient, system: System, a_childs_certificate: tuple[str, str, dict[str, Any]]
) -> None:
    parent, number, _ = a_childs_certificate
    await signed_in(visitor, parent)
    page = await visitor.get("/certificate?lang=en")
    assert page.status_code == 200
    text = page.text
    assert '<html lang="en">' in text
    assert "<h1>My certificate</h1>" in text
    assert number in text
    assert "Physical disability" in text
    assert "Level 1 (the most severe)" in text
    assert re.search(
        r'aria-label="QR code of your electronic disability certificate, valid until \w+ \d', text
    )
    frame = re.search(r'<iframe class="live-code" src="([^"]+)"', text)
    assert frame
    assert "lang=en" in frame.group(1)
    live = await visitor.get(frame.group(1).replace("&amp;", "&"))
    assert '<html lang="en">' in live.text
    assert re.search(
        r'aria-label="Live QR code of your electronic disability certificate, valid until \d', live.text
    )
    assert "Being paid" in text
    assert "CN¥" in text
    token = system.token("applicant", "portal-certificate-parent-en", id_number=parent)
    english = system.call(
        "benefits",
        "GET",
        f"/v1/certificates/{number}/benefits",
        token=token,
        headers={"Accept-Language": "en"},
    ).json()["items"]
    for item in english:
        assert escape(item["reason"]) in text, item["code"]


async def test_a_person_without_a_certificate_is_told_so_and_how_to_apply(
    visitor: httpx.AsyncClient,
) -> None:
    await signed_in(visitor, new_person())
    page = await visitor.get("/certificate")
    assert page.status_code == 200
    assert "<h1>我的残疾人证</h1>" in page.text
    assert "您还没有残疾人证。" in page.text
    assert 'href="/applications/new"' in page.text
    assert "<svg" not in page.text
    english = await visitor.get("/certificate?lang=en")
    assert "You have no disability certificate yet." in english.text


async def test_a_certificate_is_chosen_only_among_ones_own(
    visitor: httpx.AsyncClient, a_childs_certificate: tuple[str, str, dict[str, Any]]
) -> None:
    parent, number, _ = a_childs_certificate
    await signed_in(visitor, new_person())  # someone else
    assert (await visitor.get("/certificate/not-an-application")).status_code == 404
    page = await visitor.get("/certificate")
    assert number not in page.text
    assert (await visitor.get("/certificate?lang=zh-CN")).status_code == 200
    visitor.cookies.clear()
    assert (await visitor.get("/certificate")).headers["location"].startswith("/sign-in")


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_certificate_with_its_qr_code_passes_axe_and_fits_a_phone(
    portal: str,
    browser: Browser,  # noqa: F811 (the fixture imported above)
    a_childs_certificate: tuple[str, str, dict[str, Any]],
    language: str,
) -> None:
    parent, _, _ = a_childs_certificate
    page = browser_signed_in(browser, portal, parent, language, viewport=PHONE)
    page.goto(f"{portal}/certificate")
    assert page.locator("h1").count() == 1
    # The online code, in its frame; the offline one only once asked for.
    live = page.frame_locator("iframe.live-code").get_by_role(
        "img", name=re.compile("实时二维码|Live QR code")
    )
    assert live.count() == 1
    assert live.is_visible()
    offline = page.get_by_role("img", name=re.compile("二维码|QR code"))
    assert offline.count() == 0
    page.locator("details.offline-code summary").click()
    assert offline.count() == 1
    assert offline.is_visible()
    assert violations(page) == []
    assert no_sideways_scroll(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"certificate-with-qr.{language}.png"), full_page=True)
    page.close()
