"""The administrator's pages (partner agencies and their data-sharing policies, dead letters, the
SLA report of a region) and the partner agency's own page (its policy, webhook subscriptions,
signing secrets, dead deliveries and replay). Only through the public APIs, as the signed-in
person (API.md, services/notification/README.md). A signing secret is shown once, on the answer
page of the request that made it, and is never logged, kept in the session or put in a URL."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from .application_form import FieldError
from .i18n import CHINA, N_
from .pages import Person, csrf_ok, idempotency_key, person_as, problem_text, render, translator
from .routes import REGION_CODE, services

router = APIRouter()

# The event types a policy may grant and a partner may subscribe to: the published events of the
# certificate and benefits contexts (API.md; services/notification/domain/catalogue.py).
EVENT_TYPES: Final = {
    "ApplicationSubmitted": N_("Application submitted"),
    "AssessmentRequested": N_("Assessment requested"),
    "PublicNoticeStarted": N_("Public notice started"),
    "PublicNoticeEnded": N_("Public notice ended"),
    "ApplicationApproved": N_("Application approved"),
    "ApplicationRejected": N_("Application rejected"),
    "ApplicationReturned": N_("Application returned for correction"),
    "ApplicationResubmitted": N_("Application sent again after correction"),
    "ApplicationWithdrawn": N_("Application withdrawn"),
    "MigrationCertificateIssued": N_("Certificate issued on migration"),
    "CertificateIssued": N_("Certificate issued"),
    "CardOrdered": N_("Card ordered"),
    "CardProductionStarted": N_("Card production started"),
    "CardProduced": N_("Card produced"),
    "CardDispatched": N_("Card dispatched"),
    "CardDelivered": N_("Card delivered"),
    "CardReportedLost": N_("Card reported lost"),
    "CardInvalidated": N_("Card invalidated"),
    "CertificateRenewed": N_("Certificate renewed"),
    "CertificateReportedLost": N_("Certificate reported lost"),
    "CertificateReplaced": N_("Certificate replaced"),
    "CertificateGradeChanged": N_("Certificate grade changed"),
    "CertificateTransferred": N_("Certificate transferred"),
    "CertificateCancelled": N_("Certificate cancelled"),
    "CertificateExpired": N_("Certificate expired"),
    "RenewalReminderDue": N_("Renewal reminder due"),
    "CertificatePutOnHold": N_("Certificate on hold (a death reported)"),
    "CertificateHoldLifted": N_("Certificate hold lifted"),
    "CertificateReinstated": N_("Certificate reinstated"),
    "BenefitActivated": N_("Benefit granted"),
    "BenefitNotEligible": N_("Not eligible for a benefit"),
    "BenefitSuspended": N_("Benefit suspended"),
    "BenefitTerminated": N_("Benefit ended"),
}
# The facts a partner may report to the benefits service (`POST /v1/facts`).
FACT_TYPES: Final = {
    "low_income_started": N_("Low income (低保) started"),
    "low_income_ended": N_("Low income (低保) ended"),
    "death": N_("Death"),
    "household_moved": N_("Household registration moved"),
    "long_term_care_started": N_("Long-term care started"),
    "long_term_care_ended": N_("Long-term care ended"),
    "death_corrected": N_("Death reported by mistake, corrected"),
    "guardianship": N_("Parent or guardian"),
}
# The steps of the SLA report (the certificate service's application_step).
SLA_STEPS: Final = {
    "assessment": N_("Assessment by a doctor"),
    "public_notice": N_("Public notice of the result"),
    "review": N_("Review by the county"),
    "correction": N_("Correction by the applicant"),
    "card": N_("Card production and delivery"),
}
DELIVERY_ERRORS: Final = {
    "timeout": N_("No answer in time"),
    "http_status": N_("Answered with an error status"),
    "target_refused": N_("The address was refused"),
    "ConnectError": N_("Could not connect"),
}
FIELD_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
PARTNER_FIELDS: Final = [
    "name",
    "event_types",
    "fields",
    "facts",
    "regions",
    "legal_basis",
    "purpose",
    "contact_name",
    "contact_role",
    "contact_email",
    "contact_phone",
]
SUBSCRIPTION_FIELDS: Final = ["url", "event_types", "regions"]
REQUIRED: Final = N_("Fill this in.")
OUT_OF_DATE: Final = N_("The form was out of date. Check it and send it again.")
LABELS: Final = {
    "event_types": EVENT_TYPES,
    "facts": FACT_TYPES,
    "steps": SLA_STEPS,
    "errors": DELIVERY_ERRORS,
}


def _problem(answer: Any) -> dict[str, Any]:
    if answer.headers.get("content-type", "").endswith("json"):
        body = answer.json()
        return body if isinstance(body, dict) else {}
    return {}


def _items(answer: Any) -> list[dict[str, Any]]:
    return list(answer.json().get("items", [])) if answer.status_code == 200 else []


def _lines(text: str) -> list[str]:
    """A list typed one a line (commas and spaces also separate), each once, in order."""
    return list(dict.fromkeys(part for part in re.split(r"[\s,，、;；]+", text) if part))


def _ordered(errors: dict[str, FieldError], order: list[str]) -> list[FieldError]:
    return [errors[name] for name in order if name in errors]


def _missing_page(request: Request, message: str) -> Response:
    return render(request, "admin_missing.html", 404, message=message)


# --- the administrator ---


@router.get("/admin")
async def admin_home(request: Request) -> Response:
    person_as(request, "admin")
    return render(request, "admin_home.html")


@dataclass
class PartnerForm:
    """What the admin typed, kept as typed."""

    values: dict[str, str]
    event_types: list[str]
    facts: list[str]

    @classmethod
    def from_form(cls, data: FormData) -> PartnerForm:
        values = {name: str(data.get(name, "")).strip() for name in PARTNER_FIELDS}
        return cls(
            values,
            [str(v) for v in data.getlist("event_types") if str(v) in EVENT_TYPES],
            [str(v) for v in data.getlist("facts") if str(v) in FACT_TYPES],
        )

    def checks(self) -> dict[str, FieldError]:
        """Every check the API makes on these fields, so a form with mistakes creates nothing
        and each mistake is shown at once (the API's checks of the policy come after its field
        checks); and two of the portal's own: a policy grants at least one event and one field."""
        v = self.values
        errors: dict[str, FieldError] = {}

        def add(name: str, message: str) -> None:
            errors.setdefault(name, FieldError(name, message))

        if not v["name"]:
            add("name", N_("Enter the partner agency's name."))
        elif len(v["name"]) > 200:
            add("name", N_("Write no more than 200 characters."))
        if not self.event_types:
            add("event_types", N_("Choose at least one event type the partner receives."))
        fields = _lines(v["fields"])
        if not fields:
            add("fields", N_("Enter at least one field the partner receives."))
        elif len(fields) > 200:
            add("fields", N_("Enter no more than 200 fields."))
        elif any(not FIELD_NAME.fullmatch(field) for field in fields):
            add("fields", N_("A field name has letters, digits and _ only, for example certificate_number."))
        for name in ("legal_basis", "purpose"):
            if len(v[name]) > 2000:
                add(name, N_("Write no more than 2000 characters."))
        contact = [v["contact_role"], v["contact_email"], v["contact_phone"]]
        if any(contact) and not v["contact_name"]:
            add("contact_name", N_("Enter the contact's name, or leave the contact empty."))
        for name, limit in (("contact_name", 100), ("contact_role", 100), ("contact_email", 200)):
            if len(v[name]) > limit:
                add(name, _too_long(limit))
        regions = _lines(v["regions"])
        if not regions:  # the admin grants the jurisdiction explicitly, the whole country too
            add("regions", N_("Enter the regions the partner acts for, or 000000 for the whole country."))
        elif any(not REGION_CODE.fullmatch(region) for region in regions) or len(regions) > 100:
            add("regions", N_("Enter region codes of 6 digits, one a line."))
        if v["contact_email"] and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", v["contact_email"]):
            add("contact_email", N_("Enter an e-mail address like name@example.cn."))
        if len(v["contact_phone"]) > 30:
            add("contact_phone", N_("Write no more than 30 characters."))
        return errors

    def body(self) -> dict[str, Any]:
        v = self.values
        contact = {
            key: v["contact_" + key] for key in ("name", "role", "email", "phone") if v["contact_" + key]
        }
        return {
            "name": v["name"],
            "policy": {
                "event_types": self.event_types,
                "fields": _lines(v["fields"]),
                "facts": self.facts,
                "regions": _lines(v["regions"]),
            },
            "legal_basis": v["legal_basis"],
            "purpose": v["purpose"],
            "contacts": [contact] if contact.get("name") else [],
        }


def _too_long(limit: int) -> str:
    return {
        100: N_("Write no more than 100 characters."),
        200: N_("Write no more than 200 characters."),
    }[limit]


# API field paths of a partner's registration → the form's fields.
PARTNER_API_FIELDS: Final = {
    "name": "name",
    "legal_basis": "legal_basis",
    "purpose": "purpose",
    "policy.event_types": "event_types",
    "policy.fields": "fields",
    "policy.facts": "facts",
    "policy.regions": "regions",
    "contacts.0.name": "contact_name",
    "contacts.0.role": "contact_role",
    "contacts.0.email": "contact_email",
    "contacts.0.phone": "contact_phone",
}


def _api_errors(
    problem: dict[str, Any], paths: dict[str, str], order: list[str], own: dict[str, FieldError]
) -> tuple[list[FieldError], str | None]:
    """The API's field errors at their fields (one per field, ours first); the problem's title at
    the top when it names no field of the form."""
    errors = dict(own)
    placed = 0
    for item in problem.get("errors") or []:
        path = str(item.get("field", ""))
        name = paths.get(path) or paths.get(re.sub(r"\.\d+$", "", path))
        if name is None:
            continue
        placed += 1
        message = str(item.get("message") or "")
        title = str(problem.get("title") or "")
        text = f"{title}: {message}" if item.get("code", "").startswith(("unknown_", "invalid_")) else message
        errors.setdefault(name, FieldError(name, text or title))
    unplaced = None if placed else problem_text(problem) or None
    return _ordered(errors, order), unplaced


async def _partners_page(
    request: Request,
    person: Person,
    form: PartnerForm | None = None,
    errors: list[FieldError] | None = None,
    unplaced: str | None = None,
    status_code: int = 200,
) -> Response:
    s = services(request)
    answer = await s.call(s.notification, "GET", "/v1/partners", person.token, translator(request).language)
    return render(
        request,
        "admin_partners.html",
        status_code,
        partners=_items(answer),
        form=form or PartnerForm({name: "" for name in PARTNER_FIELDS}, [], []),
        errors=errors or [],
        unplaced=unplaced,
        labels=LABELS,
    )


@router.get("/admin/partners")
async def partners(request: Request) -> Response:
    person = person_as(request, "admin")
    return await _partners_page(request, person)


@router.post("/admin/partners")
async def register_partner(request: Request) -> Response:
    person = person_as(request, "admin")
    data = await request.form()
    form = PartnerForm.from_form(data)
    t = translator(request)
    if not csrf_ok(request, data.get("csrf")):
        return await _partners_page(request, person, form, [], t.gettext(OUT_OF_DATE), 400)
    own = {name: FieldError(name, t.gettext(error.message)) for name, error in form.checks().items()}
    if own:
        return await _partners_page(request, person, form, _ordered(own, PARTNER_FIELDS), None, 422)
    s = services(request)
    answer = await s.call(
        s.notification,
        "POST",
        "/v1/partners",
        person.token,
        t.language,
        json=form.body(),
        # A double click sends the same key: the API answers it with the first partner.
        headers=idempotency_key(data),
    )
    if answer.status_code in (200, 201):
        return RedirectResponse(f"/admin/partners/{answer.json()['id']}?registered=1", status_code=303)
    errors, unplaced = _api_errors(_problem(answer), PARTNER_API_FIELDS, PARTNER_FIELDS, {})
    return await _partners_page(request, person, form, errors, unplaced, 422)


@router.get("/admin/partners/{partner_id}")
async def partner_detail(request: Request, partner_id: str, registered: str | None = None) -> Response:
    person = person_as(request, "admin")
    s = services(request)
    language = translator(request).language
    found = await s.call(s.notification, "GET", f"/v1/partners/{partner_id}", person.token, language)
    if found.status_code != 200:
        return _missing_page(request, N_("There is no such partner agency."))
    versions = await s.call(
        s.notification, "GET", f"/v1/partners/{partner_id}/policy/versions", person.token, language
    )
    items = _items(versions)
    return render(
        request,
        "admin_partner.html",
        partner=found.json(),
        versions=list(reversed(items)),
        registered=registered == "1",
        labels=LABELS,
    )


@router.get("/admin/dead-letters")
async def dead_letters(
    request: Request,
    partner_id: str | None = None,
    event_type: str | None = None,
    replayed: str | None = None,
) -> Response:
    person = person_as(request, "admin")
    filters = {"partner_id": (partner_id or "").strip(), "event_type": (event_type or "").strip()}
    count = int(replayed) if replayed and replayed.isdigit() else None
    return await _dead_letters_page(request, person, filters, replayed=count)


async def _dead_letters_page(
    request: Request,
    person: Person,
    filters: dict[str, str],
    errors: list[FieldError] | None = None,
    unplaced: str | None = None,
    replayed: int | None = None,
    status_code: int = 200,
) -> Response:
    s = services(request)
    language = translator(request).language
    params = {name: value for name, value in filters.items() if value}
    letters = await s.call(s.notification, "GET", "/v1/dead-letters", person.token, language, params=params)
    known = await s.call(s.notification, "GET", "/v1/partners", person.token, language)
    partner_list = _items(known)
    return render(
        request,
        "admin_dead_letters.html",
        status_code,
        letters=_items(letters),
        partners=partner_list,
        partner_names={p["id"]: p["name"] for p in partner_list},
        filters=filters,
        errors=errors or [],
        unplaced=unplaced,
        replayed=replayed,
        labels=LABELS,
    )


@router.post("/admin/dead-letters")
async def replay_dead_letters(request: Request) -> Response:
    person = person_as(request, "admin")
    data = await request.form()
    t = translator(request)
    filters = {name: str(data.get(name, "")).strip() for name in ("partner_id", "event_type")}
    if not csrf_ok(request, data.get("csrf")):
        return await _dead_letters_page(request, person, filters, [], t.gettext(OUT_OF_DATE), None, 400)
    body: dict[str, Any]
    if data.get("action") == "matching":
        body = {name: value for name, value in filters.items() if value}
        if not body:
            message = t.gettext("Filter by a partner or an event type first, or choose dead letters.")
            return await _dead_letters_page(request, person, filters, [], message, None, 422)
    else:
        ids = [str(value) for value in data.getlist("ids") if str(value)]
        if not ids:
            error = FieldError("ids", t.gettext("Choose at least one dead letter to send again."))
            return await _dead_letters_page(request, person, filters, [error], None, None, 422)
        body = {"ids": ids}
    s = services(request)
    answer = await s.call(
        s.notification, "POST", "/v1/dead-letters/replay", person.token, t.language, json=body
    )
    if answer.status_code != 200:
        problem = _problem(answer)
        message = problem_text(problem)
        return await _dead_letters_page(request, person, filters, [], message, None, 422)
    query = {**{k: v for k, v in filters.items() if v}, "replayed": str(answer.json()["replayed"])}
    return RedirectResponse("/admin/dead-letters?" + urlencode(query), status_code=303)


@router.get("/admin/sla")
async def sla(request: Request, region: str | None = None) -> Response:
    person = person_as(request, "admin")
    t = translator(request)
    # The region the admin typed last is the default of the next visit.
    chosen = (region if region is not None else str(request.session.get("sla_region", ""))).strip()
    errors: list[FieldError] = []
    report: dict[str, Any] | None = None
    status_code = 200
    if region is not None and not REGION_CODE.fullmatch(chosen):
        message = N_("Fill this in.") if not chosen else N_("Enter a region code of 6 digits.")
        errors.append(FieldError("region", t.gettext(message)))
        status_code = 422
    elif chosen:
        s = services(request)
        answer = await s.call(
            s.certificate, "GET", "/v1/reports/sla", person.token, t.language, params={"region": chosen}
        )
        if answer.status_code == 200:
            report = answer.json()
            request.session["sla_region"] = chosen
        else:
            problem = _problem(answer)
            title = problem_text(problem, t.gettext(REQUIRED))
            errors.append(FieldError("region", title))
            status_code = 422
    return render(
        request,
        "admin_sla.html",
        status_code,
        region=chosen,
        report=report,
        chart=sla_chart(report["steps"], t.gettext) if report and report["steps"] else None,
        errors=errors,
        labels=LABELS,
    )


@dataclass(frozen=True)
class Bar:
    y: float
    width: float
    fill: str
    value: str


@dataclass(frozen=True)
class ChartRow:
    label: str
    y: float
    bars: list[Bar]


def _hours(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def sla_chart(steps: list[dict[str, Any]], gettext: Any) -> dict[str, Any]:
    """The geometry of the report's bar chart, drawn by the template as inline SVG: per step, the
    median and 90th percentile hours (one scale) and the overdue count (a scale of its own)."""
    label_width, bar_space, bar_height, gap = 190.0, 380.0, 14.0, 4.0
    max_hours = max((float(s.get("p90_hours") or 0) for s in steps), default=0.0) or 1.0
    max_overdue = max((int(s.get("overdue") or 0) for s in steps), default=0) or 1
    rows: list[ChartRow] = []
    hour_rows: list[ChartRow] = []
    y = 40.0
    for step in steps:
        label = gettext(SLA_STEPS.get(step["step"], step["step"]))
        bars: list[Bar] = []
        for key, fill in (("median_hours", "#1d4f91"), ("p90_hours", "#00703c")):
            hours = step.get(key)
            width = 0.0 if hours is None else max(float(hours) / max_hours * bar_space, 1.0)
            bars.append(Bar(y + len(bars) * (bar_height + gap), width, fill, _hours(hours)))
        hour_rows.append(ChartRow(label, y, bars))
        y += 2 * (bar_height + gap) + 12
    overdue_top = y + 40
    y = overdue_top + 30
    for step in steps:
        label = gettext(SLA_STEPS.get(step["step"], step["step"]))
        overdue = int(step.get("overdue") or 0)
        width = overdue / max_overdue * bar_space if overdue else 0.0
        rows.append(
            ChartRow(label, y, [Bar(y, max(width, 1.0 if overdue else 0.0), "#d4351c", str(overdue))])
        )
        y += bar_height + gap + 12
    return {
        "width": label_width + bar_space + 60,
        "height": y + 10,
        "label_width": label_width,
        "bar_height": bar_height,
        "hour_rows": hour_rows,
        "overdue_rows": rows,
        "overdue_top": overdue_top,
    }


# --- the partner agency ---


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
        policy_problem=None if policy.status_code == 200 else _problem(policy).get("title"),
        subscriptions=_items(subscriptions),
        dead=_items(dead),
        values=values or {"url": "", "regions": "", "since": "", "subscription_id": ""},
        chosen=chosen or [],
        errors=errors or [],
        unplaced=unplaced,
        replayed=replayed,
        labels=LABELS,
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
    regions = _lines(values["regions"])
    if any(not REGION_CODE.fullmatch(region) for region in regions) or len(regions) > 50:
        own["regions"] = FieldError("regions", t.gettext("Enter region codes of 6 digits, one a line."))
    if own:
        errors = _ordered(own, SUBSCRIPTION_FIELDS)
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
        return render(request, "partner_secret.html", 201, created=answer.json(), rotated=None, labels=LABELS)
    problem = _problem(answer)
    field = SUBSCRIPTION_PROBLEMS.get(str(problem.get("code", "")))
    placed = {field: FieldError(field, str(problem.get("title") or ""))} if field else {}
    errors, unplaced = _api_errors(problem, SUBSCRIPTION_API_FIELDS, SUBSCRIPTION_FIELDS, placed)
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
        return _missing_page(request, N_("There is no such subscription of your agency."))
    return render(request, "partner_secret.html", created=None, rotated=answer.json(), labels=LABELS)


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
        problem = _problem(answer)
        errors = [FieldError("since", problem_text(problem))]
        return await _partner_page(request, person, values, None, errors, None, None, 422)
    return RedirectResponse(f"/partner?replayed={answer.json()['replayed']}", status_code=303)
