"""Rendering a page: the language, the signed-in person, the form tokens and the template; the
services the pages call, and what a page does when the token is refused."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from .i18n import LANGUAGES, Translator, choose_language
from .services import Services

LANGUAGE_COOKIE = "dcert_lang"
LANGUAGE_NAMES = {"zh-CN": "中文", "en": "English"}


@dataclass(frozen=True)
class Person:
    """The signed-in person, as kept in the signed session cookie."""

    role: str
    token: str
    id_number: str | None
    region: str | None = None
    doctor_id: str | None = None
    partner_id: str | None = None

    @property
    def masked_id_number(self) -> str:
        number = self.id_number or ""
        return number[:6] + "*" * max(len(number) - 10, 0) + number[-4:] if number else ""


def language_of(request: Request) -> str:
    return choose_language(request.query_params.get("lang"), request.cookies.get(LANGUAGE_COOKIE))


def translator(request: Request) -> Translator:
    translators: dict[str, Translator] = request.app.state.translators
    return translators[language_of(request)]


def signed_in(request: Request) -> Person | None:
    session = request.session
    if not session.get("token") or float(session.get("expires_at", 0)) <= time.time():
        return None
    return Person(
        role=session["role"],
        token=session["token"],
        id_number=session.get("id_number"),
        region=session.get("region"),
        doctor_id=session.get("doctor_id"),
        partner_id=session.get("partner_id"),
    )


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def signed_out(request: Request) -> Response:
    """The token was refused (it expired): the session ends, the person signs in again. Who it
    was is remembered (a keyed hash) so that a draft kept meanwhile goes back to them only."""
    owner = request.session.get("owner")
    request.session.clear()
    if owner:
        request.session["owner"] = owner
    return to_sign_in(request)


def csrf_token(request: Request) -> str:
    """One per session, in every form that changes something (SameSite=Lax is the first guard)."""
    if "csrf" not in request.session:
        request.session["csrf"] = secrets.token_urlsafe(24)
    return str(request.session["csrf"])


def problem_text(problem: dict[str, Any], fallback: str = "") -> str:
    """What a problem answer of the API says to a person: its title, in the language asked for
    (the detail is for developers: "status: public_notice")."""
    return str(problem.get("title") or problem.get("detail") or fallback)


def idempotency_key(form: Any) -> dict[str, str] | None:
    """The header that makes a form's creation happen once: its one-time token as the API's
    Idempotency-Key, so the same form sent twice (a double click, a reload) gets the first
    answer instead of a second creation."""
    token = str(form.get("form_token", ""))
    return {"Idempotency-Key": "portal-" + token} if token else None


def csrf_ok(request: Request, submitted: object) -> bool:
    expected = request.session.get("csrf")
    return isinstance(submitted, str) and bool(expected) and secrets.compare_digest(submitted, str(expected))


class PageRefused(Exception):
    """The page is not for this visitor: not signed in (off to sign in) or of another role (403).
    The app answers with `response` (bootstrap.py)."""

    def __init__(self, response: Response) -> None:
        super().__init__()
        self.response = response


def person_as(request: Request, role: str) -> Person:
    """The signed-in person, when their role is the page's; otherwise PageRefused."""
    person = signed_in(request)
    if person is None:
        raise PageRefused(to_sign_in(request))
    if person.role != role:
        raise PageRefused(forbidden(request))
    return person


def to_sign_in(request: Request) -> RedirectResponse:
    """Back to the sign-in page, which comes back here afterwards."""
    return RedirectResponse("/sign-in?" + urlencode({"next": request.url.path}), status_code=303)


def forbidden(request: Request) -> HTMLResponse:
    """A page that the signed-in person's role may not use: said plainly, not a crash."""
    return render(request, "forbidden.html", 403)


def safe_next(target: str | None) -> str:
    """Only a path of this site: never another host (`//host`, `https://...`)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    t = translator(request)
    if "errors" in context and "error_of" not in context:
        context["error_of"] = {error.name: error.message for error in context["errors"]}
    templates: Jinja2Templates = request.app.state.templates
    here = request.url.path
    switch = [
        {
            "code": code,
            "name": LANGUAGE_NAMES[code],
            "href": here + "?" + urlencode({"lang": code}),
            "current": code == t.language,
        }
        for code in LANGUAGES
    ]
    response = templates.TemplateResponse(
        request,
        template,
        {
            "t": t,
            "_": t.gettext,
            "lang": t.language,
            "person": signed_in(request),
            "csrf": csrf_token(request),
            # A fresh one-time token each time a page is shown, for a form that creates
            # something to send as the API's Idempotency-Key: a double click creates one.
            "form_token": secrets.token_urlsafe(24),
            "languages": switch,
            "here": here,
            **context,
        },
        status_code=status_code,
    )
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE,
            t.language,
            max_age=365 * 86_400,
            httponly=True,
            samesite="lax",
            secure=request.app.state.settings.secure_cookies,
        )
    # Personal pages: no shared cache may keep them.
    response.headers["Cache-Control"] = "no-store"
    return response
