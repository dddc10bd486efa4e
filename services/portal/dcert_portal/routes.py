"""The pages of an applicant or agent: sign-in, home, a new application, an application with
its timeline, the inbox, the access log, sign-out. Routes are fixed (the browser tests use them)."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from dcert_shared.auth import CLAIM_NAMES
from dcert_shared.ids import IdentityNumber
from dcert_shared.problems import DomainError

from . import drafts, identity
from .application_form import (
    CATEGORIES,
    FIELD_ORDER,
    RELATIONSHIPS,
    FieldError,
    NewApplicationForm,
    field_errors,
)
from .i18n import N_
from .pages import (
    Person,
    csrf_ok,
    forbidden,
    idempotency_key,
    person_as,
    render,
    safe_next,
    signed_in,
    to_sign_in,
    translator,
)
from .services import Services, SignedOut

router = APIRouter()
REGION_CODE = re.compile(r"[0-9]{6}")
DOCTOR_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,63}")

ROLES = {
    "applicant": N_("Applicant or agent"),
    "reviewer": N_("County reviewer"),
    "doctor": N_("Doctor"),
    "card_centre": N_("Card centre"),
    "partner": N_("Partner agency"),
    "admin": N_("Administrator"),
}
# Where each role starts after signing in (an applicant: their own home page).
ROLE_HOMES = {
    "reviewer": "/review",
    "doctor": "/worklist",
    "card_centre": "/cards",
    "partner": "/partner",
    "admin": "/admin",
}
PARTNER_ID = DOCTOR_ID  # both as their registrar gave them
STATUSES = {
    "submitted": N_("Submitted"),
    "assessing": N_("Being assessed"),
    "assessed": N_("Assessed, waiting for review"),
    "public_notice": N_("On public notice"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
    "returned": N_("Returned to you for changes"),
    "issued": N_("Certificate issued"),
    "completed": N_("Completed"),
    "withdrawn": N_("Withdrawn"),
}
MATTERS = {
    "new": N_("New certificate"),
    "renewal": N_("Renewal"),
    "replacement": N_("Replacement"),
    "grade_change": N_("Change of grade"),
    "transfer": N_("Transfer"),
    "cancellation": N_("Cancellation"),
}
LABELS = {"statuses": STATUSES, "matters": MATTERS, "categories": CATEGORIES}


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def signed_out(request: Request) -> Response:
    """The token was refused (it expired): the session ends, the person signs in again. Who it
    was is remembered (a keyed hash) so that a draft kept meanwhile goes back to them only."""
    owner = request.session.get("owner")
    request.session.clear()
    if owner:
        request.session["owner"] = owner
    return to_sign_in(request)


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


# --- signing in and out ---


@router.get("/sign-in")
async def sign_in_page(request: Request, next: str | None = None) -> Response:
    draft = {
        "draft_kept": request.session.pop("draft_kept", False),
        "draft_lost": request.session.pop("draft_lost", False),
    }
    if request.app.state.identity is not None:
        return render(request, "sign_in_provider.html", next=safe_next(next), **draft)
    return render(
        request,
        "sign_in.html",
        roles=ROLES,
        values={"role": "applicant"},
        errors=[],
        next=safe_next(next),
        **draft,
    )


@router.get("/sign-in/start")
async def sign_in_start(request: Request, next: str | None = None) -> Response:
    """To the identity provider (state, nonce and PKCE code challenge kept in the session)."""
    provider = request.app.state.identity
    if provider is None:
        return render(request, "not_found.html", 404)
    request.session["next"] = safe_next(next)
    return await identity.start(provider, request, request.app.state.settings)  # type: ignore[no-any-return]


@router.get(identity.CALLBACK_PATH)
async def sign_in_callback(request: Request) -> Response:
    """Back from the identity provider: the code is exchanged here, on the server."""
    provider = request.app.state.identity
    if provider is None:
        return render(request, "not_found.html", 404)
    target = safe_next(request.session.get("next"))
    try:
        person = await identity.finish(provider, request, request.app.state.settings.session_max_age_seconds)
    except identity.SignInFailed:
        request.session.clear()
        return render(request, "sign_in_provider.html", 400, next=target, failed=True)
    principal = person.principal
    claims = {
        "id_number": principal.id_number,
        "region": principal.region,
        "doctor_id": principal.doctor_id,
        "partner_id": principal.partner_id,
    }
    return _begin_session(
        request, principal.role, principal.subject, person.access_token, claims, person.expires_at, target
    )


def _begin_session(
    request: Request,
    role: str,
    subject: str,
    token: str,
    claims: dict[str, str | None],
    expires_at: float,
    target: str,
) -> Response:
    """A new session (never one an earlier visitor began), then the page asked for or the
    role's own home."""
    request.session.clear()
    request.session.update(
        {
            "token": token,
            "role": role,
            **claims,
            "expires_at": expires_at,
            "csrf": secrets.token_urlsafe(24),
            "owner": drafts.owner_of(request.app.state.settings.secret, role, subject),
        }
    )
    return RedirectResponse(ROLE_HOMES.get(role, "/") if target == "/" else target, status_code=303)


@router.post("/sign-in")
async def sign_in(
    request: Request,
    role: Annotated[str, Form()] = "",
    id_number: Annotated[str, Form()] = "",
    region: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
    doctor_id: Annotated[str, Form()] = "",
    partner_id: Annotated[str, Form()] = "",
) -> Response:
    if request.app.state.identity is not None:  # people sign in at the identity provider
        return render(request, "not_found.html", 404)
    t = translator(request)
    values = {
        "role": role,
        "id_number": id_number.strip(),
        "region": region.strip(),
        "doctor_id": doctor_id.strip(),
        "partner_id": partner_id.strip(),
    }
    errors: list[FieldError] = []
    claims: dict[str, str] = {}
    if role not in ROLES:
        errors.append(FieldError("role", t.gettext("Choose who you are.")))
    if role == "applicant":
        try:
            claims["id_number"] = IdentityNumber.parse(values["id_number"]).value
        except DomainError:
            message = (
                N_("Fill this in.")
                if not values["id_number"]
                else N_("Enter a valid 18-character identity number.")
            )
            errors.append(FieldError("id_number", t.gettext(message)))
    if role in ("reviewer", "card_centre"):
        if REGION_CODE.fullmatch(values["region"]):
            claims["region"] = values["region"]
        else:
            message = N_("Fill this in.") if not values["region"] else N_("Enter a region code of 6 digits.")
            errors.append(FieldError("region", t.gettext(message)))
    if role == "doctor":
        if DOCTOR_ID.fullmatch(values["doctor_id"]):
            claims["doctor_id"] = values["doctor_id"]
        else:
            message = N_("Fill this in.") if not values["doctor_id"] else N_("Enter your doctor ID as given.")
            errors.append(FieldError("doctor_id", t.gettext(message)))
    if role == "partner":
        if PARTNER_ID.fullmatch(values["partner_id"]):
            claims["partner_id"] = values["partner_id"]
        else:
            message = (
                N_("Fill this in.") if not values["partner_id"] else N_("Enter your partner ID as given.")
            )
            errors.append(FieldError("partner_id", t.gettext(message)))
    if errors:
        return render(
            request, "sign_in.html", 422, roles=ROLES, values=values, errors=errors, next=safe_next(next)
        )
    # The subject is a pseudonym: the identity number itself travels only as a claim.
    pseudonym = (
        claims.get("id_number")
        or ("doctor-" + claims["doctor_id"] if "doctor_id" in claims else None)
        or ("partner-" + claims["partner_id"] if "partner_id" in claims else None)
        or "region-" + claims.get("region", "")
    )
    subject = role + "-" + hashlib.sha256(pseudonym.encode()).hexdigest()[:16]
    token = await services(request).dev_token(role, subject, claims)
    if token is None:
        errors.append(FieldError("role", t.gettext("Development sign-in is off on this system.")))
        return render(
            request, "sign_in.html", 503, roles=ROLES, values=values, errors=errors, next=safe_next(next)
        )
    claims_kept: dict[str, str | None] = {name: claims.get(name) for name in CLAIM_NAMES}
    expires_at = time.time() + request.app.state.settings.session_max_age_seconds
    return _begin_session(request, role, subject, token, claims_kept, expires_at, safe_next(next))


@router.post("/sign-out")
async def sign_out(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    if csrf_ok(request, csrf):
        request.session.clear()
    return RedirectResponse("/sign-in", status_code=303)


# --- the applicant's pages ---


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
    # The page with the appointment for its assessment (matter_pages imports this module).
    from .matter_pages import application_view

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
