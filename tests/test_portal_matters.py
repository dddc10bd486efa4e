"""The matters on an existing certificate and the appointment for an assessment, in the portal:
a holder asks for a replacement, a transfer with a mistake creates nothing, a double click
creates one application, and an application being assessed offers times to book. The portal
in-process, the four services real."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx
import pytest

from .system import System, application, new_person, wait_for
from .test_main_flow import apply, approved
from .test_portal_pages import applications_of, hidden, signed_in

Holder = tuple[str, str, str]  # (the person signed in, the application that made it, the number)


@pytest.fixture
def a_holder(system: System, doctor: str, reviewer: str) -> Callable[[], Holder]:
    """A fresh certificate through the real flow, a child's, applied for by a parent as agent."""

    def make() -> Holder:
        child, parent = new_person(birth=date(2015, 6, 1)), new_person()
        token = system.token("applicant", f"portal-matters-{parent}", id_number=parent)
        created = apply(system, token, application(child, agent=parent), key=f"portal-matters-{child}")
        assert created.status_code == 201, created.text
        application_id = created.json()["id"]
        return parent, application_id, approved(system, doctor, reviewer, application_id)

    return make


async def the_matter_form(
    visitor: httpx.AsyncClient, application_id: str, matter: str = ""
) -> dict[str, str]:
    page = await visitor.get(f"/certificate/{application_id}/matters/new?matter={matter}")
    assert page.status_code == 200, page.text
    return {"csrf": hidden(page.text, "csrf"), "form_token": hidden(page.text, "form_token")}


def matters_of(system: System, person: str, matter: str) -> list[dict[str, Any]]:
    return [item for item in applications_of(system, person) if item["matter"] == matter]


async def test_a_holder_asks_for_a_replacement_of_a_lost_certificate(
    visitor: httpx.AsyncClient, system: System, a_holder: Callable[[], Holder]
) -> None:
    parent, application_id, number = a_holder()
    await signed_in(visitor, parent)
    certificate = await visitor.get(f"/certificate/{application_id}")
    link = f"/certificate/{application_id}/matters/new?matter=replacement"
    assert f'href="{link}"' in certificate.text
    page = await visitor.get(link)
    assert page.status_code == 200
    text = page.text
    assert "<h1>办理残疾人证相关事项</h1>" in text
    assert "各事项所需内容" in text
    assert 'id="matter-replacement" name="matter" value="replacement" checked' in text
    assert number not in text, "the certificate number is never on the form"
    tokens = {"csrf": hidden(text, "csrf"), "form_token": hidden(text, "form_token")}
    answer = await visitor.post(
        link.split("?")[0],
        data={**tokens, "matter": "replacement", "replacement_reason": "lost", "consent": "yes"},
    )
    assert answer.status_code == 303, answer.text
    new_id = answer.headers["location"].rsplit("/", 1)[1]
    assert answer.headers["location"] == f"/applications/{new_id}"
    made = matters_of(system, parent, "replacement")
    assert [item["id"] for item in made] == [new_id]
    assert made[0]["reason"] == "lost"
    assert made[0]["subject_certificate"] == number
    shown = await visitor.get(f"/applications/{new_id}")
    assert shown.status_code == 200
    assert "<h1>补领" in shown.text
    still = await visitor.get(f"/certificate/{application_id}")
    assert still.status_code == 200, "the certificate's link broke once a matter was made on it"


async def test_a_transfer_without_a_region_shows_the_error_and_creates_nothing(
    visitor: httpx.AsyncClient, system: System, a_holder: Callable[[], Holder]
) -> None:
    parent, application_id, _ = a_holder()
    await signed_in(visitor, parent)
    before = applications_of(system, parent)
    tokens = await the_matter_form(visitor, application_id, "transfer")
    answer = await visitor.post(
        f"/certificate/{application_id}/matters/new", data={**tokens, "matter": "transfer", "to_region": ""}
    )
    assert answer.status_code == 422
    text = answer.text
    assert 'role="alert"' in text
    assert 'href="#to_region"' in text
    assert 'href="#consent"' in text
    assert 'id="to_region-error"' in text
    assert 'aria-invalid="true"' in text
    assert 'id="matter-transfer" name="matter" value="transfer" checked' in text  # kept
    assert applications_of(system, parent) == before
    # A region that is not 6 digits: the API's own message at the field, what was typed kept.
    tokens = await the_matter_form(visitor, application_id, "transfer")
    wrong = await visitor.post(
        f"/certificate/{application_id}/matters/new",
        data={**tokens, "matter": "transfer", "to_region": "33x", "consent": "yes"},
    )
    assert wrong.status_code == 422
    assert 'id="to_region-error"' in wrong.text
    assert 'value="33x"' in wrong.text
    assert applications_of(system, parent) == before
    # Nothing chosen at all: said, and nothing sent.
    tokens = await the_matter_form(visitor, application_id)
    empty = await visitor.post(f"/certificate/{application_id}/matters/new", data=tokens)
    assert empty.status_code == 422
    assert 'href="#matter"' in empty.text


async def test_the_same_form_token_twice_creates_one_application(
    visitor: httpx.AsyncClient, system: System, a_holder: Callable[[], Holder]
) -> None:
    parent, application_id, _ = a_holder()
    await signed_in(visitor, parent)
    tokens = await the_matter_form(visitor, application_id, "replacement")
    data = {**tokens, "matter": "replacement", "replacement_reason": "damaged", "consent": "yes"}
    first = await visitor.post(f"/certificate/{application_id}/matters/new", data=data)
    second = await visitor.post(f"/certificate/{application_id}/matters/new", data=data)
    assert first.status_code == second.status_code == 303, second.text
    assert first.headers["location"] == second.headers["location"]
    assert len(matters_of(system, parent, "replacement")) == 1


async def test_someone_elses_certificate_has_no_matters_form(
    visitor: httpx.AsyncClient, a_holder: Callable[[], Holder]
) -> None:
    _, application_id, _ = a_holder()
    await signed_in(visitor, new_person())
    assert (await visitor.get(f"/certificate/{application_id}/matters/new")).status_code == 404


def being_assessed(system: System, token: str, application_id: str) -> str:
    """The assessment id once the application is assessed and a doctor is assigned."""

    def assigned() -> str | None:
        answer = system.call("certificate", "GET", f"/v1/applications/{application_id}", token=token).json()
        # The whole application, or the status its agent reads until verified (with the id to book).
        assessment_id = (answer.get("assessment") or {}).get("assessment_id") or answer.get("assessment_id")
        if answer["status"] != "assessing" or not assessment_id:
            return None
        slots = system.call("assessment", "GET", f"/v1/assessments/{assessment_id}/slots", token=token)
        return str(assessment_id) if slots.status_code == 200 and slots.json()["items"] else None

    return wait_for(assigned)


async def test_an_application_being_assessed_offers_times_and_books_one(
    visitor: httpx.AsyncClient, system: System, doctor: str
) -> None:
    person = new_person()
    token = system.token("applicant", f"portal-slots-{person}", id_number=person)
    created = apply(system, token, application(person))
    assert created.status_code == 201, created.text
    application_id = created.json()["id"]
    being_assessed(system, token, application_id)
    await signed_in(visitor, person)
    page = await visitor.get(f"/applications/{application_id}")
    assert page.status_code == 200
    assert "评定预约" in page.text
    assert "尚未预约。" in page.text
    slots = re.findall(r'name="starts_at" value="([^"]+)"', page.text)
    assert slots, "no times offered"
    assert re.search(r"<label for=\"starts_at-1\">\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}", page.text)
    csrf = hidden(page.text, "csrf")
    # No time chosen: the error at the top and at the times, nothing booked.
    unchosen = await visitor.post(f"/applications/{application_id}/appointment", data={"csrf": csrf})
    assert unchosen.status_code == 422
    assert 'href="#starts_at"' in unchosen.text
    assert 'id="starts_at-error"' in unchosen.text
    booked = await visitor.post(
        f"/applications/{application_id}/appointment", data={"csrf": csrf, "starts_at": slots[0]}
    )
    assert booked.status_code == 303, booked.text
    shown = await visitor.get(f"/applications/{application_id}")
    assert "您的预约时间：" in shown.text
    assert "改约" in shown.text
    english = await visitor.get(f"/applications/{application_id}?lang=en")
    assert "Your appointment: " in english.text
    assert "Change the appointment" in english.text
