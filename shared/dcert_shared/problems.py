"""RFC 9457 problem details: one error hierarchy, rendered in one place, in zh-CN and en.

Domain errors are types with a stable `code`; the API maps each to a `type` URI and a title in
the caller's language. Nothing a caller submitted is echoed back (it may be an identity
number), and an unexpected error says nothing about internals.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .i18n import negotiate

log = logging.getLogger(__name__)

PROBLEM_TYPE_BASE = "https://dcert.example.cn/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"


@dataclass(frozen=True)
class FieldError:
    """One field's problem: a dotted path (`applicant.id_number`), a code and a message."""

    field: str
    code: str
    message: str


class DomainError(Exception):
    """Base of every error a caller may see. Subclasses set `code`, `status` and both titles."""

    code: str = "error"
    status: int = 400
    title_zh: str = "请求有误"
    title_en: str = "Bad request"

    def __init__(
        self, detail: str | None = None, errors: list[FieldError] | None = None, **extra: Any
    ) -> None:
        super().__init__(self.code)
        self.detail = detail
        self.errors = list(errors or [])
        self.extra = extra

    def title(self, language: str) -> str:
        return self.title_en if language == "en" else self.title_zh


class ValidationFailed(DomainError):
    code = "validation_failed"
    status = 422
    title_zh = "提交的内容有误，请按提示一次改正"
    title_en = "The submission has errors; every one is listed"


class Unauthenticated(DomainError):
    code = "unauthenticated"
    status = 401
    title_zh = "未登录或登录已失效"
    title_en = "Not signed in, or the sign-in is no longer valid"


class Forbidden(DomainError):
    code = "forbidden"
    status = 403
    title_zh = "无权进行此操作"
    title_en = "You may not do this"


class NotFound(DomainError):
    code = "not_found"
    status = 404
    title_zh = "未找到"
    title_en = "Not found"


class Conflict(DomainError):
    code = "conflict"
    status = 409
    title_zh = "与当前状态冲突"
    title_en = "Conflicts with the current state"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    title_zh = "该幂等键已用于另一份不同的请求"
    title_en = "This Idempotency-Key was used for a different request"


class ConcurrencyConflict(Conflict):
    code = "concurrency_conflict"
    title_zh = "数据刚被他人修改，请重试"
    title_en = "The record changed at the same moment; please try again"


class ServiceUnavailable(DomainError):
    code = "service_unavailable"
    status = 503
    title_zh = "服务暂时不可用"
    title_en = "The service is temporarily unavailable"


_HTTP_ERRORS: dict[int, tuple[str, str, str]] = {
    404: ("not_found", "未找到", "Not found"),
    405: ("method_not_allowed", "不支持该请求方法", "Method not allowed"),
    415: ("unsupported_media_type", "不支持的内容类型", "Unsupported media type"),
}


def problem_response(
    request: Request,
    *,
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    errors: list[FieldError] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "code": code,
        "instance": request.url.path,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = [asdict(error) for error in errors]
    body.update(extra or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _language(request: Request) -> str:
    return negotiate(request.headers.get("accept-language"))


def _field_path(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


async def _domain_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    return problem_response(
        request,
        status=error.status,
        code=error.code,
        title=error.title(_language(request)),
        detail=error.detail,
        errors=error.errors,
        extra=error.extra,
        headers=headers,
    )


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    # pydantic's `input` and `ctx` may hold what was submitted (an identity number): never echoed.
    errors = [
        FieldError(
            field=_field_path(tuple(item.get("loc", ()))),
            code=str(item.get("type", "invalid")),
            message=str(item.get("msg", "")),
        )
        for item in error.errors()
    ]
    failed = ValidationFailed(errors=errors)
    return problem_response(
        request, status=422, code=failed.code, title=failed.title(_language(request)), errors=errors
    )


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code, title_zh, title_en = _HTTP_ERRORS.get(error.status_code, ("http_error", "请求有误", "Bad request"))
    title = title_en if _language(request) == "en" else title_zh
    return problem_response(request, status=error.status_code, code=code, title=title, headers=error.headers)


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.error("unhandled %s on %s %s", type(error).__name__, request.method, request.scope.get("route", "?"))
    title = "Internal error" if _language(request) == "en" else "系统内部错误"
    return problem_response(request, status=500, code="internal_error", title=title)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
