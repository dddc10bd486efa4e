"""The card centre's pages (制卡中心): its home with the cards waiting and overdue, its batches
with the number of cards in each state and a form to take a batch; a batch with its cards and a
form to report their states. Only through the public API, as the signed-in card centre (docs/api.md):
the API keeps a card centre to its province and applies a report all or nothing."""

from __future__ import annotations

import re
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from .application_form import FieldError
from .i18n import N_
from .pages import (
    Person,
    csrf_ok,
    forbidden,
    idempotency_key,
    person_as,
    problem_text,
    render,
    services,
    translator,
)

router = APIRouter()

CARD_STATUSES: Final = {
    "ordered": N_("Ordered, waiting to be taken"),
    "in_production": N_("In production"),
    "produced": N_("Produced"),
    "dispatched": N_("Dispatched"),
    "delivered": N_("Delivered"),
    "collected": N_("Collected"),
    "lost": N_("Reported lost"),
    "invalidated": N_("Invalidated"),
}
# What the card centre reports, in the order a card goes through them (the API's ReportedStatus).
REPORT_HINTS: Final = {
    "produced": N_("The card is made and checked."),
    "dispatched": N_("Sent by post or to the county office: give each card's tracking number."),
    "delivered": N_("The post has handed the card to the holder."),
    "collected": N_("The holder collected the card at the counter."),
    "invalidated": N_("Spoiled or returned undeliverable: a new card is ordered at once."),
}
REPORTS: Final = {code: CARD_STATUSES[code] for code in REPORT_HINTS}
DELIVERIES: Final = {"mail": N_("By post"), "collect": N_("Collected at the counter")}
LABELS: Final = {"cards": CARD_STATUSES, "reports": REPORTS, "deliveries": DELIVERIES}
MAX_BATCH: Final = 500
DEFAULT_BATCH: Final = "50"
TRACKING_MAX: Final = 64
API_REPORT_FIELD: Final = re.compile(r"reports\.(\d+)\.(\w+)")


# --- the card centre's home ---


async def _home(
    request: Request,
    person: Person,
    errors: list[FieldError] | None = None,
    unplaced: str | None = None,
    limit: str = DEFAULT_BATCH,
    status_code: int = 200,
    empty: bool = False,
) -> Response:
    s = services(request)
    language = translator(request).language

    async def items(path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        answer = await s.call(s.certificate, "GET", path, person.token, language, params=params)
        return list(answer.json().get("items", [])) if answer.status_code == 200 else []

    waiting = await items("/v1/cards", {"status": "ordered"})
    overdue = await items("/v1/cards", {"overdue": "true"})
    batches = await items("/v1/card-batches", {"limit": "50"})
    for batch in batches:
        counts = batch.get("counts") or {}
        batch["states"] = [(code, counts[code]) for code in CARD_STATUSES if counts.get(code)]
    return render(
        request,
        "cards.html",
        status_code,
        waiting=waiting,
        overdue=overdue,
        batches=batches,
        labels=LABELS,
        errors=errors or [],
        unplaced=unplaced,
        limit=limit,
        max_batch=MAX_BATCH,
        empty=empty,
    )


@router.get("/cards")
async def cards_home(request: Request, empty: str | None = None) -> Response:
    person = person_as(request, "card_centre")
    return await _home(request, person, empty=empty == "1")


@router.post("/cards/batches")
async def take_batch(request: Request) -> Response:
    person = person_as(request, "card_centre")
    data = await request.form()
    t = translator(request)
    limit = str(data.get("limit", "")).strip()
    if not csrf_ok(request, data.get("csrf")):
        out_of_date = t.gettext("The form was out of date. Check it and send it again.")
        return await _home(request, person, [], out_of_date, limit, 400)
    if not limit:
        return await _home(
            request, person, [FieldError("limit", t.gettext("Fill this in."))], None, limit, 422
        )
    if not limit.isdecimal() or not 1 <= int(limit) <= MAX_BATCH:
        message = t.gettext("Enter a whole number from 1 to %(most)s.", most=MAX_BATCH)
        return await _home(request, person, [FieldError("limit", message)], None, limit, 422)
    s = services(request)
    answer = await s.call(
        s.certificate,
        "POST",
        "/v1/card-batches",
        person.token,
        t.language,
        json={"limit": int(limit)},
        # The same form sent twice carries the same key: the API answers the second request
        # with the first batch instead of taking another.
        headers=idempotency_key(data),
    )
    if answer.status_code in (200, 201):
        batch = answer.json()
        if not batch.get("cards"):
            return RedirectResponse("/cards?empty=1", status_code=303)
        # The print data (names, addresses) comes only in this answer: shown here, at once; the
        # same form sent again (a reload) replays the same batch under the same key.
        return render(request, "card_print.html", 201, batch=batch, labels=LABELS)
    if answer.status_code == 403:
        return forbidden(request)
    problem = _problem(answer.json() if _is_json(answer.headers.get("content-type")) else {})
    placed = [
        FieldError("limit", str(item.get("message") or problem.get("title") or ""))
        for item in problem.get("errors") or []
        if item.get("field") == "limit"
    ]
    unplaced = None if placed else problem_text(problem)
    return await _home(request, person, placed[:1], unplaced, limit, 422)


# --- a batch ---


async def _batch_page(
    request: Request,
    person: Person,
    batch_id: str,
    errors: list[FieldError] | None = None,
    unplaced: str | None = None,
    chosen: dict[str, Any] | None = None,
    status_code: int = 200,
    reported: bool = False,
) -> Response:
    s = services(request)
    answer = await s.call(
        s.certificate, "GET", f"/v1/card-batches/{batch_id}", person.token, translator(request).language
    )
    if answer.status_code != 200:
        return render(request, "not_found.html", 404)
    batch = answer.json()
    return render(
        request,
        "card_batch.html",
        status_code,
        batch=batch,
        labels=LABELS,
        report_hints=REPORT_HINTS,
        errors=errors or [],
        unplaced=unplaced,
        chosen=chosen or {"cards": [], "status": "", "tracking": {}},
        tracking_max=TRACKING_MAX,
        reported=reported,
    )


@router.get("/cards/batches/{batch_id}")
async def batch_page(request: Request, batch_id: str, reported: str | None = None) -> Response:
    person = person_as(request, "card_centre")
    return await _batch_page(request, person, batch_id, reported=reported == "1")


@router.post("/cards/batches/{batch_id}")
async def report_states(request: Request, batch_id: str) -> Response:
    person = person_as(request, "card_centre")
    data = await request.form()
    t = translator(request)
    cards = [str(card) for card in data.getlist("card")]
    status = str(data.get("status", ""))
    tracking = {
        str(name).removeprefix("tracking-"): str(value).strip()
        for name, value in data.items()
        if str(name).startswith("tracking-") and str(value).strip()
    }
    chosen = {"cards": cards, "status": status, "tracking": tracking}
    if not csrf_ok(request, data.get("csrf")):
        out_of_date = t.gettext("The form was out of date. Check it and send it again.")
        return await _batch_page(request, person, batch_id, [], out_of_date, chosen, 400)
    errors: list[FieldError] = []
    if not cards:
        errors.append(FieldError("cards", t.gettext("Choose at least one card.")))
    for card in cards:
        number = tracking.get(card, "")
        if status == "dispatched" and not number:
            message = t.gettext("Give the tracking number of each card you report dispatched.")
            errors.append(FieldError("tracking-" + card, message))
        elif len(number) > TRACKING_MAX:
            message = t.gettext("Write no more than %(most)s characters.", most=TRACKING_MAX)
            errors.append(FieldError("tracking-" + card, message))
    if status not in REPORTS:
        errors.append(FieldError("status", t.gettext("Choose the state to report.")))
    if errors:
        # Nothing is sent: the API would record a dispatch without its tracking number.
        return await _batch_page(request, person, batch_id, errors, None, chosen, 422)
    reports = [
        {
            "card_id": card,
            "status": status,
            **({"tracking_number": tracking[card]} if card in tracking else {}),
        }
        for card in cards
    ]
    s = services(request)
    answer = await s.call(
        s.certificate,
        "POST",
        f"/v1/card-batches/{batch_id}/reports",
        person.token,
        t.language,
        json={"reports": reports},
    )
    if answer.status_code == 200:
        return RedirectResponse(f"/cards/batches/{batch_id}?reported=1", status_code=303)
    if answer.status_code in (403, 404):
        return render(request, "not_found.html", 404)
    problem = _problem(answer.json() if _is_json(answer.headers.get("content-type")) else {})
    errors, unplaced = _report_errors(t.gettext, problem, cards, status)
    return await _batch_page(request, person, batch_id, errors, unplaced, chosen, 422)


def _report_errors(
    gettext: Any, problem: dict[str, Any], cards: list[str], status: str
) -> tuple[list[FieldError], str | None]:
    """The API's refusal at the card it names (`reports.<i>.<field>`: the i-th card chosen)."""
    errors: list[FieldError] = []
    for item in problem.get("errors") or []:
        found = API_REPORT_FIELD.fullmatch(str(item.get("field", "")))
        if found is None or int(found.group(1)) >= len(cards):
            continue
        card, field = cards[int(found.group(1))], found.group(2)
        if problem.get("code") == "card_transition_not_allowed":
            now = CARD_STATUSES.get(str(problem.get("card_status")), "")
            message = gettext(
                "The card is now “%(now)s”: it cannot be reported “%(asked)s”.",
                now=gettext(now) if now else "",
                asked=gettext(REPORTS.get(status, status)),
            )
        elif problem.get("code") == "card_not_in_batch":
            message = gettext("This card is not in this batch.")
        else:
            message = str(item.get("message") or problem.get("title") or "")
        name = "tracking-" + card if field == "tracking_number" else "card-" + card
        errors.append(FieldError(name, message))
    unplaced = None if errors else problem_text(problem)
    return errors, unplaced


def _problem(body: Any) -> dict[str, Any]:
    return body if isinstance(body, dict) else {}


def _is_json(content_type: str | None) -> bool:
    return bool(content_type) and "json" in str(content_type)
