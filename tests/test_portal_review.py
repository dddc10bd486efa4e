"""A county reviewer in the browser: signs in with their region, works the queue, reads a case
(assessment, public notice, history) and decides it; the portal in-process, the four services real."""

from __future__ import annotations

import asyncio
import re

import httpx

from .conftest import REGION
from .system import System, application, new_person, wait_for
from .test_main_flow import apply, graded, status_of
from .test_portal_pages import hidden, signed_in


def assessed_application(system: System, doctor: str, reviewer_token: str) -> str:
    """An adult's application, graded, past its public notice: in the reviewer's queue."""
    person = new_person()
    token = system.token("applicant", f"review-{person}", id_number=person)
    created = apply(system, token, application(person))
    assert created.status_code == 201, created.text
    application_id = str(created.json()["id"])
    graded(system, doctor, application_id, level=2)

    def known() -> bool:
        # The grade names its assessment; the case page reads the result by that id.
        answer = system.call("certificate", "GET", f"/v1/applications/{application_id}", token=reviewer_token)
        seen = answer.json()
        return seen["status"] == "assessed" and bool((seen.get("assessment") or {}).get("assessment_id"))

    wait_for(known)
    return application_id


async def reviewer_signed_in(visitor: httpx.AsyncClient, region: str = REGION) -> httpx.Response:
    answer = await visitor.post("/sign-in", data={"role": "reviewer", "region": region})
    assert answer.status_code == 303, answer.text
    return answer


async def test_a_reviewer_signs_in_with_a_region_and_sees_the_case_in_the_queue(
    visitor: httpx.AsyncClient, system: System, doctor: str, reviewer: str
) -> None:
    application_id = await asyncio.to_thread(assessed_application, system, doctor, reviewer)
    answer = await reviewer_signed_in(visitor)
    assert answer.headers["location"] == "/review"
    queue = await visitor.get("/review")
    assert queue.status_code == 200
    assert queue.text.count("<h1>") == 1
    assert '<a class="skip-link" href="#main">' in queue.text
    assert f'href="/review/{application_id}"' in queue.text
    assert '<label for="status">' in queue.text
    assessed = await visitor.get("/review?status=assessed&lang=en")
    assert f'href="/review/{application_id}"' in assessed.text
    assert "Review queue" in assessed.text
    returned = await visitor.get("/review?status=returned")
    assert f'href="/review/{application_id}"' not in returned.text
    assert (await visitor.get("/")).headers["location"] == "/review"


async def test_a_region_code_is_needed_and_checked_at_sign_in(visitor: httpx.AsyncClient) -> None:
    for region, message in (("", "请填写此项。"), ("33050", "请输入6位数字的地区代码。")):
        page = await visitor.post("/sign-in", data={"role": "reviewer", "region": region})
        assert page.status_code == 422
        assert 'role="alert"' in page.text
        assert 'href="#region"' in page.text
        assert 'aria-describedby="region-hint region-error"' in page.text
        assert message in page.text


async def test_the_case_shows_the_grade_and_history_and_a_decision_needs_a_reason_to_reject(
    visitor: httpx.AsyncClient, system: System, doctor: str, reviewer: str
) -> None:
    application_id = await asyncio.to_thread(assessed_application, system, doctor, reviewer)
    await reviewer_signed_in(visitor)
    case = await visitor.get(f"/review/{application_id}?lang=en")
    assert case.status_code == 200
    assert case.text.count("<h1>") == 1
    assert "Level 2 (1 is the most severe)" in case.text
    assert "Physical disability" in case.text
    assert "双下肢功能丧失" in case.text  # the findings, shown to the reviewer of the case
    assert '<ol class="timeline">' in case.text
    assert "Public notice" in case.text
    assert "王小明" not in case.text  # the name is masked

    rejected = await visitor.post(
        f"/review/{application_id}?lang=en",
        data={"csrf": hidden(case.text, "csrf"), "decision": "reject", "reason": ""},
    )
    assert rejected.status_code == 422
    assert 'role="alert"' in rejected.text
    assert 'href="#reason"' in rejected.text
    assert 'id="reason-error"' in rejected.text
    assert 'aria-invalid="true"' in rejected.text
    assert re.search(r'id="decision-reject"[^>]* checked', rejected.text), "the choice is kept"
    assert await asyncio.to_thread(status_of, system, reviewer, application_id) == "assessed"

    forged = await visitor.post(f"/review/{application_id}", data={"csrf": "forged", "decision": "approve"})
    assert forged.status_code == 400
    assert await asyncio.to_thread(status_of, system, reviewer, application_id) == "assessed"


async def test_approving_with_the_form_issues_the_certificate(
    visitor: httpx.AsyncClient, system: System, doctor: str, reviewer: str
) -> None:
    application_id = await asyncio.to_thread(assessed_application, system, doctor, reviewer)
    await reviewer_signed_in(visitor)
    case = await visitor.get(f"/review/{application_id}")
    decided = await visitor.post(
        f"/review/{application_id}", data={"csrf": hidden(case.text, "csrf"), "decision": "approve"}
    )
    assert decided.status_code == 303, decided.text
    assert decided.headers["location"] == f"/review/{application_id}?decided=1"
    await asyncio.to_thread(wait_for, lambda: status_of(system, reviewer, application_id) == "issued", 30)
    page = await visitor.get(f"/review/{application_id}?lang=en")
    assert "Certificate issued" in page.text
    assert 'name="decision"' not in page.text  # nothing more to decide

    # The same form sent again (an old tab): refused, said in the reviewer's words, not the API's
    # detail for developers.
    again = await visitor.post(
        f"/review/{application_id}", data={"csrf": hidden(case.text, "csrf"), "decision": "approve"}
    )
    assert again.status_code == 422
    assert 'role="alert"' in again.text
    assert "status:" not in again.text


async def test_a_reviewer_of_another_region_gets_no_such_case(
    visitor: httpx.AsyncClient, system: System, doctor: str, reviewer: str
) -> None:
    application_id = await asyncio.to_thread(assessed_application, system, doctor, reviewer)
    await reviewer_signed_in(visitor, "110101")
    case = await visitor.get(f"/review/{application_id}")
    assert case.status_code == 404
    assert case.text.count("<h1>") == 1
    queue = await visitor.get("/review")
    assert application_id not in queue.text
    decided = await visitor.post(
        f"/review/{application_id}", data={"csrf": hidden(queue.text, "csrf"), "decision": "approve"}
    )
    assert decided.status_code == 404
    assert await asyncio.to_thread(status_of, system, reviewer, application_id) == "assessed"


async def test_an_applicant_gets_the_403_page_for_the_review_pages(visitor: httpx.AsyncClient) -> None:
    await signed_in(visitor, new_person())
    for path in ("/review", "/review/00000000-0000-0000-0000-000000000000"):
        page = await visitor.get(path)
        assert page.status_code == 403, path
        assert "<h1>您无权使用此页面</h1>" in page.text
    assert (await visitor.get("/")).status_code == 200


async def test_a_reviewer_gets_the_403_page_for_the_applicants_pages(visitor: httpx.AsyncClient) -> None:
    await reviewer_signed_in(visitor)
    for path in ("/applications/new", "/inbox", "/access-log"):
        page = await visitor.get(path + "?lang=en")
        assert page.status_code == 403, path
        assert "<h1>You cannot use this page</h1>" in page.text
