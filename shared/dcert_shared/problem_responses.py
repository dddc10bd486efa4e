"""RFC 9457 problem documents: how every error of a service reaches the caller, in their language.

A domain error (dcert_shared.errors) maps to the `type` URI
`https://dcert.example.cn/problems/<code>` with a title in the caller's language. Nothing a caller
submitted is echoed back (it may be an identity number), and an unexpected error says nothing
about internals.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from .db import is_outage
from .errors import Bilingual, DomainError, FieldError, ValidationFailed, validation_errors
from .i18n import negotiate, text

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

PROBLEM_TYPE_BASE: Final = "https://dcert.example.cn/problems/"
PROBLEM_MEDIA_TYPE: Final = "application/problem+json"


def _title(code: str, language: str) -> str:
    return text(f"problem.{code}", language)


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
    route whose path matches, though a path's methods are often declared by several (and
    routers may be nested). Each method is tried against every route, as a request would be."""
    from starlette.routing import Match

    allowed = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return ", ".join(allowed)


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
