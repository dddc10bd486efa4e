"""The county reviewer's pages: the queue of their region (overdue first, by status) and a case
with its assessment, public notice and history, decided by approve / reject / return.
Only through the public APIs, as the signed-in reviewer (docs/api.md)."""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from .application_form import FieldError
from .i18n import N_
from .pages import Person, csrf_ok, person_as, problem_text, render, services, translator
from .vocabulary import LABELS, STATUSES

router = APIRouter()

DECISIONS: Final = {
    "approve": N_("Approve"),
    "reject": N_("Reject"),
    "return": N_("Return for correction"),
}
DECISION_HINTS: Final = {
    "approve": N_("The certificate is issued."),
    "reject": N_("The application ends; give the reason, which the applicant reads."),
    "return": N_("The applicant corrects the application and sends it back; say what to correct."),
}
# The statuses a reviewer filters the queue by: those where their region acts.
QUEUE_STATUSES: Final = ["assessed", "submitted", "public_notice", "returned", "assessing"]


@router.get("/review")
async def queue(request: Request, status: str | None = None) -> Response:
    person = person_as(request, "reviewer")
    chosen = status if status in QUEUE_STATUSES else ""
    s = services(request)
    answer = await s.call(
        s.certificate,
        "GET",
        "/v1/applications",
        person.token,
        translator(request).language,
        params={"status": chosen} if chosen else None,
    )
    items: list[dict[str, Any]] = answer.json().get("items", []) if answer.status_code == 200 else []
    # Overdue first; within each, the earliest due first (the API's order), then those with none.
    items.sort(
        key=lambda item: (not item.get("overdue"), item.get("due_on") is None, item.get("due_on") or "")
    )
    return render(
        request,
        "review_queue.html",
        applications=items,
        labels=LABELS,
        statuses={code: STATUSES[code] for code in QUEUE_STATUSES},
        chosen=chosen,
    )


async def _case_page(
    request: Request,
    person: Person,
    application_id: str,
    errors: list[FieldError] | None = None,
    unplaced: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
    decided: bool = False,
) -> Response:
    s = services(request)
    language = translator(request).language
    answer = await s.call(s.certificate, "GET", f"/v1/applications/{application_id}", person.token, language)
    if answer.status_code != 200:
        return render(request, "not_found.html", 404)
    application = answer.json()
    timeline = await s.call(
        s.certificate, "GET", f"/v1/applications/{application_id}/timeline", person.token, language
    )
    assessment: dict[str, Any] | None = None
    assessment_id = (application.get("assessment") or {}).get("assessment_id")
    if assessment_id:
        found = await s.call(s.assessment, "GET", f"/v1/assessments/{assessment_id}", person.token, language)
        assessment = found.json() if found.status_code == 200 else None
    steps = timeline.json().get("steps", []) if timeline.status_code == 200 else []
    next_step = application.get("next_step") or {}
    return render(
        request,
        "review_case.html",
        status_code,
        application=application,
        assessment=assessment,
        result=(assessment or {}).get("result"),
        steps=steps,
        labels=LABELS,
        decidable=next_step.get("actor_role") == "reviewer",
        decisions=DECISIONS,
        decision_hints=DECISION_HINTS,
        errors=errors or [],
        unplaced=unplaced,
        values=values or {},
        decided=decided,
    )


@router.get("/review/{application_id}")
async def case(request: Request, application_id: str, decided: str | None = None) -> Response:
    person = person_as(request, "reviewer")
    return await _case_page(request, person, application_id, decided=decided == "1")


@router.post("/review/{application_id}")
async def decide(request: Request, application_id: str) -> Response:
    person = person_as(request, "reviewer")
    data = await request.form()
    t = translator(request)
    values = {"decision": str(data.get("decision", "")), "reason": str(data.get("reason", "")).strip()}
    if not csrf_ok(request, data.get("csrf")):
        out_of_date = t.gettext("The form was out of date. Check it and send it again.")
        return await _case_page(request, person, application_id, [], out_of_date, values, 400)
    errors = []
    if values["decision"] not in DECISIONS:
        errors.append(FieldError("decision", t.gettext("Choose a decision.")))
    elif values["decision"] != "approve" and not values["reason"]:
        errors.append(FieldError("reason", t.gettext("Give the reason for this decision.")))
    elif len(values["reason"]) > 500:
        errors.append(FieldError("reason", t.gettext("Write no more than 500 characters.")))
    if errors:
        return await _case_page(request, person, application_id, errors, None, values, 422)
    body = {"decision": values["decision"], **({"reason": values["reason"]} if values["reason"] else {})}
    s = services(request)
    answer = await s.call(
        s.certificate,
        "POST",
        f"/v1/applications/{application_id}/decision",
        person.token,
        t.language,
        json=body,
    )
    if answer.status_code == 200:
        return RedirectResponse(f"/review/{application_id}?decided=1", status_code=303)
    if answer.status_code in (403, 404):
        return render(request, "not_found.html", 404)
    problem: dict[str, Any] = answer.json() if answer.headers.get("content-type", "").endswith("json") else {}
    placed = [
        FieldError("reason", str(item.get("message") or problem.get("title") or ""))
        for item in problem.get("errors") or []
        if item.get("field") == "reason"
    ]
    unplaced = None if placed else problem_text(problem)
    return await _case_page(request, person, application_id, placed[:1], unplaced, values, 422)
