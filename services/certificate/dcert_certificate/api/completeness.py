"""一次性告知 (one visit): everything a submission lacks, answered once, per matter.

The body is checked as a whole: format errors from the schema, the fields each matter needs,
an allowed reason, and the residence permit (居住证) when the application is made in another
province than the household region. One 422 lists all of them, so nobody comes back twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import ValidationError

from dcert_shared.problems import FieldError, validation_errors

from .schemas import REASONS, REQUIRED_FIELDS, ApplicationCreate

_TEXTS: Mapping[str, Mapping[str, str]] = {
    "missing": {"zh-CN": "此事项必须填写", "en": "required for this matter"},
    "reason_not_allowed": {
        "zh-CN": "原因须为以下之一：{allowed}",
        "en": "the reason must be one of: {allowed}",
    },
    "residence_permit_missing": {
        "zh-CN": "在户籍地以外的省份申请，须提供有效的居住证",
        "en": "a valid residence permit is required to apply in another province than the household region",
    },
    "residence_permit_expired": {"zh-CN": "居住证已过有效期", "en": "the residence permit has expired"},
}


def _text(key: str, language: str, **params: str) -> str:
    return _TEXTS[key]["en" if language == "en" else "zh-CN"].format(**params)


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def check_submission(
    raw: Mapping[str, Any], certificate_region: str | None, today: date, language: str
) -> tuple[ApplicationCreate | None, list[FieldError]]:
    """The parsed body, or every reason it cannot be accepted.

    `certificate_region` is the household region of the certificate a matter is about (None
    for `new`, or when it is not known)."""
    raw = with_permit_in_documents(raw)
    errors: list[FieldError] = []
    body: ApplicationCreate | None = None
    try:
        body = ApplicationCreate.model_validate(raw)
    except ValidationError as invalid:
        errors = validation_errors(invalid.errors(), language)
    reported = {error.field for error in errors}
    matter = raw.get("matter")
    if not isinstance(matter, str):
        return None, errors
    for name in REQUIRED_FIELDS.get(matter, ()):
        if _blank(raw.get(name)) and name not in reported:
            errors.append(FieldError(field=name, code="missing", message=_text("missing", language)))
    reason, allowed = raw.get("reason"), REASONS.get(matter)
    if allowed and isinstance(reason, str) and reason not in allowed:
        errors.append(
            FieldError(
                field="reason",
                code="reason_not_allowed",
                message=_text("reason_not_allowed", language, allowed=", ".join(allowed)),
            )
        )
    errors.extend(_residence_permit(raw, matter, certificate_region, today, language))
    return (body if not errors else None), errors


def with_permit_in_documents(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A top-level `residence_permit` (an object or its number) is the same as listing it
    among the documents: accepted either way, kept one way."""
    body = dict(raw)
    permit = body.pop("residence_permit", None)
    if permit is None:
        return body
    if isinstance(permit, str):
        permit = {"number": permit}
    if isinstance(permit, Mapping):
        document = {"type": "residence_permit", "number": permit.get("number")}
        valid_until = permit.get("valid_until") or permit.get("expires_on")
        if valid_until is not None:
            document["valid_until"] = valid_until
        documents = body.get("documents")
        body["documents"] = [*(documents if isinstance(documents, list) else []), document]
    else:
        body["residence_permit"] = permit  # neither: the schema names it as not allowed
    return body


def _regions(raw: Mapping[str, Any], matter: str, certificate_region: str | None) -> tuple[Any, Any]:
    if matter == "new":
        applicant = raw.get("applicant")
        if not isinstance(applicant, Mapping):
            return None, None
        return applicant.get("household_region"), applicant.get("residence_region")
    return certificate_region, raw.get("residence_region")


def _residence_permit(
    raw: Mapping[str, Any], matter: str, certificate_region: str | None, today: date, language: str
) -> list[FieldError]:
    household, residence = _regions(raw, matter, certificate_region)
    if not (isinstance(household, str) and isinstance(residence, str)) or household[:2] == residence[:2]:
        return []
    documents = raw.get("documents")
    permits = [
        {"type": document} if isinstance(document, str) else document
        for document in (documents if isinstance(documents, list) else [])
        if document == "residence_permit"
        or (isinstance(document, Mapping) and document.get("type") == "residence_permit")
    ]
    field = "documents.residence_permit"
    if not permits:
        return [FieldError(field=field, code="missing", message=_text("residence_permit_missing", language))]
    valid_until = permits[0].get("valid_until")
    if isinstance(valid_until, str) and valid_until < today.isoformat():
        return [FieldError(field=field, code="expired", message=_text("residence_permit_expired", language))]
    return []
