"""RFC 9457 problem details: one error hierarchy, rendered in one place, in zh-CN and en.

A domain error is a type with a stable `code`; the API maps it to the `type` URI
`https://dcert.example.cn/problems/<code>` with a title in the caller's language. Nothing a caller
submitted is echoed back (it may be an identity number), and an unexpected error says nothing
about internals. FastAPI is imported only by `install_problem_handlers`, so domain code can
raise these errors without depending on the web layer. `document_problem_answers` declares the
problem answers in each service's OpenAPI document, so that clients (and the fuzzing test) can
hold every answer to it.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar, Final

from .db import is_outage
from .i18n import has_text, negotiate, text

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

PROBLEM_TYPE_BASE: Final = "https://dcert.example.cn/problems/"
PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
_STANDARD_MEMBERS: Final = frozenset({"type", "title", "status", "detail", "instance", "code", "errors"})


@dataclass(frozen=True)
class Bilingual:
    """A text a caller reads, in Simplified Chinese and in English; never personal data.

    Problem titles come from the catalogue by code; this is for what one occurrence says beside
    them (`detail`, a field's `message`): the state it was in, the date a window opens.
    """

    zh: str
    en: str

    def text(self, language: str) -> str:
        return self.en if language == "en" else self.zh

    @classmethod
    def title_of(cls, error: DomainError | type[DomainError]) -> Bilingual:
        """An error's title as a field's message."""
        return cls(error.title_zh, error.title_en)

    @classmethod
    def status(cls, status: str) -> Bilingual:
        """The state a record is in (its code, as the API names it), when that is why."""
        return cls(f"当前状态：{status}", f"status: {status}")

    @classmethod
    def until(cls, day: date | str) -> Bilingual:
        return cls(f"截至 {day}", f"until {day}")

    @classmethod
    def catalogued(cls, key: str, **params: object) -> Bilingual:
        """A message of the catalogue (dcert_shared.i18n) in both languages."""
        return cls(text(key, "zh-CN", **params), text(key, "en", **params))


@dataclass(frozen=True)
class FieldError:
    """One field's problem: a dotted path (`applicant.id_number`), a stable code and a message
    (in both languages, or already in the request's)."""

    field: str
    code: str
    message: Bilingual | str

    def as_dict(self, language: str) -> dict[str, str]:
        message = self.message.text(language) if isinstance(self.message, Bilingual) else self.message
        return {"field": self.field, "code": self.code, "message": message}


def _title(code: str, language: str) -> str:
    return text(f"problem.{code}", language)


class DomainError(Exception):
    """Base of every error a caller may see; subclasses set `code`, `status` and both titles.

    `detail` says what this occurrence adds to the title, in both languages, and must never
    contain personal data; `extra` members are added to the problem document as they are.
    """

    code: str = "bad_request"
    status: int = 400
    title_zh: str = _title("bad_request", "zh-CN")
    title_en: str = _title("bad_request", "en")
    headers: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self, detail: Bilingual | None = None, errors: Sequence[FieldError] | None = None, **extra: Any
    ) -> None:
        super().__init__(self.code)
        if detail is not None and not isinstance(detail, Bilingual):
            raise TypeError("a problem's detail is read by people: give it in both languages (Bilingual)")
        self.detail = detail
        self.errors: list[FieldError] = list(errors or [])
        self.extra: dict[str, Any] = {k: v for k, v in extra.items() if k not in _STANDARD_MEMBERS}

    def title(self, language: str) -> str:
        return self.title_en if language == "en" else self.title_zh

    def response_headers(self) -> Mapping[str, str]:
        """The headers of this answer: the class's, or this occurrence's (a Retry-After)."""
        return self.headers

    def __repr__(self) -> str:
        # The detail may be long or (by mistake) personal: the code says what happened.
        return f"{type(self).__name__}(code={self.code!r})"


class ValidationFailed(DomainError):
    code = "validation_failed"
    status = 422
    title_zh = _title("validation_failed", "zh-CN")
    title_en = _title("validation_failed", "en")


class Unauthenticated(DomainError):
    code = "unauthenticated"
    status = 401
    title_zh = _title("unauthenticated", "zh-CN")
    title_en = _title("unauthenticated", "en")
    headers = {"WWW-Authenticate": 'Bearer realm="dcert"'}


class Forbidden(DomainError):
    code = "forbidden"
    status = 403
    title_zh = _title("forbidden", "zh-CN")
    title_en = _title("forbidden", "en")

    @classmethod
    def needing(cls, roles: Collection[str]) -> Forbidden:
        """The caller's role is not one of `roles` (named in `required_roles` for programs)."""
        names = sorted(roles)
        return cls(
            detail=Bilingual(
                "此操作需要以下角色之一：" + "、".join(names), "this needs the role " + " or ".join(names)
            ),
            required_roles=names,
        )


class NotFound(DomainError):
    code = "not_found"
    status = 404
    title_zh = _title("not_found", "zh-CN")
    title_en = _title("not_found", "en")


class Conflict(DomainError):
    code = "conflict"
    status = 409
    title_zh = _title("conflict", "zh-CN")
    title_en = _title("conflict", "en")


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    status = 413
    title_zh = _title("payload_too_large", "zh-CN")
    title_en = _title("payload_too_large", "en")


class TooManyRequests(DomainError):
    code = "too_many_requests"
    status = 429
    title_zh = _title("too_many_requests", "zh-CN")
    title_en = _title("too_many_requests", "en")


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    title_zh = _title("idempotency_key_reused", "zh-CN")
    title_en = _title("idempotency_key_reused", "en")


class ConcurrencyConflict(Conflict):
    code = "concurrency_conflict"
    title_zh = _title("concurrency_conflict", "zh-CN")
    title_en = _title("concurrency_conflict", "en")


class ServiceUnavailable(DomainError):
    code = "service_unavailable"
    status = 503
    title_zh = _title("service_unavailable", "zh-CN")
    title_en = _title("service_unavailable", "en")


class CodedValidationFailed(ValidationFailed, ValueError):
    """A validation failure whose code names the reason (`id_check_digit`), titled from the catalogue.

    It is also a ValueError, so a pydantic validator that calls `IdentityNumber.parse` reports it
    as a field error (with this code and title) among the others of the same request.
    """

    def __init__(self, reason: str, field: str | None = None, detail: Bilingual | None = None) -> None:
        super().__init__(detail=detail)
        # Instance attributes shadow the class ones: one type, a distinct code per reason.
        self.code = reason
        self.args = (reason,)
        self.title_zh = _title(reason, "zh-CN")
        self.title_en = _title(reason, "en")
        if field is not None:
            self.errors.append(FieldError(field=field, code=reason, message=Bilingual.title_of(self)))


_HTTP_CODES: Final = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    503: "service_unavailable",
}


def problem_document(
    *,
    status: int,
    code: str,
    title: str,
    instance: str,
    language: str,
    detail: Bilingual | None = None,
    errors: Sequence[FieldError] = (),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The RFC 9457 body in `language`; `detail` falls back to the title so clients always find one."""
    return {
        **(extra or {}),
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail.text(language) if detail is not None else title,
        "code": code,
        "errors": [error.as_dict(language) for error in errors],
        "instance": instance,
    }


def _instance(request: Request) -> str:
    """The route template (`/v1/certificates/{number}`), never the path: paths carry certificate
    numbers, which contain identity numbers."""
    route = request.scope.get("route")
    return str(getattr(route, "path", "")) or "about:blank"


def _respond(body: dict[str, Any], language: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    from starlette.responses import JSONResponse

    all_headers = {**(headers or {}), "Content-Language": language, "Vary": "Accept-Language"}
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_MEDIA_TYPE, headers=all_headers)


def _language(request: Request) -> str:
    return negotiate(request.headers.get("accept-language"))


def error_response(request: Request, error: DomainError) -> JSONResponse:
    """The problem document of a domain error, in the request's language."""
    language = _language(request)
    body = problem_document(
        status=error.status,
        code=error.code,
        title=error.title(language),
        instance=_instance(request),
        language=language,
        detail=error.detail,
        errors=error.errors,
        extra=error.extra,
    )
    return _respond(body, language, error.response_headers())


async def _domain_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    return error_response(request, error)


def _field_path(location: Sequence[Any]) -> str:
    parts = [str(part) for part in location]
    if len(parts) > 1 and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _field_message(item: Mapping[str, Any], language: str) -> str:
    """Our text for pydantic's error type when we have one, else pydantic's, with the input redacted."""
    kind = str(item.get("type", ""))
    params = {k: v for k, v in (item.get("ctx") or {}).items() if isinstance(v, (str, int, float))}
    for key in (f"field.{kind}", f"problem.{kind}"):
        if has_text(key):
            try:
                return text(key, language, **params)
            except (KeyError, IndexError):
                break
    message = str(item.get("msg", ""))
    submitted = item.get("input")
    if isinstance(submitted, str) and len(submitted) >= 4 and submitted in message:
        message = message.replace(submitted, "***")
    return message


def validation_errors(raw_errors: Sequence[Mapping[str, Any]], language: str) -> list[FieldError]:
    """pydantic's errors as field errors; `input` and `ctx` (what was submitted) are left out."""
    errors = []
    for item in raw_errors:
        kind = str(item.get("type", "invalid"))
        field = "body" if kind == "json_invalid" else _field_path(tuple(item.get("loc", ())))
        cause = (item.get("ctx") or {}).get("error")
        if isinstance(cause, DomainError):  # raised by a validator: its own code and title
            errors.append(FieldError(field=field, code=cause.code, message=cause.title(language)))
        else:
            errors.append(FieldError(field=field, code=kind, message=_field_message(item, language)))
    return errors


def validation_errors_in_both(raw_errors: Sequence[Mapping[str, Any]]) -> list[FieldError]:
    """pydantic's errors as field errors for an answer whose reader's language is not known yet."""
    both = zip(validation_errors(raw_errors, "zh-CN"), validation_errors(raw_errors, "en"), strict=True)
    return [FieldError(zh.field, zh.code, Bilingual(str(zh.message), str(en.message))) for zh, en in both]


async def _request_validation_error(request: Request, error: Exception) -> JSONResponse:
    from fastapi.exceptions import RequestValidationError

    assert isinstance(error, RequestValidationError)
    failed = ValidationFailed(errors=validation_errors(error.errors(), _language(request)))
    return error_response(request, failed)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    from starlette.exceptions import HTTPException

    assert isinstance(error, HTTPException)
    language = _language(request)
    code = _HTTP_CODES.get(error.status_code, "internal_error" if error.status_code >= 500 else "http_error")
    # Starlette's `detail` is free text set by whoever raised: not shown, it may hold anything.
    body = problem_document(
        status=error.status_code,
        code=code,
        title=_title(code, language),
        instance=_instance(request),
        language=language,
    )
    headers = dict(error.headers or {})
    if error.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return _respond(body, language, headers)


def _allowed_methods(request: Request) -> str:
    """Every method some route answers at this path: Starlette names only those of the first
    route whose path matches, though a path's methods are often declared by several."""
    path = request.scope["path"]
    methods: set[str] = set()
    for route in request.app.router.routes:
        pattern = getattr(route, "path_regex", None)
        if pattern is not None and pattern.match(path):
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


def _log_unexpected(error: BaseException) -> None:
    """The type and where it happened: an exception's arguments may hold personal data."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name}" if frames else "?"
    log.error("unhandled %s at %s", type(error).__qualname__, where)


class UnexpectedErrorMiddleware:
    """Answers any unhandled exception with a bare 500 problem and logs only its type and place.

    Starlette's own 500 handler re-raises to the server, which logs the message (and so perhaps
    an identity number from a database error); this middleware stops it there.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            outage = is_outage(error)
            if outage:  # the database is away (restarting, failing over): try again shortly
                log.warning("database unavailable during a request (%s)", type(error).__qualname__)
            else:
                _log_unexpected(error)
            if not started:
                await self._failed(scope, receive, send, 503 if outage else 500)

    @staticmethod
    async def _failed(scope: Scope, receive: Receive, send: Send, status: int) -> None:
        from starlette.requests import Request

        request = Request(scope)
        language = _language(request)
        code = "service_unavailable" if status == 503 else "internal_error"
        body = problem_document(
            status=status,
            code=code,
            title=_title(code, language),
            instance=_instance(request),
            language=language,
        )
        headers = {"Retry-After": "5"} if status == 503 else None
        await _respond(body, language, headers)(scope, receive, send)


def install_problem_handlers(app: FastAPI) -> None:
    """Every error of `app` becomes an `application/problem+json` answer."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_middleware(UnexpectedErrorMiddleware)


# --- the problem answers in each service's OpenAPI document ---

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
