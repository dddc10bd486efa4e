"""The five matters on an existing certificate (renewal, replacement, change of grade, transfer,
cancellation; docs/api.md) and the appointment for an assessment, for an applicant or agent.

The certificate a matter is about is the person's own, chosen by the opaque id of the
application that made it: its number is taken on the server, never typed and never in a URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from . import drafts
from .application_form import CATEGORIES, REQUIRED, FieldError
from .certificate_pages import certificates_of
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
    signed_in,
    signed_out,
    to_sign_in,
    translator,
)
from .services import SignedOut
from .vocabulary import LABELS, MATTERS

router = APIRouter()

# The matters on an existing certificate, each with what it needs, said before the form.
CERTIFICATE_MATTERS: Final = ["renewal", "replacement", "grade_change", "transfer", "cancellation"]
MATTER_NEEDS: Final = {
    "renewal": N_("Renew a certificate that is about to expire. Nothing more is needed."),
    "replacement": N_(
        "A new certificate for a lost or damaged one: say which. A lost one stops being valid at once."
    ),
    "grade_change": N_(
        "The disability has changed: the kind of disability to assess again; you may ask for a home visit."
    ),
    "transfer": N_("You moved your household registration: the 6-digit code of the new region."),
    "cancellation": N_("End the certificate: the reason."),
}
REPLACEMENT_REASONS: Final = {"lost": N_("It was lost"), "damaged": N_("It is damaged")}
CANCELLATION_REASONS: Final = {
    "voluntary": N_("The holder no longer wants the certificate"),
    "death": N_("The holder has died"),
    "no_longer_eligible": N_("The holder is no longer disabled"),
    "settled_abroad": N_("The holder has settled abroad"),
}
# The form's fields in the page's order (the error summary follows it); the matter's own names
# keep the two reasons apart, the API has one `reason`.
FIELD_ORDER: Final = [
    "matter",
    "replacement_reason",
    "declared_category",
    "to_region",
    "cancellation_reason",
    "consent",
]
FIELDS_OF: Final = {
    "renewal": [],
    "replacement": ["replacement_reason"],
    "grade_change": ["declared_category"],
    "transfer": ["to_region"],
    "cancellation": ["cancellation_reason"],
}
CHOOSE: Final = {
    "matter": N_("Choose what you want to do."),
    "replacement_reason": N_("Choose why the certificate is replaced."),
    "declared_category": N_("Choose the kind of disability."),
    "to_region": REQUIRED,
    "cancellation_reason": N_("Choose why the certificate is cancelled."),
}


@dataclass
class MatterForm:
    """What the person chose and typed, kept as it was, so that a page with errors shows it."""

    values: dict[str, str] = field(default_factory=dict)
    home_visit: bool = False
    consent: bool = False

    @classmethod
    def from_form(cls, data: Any) -> MatterForm:
        names = [name for name in FIELD_ORDER if name != "consent"]
        return cls(
            values={name: str(data.get(name, "")).strip() for name in names},
            home_visit=data.get("home_visit") == "yes",
            consent=data.get("consent") == "yes",
        )

    @property
    def matter(self) -> str:
        return self.values.get("matter", "")

    def body(self, certificate_number: str) -> dict[str, Any]:
        """The API body of the chosen matter: only the fields it takes."""
        v = self.values
        body: dict[str, Any] = {
            "matter": self.matter,
            "certificate_number": certificate_number,
            "consent": self.consent,
        }
        if self.matter == "replacement":
            body["reason"] = v.get("replacement_reason") or None
        elif self.matter == "grade_change":
            body["declared_category"] = v.get("declared_category") or None
            body["home_visit"] = self.home_visit
        elif self.matter == "transfer":
            body["to_region"] = v.get("to_region") or None
        elif self.matter == "cancellation":
            body["reason"] = v.get("cancellation_reason") or None
        return body

    def checks_of_its_own(self) -> list[FieldError]:
        if self.matter not in CERTIFICATE_MATTERS:
            return [FieldError("matter", CHOOSE["matter"])]
        errors = [
            FieldError(name, CHOOSE[name]) for name in FIELDS_OF[self.matter] if not self.values.get(name)
        ]
        if not self.consent:
            errors.append(FieldError("consent", N_("Confirm that the information is true.")))
        return errors


def matter_errors(
    problem: dict[str, Any], own: list[FieldError], matter: str
) -> tuple[list[FieldError], str | None]:
    """The form's own errors and the API's field errors, one per field in the page's order; a
    problem that names no field of the form is shown at the top alone."""
    api_paths = {
        "matter": "matter",
        "reason": "cancellation_reason" if matter == "cancellation" else "replacement_reason",
        "declared_category": "declared_category",
        "to_region": "to_region",
        "consent": "consent",
    }
    by_field = {error.name: error for error in reversed(own)}
    placed = 0
    for item in problem.get("errors") or []:
        name = api_paths.get(str(item.get("field", "")))
        if name is not None:
            placed += 1
            by_field.setdefault(
                name, FieldError(name, str(item.get("message") or problem.get("title") or ""))
            )
    ordered = [by_field[name] for name in FIELD_ORDER if name in by_field]
    unplaced = None
    if problem and not placed:
        unplaced = problem_text(problem)
    return ordered, unplaced


async def _own_certificate(request: Request, person: Person, application_id: str) -> dict[str, Any] | None:
    """The person's own certificate chosen by the application that made it (SignedOut passes)."""
    s = services(request)
    answer = await s.call(
        s.certificate, "GET", "/v1/applications", person.token, translator(request).language
    )
    applications = answer.json().get("items", []) if answer.status_code == 200 else []
    # Any of the person's applications that carries a certificate, not only the newest per number:
    # a matter's own application carries the same number, and a double click must still find it.
    item = next((a for a in applications if a["id"] == application_id and a.get("certificate_number")), None)
    return None if item is None else certificates_of([item])[0]


def _matter_page(
    request: Request,
    chosen: dict[str, Any],
    form: MatterForm,
    errors: list[FieldError],
    unplaced: str | None = None,
    status_code: int = 200,
    draft_restored: bool = False,
) -> Response:
    return render(
        request,
        "matter_new.html",
        status_code,
        draft_restored=draft_restored,
        chosen=chosen,
        form=form,
        errors=errors,
        unplaced=unplaced,
        matters={code: MATTERS[code] for code in CERTIFICATE_MATTERS},
        needs=MATTER_NEEDS,
        replacement_reasons=REPLACEMENT_REASONS,
        cancellation_reasons=CANCELLATION_REASONS,
        categories=CATEGORIES,
    )


@router.get("/certificate/{application_id}/matters/new")
async def new_matter_page(request: Request, application_id: str, matter: str = "") -> Response:
    person = person_as(request, "applicant")
    chosen = await _own_certificate(request, person, application_id)
    if chosen is None:
        return render(request, "not_found.html", 404)
    draft = drafts.take(request)
    if draft is not None:
        form = MatterForm.from_form(draft)
    else:
        form = MatterForm(values={"matter": matter if matter in CERTIFICATE_MATTERS else ""})
    return drafts.forget(request, _matter_page(request, chosen, form, [], draft_restored=draft is not None))


@router.post("/certificate/{application_id}/matters/new")
async def submit_matter(request: Request, application_id: str) -> Response:
    person = signed_in(request)
    data = await request.form()
    if person is None:
        return drafts.keep(request, to_sign_in(request), data)
    if person.role != "applicant":
        return forbidden(request)
    form = MatterForm.from_form(data)
    t = translator(request)
    s = services(request)
    try:
        chosen = await _own_certificate(request, person, application_id)
        if chosen is None:
            return render(request, "not_found.html", 404)
        if not csrf_ok(request, data.get("csrf")):
            return _matter_page(
                request,
                chosen,
                form,
                [],
                t.gettext("The form was out of date. Check it and send it again."),
                400,
            )
        own = [FieldError(error.name, t.gettext(error.message)) for error in form.checks_of_its_own()]
        if form.matter not in CERTIFICATE_MATTERS:
            # Without a matter the API can say nothing more: nothing is sent.
            return _matter_page(request, chosen, form, own, None, 422)
        answer = await s.call(
            s.certificate,
            "POST",
            "/v1/applications",
            person.token,
            t.language,
            json=form.body(chosen["number"]),
            # A double click sends the same key: the API answers with the first application.
            headers=idempotency_key(data),
        )
    except SignedOut:
        return drafts.keep(request, signed_out(request), data)
    if answer.status_code in (200, 201):
        return RedirectResponse(f"/applications/{answer.json()['id']}", status_code=303)
    problem: dict[str, Any] = answer.json() if answer.status_code >= 400 else {}
    errors, unplaced = matter_errors(problem, own, form.matter)
    return _matter_page(request, chosen, form, errors, unplaced, 422)


# --- the application page, with the appointment for its assessment ---


async def application_view(
    request: Request,
    person: Person,
    application_id: str,
    errors: list[FieldError] | None = None,
    unplaced: str | None = None,
    status_code: int = 200,
) -> Response:
    """The application with its timeline and, while it is assessed, the appointment."""
    s = services(request)
    language = translator(request).language
    answer = await s.call(s.certificate, "GET", f"/v1/applications/{application_id}", person.token, language)
    if answer.status_code != 200:
        return render(request, "not_found.html", 404)
    timeline = await s.call(
        s.certificate, "GET", f"/v1/applications/{application_id}/timeline", person.token, language
    )
    application = answer.json()
    booking = await _booking(request, person, application)
    steps = timeline.json().get("steps", []) if timeline.status_code == 200 else []
    return render(
        request,
        "application.html",
        status_code,
        application=application,
        steps=steps,
        labels=LABELS,
        booking=booking,
        errors=errors or [],
        unplaced=unplaced,
    )


async def _booking(request: Request, person: Person, application: dict[str, Any]) -> dict[str, Any] | None:
    """The appointment part of the page: None when the application is not being assessed."""
    if application.get("status") != "assessing":
        return None
    assessment_id = _assessment_id(application)
    if not assessment_id:
        return {"assessment_id": None, "appointment_at": None, "slots": []}
    s = services(request)
    answer = await s.call(
        s.assessment,
        "GET",
        f"/v1/assessments/{assessment_id}/slots",
        person.token,
        translator(request).language,
    )
    body = answer.json() if answer.status_code == 200 else {}
    return {
        "assessment_id": assessment_id,
        "appointment_at": body.get("appointment_at"),
        "slots": [str(item["starts_at"]) for item in body.get("items", [])],
    }


def _assessment_id(application: dict[str, Any]) -> str | None:
    """The assessment to book: of the whole application, or of the status an agent not verified
    yet reads of what they submitted."""
    found = (application.get("assessment") or {}).get("assessment_id") or application.get("assessment_id")
    return str(found) if found else None


@router.post("/applications/{application_id}/appointment")
async def book_appointment(request: Request, application_id: str) -> Response:
    person = person_as(request, "applicant")
    data = await request.form()
    t = translator(request)
    if not csrf_ok(request, data.get("csrf")):
        return await application_view(
            request,
            person,
            application_id,
            unplaced=t.gettext("The form was out of date. Check it and send it again."),
            status_code=400,
        )
    starts_at = str(data.get("starts_at", "")).strip()
    if not starts_at:
        errors = [FieldError("starts_at", t.gettext("Choose a time."))]
        return await application_view(request, person, application_id, errors, status_code=422)
    s = services(request)
    answer = await s.call(
        s.certificate, "GET", f"/v1/applications/{application_id}", person.token, t.language
    )
    if answer.status_code != 200:
        return render(request, "not_found.html", 404)
    assessment_id = _assessment_id(answer.json())
    if not assessment_id:
        return RedirectResponse(f"/applications/{application_id}", status_code=303)
    booked = await s.call(
        s.assessment,
        "POST",
        f"/v1/assessments/{assessment_id}/appointment",
        person.token,
        t.language,
        json={"starts_at": starts_at},
    )
    if booked.status_code in (200, 201):
        return RedirectResponse(f"/applications/{application_id}", status_code=303)
    # The time was taken meanwhile or is no longer offered: said at the times, shown anew.
    problem: dict[str, Any] = booked.json()
    message = problem_text(problem, t.gettext("Choose a time."))
    return await application_view(
        request, person, application_id, [FieldError("starts_at", message)], status_code=422
    )
