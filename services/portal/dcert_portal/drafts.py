"""A form sent after the session ended is kept, not lost: the values go, encrypted, into a
short-lived cookie, the person signs in again and finds the form filled in as they left it.

The draft holds personal data (names, identity numbers, an address), so it is encrypted and
authenticated with a key derived from the session secret (Fernet: AES-CBC + HMAC-SHA256), lives
an hour at most, is HttpOnly, and is given back only to the same person (the session remembers
a keyed hash of who was signed in after the sign-in itself has ended). Someone else signing in
on the same browser, a counter's shared computer, never sees it: it is deleted instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from fastapi import Request
from fastapi.responses import Response

DRAFT_COOKIE = "dcert_portal_draft"
DRAFT_SECONDS = 3600
# Browsers keep cookies of up to 4096 bytes; a larger draft is said to be lost, not cut short.
MAX_COOKIE_BYTES = 3900
NOT_KEPT = {"csrf", "form_token", "action"}


def owner_of(secret: str, role: str, subject: str) -> str:
    """Who a draft belongs to, without naming them."""
    return hmac.new(secret.encode(), f"{role}\x00{subject}".encode(), hashlib.sha256).hexdigest()[:32]


def _fernet(request: Request) -> Fernet:
    secret: str = request.app.state.settings.secret
    return Fernet(
        base64.urlsafe_b64encode(hashlib.sha256(b"dcert-portal-draft\x00" + secret.encode()).digest())
    )


def keep(request: Request, response: Response, form: Any) -> Response:
    """`response` (the way to sign in) carrying the submitted form as a draft for the form's
    page, when the session knows whose it is and it fits; the sign-in page then says so."""
    owner = request.session.get("owner")
    values = {name: str(value) for name, value in form.items() if name not in NOT_KEPT}
    if not owner or not any(values.values()):
        return response
    sealed = _fernet(request).encrypt(
        json.dumps({"owner": owner, "path": request.url.path, "values": values}).encode()
    )
    if len(sealed) > MAX_COOKIE_BYTES:
        request.session["draft_lost"] = True
        return response
    response.set_cookie(
        DRAFT_COOKIE,
        sealed.decode(),
        max_age=DRAFT_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.secure_cookies,
    )
    request.session["draft_kept"] = True
    return response


def take(request: Request) -> dict[str, str] | None:
    """The draft of this page for the signed-in person, or None. The caller calls `forget` on
    its answer whenever a draft cookie came, taken or not."""
    sealed = request.cookies.get(DRAFT_COOKIE)
    if not sealed:
        return None
    try:
        draft = json.loads(_fernet(request).decrypt(sealed.encode(), ttl=DRAFT_SECONDS))
    except (InvalidToken, ValueError):
        return None
    if draft.get("owner") != request.session.get("owner") or draft.get("path") != request.url.path:
        return None
    values = draft.get("values")
    return {str(k): str(v) for k, v in values.items()} if isinstance(values, dict) else None


def forget(request: Request, response: Response) -> Response:
    if DRAFT_COOKIE in request.cookies:
        response.delete_cookie(
            DRAFT_COOKIE, httponly=True, samesite="lax", secure=request.app.state.settings.secure_cookies
        )
    return response
