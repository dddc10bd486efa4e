"""访问记录 (API): a person sees who read their record, in every service, newest first.

The four services' access logs reach this service's `person_access_log` through NATS
(dcert_shared.access_relay), a moment after each read. Only the person sees their log: the
holder with their own token, or an agent who names one of the person's applications in which
they are the agent (the agent's look is itself recorded). Readers are shown by role,
organisation and region, never by name.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from dcert_shared.access_log import AccessRecorder, Reads
from dcert_shared.api import Pool
from dcert_shared.auth import CurrentPrincipal, Principal
from dcert_shared.i18n import has_text, negotiate, text
from dcert_shared.problems import FieldError, ValidationFailed

from ..adapters import queries
from .dependencies import Policy
from .policy import CertificatePolicy

router = APIRouter(prefix="/v1", tags=["access log"])


class AccessEntry(BaseModel):
    """One read of the person's record by someone else."""

    read_at: datetime
    service: str = Field(
        description="The service that answered: certificate, assessment, benefits, notification"
    )
    service_name: str = Field(description="In the request's language")
    reader_role: str = Field(description="agent, reviewer, doctor, card_centre, partner or admin")
    reader_role_name: str = Field(description="In the request's language")
    reader_organisation: str | None = Field(description="The doctor's or partner agency's id, if any")
    reader_region: str | None = Field(description="The region the reader acts for, if any")
    record_kind: str = Field(description="application, certificate, assessment, benefits, card, ...")
    record_kind_name: str = Field(description="In the request's language")
    record_ref: str = Field(description="Which record: an opaque id, or a masked certificate number")
    purpose: str = Field(description="The purpose code, or the purpose the reader stated")
    purpose_text: str = Field(description="The purpose in the request's language (as stated, if stated)")


class AccessLogPage(BaseModel):
    items: list[AccessEntry]
    next_before: str | None = Field(description="Pass as `before` for the older entries; null: no more")


@router.get("/me/access-log", response_model=AccessLogPage)
async def my_access_log(
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    reads: Reads,
    policy: Policy,
    db: Pool,
    application_id: Annotated[
        str | None,
        Query(
            max_length=100, description="An agent: an application of the person in which they are the agent"
        ),
    ] = None,
    before: Annotated[
        str | None, Query(max_length=200, description="`next_before` of the page before")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AccessLogPage:
    """访问记录: who read my record, when, what and why, in every service, newest first. Every
    read by anyone but me is listed (reviewers, doctors, card centres, partner agencies through
    their data feeds, administrators, my agent); reads appear a moment after they happen and
    are kept at least three years. Only the person: another role is refused (403); an agent
    verified for the person passes `application_id` of one of the person's applications."""
    person_ref = policy.require_applicant(principal)
    if application_id is not None:
        person_ref = await _represented(db, application_id, principal, policy, reads)
    language = negotiate(request.headers.get("accept-language"))
    after = _position(before, language) if before else None
    entries = await queries.access_log(db, person_ref, after, limit + 1)
    response.headers["Content-Language"] = language
    page = entries[:limit]
    return AccessLogPage(
        items=[_entry(entry, language) for entry in page],
        next_before=_cursor(page[-1]) if len(entries) > limit else None,
    )


async def _represented(
    db: Pool,
    application_id: str,
    principal: Principal,
    policy: CertificatePolicy,
    reads: AccessRecorder,
) -> str:
    """The person of an application the caller may act on as the person: the person or an
    agent verified for them (an agent whose claim is not verified sees nothing of the person)."""
    application = policy.require_own_application(principal, await queries.application(db, application_id))
    await reads.record(db, "access_log", [(application.view.person_ref, application_id)])
    return application.view.person_ref


def _label(group: str, code: str, language: str) -> str:
    key = f"access.{group}.{code}"
    return text(key, language) if has_text(key) else code


def _entry(entry: queries.AccessLogEntry, language: str) -> AccessEntry:
    role = entry.reader_role
    return AccessEntry(
        read_at=entry.read_at,
        service=entry.service,
        service_name=_label("service", entry.service, language),
        # An applicant reading someone else's record can only be their agent.
        reader_role="agent" if role == "applicant" else role,
        reader_role_name=_label("role", role, language),
        reader_organisation=entry.reader_organisation,
        reader_region=entry.reader_region,
        record_kind=entry.record_kind,
        record_kind_name=_label("kind", entry.record_kind, language),
        record_ref=entry.record_ref,
        purpose=entry.purpose,
        purpose_text=_label("purpose", entry.purpose, language),
    )


def _cursor(entry: queries.AccessLogEntry) -> str:
    place = f"{entry.read_at.isoformat()}|{entry.service}|{entry.log_id}"
    return base64.urlsafe_b64encode(place.encode()).decode()


def _position(cursor: str, language: str) -> queries.AccessLogPlace:
    try:
        read_at, service, log_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return queries.AccessLogPlace(datetime.fromisoformat(read_at), service, int(log_id))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        message = text("field.cursor_invalid", language)
        raise ValidationFailed(
            errors=[FieldError(field="before", code="cursor_invalid", message=message)]
        ) from None


async def record_card_reads(reads: AccessRecorder, db: Pool, certificate_numbers: Iterable[str]) -> None:
    """The holders of these certificates' cards, as a card centre (or staff) reads them."""
    holders = await queries.certificate_holders(db, dict.fromkeys(certificate_numbers))
    await reads.record(db, "card", holders)
