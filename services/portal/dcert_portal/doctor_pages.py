"""The doctor's pages: the worklist with due dates, and a case with the result form, whose
consistency check (the level the measurements give, as the assessment service answers it) is
explained in words before submitting. Only through the public APIs, as the signed-in doctor
(docs/api.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from .application_form import FieldError
from .doctor_form import (
    CHECKED,
    FORM_CATEGORIES,
    LEVELS,
    MEASUREMENTS,
    MEASURES,
    RESULT_CATEGORIES,
    Check,
    ResultForm,
    component_field,
    describe_levels,
    ordered,
)
from .i18n import N_
from .pages import Person, csrf_ok, idempotency_key, person_as, problem_text, render, services, translator
from .vocabulary import LABELS

router = APIRouter()

ASSESSMENT_STATUSES = {
    "unassigned": N_("Not assigned"),
    "scheduled": N_("To assess"),
    "assessed": N_("Assessed"),
    "cancelled": N_("Cancelled"),
}


@router.get("/worklist")
async def worklist(request: Request) -> Response:
    person = person_as(request, "doctor")
    s = services(request)
    answer = await s.call(
        s.assessment,
        "GET",
        "/v1/assessments",
        person.token,
        translator(request).language,
        params={"assigned": "me"},
    )
    items: list[dict[str, Any]] = answer.json().get("items", []) if answer.status_code == 200 else []
    return render(
        request, "worklist.html", assessments=items, labels=LABELS, assessment_statuses=ASSESSMENT_STATUSES
    )


async def grading_check(
    request: Request, person: Person, category: str, numbers: dict[str, float], age: int
) -> Check:
    """What the measurements give for `category`, as the assessment service weighs them."""
    language = translator(request).language
    answer = await services(request).grading_check(person.token, language, category, age, numbers)
    return Check.from_answer(answer)


def explanation(t: Any, check: Check, level: int | None) -> list[str]:
    """The consistency check in words: the level the measurements give, and what follows."""
    lines = []
    for name, value, given in check.each:
        label = t.gettext(MEASUREMENTS[name][0])
        if given is None:
            lines.append(
                t.gettext("%(measure)s %(value)s: reaches no level.", measure=label, value=f"{value:g}")
            )
        else:
            lines.append(
                t.gettext(
                    "%(measure)s %(value)s: level %(level)s.", measure=label, value=f"{value:g}", level=given
                )
            )
    if check.outcome == "functional_assessment":
        lines.append(
            t.gettext(
                "Physical disability is graded by your functional assessment: no measurement is checked."
            )
        )
    elif check.outcome == "adaptive_behaviour":
        lines.append(
            t.gettext(
                "Under 18, mental disability is graded by adaptive behaviour: no measurement is checked."
            )
        )
    elif check.outcome == "not_measured":
        lines.append(
            t.gettext("No measurement of this kind of disability is entered: the level is not checked.")
        )
    elif check.outcome == "short_illness":
        lines.append(
            t.gettext(
                "The illness has lasted 12 months or less: the measurements give no level of mental disability."
            )
        )
    elif check.outcome == "no_level":
        lines.append(t.gettext("The measurements reach no level of disability."))
    else:
        text, params = describe_levels(check.levels)
        lines.append(t.gettext("The measurements give %(levels)s.", levels=t.gettext(text, **params)))
    agrees = check.admits(level)
    if agrees is True:
        lines.append(t.gettext("The level you chose agrees with them: no override reason is needed."))
    elif agrees is False:
        lines.append(
            t.gettext(
                "The level you chose, %(level)s, differs from them: give an override reason, or the result is refused.",
                level=level,
            )
        )
    elif level is None and check.outcome in CHECKED:
        lines.append(t.gettext("A level that differs from this needs an override reason."))
    for name in check.foreign:
        lines.append(
            t.gettext(
                "%(measure)s is not a measure of this kind of disability: the result would be refused.",
                measure=t.gettext(MEASUREMENTS[name][0]),
            )
        )
    return lines


async def component_explanations(
    request: Request, person: Person, form: ResultForm, age: int
) -> tuple[dict[str, list[str]], list[str]]:
    """A multiple disability's check in words: per ticked component what its measurements give,
    then the overall level, the most severe component's."""
    t = translator(request)
    ticked = form.ticked()
    each = {}
    for category in ticked:
        check = await grading_check(request, person, category, form.component_measurements(category)[0], age)
        each[category] = explanation(t, check, form.component_level(category))
    levels = [level for level in (form.component_level(category) for category in ticked) if level is not None]
    if len(ticked) < 2:
        overall = t.gettext(
            "A multiple disability has two or more components: tick each kind of disability you graded."
        )
    elif len(levels) == len(ticked):
        overall = t.gettext(
            "The overall level is the most severe component's: level %(level)s.", level=min(levels)
        )
    else:
        overall = t.gettext("The overall level is the most severe component's, once each has a level.")
    return each, [overall]


async def _case_page(
    request: Request,
    person: Person,
    assessment_id: str,
    form: ResultForm | None = None,
    errors: list[FieldError] | None = None,
    unplaced: str | None = None,
    checked: list[str] | None = None,
    component_checks: dict[str, list[str]] | None = None,
    status_code: int = 200,
    recorded: bool = False,
) -> Response:
    s = services(request)
    t = translator(request)
    answer = await s.call(s.assessment, "GET", f"/v1/assessments/{assessment_id}", person.token, t.language)
    if answer.status_code != 200:
        return render(request, "not_found.html", 404)
    assessment = answer.json()
    form = form or ResultForm({"category": assessment.get("declared_category", "")})
    return render(
        request,
        "worklist_case.html",
        status_code,
        assessment=assessment,
        result=assessment.get("result"),
        labels=LABELS,
        assessment_statuses=ASSESSMENT_STATUSES,
        categories={code: LABELS["categories"][code] for code in FORM_CATEGORIES},
        component_categories={code: LABELS["categories"][code] for code in RESULT_CATEGORIES},
        component_measures=MEASURES,
        component_field=component_field,
        multiple=form.is_multiple(),
        levels=LEVELS,
        measurements=MEASUREMENTS,
        values=form.values,
        errors=errors or [],
        unplaced=unplaced,
        checked=checked,
        component_checks=component_checks or {},
        recorded=recorded,
    )


@router.get("/worklist/{assessment_id}")
async def case(request: Request, assessment_id: str, recorded: str | None = None) -> Response:
    person = person_as(request, "doctor")
    return await _case_page(request, person, assessment_id, recorded=recorded == "1")


def _on_form(path: str, components: list[str]) -> str:
    """The form field of an API field path; `components.<n>.…` is the n-th component sent."""
    parts = path.split(".")
    if (
        parts[0] == "components"
        and len(parts) >= 3
        and parts[1].isdigit()
        and int(parts[1]) < len(components)
    ):
        category = components[int(parts[1])]
        name = parts[-1]
        if name == "level" or name in MEASURES[category]:
            return component_field(category, name)
        return "components"
    return path.removeprefix("measurements.")


def _api_errors(
    t: Any, problem: dict[str, Any], components: list[str] | None = None
) -> tuple[list[FieldError], str | None]:
    """A problem's field errors on the form's fields; a level against the measurements in words."""
    errors = []
    contradictions = list(problem.get("contradictions") or [])
    component_fields = {component_field(c, n) for c in RESULT_CATEGORIES for n in ("level", *MEASURES[c])}
    for index, item in enumerate(problem.get("errors") or []):
        path = str(item.get("field", ""))
        name = _on_form(path, components or [])
        message = str(item.get("message") or problem.get("title") or "")
        if item.get("code") == "grade_outside_standard" or problem.get("code") == "grade_outside_standard":
            expected = tuple(problem.get("expected_levels") or ())
            if index < len(contradictions) and len(contradictions) == len(problem.get("errors") or []):
                expected = tuple(contradictions[index].get("expected_levels") or ())
            if expected:
                text, params = describe_levels(expected)
                given = t.gettext(
                    "The measurements give %(levels)s: correct the level or give an override reason.",
                    levels=t.gettext(text, **params),
                )
            else:
                given = t.gettext(
                    "The measurements reach no level of disability: correct them or give an override reason."
                )
            errors.append(FieldError(name if name in component_fields else "level", given))
            errors.append(
                FieldError(
                    "override_reason",
                    t.gettext("Give the reason for a level the measurements do not give."),
                )
            )
        elif (
            name in MEASUREMENTS
            or name in component_fields
            or name
            in (
                "category",
                "level",
                "components",
                "findings",
                "override_reason",
            )
        ):
            errors.append(FieldError(name, message))
    placed = ordered(errors)
    unplaced = None if placed else problem_text(problem)
    return placed, unplaced


@router.post("/worklist/{assessment_id}")
async def submit(request: Request, assessment_id: str) -> Response:
    person = person_as(request, "doctor")
    data = await request.form()
    t = translator(request)
    form = ResultForm.from_form(data)
    if not csrf_ok(request, data.get("csrf")):
        out_of_date = t.gettext("The form was out of date. Check it and send it again.")
        return await _case_page(request, person, assessment_id, form, [], out_of_date, status_code=400)
    s = services(request)
    if data.get("action") in ("check", "check-components"):  # the single grade's button, the components'
        answer = await s.call(
            s.assessment, "GET", f"/v1/assessments/{assessment_id}", person.token, t.language
        )
        if answer.status_code != 200:
            return render(request, "not_found.html", 404)
        category = form.values.get("category", "")
        age = int(answer.json().get("age_years") or 0)
        component_checks: dict[str, list[str]] = {}
        if form.is_multiple():
            mistakes = [
                error for c in form.ticked() for error in form.component_measurements(c, t.gettext)[1]
            ]
            component_checks, checked = await component_explanations(request, person, form, age)
        else:
            numbers, mistakes = form.measurements(t.gettext)
            if category not in RESULT_CATEGORIES:
                mistakes.append(
                    FieldError("category", t.gettext("Choose the kind of disability you assessed."))
                )
                checked = None
            else:
                check = await grading_check(request, person, category, numbers, age)
                checked = explanation(t, check, form.level())
        return await _case_page(
            request,
            person,
            assessment_id,
            form,
            ordered(mistakes),
            None,
            checked,
            component_checks,
            422 if mistakes else 200,
        )
    own = form.own_errors(t.gettext)
    if own:
        # Nothing is sent while a field is missing or not a number: a measurement left out could
        # otherwise be recorded as never measured.
        return await _case_page(request, person, assessment_id, form, ordered(own), status_code=422)
    answer = await s.call(
        s.assessment,
        "POST",
        f"/v1/assessments/{assessment_id}/result",
        person.token,
        t.language,
        json=form.body(),
        headers=idempotency_key(data),
    )
    if answer.status_code in (200, 201):
        return RedirectResponse(f"/worklist/{assessment_id}?recorded=1", status_code=303)
    if answer.status_code in (403, 404):
        return render(request, "not_found.html", 404)
    problem: dict[str, Any] = answer.json() if answer.headers.get("content-type", "").endswith("json") else {}
    errors, unplaced = _api_errors(t, problem, form.ticked() if form.is_multiple() else None)
    return await _case_page(request, person, assessment_id, form, errors, unplaced, status_code=422)
