"""The session cookie, encrypted: it holds the access token and the person's claims (an identity
number among them), which a signed cookie would show to anyone who reads the browser's cookies
or a proxy's logs.

AES-256-GCM with a key derived (HKDF-SHA256) from `DCERT_PORTAL_SESSION_SECRET`, and the
cookie's name as associated data; the plaintext starts with the time it was sealed, so a
cookie older than `max_age` opens no session whatever the browser does with its expiry. The
middleware is Starlette's `SessionMiddleware` in behaviour (`request.session`, what Authlib
keeps between the redirect and the callback included); only the cookie's content differs.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import struct
import time
from typing import Any, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from starlette.datastructures import MutableHeaders
from starlette.middleware.sessions import Session
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_NONCE_BYTES = 12
_SEALED_AT = struct.Struct(">d")


class SessionSealer:
    """Seals a session (a JSON object) into a cookie value and opens it again."""

    def __init__(self, secret: str, cookie_name: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"dcert-portal-session\x00v1"
        ).derive(secret.encode())
        self._aead = AESGCM(key)
        self._associated = cookie_name.encode()

    def seal(self, session: dict[str, Any], now: float | None = None) -> str:
        plain = _SEALED_AT.pack(time.time() if now is None else now) + json.dumps(session).encode()
        nonce = os.urandom(_NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, plain, self._associated)
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()

    def open(self, value: str, max_age_seconds: float, now: float | None = None) -> dict[str, Any] | None:
        """The session sealed in `value`, or None when it was not sealed with our key, was
        altered, or is older than `max_age_seconds`."""
        try:
            sealed = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
            plain = self._aead.decrypt(nonce, ciphertext, self._associated)
            (sealed_at,) = _SEALED_AT.unpack_from(plain)
            session = json.loads(plain[_SEALED_AT.size :])
        except (InvalidTag, ValueError, binascii.Error, struct.error):
            return None
        age = (time.time() if now is None else now) - sealed_at
        if not isinstance(session, dict) or not -60 <= age <= max_age_seconds:
            return None
        return session


class EncryptedSessionMiddleware:
    """`request.session` from an encrypted cookie (the module's docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        secret_key: str,
        session_cookie: str,
        max_age: int,
        same_site: Literal["lax", "strict", "none"] = "lax",
        https_only: bool = False,
    ) -> None:
        self.app = app
        self.sealer = SessionSealer(secret_key, session_cookie)
        self.session_cookie = session_cookie
        self.max_age = max_age
        self.flags = f"path=/; httponly; samesite={same_site}" + ("; secure" if https_only else "")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        cookie = HTTPConnection(scope).cookies.get(self.session_cookie)
        opened = self.sealer.open(cookie, self.max_age) if cookie else None
        scope["session"] = Session(opened or {})
        had_session = opened is not None

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                session: Session = scope["session"]
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                if session.accessed:
                    headers.add_vary_header("Cookie")
                if session.modified and session:
                    value = self.sealer.seal(dict(session))
                    headers.append(
                        "Set-Cookie", f"{self.session_cookie}={value}; Max-Age={self.max_age}; {self.flags}"
                    )
                elif session.modified and had_session:  # cleared: the browser forgets it
                    headers.append(
                        "Set-Cookie",
                        f"{self.session_cookie}=null; expires=Thu, 01 Jan 1970 00:00:00 GMT; {self.flags}",
                    )
            await send(message)

        await self.app(scope, receive, send_with_cookie)
