"""Verification of e-certificate codes (docs/api.md): online status for anyone, without a token.

`GET /v1/verify?code=` is the contract; `POST /v1/verify` with `{"code"}` answers the same for
scanners behind proxies that log URLs (a code is a credential and names the holder's number).
Both take the offline code (DC1) as before and the online code (DC1T) while it is fresh; the
answer says which it was (`code_type`), and a stale online code is `online_code_expired`.
`POST /v1/verify` with `{"certificate_number", "name"}` verifies a card without a code (the
second generation): the same masked answer and its `generation`; a wrong name answers exactly
as a number that does not exist, so the endpoint tells nobody whose number it is."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from dcert_shared.api import Pool

from ..adapters import queries
from ..adapters.ecert import CodeContent, ECertificateSigner, InvalidCode, is_online_code, online_code_refusal
from ..application.service import CertificateService
from ..domain.certificate import CATEGORY_CODES, holder_name_hash
from .dependencies import Service, Signer
from .schemas import CodeToVerify, NumberAndNameToVerify, Verification

router = APIRouter(prefix="/v1")

CATEGORY_NAMES = {code: name for name, code in CATEGORY_CODES.items()}


@router.get("/verify", response_model=Verification, tags=["verification"])
async def verify(
    code: Annotated[str, Query(min_length=1, max_length=2000)], db: Pool, keys: Signer, service: Service
) -> Verification:
    """Anyone, without a token: is this code genuine, and is the certificate live now?

    A code stops at once when its card is lost, replaced, renewed or transferred, or when the
    certificate is cancelled or past its expiry date, whether or not the expiry job has run."""
    return await _verification(code, db, keys, service)


@router.post("/verify", response_model=Verification, tags=["verification"])
async def verify_in_body(
    body: CodeToVerify | NumberAndNameToVerify, db: Pool, keys: Signer, service: Service
) -> Verification:
    """The same as `GET /v1/verify`, with the code in the body, out of any URL that gets logged;
    or a card's number and its holder's name, for a card without a code."""
    if isinstance(body, NumberAndNameToVerify):
        return await _verification_by_name(body, db, service)
    return await _verification(body.code, db, keys, service)


async def _verification_by_name(
    body: NumberAndNameToVerify, db: Pool, service: CertificateService
) -> Verification:
    name_hash = holder_name_hash(service.settings.identity_hash_key_bytes, body.name)
    found = await queries.certificate_by_number_and_name(db, body.certificate_number.upper(), name_hash)
    if found is None:
        return Verification(valid=False, status="unknown", reason_code="certificate_unknown")
    status = _certificate_status(found.status, found.expires_on, service.today())
    return Verification(
        valid=status == "active",
        status=status,
        category=found.category,
        level=found.level,
        expires_on=found.expires_on,
        holder=found.holder_name_masked,
        reason_code=None if status == "active" else f"certificate_{status}",
        generation=2 if found.card_generation == 2 else 3,
    )


async def _verification(
    code: str, db: Pool, keys: ECertificateSigner, service: CertificateService
) -> Verification:
    if is_online_code(code):
        return await _online_verification(code, db, keys, service)
    try:
        content = keys.verify(code)
    except InvalidCode:
        return Verification(valid=False, reason_code="signature_invalid", code_type="offline")
    return await _status_of(content, db, service, Verification(valid=False, code_type="offline"))


async def _online_verification(
    code: str, db: Pool, keys: ECertificateSigner, service: CertificateService
) -> Verification:
    """The online code: genuine, then fresh (a screenshot is stale in a minute or two), then the
    certificate's status as for an offline code."""
    try:
        online = keys.verify_online(code)
    except InvalidCode:
        return Verification(valid=False, reason_code="signature_invalid", code_type="online")
    life = service.settings.ecert_online_code_seconds
    answer = Verification(
        valid=False,
        code_type="online",
        online_code_issued_at=online.issued_at,
        online_code_valid_until=online.valid_until(life),
    )
    refusal = online_code_refusal(online, datetime.now(UTC), life)
    if refusal is not None:
        return answer.model_copy(update={"reason_code": refusal})
    return await _status_of(online.content, db, service, answer)


async def _status_of(
    content: CodeContent, db: Pool, service: CertificateService, answer: Verification
) -> Verification:
    status = _status(await queries.credential_state(db, content.serial), service.today())
    return answer.model_copy(
        update={
            "valid": status == "active",
            "status": status,
            "category": CATEGORY_NAMES[content.category],
            "level": content.level,
            "expires_on": content.expires_on,
            "holder": content.holder_masked,
            "reason_code": None if status == "active" else f"certificate_{status}",
        }
    )


def _status(credential: queries.CredentialState | None, today: date) -> str:
    if credential is None:
        return "unknown"
    if credential.superseded is not None:
        return credential.superseded
    return _certificate_status(credential.certificate_status, credential.expires_on, today)


def _certificate_status(status: str, expires_on: date, today: date) -> str:
    """Past its expiry date a certificate is expired at once, whether or not the job has run."""
    if status == "active" and expires_on < today:
        return "expired"
    return status
