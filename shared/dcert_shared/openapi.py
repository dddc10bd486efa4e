"""The problem answers in each service's OpenAPI document.

FastAPI declares only a 422 of its own shape; every route answers through the same problem
handlers (dcert_shared.problem_responses), so the problem answers an operation can give follow
from its shape. Declaring them lets clients (and the fuzzing test) hold every answer to the document.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any, Final

from .problem_responses import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE

if TYPE_CHECKING:
    from fastapi import FastAPI


PROBLEM_SCHEMA: Final[Mapping[str, Any]] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; a rejected request changed nothing.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code", "errors", "instance"],
    "properties": {
        "type": {"type": "string", "description": PROBLEM_TYPE_BASE + "<code>"},
        "title": {"type": "string", "description": "In the caller's language (Accept-Language)"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "Stable, for programs: the last segment of `type`"},
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/ProblemFieldError"}},
        "instance": {"type": "string", "description": "The route template, never the path"},
    },
}
FIELD_ERROR_SCHEMA: Final[Mapping[str, Any]] = {
    "title": "ProblemFieldError",
    "type": "object",
    "required": ["field", "code", "message"],
    "properties": {
        "field": {"type": "string", "description": "Dotted path: applicant.id_number"},
        "code": {"type": "string"},
        "message": {"type": "string"},
    },
}
_PROBLEM_DESCRIPTIONS: Final[Mapping[int, str]] = {
    400: "The body cannot be read at all",
    401: "No valid bearer token",
    403: "The caller's role or scope does not allow this",
    404: "No such record (or none the caller may see)",
    409: "Conflicts with the current state, or an Idempotency-Key reused with another body",
    413: "The request body is too large",
    422: "The request is not valid: `errors` lists each field",
    429: "Too many requests from this client (or this signed-in caller): see Retry-After",
    500: "An unexpected error; nothing about it is shown",
    503: "A dependency (database, broker, sign-in keys) cannot be reached",
}
_FASTAPI_VALIDATION_SCHEMAS: Final = ("HTTPValidationError", "ValidationError")


def _problem_statuses(
    method: str, operation: Mapping[str, Any], rate_limited: bool, subjects_limited: bool = False
) -> list[int]:
    """The problem answers an operation can give, from what it takes: every route raises through
    the same handlers, so the rules follow the shape of the operation, not its code. With
    `subjects_limited`, every signed-in caller has a limit of their own: a secured operation
    may answer 429."""
    parameters = operation.get("parameters") or []
    has_body = "requestBody" in operation
    statuses = [422, 500]  # 422 for any request: text no database stores is refused before routing
    if operation.get("security"):
        statuses += [401, 403, 503]
    if has_body or parameters:  # whatever names a record may name one that is not there
        statuses.append(404)
    if method != "get":
        statuses.append(409)
    if has_body:
        statuses += [400, 413]  # 400: a body that is not even text (FastAPI cannot decode it)
    if rate_limited or (subjects_limited and operation.get("security")):
        statuses.append(429)
    return sorted(statuses)


def _document_problems(
    document: dict[str, Any], rate_limited_paths: Collection[str], subjects_limited: bool = False
) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION_SCHEMAS:  # FastAPI's own 422 body, which we never send
        schemas.pop(name, None)
    schemas["Problem"] = dict(PROBLEM_SCHEMA)
    schemas["ProblemFieldError"] = dict(FIELD_ERROR_SCHEMA)
    content = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            rate_limited = path in rate_limited_paths
            for status in _problem_statuses(method, operation, rate_limited, subjects_limited):
                declared = responses.get(str(status))
                if declared is None or _is_fastapi_validation_error(declared):
                    responses[str(status)] = {
                        "description": _PROBLEM_DESCRIPTIONS[status],
                        "content": content,
                    }


def _is_fastapi_validation_error(response: Mapping[str, Any]) -> bool:
    """FastAPI declares a 422 of its own shape on every operation with input; ours is a problem."""
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref", "").endswith("/HTTPValidationError"))


def document_problem_answers(
    app: FastAPI, rate_limited_paths: Collection[str] = (), *, subjects_limited: bool = False
) -> None:
    """Declare in `app`'s OpenAPI document the problem answers of every operation, as
    `application/problem+json` with the Problem schema (FastAPI would declare only a 422 of its
    own shape). `rate_limited_paths` also answer 429, and so does every secured operation when
    `subjects_limited`."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            _document_problems(document, rate_limited_paths, subjects_limited)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
