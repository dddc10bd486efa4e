"""The partner agency's own page: its policy, webhook subscriptions, signing secrets, dead
deliveries and replay. Only through the public APIs, as the signed-in person (docs/api.md,
services/notification/README.md). A signing secret is shown once, on the answer page of the
request that made it, and is never logged, kept in the session or put in a URL."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from .api_forms import api_errors, items_of, lines_of, missing_page, ordered, problem_of
from .application_form import REQUIRED, FieldError
from .i18n import CHINA, N_
from .pages import Person, csrf_ok, idempotency_key, person_as, problem_text, render, services, translator
from .vocabulary import EVENT_TYPES, OUT_OF_DATE, REGION_CODE, SHARING_LABELS

router = APIRouter()
SUBSCRIPTION_FIELDS: Final = ["url", "event_types", "regions"]


async def _partner_page(
    request: Request,
    person: Person,
    values: dict[str, str] | None = None,
    chosen: list[str] | None = None,
    errors: list[FieldError] | None = None,
    unplaced: str | None = None,
    replayed: int | None = None,
    status_code: int = 200,
) -> Response:
    s = services(request)
    language = translator(request).language
    policy = await s.call(s.notification, "GET", "/v1/partners/me/policy", person.token, language)
    subscriptions = await s.call(s.notification, "GET", "/v1/subscriptions", person.token, language)
    dead = await s.call(
        s.notification, "GET", "/v1/deliveries", person.token, language, params={"status": "dead"}
    )
    granted = policy.json() if policy.status_code == 200 else None
    return render(
        request,
        "partner_home.html",
        status_code,
        policy=granted,
        granted=[(code, EVENT_TYPES.get(code, code)) for code in (granted or {}).get("event_types", [])],
        policy_problem=None if policy.status_code == 200 else problem_of(policy).get("title"),
        subscriptions=items_of(subscriptions),
        dead=items_of(dead),
        values=values or {"url": "", "regions": "", "since": "", "subscription_id": ""},
        chosen=chosen or [],
        errors=errors or [],
        unplaced=unplaced,
        replayed=replayed,
        labels=SHARING_LABELS,
    )


@router.get("/partner")
async def partner_home(request: Request, replayed: str | None = None) -> Response:
    person = person_as(request, "partner")
    count = int(replayed) if replayed and replayed.isdigit() else None
    return await _partner_page(request, person, replayed=count)


SUBSCRIPTION_API_FIELDS: Final = {"url": "url", "event_types": "event_types", "regions": "regions"}
SUBSCRIPTION_PROBLEMS: Final = {
    "webhook_url_refused": "url",
    "event_types_outside_policy": "event_types",
    "region_invalid": "regions",
    "regions_outside_policy": "regions",
}


@router.post("/partner/subscriptions")
async def add_subscription(request: Request) -> Response:
    person = person_as(request, "partner")
    data = await request.form()
    t = translator(request)
    values = {
        "url": str(data.get("url", "")).strip(),
        "regions": str(data.get("regions", "")).strip(),
        "since": "",
        "subscription_id": "",
    }
    chosen = [str(value) for value in data.getlist("event_types")]
    if not csrf_ok(request, data.get("csrf")):
        return await _partner_page(request, person, values, chosen, [], t.gettext(OUT_OF_DATE), None, 400)
    own: dict[str, FieldError] = {}
    if not values["url"]:
        own["url"] = FieldError("url", t.gettext(REQUIRED))
    elif not re.fullmatch(r"https?://[^\s/]+\S*", values["url"]) or len(values["url"]) > 2000:
        own["url"] = FieldError("url", t.gettext("Enter a web address that starts with https:// or http://."))
    if not chosen:
        own["event_types"] = FieldError("event_types", t.gettext("Choose at least one event type."))
    regions = lines_of(values["regions"])
    if any(not REGION_CODE.fullmatch(region) for region in regions) or len(regions) > 50:
        own["regions"] = FieldError("regions", t.gettext("Enter region codes of 6 digits, one a line."))
    if own:
        errors = ordered(own, SUBSCRIPTION_FIELDS)
        return await _partner_page(request, person, values, chosen, errors, None, None, 422)
    body: dict[str, Any] = {"url": values["url"], "event_types": chosen}
    if regions:  # none: the whole of the partner's jurisdiction (an empty list is refused)
        body["regions"] = regions
    s = services(request)
    answer = await s.call(
        s.notification,
        "POST",
        "/v1/subscriptions",
        person.token,
        t.language,
        json=body,
        headers=idempotency_key(data),
    )
    if answer.status_code in (200, 201):
        # The secret is on this page only: not in a URL, the session or a log.
        return render(
            request, "partner_secret.html", 201, created=answer.json(), rotated=None, labels=SHARING_LABELS
        )
    problem = problem_of(answer)
    field = SUBSCRIPTION_PROBLEMS.get(str(problem.get("code", "")))
    placed = {field: FieldError(field, str(problem.get("title") or ""))} if field else {}
    errors, unplaced = api_errors(problem, SUBSCRIPTION_API_FIELDS, SUBSCRIPTION_FIELDS, placed)
    if placed:
        unplaced = None
    return await _partner_page(request, person, values, chosen, errors, unplaced, None, 422)


@router.post("/partner/subscriptions/{subscription_id}/secret")
async def rotate_secret(request: Request, subscription_id: str) -> Response:
    person = person_as(request, "partner")
    data = await request.form()
    t = translator(request)
    if not csrf_ok(request, data.get("csrf")):
        return await _partner_page(request, person, None, None, [], t.gettext(OUT_OF_DATE), None, 400)
    s = services(request)
    answer = await s.call(
        s.notification, "POST", f"/v1/subscriptions/{subscription_id}/secret", person.token, t.language
    )
    if answer.status_code != 200:
        return missing_page(request, N_("There is no such subscription of your agency."))
    return render(request, "partner_secret.html", created=None, rotated=answer.json(), labels=SHARING_LABELS)


@router.post("/partner/replay")
async def replay_since(request: Request) -> Response:
    person = person_as(request, "partner")
    data = await request.form()
    t = translator(request)
    values = {
        "url": "",
        "regions": "",
        "since": str(data.get("since", "")).strip(),
        "subscription_id": str(data.get("subscription_id", "")).strip(),
    }
    if not csrf_ok(request, data.get("csrf")):
        return await _partner_page(request, person, values, None, [], t.gettext(OUT_OF_DATE), None, 400)
    since: datetime | None = None
    try:
        since = datetime.fromisoformat(values["since"]) if values["since"] else None
    except ValueError:
        since = None
    if since is None:
        message = (
            REQUIRED if not values["since"] else N_("Enter a date and time, for example 2026-05-01 08:30.")
        )
        errors = [FieldError("since", t.gettext(message))]
        return await _partner_page(request, person, values, None, errors, None, None, 422)
    if since.tzinfo is None:  # as typed: China Standard Time
        since = since.replace(tzinfo=CHINA)
    body = {
        "since": since.isoformat(),
        **({"subscription_id": values["subscription_id"]} if values["subscription_id"] else {}),
    }
    s = services(request)
    answer = await s.call(
        s.notification, "POST", "/v1/deliveries/replay", person.token, t.language, json=body
    )
    if answer.status_code != 200:
        problem = problem_of(answer)
        errors = [FieldError("since", problem_text(problem))]
        return await _partner_page(request, person, values, None, errors, None, None, 422)
    return RedirectResponse(f"/partner?replayed={answer.json()['replayed']}", status_code=303)
