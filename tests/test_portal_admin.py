"""The administrator's and the partner agency's pages: partners and their policy versions, a
subscription whose receiver refuses until its delivery is a dead letter, the admin's replay, a
new signing secret shown once, the SLA report as a table and a chart; in-process portal, the four
services real, each test with partners, receivers and regions of its own; then the same pages in
a real browser (axe, 360 px, screenshots)."""

from __future__ import annotations

import asyncio
import random
import re
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from dcert_notification.domain.catalogue import KNOWN_EVENT_TYPES
from dcert_portal.i18n import CHINA
from dcert_portal.vocabulary import EVENT_TYPES

from .system import System, WebhookReceiver, application, new_person, register_doctor, wait_for
from .test_main_flow import apply, graded, status_of
from .test_portal_accessibility import SCREENSHOTS, browser, no_sideways_scroll, violations
from .test_portal_pages import hidden, signed_in

__all__ = ["browser"]  # the module's browser fixture, shared with the accessibility tests

PHONE = {"width": 360, "height": 780}


def test_the_event_types_offered_are_those_the_notification_service_delivers() -> None:
    """The portal names each event type in words; the service is the list's owner."""
    assert set(EVENT_TYPES) == set(KNOWN_EVENT_TYPES)


def unique_region() -> str:
    """A county code of Zhejiang no other test uses (only the province is checked)."""
    return f"33{random.randint(90, 99)}{random.randint(10, 99)}"


def partner_body(name: str, **policy: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "policy": {"event_types": ["ApplicationSubmitted"], "fields": ["application_id"], "facts": []}
        | policy,
        "legal_basis": "《残疾人保障法》第五十条",
        "purpose": "核对困难残疾人生活补贴",
    }


def registered_partner(system: System, admin: str, name: str) -> str:
    answer = system.call("notification", "POST", "/v1/partners", partner_body(name), admin)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def partner_token(system: System, partner_id: str) -> str:
    return system.token("partner", f"partner-{partner_id}", partner_id=partner_id)


def dead_letters_of(system: System, token: str) -> list[dict[str, Any]]:
    answer = system.call("notification", "GET", "/v1/deliveries?status=dead", token=token)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def an_application_submitted(system: System) -> None:
    """Any application: its ApplicationSubmitted reaches every subscription to that type."""
    person = new_person()
    token = system.token("applicant", f"admin-page-{person}", id_number=person)
    assert apply(system, token, application(person)).status_code == 201


async def admin_signed_in(visitor: httpx.AsyncClient) -> None:
    answer = await visitor.post("/sign-in", data={"role": "admin"})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/admin"


async def partner_signed_in(visitor: httpx.AsyncClient, partner_id: str) -> None:
    answer = await visitor.post("/sign-in", data={"role": "partner", "partner_id": partner_id})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/partner"


def sla_data(system: System, admin: str, region: str) -> str:
    """An application of `region` through assessment and public notice into review: completed
    steps (with hours) and an open one in the region's SLA report."""
    register_doctor(system, admin, region, ["physical"], "安吉县人民医院", "孙医生")
    person = new_person(region)
    token = system.token("applicant", f"sla-{person}", id_number=person)
    created = apply(system, token, application(person, household_region=region, residence_region=region))
    assert created.status_code == 201, created.text
    application_id = str(created.json()["id"])

    def scheduled() -> dict[str, Any] | None:
        items = system.call(
            "assessment", "GET", "/v1/assessments?status=scheduled&limit=500", token=admin
        ).json()["items"]
        return next((a for a in items if a["application_id"] == application_id), None)

    assessment = wait_for(scheduled)
    detail = system.call("assessment", "GET", f"/v1/assessments/{assessment['id']}", token=admin).json()
    doctor_token = system.token("doctor", f"doctor-{detail['doctor_id']}", doctor_id=detail["doctor_id"])
    graded(system, doctor_token, application_id, level=2)
    wait_for(lambda: status_of(system, admin, application_id) == "assessed")

    def reported() -> bool:
        report = system.call("certificate", "GET", f"/v1/reports/sla?region={region}", token=admin).json()
        return any(step["completed"] for step in report["steps"])

    wait_for(reported)
    return region


@pytest.fixture(scope="module")
def sla_region(system: System, admin: str) -> str:
    return sla_data(system, admin, unique_region())


# --- the administrator ---


async def test_an_admin_registers_a_partner_once_and_sees_its_policy_versions(
    visitor: httpx.AsyncClient, system: System, admin: str
) -> None:
    await admin_signed_in(visitor)
    home = await visitor.get("/admin")
    assert home.status_code == 200
    assert home.text.count("<h1>") == 1
    for link in ("/admin/partners", "/admin/dead-letters", "/admin/sla"):
        assert f'href="{link}"' in home.text
    page = await visitor.get("/admin/partners")
    name = f"湖州市民政局-{secrets.token_hex(4)}"
    form = {
        "csrf": hidden(page.text, "csrf"),
        "form_token": hidden(page.text, "form_token"),
        "name": name,
        "legal_basis": "《残疾人保障法》第五十条",
        "purpose": "核对困难残疾人生活补贴",
        "event_types": ["CertificateIssued", "CertificateCancelled"],
        "fields": "certificate_number\ncategory, level",
        "facts": ["death"],
        "regions": "330500",
        "contact_name": "张科长",
        "contact_email": "zhang@mz.example.cn",
    }
    first = await visitor.post("/admin/partners", data=form)
    again = await visitor.post("/admin/partners", data=form)  # a double click: the same form token
    assert first.status_code == 303, first.text
    assert again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    listed = system.call("notification", "GET", "/v1/partners", token=admin).json()["items"]
    mine = [partner for partner in listed if partner["name"] == name]
    assert len(mine) == 1, "a double click registered two partners"
    partner_id = mine[0]["id"]
    assert mine[0]["policy"]["fields"] == ["certificate_number", "category", "level"]
    assert mine[0]["policy"]["facts"] == ["death"]
    assert mine[0]["policy"]["regions"] == ["330500"], "the admin grants the jurisdiction"
    assert first.headers["location"] == f"/admin/partners/{partner_id}?registered=1"

    shown = await visitor.get(first.headers["location"])
    assert shown.status_code == 200
    assert shown.text.count("<h1>") == 1
    assert name in shown.text
    assert partner_id in shown.text
    assert 'role="status"' in shown.text
    assert "已发证" in shown.text
    assert "死亡" in shown.text
    assert "<code>level</code>" in shown.text
    # A second version of the policy: both are listed, the newest first.
    changed = system.call(
        "notification",
        "PUT",
        f"/v1/partners/{partner_id}/policy",
        {"policy": {"event_types": ["CertificateIssued"], "fields": ["certificate_number"], "facts": []}},
        admin,
    )
    assert changed.status_code == 200, changed.text
    versions = await visitor.get(f"/admin/partners/{partner_id}?lang=en")
    assert "Current data-sharing policy (version 2)" in versions.text
    rows = re.findall(r"<tr>\s*<td>(\d+)</td>", versions.text)
    assert rows == ["2", "1"]
    listing = await visitor.get("/admin/partners")
    assert f'href="/admin/partners/{partner_id}"' in listing.text
    assert (await visitor.get("/admin/partners/no-such-partner")).status_code == 404


async def test_a_partner_form_with_several_mistakes_shows_them_all_and_creates_nothing(
    visitor: httpx.AsyncClient, system: System, admin: str
) -> None:
    await admin_signed_in(visitor)
    page = await visitor.get("/admin/partners")
    purpose = f"purpose-{secrets.token_hex(4)}"
    refused = await visitor.post(
        "/admin/partners",
        data={
            "csrf": hidden(page.text, "csrf"),
            "form_token": hidden(page.text, "form_token"),
            "name": "",
            "purpose": purpose,
            "fields": "certificate-number",
            "facts": ["death"],
            "contact_email": "not-an-address",
        },
    )
    assert refused.status_code == 422
    assert 'role="alert"' in refused.text
    for field in ("name", "event_types", "fields", "regions", "contact_name", "contact_email"):
        assert f'href="#{field}"' in refused.text, field
        assert f'id="{field}-error"' in refused.text, field
    assert 'aria-invalid="true"' in refused.text
    assert purpose in refused.text, "what was typed is kept"
    assert "certificate-number" in refused.text, "what was typed is kept"
    assert re.search(r'id="facts-death"[^>]* checked', refused.text), "the choice is kept"
    assert "请输入合作单位名称。" in refused.text
    listed = system.call("notification", "GET", "/v1/partners", token=admin).json()["items"]
    assert not [p for p in listed if p["policy"].get("purpose") == purpose], "a refused form registered"

    forged = await visitor.post(
        "/admin/partners",
        data={
            "csrf": "forged",
            "name": f"forged-{purpose}",
            "event_types": ["CertificateIssued"],
            "fields": "level",
        },
    )
    assert forged.status_code == 400
    listed = system.call("notification", "GET", "/v1/partners", token=admin).json()["items"]
    assert not [p for p in listed if p["name"] == f"forged-{purpose}"]


async def test_a_refused_delivery_becomes_a_dead_letter_the_admin_replays_and_the_partner_rotates_its_secret(
    visitor: httpx.AsyncClient, system: System, admin: str
) -> None:
    partner_id = await asyncio.to_thread(
        registered_partner, system, admin, f"残联测试单位-{secrets.token_hex(4)}"
    )
    token = partner_token(system, partner_id)
    receiver = WebhookReceiver(failures=[503] * 10_000)
    try:
        await partner_signed_in(visitor, partner_id)
        page = await visitor.get("/partner")
        assert page.status_code == 200
        assert page.text.count("<h1>") == 1
        assert "核对困难残疾人生活补贴" in page.text
        assert "<code>application_id</code>" in page.text
        assert 'name="event_types" value="ApplicationSubmitted"' in page.text
        assert 'value="CertificateIssued"' not in page.text, "only what the policy grants is offered"

        form = {
            "csrf": hidden(page.text, "csrf"),
            "form_token": hidden(page.text, "form_token"),
            "url": receiver.url,
            "event_types": ["ApplicationSubmitted"],
        }
        created = await visitor.post("/partner/subscriptions", data=form)
        again = await visitor.post("/partner/subscriptions", data=form)  # a double click
        assert created.status_code == 201, created.text
        secret = re.search(r"<code>(whsec_[^<]+)</code>", created.text)
        assert secret, "the secret is shown on the answer page"
        assert "只显示这一次" in created.text
        assert 'role="alert"' in created.text
        assert again.status_code == 201
        subscriptions = system.call("notification", "GET", "/v1/subscriptions", token=token).json()["items"]
        assert len(subscriptions) == 1, "a double click made two subscriptions"
        subscription_id = subscriptions[0]["id"]
        listed = await visitor.get("/partner")
        assert receiver.url in listed.text, "the secret is shown once"
        assert secret.group(1) not in listed.text, "the secret is shown once"

        await asyncio.to_thread(an_application_submitted, system)
        dead = await asyncio.to_thread(wait_for, lambda: dead_letters_of(system, token), 60)
        letter_id = dead[0]["id"]
        partner_page = await visitor.get("/partner")
        assert letter_id in partner_page.text
        assert "HTTP 503" in partner_page.text

        # The admin finds it among the dead letters of this partner and sends it again.
        await admin_signed_in(visitor)
        letters = await visitor.get(f"/admin/dead-letters?partner_id={partner_id}")
        assert letters.status_code == 200
        assert f'value="{letter_id}"' in letters.text
        tries_before = len(receiver.received)
        nothing = await visitor.post(
            "/admin/dead-letters", data={"csrf": hidden(letters.text, "csrf"), "action": "chosen"}
        )
        assert nothing.status_code == 422
        assert 'href="#ids"' in nothing.text
        replayed = await visitor.post(
            "/admin/dead-letters",
            data={
                "csrf": hidden(letters.text, "csrf"),
                "action": "chosen",
                "ids": [letter_id],
                "partner_id": partner_id,
            },
        )
        assert replayed.status_code == 303, replayed.text
        assert "replayed=1" in replayed.headers["location"]
        shown = await visitor.get(replayed.headers["location"] + "&lang=en")
        assert "1 deliveries are queued to be sent again." in shown.text
        await asyncio.to_thread(wait_for, lambda: len(receiver.received) > tries_before, 30)

        # Every dead one matching the filter: those of this partner that died again.
        await asyncio.to_thread(wait_for, lambda: dead_letters_of(system, token), 60)
        matching = await visitor.post(
            "/admin/dead-letters",
            data={"csrf": hidden(letters.text, "csrf"), "action": "matching", "partner_id": partner_id},
        )
        assert matching.status_code == 303
        assert int(re.search(r"replayed=(\d+)", matching.headers["location"]).group(1)) >= 1  # type: ignore[union-attr]

        # The partner: a new secret, shown once with the end of the overlap.
        await partner_signed_in(visitor, partner_id)
        page = await visitor.get("/partner")
        rotated = await visitor.post(
            f"/partner/subscriptions/{subscription_id}/secret?lang=zh-CN",
            data={"csrf": hidden(page.text, "csrf")},
        )
        assert rotated.status_code == 200, rotated.text
        new_secret = re.search(r"<code>(whsec_[^<]+)</code>", rotated.text)
        assert new_secret
        assert new_secret.group(1) != secret.group(1)
        assert "旧密钥签名至" in rotated.text
        assert "只显示这一次" in rotated.text
        assert new_secret.group(1) not in (await visitor.get("/partner")).text
        forged = await visitor.post(f"/partner/subscriptions/{subscription_id}/secret", data={"csrf": "x"})
        assert forged.status_code == 400

        # Everything since an hour ago, again (once the replayed ones are given up again).
        await asyncio.to_thread(wait_for, lambda: dead_letters_of(system, token), 60)
        since = (datetime.now(CHINA) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
        again_since = await visitor.post(
            "/partner/replay", data={"csrf": hidden(page.text, "csrf"), "since": since}
        )
        assert again_since.status_code == 303
        assert int(again_since.headers["location"].rsplit("=", 1)[1]) >= 1
        no_time = await visitor.post("/partner/replay", data={"csrf": hidden(page.text, "csrf"), "since": ""})
        assert no_time.status_code == 422
        assert 'href="#since"' in no_time.text
    finally:
        receiver.close()


async def test_a_subscription_form_with_mistakes_shows_each_and_creates_nothing(
    visitor: httpx.AsyncClient, system: System, admin: str
) -> None:
    partner_id = await asyncio.to_thread(
        registered_partner, system, admin, f"残联测试单位-{secrets.token_hex(4)}"
    )
    await partner_signed_in(visitor, partner_id)
    page = await visitor.get("/partner")
    refused = await visitor.post(
        "/partner/subscriptions",
        data={
            "csrf": hidden(page.text, "csrf"),
            "form_token": hidden(page.text, "form_token"),
            "url": "ftp://example.cn",
            "regions": "3305",
        },
    )
    assert refused.status_code == 422
    for field in ("url", "event_types", "regions"):
        assert f'href="#{field}"' in refused.text, field
    assert 'value="ftp://example.cn"' in refused.text
    token = partner_token(system, partner_id)
    assert system.call("notification", "GET", "/v1/subscriptions", token=token).json()["items"] == []


async def test_the_sla_page_shows_a_table_and_a_chart_of_the_region(
    visitor: httpx.AsyncClient, sla_region: str
) -> None:
    await admin_signed_in(visitor)
    empty = await visitor.get("/admin/sla")
    assert empty.status_code == 200
    assert "<svg" not in empty.text
    page = await visitor.get(f"/admin/sla?region={sla_region}")
    assert page.status_code == 200, page.text
    assert page.text.count("<h1>") == 1
    assert '<svg role="img" aria-labelledby="sla-chart-title sla-chart-desc"' in page.text
    assert re.search(r'<title id="sla-chart-title">[^<]*' + sla_region, page.text)
    assert "<table" in page.text
    assert '<th scope="row">医生评定</th>' in page.text
    main = page.text.split("<main", 1)[1].split("</main>", 1)[0]
    assert 'style="' not in main
    assert "<script" not in main
    steps = main.count('<th scope="row">')
    assert steps >= 2
    # Per step a median and a 90th percentile bar (and one of each in the legend), and an overdue bar.
    assert main.count('fill="#1d4f91"') == main.count('fill="#00703c"') == steps + 1
    assert main.count('fill="#d4351c"') == steps + 1
    english = await visitor.get(f"/admin/sla?region={sla_region}&lang=en")
    assert "Assessment by a doctor" in english.text
    assert "Median hours" in english.text
    remembered = await visitor.get("/admin/sla")
    assert f'value="{sla_region}"' in remembered.text
    assert "<svg" in remembered.text
    wrong = await visitor.get("/admin/sla?region=3305")
    assert wrong.status_code == 422
    assert 'href="#region"' in wrong.text
    assert "<svg" not in wrong.text


@pytest.mark.parametrize("role", ["reviewer", "applicant"])
async def test_other_roles_get_the_403_page(visitor: httpx.AsyncClient, role: str) -> None:
    if role == "applicant":
        await signed_in(visitor, new_person())
    else:
        assert (
            await visitor.post("/sign-in", data={"role": "reviewer", "region": "330502"})
        ).status_code == 303
    for path in (
        "/admin",
        "/admin/partners",
        "/admin/partners/x",
        "/admin/dead-letters",
        "/admin/sla",
        "/partner",
    ):
        page = await visitor.get(path)
        assert page.status_code == 403, path
        assert "<h1>您无权使用此页面</h1>" in page.text
    csrf = hidden((await visitor.get("/admin")).text, "csrf")
    for path in ("/admin/partners", "/admin/dead-letters", "/partner/subscriptions", "/partner/replay"):
        assert (await visitor.post(path, data={"csrf": csrf})).status_code == 403, path


async def test_a_partner_gets_the_403_page_for_the_admin_pages_and_back(
    visitor: httpx.AsyncClient, system: System, admin: str
) -> None:
    partner_id = await asyncio.to_thread(
        registered_partner, system, admin, f"残联测试单位-{secrets.token_hex(4)}"
    )
    await partner_signed_in(visitor, partner_id)
    assert (await visitor.get("/admin/partners")).status_code == 403
    await admin_signed_in(visitor)
    assert (await visitor.get("/partner")).status_code == 403


# --- in the browser ---


def browser_signed_in(
    browser: Browser, portal: str, role: str, partner_id: str = "", language: str = "zh-CN", **context: Any
) -> Page:
    page = browser.new_page(locale=language, **context)
    page.goto(f"{portal}/sign-in?lang={language}")
    page.locator("select[name=role]").select_option(role)
    if role == "partner":
        page.locator("input[name=partner_id]").fill(partner_id)
    page.locator("button[type=submit]").first.click()
    page.wait_for_url(re.compile(rf"/{role}$"))
    return page


@pytest.fixture(scope="module")
def refused_partner(system: System, admin: str) -> Iterator[tuple[str, str]]:
    """A partner whose receiver refuses: a dead letter of its own. (partner id, its token)"""
    partner_id = registered_partner(system, admin, f"浏览器测试单位-{secrets.token_hex(4)}")
    token = partner_token(system, partner_id)
    receiver = WebhookReceiver(failures=[503] * 10_000)
    made = system.call(
        "notification",
        "POST",
        "/v1/subscriptions",
        {"url": receiver.url, "event_types": ["ApplicationSubmitted"]},
        token,
    )
    assert made.status_code == 201, made.text
    an_application_submitted(system)
    wait_for(lambda: dead_letters_of(system, token), 60)
    yield partner_id, token
    receiver.close()


def test_the_admin_and_partner_pages_pass_axe_and_fit_a_phone(
    portal: str, browser: Browser, sla_region: str, refused_partner: tuple[str, str]
) -> None:
    partner_id, _ = refused_partner
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    found: dict[str, list[str]] = {}
    page = browser_signed_in(browser, portal, "admin")
    for path in (
        "/admin",
        "/admin/partners",
        f"/admin/partners/{partner_id}",
        f"/admin/dead-letters?partner_id={partner_id}",
        f"/admin/sla?region={sla_region}",
    ):
        page.goto(portal + path)
        assert page.locator("h1").count() == 1, path
        found[path] = violations(page)
    assert page.locator("svg[role=img]").count() == 1
    page.screenshot(path=str(SCREENSHOTS / "admin-sla.zh-CN.png"), full_page=True)
    page.goto(f"{portal}/admin/partners")
    page.locator("form[action='/admin/partners'] button.primary").click()
    page.wait_for_load_state()
    assert page.get_by_role("alert").count() == 1
    assert page.get_by_role("alert").locator("a[href^='#']").count() >= 3
    found["partner form errors"] = violations(page)
    page.goto(f"{portal}/admin/sla?region={sla_region}&lang=en")
    assert page.evaluate("document.documentElement.lang") == "en"
    found["/admin/sla en"] = violations(page)
    page.close()

    phone = browser_signed_in(browser, portal, "admin", viewport=PHONE)
    phone.goto(f"{portal}/admin/sla?region={sla_region}&lang=zh-CN")
    assert no_sideways_scroll(phone), "/admin/sla scrolls sideways at 360 px"
    phone.close()

    partner = browser_signed_in(browser, portal, "partner", partner_id=partner_id)
    partner.goto(f"{portal}/partner")
    assert partner.locator("h1").count() == 1
    found["/partner"] = violations(partner)
    partner.screenshot(path=str(SCREENSHOTS / "partner.zh-CN.png"), full_page=True)
    partner.locator("form[action='/partner/subscriptions'] button.primary").click()
    partner.wait_for_load_state()
    assert partner.get_by_role("alert").count() == 1
    found["subscription errors"] = violations(partner)
    partner.locator("form[action$='/secret'] button").first.click()
    partner.wait_for_load_state()
    assert partner.locator("code", has_text="whsec_").count() == 1
    found["new secret"] = violations(partner)
    partner.close()

    on_phone = browser_signed_in(browser, portal, "partner", partner_id=partner_id, viewport=PHONE)
    on_phone.goto(f"{portal}/partner")
    assert no_sideways_scroll(on_phone), "/partner scrolls sideways at 360 px"
    on_phone.close()
    assert {path: v for path, v in found.items() if v} == {}
