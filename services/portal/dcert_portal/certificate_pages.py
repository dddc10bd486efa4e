"""The certificate page of an applicant or agent: the certificate with its card status, the
e-certificate QR codes (inline SVG, made by live_code.py) and the benefits with their reasons.
The code shown first is the online one, made anew every minute in a frame of its own
(live_code.py); the offline code, which a screenshot would keep, is one click away for places
without a network.

Certificates are found from the person's own applications (and those they made as an agent):
never from a number in the URL. With several, one is chosen by the application's opaque id.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any, Final

from babel.numbers import format_currency
from fastapi import APIRouter, Request
from fastapi.responses import Response

from .application_form import CATEGORIES
from .i18n import N_, Translator
from .live_code import live_code_path, qr_svg
from .pages import person_as, render, services, translator

router = APIRouter()

LEVELS: Final = {
    1: N_("Level 1 (the most severe)"),
    2: N_("Level 2"),
    3: N_("Level 3"),
    4: N_("Level 4 (the least severe)"),
}
CERTIFICATE_STATUSES: Final = {
    "active": N_("Valid"),
    "lost": N_("Reported lost"),
    "replaced": N_("Replaced by a new certificate"),
    "cancelled": N_("Cancelled"),
    "expired": N_("Expired"),
    "on_hold": N_("On hold: a reported death is being checked"),
}
CARD_STATUSES: Final = {
    "ordered": N_("Ordered from the card centre"),
    "in_production": N_("Being made"),
    "produced": N_("Made, waiting to be sent"),
    "dispatched": N_("On its way to you"),
    "delivered": N_("Delivered"),
    "collected": N_("Collected"),
    "lost": N_("Reported lost"),
    "invalidated": N_("No longer valid"),
}
BENEFIT_STATUSES: Final = {
    "active": N_("Being paid"),
    "not_eligible": N_("Not eligible"),
    "suspended": N_("Suspended"),
    "terminated": N_("Ended"),
}
CERTIFICATE_LABELS: Final = {
    "categories": CATEGORIES,
    "levels": LEVELS,
    "statuses": CERTIFICATE_STATUSES,
    "cards": CARD_STATUSES,
    "benefits": BENEFIT_STATUSES,
}


def yuan(t: Translator, fen: int | None) -> str:
    """An amount of integer fen in yuan, in the locale's form (¥1,234.50)."""
    if fen is None:
        return t.gettext("None")
    return format_currency(Decimal(fen) / 100, "CNY", locale=t.locale)


def certificates_of(applications: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One choice per certificate, newest application first; the number stays on the server."""
    choices: dict[str, dict[str, Any]] = {}
    for item in sorted(applications, key=lambda a: str(a.get("submitted_at", "")), reverse=True):
        number = item.get("certificate_number")
        if number and number not in choices:
            choices[number] = {
                "application_id": item["id"],
                "number": number,
                "holder": item.get("applicant_name", ""),
                "submitted_at": item.get("submitted_at"),
            }
    return list(choices.values())


@router.get("/certificate")
async def certificate_page(request: Request) -> Response:
    return await _certificate(request, None)


@router.get("/certificate/{application_id}")
async def chosen_certificate_page(request: Request, application_id: str) -> Response:
    return await _certificate(request, application_id)


async def _certificate(request: Request, application_id: str | None) -> Response:
    person = person_as(request, "applicant")
    s = services(request)
    t = translator(request)
    answer = await s.call(s.certificate, "GET", "/v1/applications", person.token, t.language)
    applications = answer.json().get("items", []) if answer.status_code == 200 else []
    choices = certificates_of(applications)
    if application_id is None:
        chosen = choices[0] if choices else None
    else:
        # Any of the person's applications about the certificate names it (a matter made
        # since, on the same number, does not turn the link of the first one into a 404).
        number = next(
            (a.get("certificate_number") for a in applications if a.get("id") == application_id), None
        )
        chosen = next((c for c in choices if number is not None and c["number"] == number), None)
        if chosen is None:
            return render(request, "not_found.html", 404)
    if chosen is None:
        return render(
            request,
            "certificate.html",
            certificate=None,
            choices=[],
            pending=bool(applications),
            labels=CERTIFICATE_LABELS,
        )
    number = chosen["number"]
    certificate, ecert, benefits = await asyncio.gather(
        s.call(s.certificate, "GET", f"/v1/certificates/{number}", person.token, t.language),
        s.call(s.certificate, "GET", f"/v1/certificates/{number}/e-certificate", person.token, t.language),
        s.call(s.benefits, "GET", f"/v1/certificates/{number}/benefits", person.token, t.language),
    )
    if certificate.status_code != 200:
        return render(request, "not_found.html", 404)
    qr = None
    expires_on = None
    if ecert.status_code == 200:
        body = ecert.json()
        expires_on = body.get("expires_on")
        label = t.gettext(
            "QR code of your electronic disability certificate, valid until %(date)s",
            date=t.date(expires_on),
        )
        qr = qr_svg(str(body["code"]), label)
    items = benefits.json().get("items", []) if benefits.status_code == 200 else []
    return render(
        request,
        "certificate.html",
        certificate=certificate.json(),
        chosen=chosen,
        choices=choices if len(choices) > 1 else [],
        qr=qr,
        qr_expires_on=expires_on,
        live_code_src=live_code_path(chosen["application_id"], t.language),
        benefits=[
            {
                **item,
                "amount": t.gettext("Not a cash payment")
                if item.get("kind") == "in_kind"
                else yuan(t, item.get("monthly_amount")),
            }
            for item in items
        ],
        labels=CERTIFICATE_LABELS,
    )
