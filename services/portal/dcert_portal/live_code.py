"""The e-certificate's online code on the certificate page: a QR code that is made anew every
minute or so, so that a screenshot or a photo of the screen stops verifying.

The page frames a small document of its own (`/certificate/{application_id}/live-code`) which
reloads itself with `<meta http-equiv="refresh">` before its code goes stale: the QR code stays
fresh without a script and without reloading the page around it (a screen reader keeps its
place). It stops after `MAX_ROUNDS` reloads and offers a link for a new code, so that a page
left open does not ask the services for codes all day.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from urllib.parse import urlencode

import segno
from babel.dates import format_time
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup, escape

from .i18n import CHINA, Translator
from .pages import render, services, signed_in, signed_out, translator
from .services import SignedOut

router = APIRouter()

MAX_ROUNDS: Final = 15
# This document may be framed by the portal's own pages, and only by them.
FRAMED_CSP: Final = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'self'; base-uri 'none'"
)


def refresh_seconds(issued_at: datetime, valid_until: datetime) -> int:
    """When to fetch the next code: two thirds into this one's life (60 s of 90 s), so that the
    code on the screen always has a third of its life left for a scanner."""
    life = int((valid_until - issued_at).total_seconds())
    return max(2, life * 2 // 3)


def live_code_path(application_id: str, language: str, round_number: int = 0) -> str:
    return f"/certificate/{application_id}/live-code?" + urlencode({"lang": language, "round": round_number})


def qr_svg(code: str, label: str) -> Markup:
    """The e-certificate's code as an inline SVG QR code with an accessible name."""
    svg = segno.make(code, error="m").svg_inline(omitsize=True, dark="#000", light="#fff")
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1))


def clock_time(t: Translator, moment: datetime) -> str:
    """The time of day in China Standard Time, in the locale's form (14:05:30, 2:05:30 PM)."""
    return format_time(moment, format="medium", tzinfo=CHINA, locale=t.locale)


@router.get("/certificate/{application_id}/live-code")
async def live_code(
    request: Request, application_id: str, round_number: int = Query(0, alias="round", ge=0)
) -> Response:
    t = translator(request)
    person = signed_in(request)
    if person is None or person.role != "applicant":
        return _framed(render(request, "live_code.html", signed_out=True))
    s = services(request)
    applications = await s.call(s.certificate, "GET", "/v1/applications", person.token, t.language)
    items = applications.json().get("items", []) if applications.status_code == 200 else []
    number = next((a.get("certificate_number") for a in items if a.get("id") == application_id), None)
    if not number:
        return _framed(render(request, "live_code.html", 404))
    try:
        answer = await s.call(
            s.certificate, "GET", f"/v1/certificates/{number}/e-certificate", person.token, t.language
        )
    except SignedOut:
        signed_out(request)  # the session ends as on any page; the frame says so
        return _framed(render(request, "live_code.html", signed_out=True))
    if answer.status_code != 200:
        return _framed(render(request, "live_code.html"))
    body = answer.json()
    issued_at = datetime.fromisoformat(body["online_code_issued_at"])
    valid_until = datetime.fromisoformat(body["online_code_valid_until"])
    until = clock_time(t, valid_until)
    label = t.gettext(
        "Live QR code of your electronic disability certificate, valid until %(time)s", time=until
    )
    more = round_number + 1 < MAX_ROUNDS
    return _framed(
        render(
            request,
            "live_code.html",
            qr=qr_svg(str(body["online_code"]), label),
            valid_until=until,
            refresh_seconds=refresh_seconds(issued_at, valid_until) if more else None,
            next_url=live_code_path(application_id, t.language, round_number + 1 if more else 0),
        )
    )


def _framed(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = FRAMED_CSP
    return response
