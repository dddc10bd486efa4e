"""The administrator's pages: partner agencies and their data-sharing policies, dead letters, and
the SLA report of a region. Only through the public APIs, as the signed-in person (docs/api.md,
services/notification/README.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from .api_forms import api_errors, items_of, lines_of, missing_page, ordered, problem_of
from .application_form import REQUIRED, FieldError
from .i18n import N_
from .pages import Person, csrf_ok, idempotency_key, person_as, problem_text, render, services, translator
from .vocabulary import EVENT_TYPES, FACT_TYPES, OUT_OF_DATE, REGION_CODE, SHARING_LABELS, SLA_STEPS

router = APIRouter()

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
        fields = lines_of(v["fields"])
        if not fields:
            add("fields", N_("Enter at least one field the partner receives."))
        elif len(fields) > 200:
            add("fields", N_("Enter no more than 200 fields."))
        elif any(not FIELD_NAME.fullmatch(field) for field in fields):
            add("fields", N_("A field name has letters, digits and _ only, for example certificate_number."))
        for name in ("legal_basis", "purpose"):
            if len(v[name]) > 2000:
                add(name, N_("Write no more than 2000 characters."))
        regions = lines_of(v["regions"])
        if not regions:  # the admin grants the jurisdiction explicitly, the whole country too
            add("regions", N_("Enter the regions the partner acts for, or 000000 for the whole country."))
        elif any(not REGION_CODE.fullmatch(region) for region in regions) or len(regions) > 100:
            add("regions", N_("Enter region codes of 6 digits, one a line."))
        for name, error in self._contact_checks().items():
            errors.setdefault(name, error)
        return errors

    def _contact_checks(self) -> dict[str, FieldError]:
        v = self.values
        errors: dict[str, FieldError] = {}

        def add(name: str, message: str) -> None:
            errors.setdefault(name, FieldError(name, message))

        contact = [v["contact_role"], v["contact_email"], v["contact_phone"]]
        if any(contact) and not v["contact_name"]:
            add("contact_name", N_("Enter the contact's name, or leave the contact empty."))
        for name, limit in (("contact_name", 100), ("contact_role", 100), ("contact_email", 200)):
            if len(v[name]) > limit:
                add(name, _too_long(limit))
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
                "fields": lines_of(v["fields"]),
                "facts": self.facts,
                "regions": lines_of(v["regions"]),
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
        partners=items_of(answer),
        form=form or PartnerForm({name: "" for name in PARTNER_FIELDS}, [], []),
        errors=errors or [],
        unplaced=unplaced,
        labels=SHARING_LABELS,
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
        return await _partners_page(request, person, form, ordered(own, PARTNER_FIELDS), None, 422)
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
    errors, unplaced = api_errors(problem_of(answer), PARTNER_API_FIELDS, PARTNER_FIELDS, {})
    return await _partners_page(request, person, form, errors, unplaced, 422)


@router.get("/admin/partners/{partner_id}")
async def partner_detail(request: Request, partner_id: str, registered: str | None = None) -> Response:
    person = person_as(request, "admin")
    s = services(request)
    language = translator(request).language
    found = await s.call(s.notification, "GET", f"/v1/partners/{partner_id}", person.token, language)
    if found.status_code != 200:
        return missing_page(request, N_("There is no such partner agency."))
    versions = await s.call(
        s.notification, "GET", f"/v1/partners/{partner_id}/policy/versions", person.token, language
    )
    items = items_of(versions)
    return render(
        request,
        "admin_partner.html",
        partner=found.json(),
        versions=list(reversed(items)),
        registered=registered == "1",
        labels=SHARING_LABELS,
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
    partner_list = items_of(known)
    return render(
        request,
        "admin_dead_letters.html",
        status_code,
        letters=items_of(letters),
        partners=partner_list,
        partner_names={p["id"]: p["name"] for p in partner_list},
        filters=filters,
        errors=errors or [],
        unplaced=unplaced,
        replayed=replayed,
        labels=SHARING_LABELS,
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
        problem = problem_of(answer)
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
            problem = problem_of(answer)
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
        labels=SHARING_LABELS,
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
