"""The errors a caller may see: one hierarchy with stable codes and titles in zh-CN and en.

A domain error is a type with a stable `code`; how it reaches a caller over HTTP is
`dcert_shared.problem_responses`. Nothing here knows the web layer, so domain code raises these
freely. pydantic's validation errors become field errors here too, in the caller's language.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Final

from .i18n import has_text, text

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


class DomainError(Exception):
    """Base of every error a caller may see; subclasses set `code`, `status` and both titles
    (or none, when the catalogue has `problem.<code>`).

    `detail` says what this occurrence adds to the title, in both languages, and must never
    contain personal data; `extra` members are added to the problem document as they are.
    """

    code: str = "bad_request"
    status: int = 400
    title_zh: str = text("problem.bad_request", "zh-CN")
    title_en: str = text("problem.bad_request", "en")
    headers: ClassVar[Mapping[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A class that names its `code` and no titles takes them from the catalogue
        (`problem.<code>` of dcert_shared.i18n), so each title is written once."""
        super().__init_subclass__(**kwargs)
        named = vars(cls)
        if (
            "code" in named
            and "title_zh" not in named
            and "title_en" not in named
            and has_text(f"problem.{cls.code}")
        ):
            cls.title_zh = text(f"problem.{cls.code}", "zh-CN")
            cls.title_en = text(f"problem.{cls.code}", "en")

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


class Unauthenticated(DomainError):
    code = "unauthenticated"
    status = 401
    headers = {"WWW-Authenticate": 'Bearer realm="dcert"'}


class Forbidden(DomainError):
    code = "forbidden"
    status = 403

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


class Conflict(DomainError):
    code = "conflict"
    status = 409


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    status = 413


class TooManyRequests(DomainError):
    code = "too_many_requests"
    status = 429


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class ConcurrencyConflict(Conflict):
    code = "concurrency_conflict"


class ServiceUnavailable(DomainError):
    code = "service_unavailable"
    status = 503


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
        self.title_zh = text(f"problem.{reason}", "zh-CN")
        self.title_en = text(f"problem.{reason}", "en")
        if field is not None:
            self.errors.append(FieldError(field=field, code=reason, message=Bilingual.title_of(self)))


# --- pydantic's validation errors as field errors ---


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
