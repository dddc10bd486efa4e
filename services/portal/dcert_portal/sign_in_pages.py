"""Signing in and out, for every role: at the identity provider, or (in development) with a form
that asks the services for a development token. Routes are fixed (the browser tests use them)."""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from dcert_shared.auth import CLAIM_NAMES
from dcert_shared.ids import IdentityNumber
from dcert_shared.problems import DomainError

from . import drafts, identity
from .application_form import FieldError
from .i18n import N_
from .pages import csrf_ok, render, safe_next, services, translator
from .vocabulary import DOCTOR_ID, PARTNER_ID, REGION_CODE, ROLE_HOMES, ROLES

router = APIRouter()


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
