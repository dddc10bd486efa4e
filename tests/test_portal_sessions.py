"""When a session ends: a token the services refuse ends it on every page, and a form open at
the time keeps its draft: the person signs in again and finds what they typed; nothing was sent
meanwhile, and no one else finds it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dcert_portal.bootstrap import SESSION_COOKIE
from dcert_portal.drafts import DRAFT_COOKIE
from dcert_portal.sessions import SessionSealer
from dcert_portal.settings import PortalSettings

from .system import System, new_person
from .test_portal_pages import applications_of, filled_in, signed_in, the_form


def change_session(visitor: httpx.AsyncClient, settings: PortalSettings, **changes: Any) -> None:
    """What time (or a revoked token) does to the session, done at once: the cookie sealed again
    as the portal seals it (dcert_portal.sessions)."""
    sealer = SessionSealer(settings.secret, SESSION_COOKIE)
    cookie = next(cookie for cookie in visitor.cookies.jar if cookie.name == SESSION_COOKIE)
    session = sealer.open(str(cookie.value), max_age_seconds=86_400)
    assert session is not None
    session.update(changes)
    cookie.value = sealer.seal(session)


@pytest.mark.parametrize("how", ["expired", "token_refused"])
async def test_a_form_sent_after_the_session_ended_is_kept_for_the_same_person(
    visitor: httpx.AsyncClient, system: System, portal_settings: PortalSettings, how: str
) -> None:
    person = new_person()
    await signed_in(visitor, person)
    tokens = await the_form(visitor)
    if how == "expired":
        change_session(visitor, portal_settings, expires_at=0)
    else:  # the session is current but the services refuse its token (revoked, expired early)
        change_session(visitor, portal_settings, token="a.revoked.token")
    typed = filled_in(person, applicant_name="李晓红", applicant_address="湖州市吴兴区凤凰路8号")
    sent = await visitor.post("/applications/new", data={**typed, **tokens})

    assert sent.status_code == 303
    assert sent.headers["location"] == "/sign-in?next=%2Fapplications%2Fnew"
    assert DRAFT_COOKIE in visitor.cookies
    assert "李晓红" not in visitor.cookies[DRAFT_COOKIE], "the draft is encrypted"
    assert applications_of(system, person) == [], "nothing was sent"
    sign_in_page = await visitor.get(sent.headers["location"])
    assert "表单没有提交" in sign_in_page.text
    assert 'role="status"' in sign_in_page.text

    back = await visitor.post(
        "/sign-in", data={"role": "applicant", "id_number": person, "next": "/applications/new"}
    )
    assert back.headers["location"] == "/applications/new"
    form = await visitor.get("/applications/new")
    assert form.status_code == 200
    assert 'value="李晓红"' in form.text
    assert 'value="湖州市吴兴区凤凰路8号"' in form.text
    assert "尚未提交" in form.text
    assert DRAFT_COOKIE not in visitor.cookies, "given back once, then gone"
    again = await visitor.get("/applications/new")
    assert 'value="李晓红"' not in again.text


async def test_someone_else_signing_in_on_the_same_browser_never_sees_the_draft(
    visitor: httpx.AsyncClient, portal_settings: PortalSettings
) -> None:
    first = new_person()
    await signed_in(visitor, first)
    tokens = await the_form(visitor)
    change_session(visitor, portal_settings, expires_at=0)
    typed = filled_in(first, applicant_name="李晓红")
    assert (await visitor.post("/applications/new", data={**typed, **tokens})).status_code == 303
    assert DRAFT_COOKIE in visitor.cookies

    await signed_in(visitor, new_person())
    form = await visitor.get("/applications/new")
    assert "李晓红" not in form.text
    assert first not in form.text
    assert DRAFT_COOKIE not in visitor.cookies, "another person's draft is deleted, not kept"


@pytest.mark.parametrize(
    ("role", "claims", "path"),
    [
        ("applicant", {"id_number": ""}, "/inbox"),
        ("applicant", {"id_number": ""}, "/certificate"),
        ("reviewer", {"region": "330502"}, "/review"),
        ("doctor", {"doctor_id": "doctor-revoked"}, "/worklist"),
        ("card_centre", {"region": "330000"}, "/cards"),
        ("admin", {}, "/admin/partners"),
        ("partner", {"partner_id": "partner-revoked"}, "/partner"),
    ],
)
async def test_a_token_the_services_refuse_ends_the_session_on_every_page(
    visitor: httpx.AsyncClient,
    portal_settings: PortalSettings,
    role: str,
    claims: dict[str, str],
    path: str,
) -> None:
    claims = {name: value or new_person() for name, value in claims.items()}
    signed = await visitor.post("/sign-in", data={"role": role, **claims})
    assert signed.status_code == 303, signed.text
    assert (await visitor.get(path)).status_code == 200
    change_session(visitor, portal_settings, token="a.revoked.token")
    refused = await visitor.get(path)
    assert refused.status_code == 303
    assert refused.headers["location"].startswith("/sign-in?next=")
    again = await visitor.get(path)
    assert again.status_code == 303, "the session ended: no second call with the refused token"
