"""The pages of an applicant or agent: home, a new application, an application with its
timeline, the inbox, the access log. Routes are fixed (the browser tests use them)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from . import drafts
from .application_form import (
    CATEGORIES,
    FIELD_ORDER,
    RELATIONSHIPS,
    FieldError,
    NewApplicationForm,
    field_errors,
)
from .matter_pages import application_view
from .pages import (
    Person,
    csrf_ok,
    forbidden,
    idempotency_key,
    person_as,
    render,
    services,
    signed_in,
    signed_out,
    to_sign_in,
    translator,
)
from .services import SignedOut
from .vocabulary import LABELS, ROLE_HOMES

router = APIRouter()


@router.get("/")
async def home(request: Request) -> Response:
    person = signed_in(request)
    if person is None:
        return to_sign_in(request)
    if person.role in ROLE_HOMES:
        return RedirectResponse(ROLE_HOMES[person.role], status_code=303)
    return await _listed(request, person, "certificate", "/v1/applications", "home.html", "applications")


def _new_form_page(
    request: Request,
    form: NewApplicationForm,
    errors: list[FieldError],
    unplaced: str | None = None,
    status_code: int = 200,
    draft_restored: bool = False,
) -> Response:
    return render(
        request,
        "new_application.html",
        status_code,
        draft_restored=draft_restored,
        form=form,
        errors=errors,
        error_of={error.name: error.message for error in errors},
        unplaced=unplaced,
        categories=CATEGORIES,
        relationships=RELATIONSHIPS,
        field_order=FIELD_ORDER,
    )


@router.get("/applications/new")
async def new_application_page(request: Request) -> Response:
    person = person_as(request, "applicant")
    draft = drafts.take(request)
    if draft is not None:
        form = NewApplicationForm.from_form(draft)
    else:
        form = NewApplicationForm(values={"applicant_id_number": person.id_number or ""})
    return drafts.forget(request, _new_form_page(request, form, [], draft_restored=draft is not None))


@router.post("/applications/new")
async def submit_application(request: Request) -> Response:
    person = signed_in(request)
    data = await request.form()
    if person is None:
        return drafts.keep(request, to_sign_in(request), data)
    if person.role != "applicant":
        return forbidden(request)
    form = NewApplicationForm.from_form(data)
    t = translator(request)
    if not csrf_ok(request, data.get("csrf")):
        return _new_form_page(
            request, form, [], t.gettext("The form was out of date. Check it and send it again."), 400
        )
    own = [FieldError(error.name, t.gettext(error.message)) for error in form.checks_of_its_own()]
    s = services(request)
    try:
        answer = await s.call(
            s.certificate,
            "POST",
            "/v1/applications",
            person.token,
            t.language,
            json=form.body(),
            # The form's one-time token: a double click sends the same key, and the API answers
            # the second request with the first application instead of creating another.
            headers=idempotency_key(data),
        )
    except SignedOut:
        return drafts.keep(request, signed_out(request), data)
    # Every check of the form's own is one the API makes too: a created application is the truth.
    if answer.status_code in (200, 201):
        return RedirectResponse(f"/applications/{answer.json()['id']}", status_code=303)
    problem: dict[str, Any] = answer.json() if answer.status_code >= 400 else {}
    errors, unplaced = field_errors(problem, own)
    return _new_form_page(request, form, errors, unplaced, 422)


@router.get("/applications/{application_id}")
async def application_page(request: Request, application_id: str) -> Response:
    person = person_as(request, "applicant")
    return await application_view(request, person, application_id)


@router.get("/inbox")
async def inbox(request: Request) -> Response:
    person = person_as(request, "applicant")
    return await _listed(request, person, "notification", "/v1/inbox", "inbox.html")


@router.get("/access-log")
async def access_log(request: Request) -> Response:
    person = person_as(request, "applicant")
    return await _listed(request, person, "certificate", "/v1/me/access-log", "access_log.html")


async def _listed(
    request: Request, person: Person, service: str, path: str, template: str, name: str = "items"
) -> Response:
    """A page listing the `items` a service answers the person with (none when it cannot)."""
    s = services(request)
    answer = await s.call(getattr(s, service), "GET", path, person.token, translator(request).language)
    items = answer.json().get("items", []) if answer.status_code == 200 else []
    return render(request, template, 200, labels=LABELS, **{name: items})
