"""Forms of the administrator's and the partner agency's pages that go to a public API: the
answer's items and problem, lists typed one a line, and the API's field errors at their fields."""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from .application_form import FieldError
from .pages import problem_text, render


def problem_of(answer: Any) -> dict[str, Any]:
    if answer.headers.get("content-type", "").endswith("json"):
        body = answer.json()
        return body if isinstance(body, dict) else {}
    return {}


def items_of(answer: Any) -> list[dict[str, Any]]:
    return list(answer.json().get("items", [])) if answer.status_code == 200 else []


def lines_of(text: str) -> list[str]:
    """A list typed one a line (commas and spaces also separate), each once, in order."""
    return list(dict.fromkeys(part for part in re.split(r"[\s,，、;；]+", text) if part))


def ordered(errors: dict[str, FieldError], order: list[str]) -> list[FieldError]:
    return [errors[name] for name in order if name in errors]


def missing_page(request: Request, message: str) -> Response:
    return render(request, "admin_missing.html", 404, message=message)


def api_errors(
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
    return ordered(errors, order), unplaced
