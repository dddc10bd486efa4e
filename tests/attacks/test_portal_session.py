"""The portal's session, attacked: whoever reads the browser's cookies (a shared computer at a
counter, malware, a proxy that logs them) must find neither the person's access token nor
their identity number in it, cannot make or alter one, and the sign-in must not send the
identity provider's answer to an address a request's Host header names."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import secrets
from collections.abc import Iterator

import httpx
import itsdangerous
import pytest
from pydantic import ValidationError

from dcert_dev.testing import LocalOidcProvider
from dcert_portal.bootstrap import SESSION_COOKIE
from dcert_portal.bootstrap import create_app as create_portal
from dcert_portal.settings import PortalSettings

from ..system import new_person
from ..test_portal_pages import signed_in

JWT = re.compile(rb"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}")  # a header and claims


def every_reading(cookie: str) -> Iterator[bytes]:
    """The cookie as an attacker would read it: as it is, and each part base64-decoded (both
    alphabets, with or without padding), and once more inside that."""
    yield cookie.encode()
    for part in re.split(r"[.:|]", cookie):
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                once = decode(part + "=" * (-len(part) % 4))
            except (binascii.Error, ValueError):
                continue
            yield once
            with contextlib.suppress(binascii.Error, ValueError):
                yield decode(once + b"=" * (-len(once) % 4))


def session_cookie(visitor: httpx.AsyncClient) -> str:
    return next(str(cookie.value) for cookie in visitor.cookies.jar if cookie.name == SESSION_COOKIE)


async def test_the_session_cookie_shows_neither_the_access_token_nor_the_identity_number(
    visitor: httpx.AsyncClient,
) -> None:
    person = new_person()
    await signed_in(visitor, person)
    assert (await visitor.get("/")).status_code == 200, "signed in"
    cookie = session_cookie(visitor)
    for reading in every_reading(cookie):
        assert person.encode() not in reading, "the identity number can be read from the cookie"
        assert JWT.search(reading) is None, "the access token can be read from the cookie"
        assert b'"token"' not in reading
        assert b"id_number" not in reading


async def test_a_session_made_or_altered_by_the_visitor_signs_no_one_in(
    visitor: httpx.AsyncClient, portal_settings: PortalSettings
) -> None:
    person = new_person()
    await signed_in(visitor, person)
    cookie = session_cookie(visitor)
    # One byte of the sealed cookie changed: the whole session is refused.
    altered = cookie[:20] + ("A" if cookie[20] != "A" else "B") + cookie[21:]
    visitor.cookies.set(SESSION_COOKIE, altered, domain="portal.test")
    assert (await visitor.get("/")).status_code == 303, "an altered cookie still opened the session"
    # A session written by someone who knows the secret's old form (a signed cookie, as before).
    forged = itsdangerous.TimestampSigner(portal_settings.secret).sign(
        base64.b64encode(json.dumps({"token": "x", "role": "admin", "expires_at": 9e9}).encode())
    )
    visitor.cookies.set(SESSION_COOKIE, forged.decode(), domain="portal.test")
    assert (await visitor.get("/admin")).status_code == 303, "a signed-only cookie opened a session"


def test_production_refuses_to_start_without_the_portals_public_address() -> None:
    with pytest.raises(ValidationError, match="DCERT_PORTAL_PUBLIC_URL"):
        PortalSettings(
            environment="production",
            session_secret=secrets.token_urlsafe(48),
            oidc_issuer="https://id.example.gov.cn",
        )
    with pytest.raises(ValidationError, match="DCERT_PORTAL_PUBLIC_URL"):
        PortalSettings(environment="test", oidc_issuer="https://id.example.gov.cn")
    with pytest.raises(ValidationError, match="DCERT_PORTAL_PUBLIC_URL"):
        PortalSettings(
            environment="production",
            session_secret=secrets.token_urlsafe(48),
            oidc_issuer="https://id.example.gov.cn",
            public_url="http://portal.example.gov.cn",  # not HTTPS
        )


@pytest.fixture(scope="module")
def provider() -> Iterator[LocalOidcProvider]:
    running = LocalOidcProvider()
    yield running
    running.close()


async def test_the_sign_in_redirect_ignores_the_host_header(provider: LocalOidcProvider) -> None:
    public = "https://portal.example.gov.cn"
    portal = create_portal(
        PortalSettings(
            environment="production",
            session_secret=secrets.token_urlsafe(48),
            oidc_issuer=provider.url,
            public_url=public,
        )
    )
    transport = httpx.ASGITransport(app=portal)
    async with httpx.AsyncClient(transport=transport, base_url=public) as visitor:
        start = await visitor.get("/sign-in/start", headers={"host": "evil.example"})
    await portal.state.services.aclose()
    assert start.status_code == 302
    redirect_uri = httpx.URL(start.headers["location"]).params["redirect_uri"]
    assert redirect_uri == public + "/sign-in/callback"
