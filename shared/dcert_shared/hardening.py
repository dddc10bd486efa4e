"""What every service answers with, whatever the route: bounded requests, rate limits on the open
endpoints, security headers, and CORS closed unless origins are named.

- A request body over `max_request_bytes` is refused with 413 before any route reads it (by its
  Content-Length, or while it streams in without one).
- Paths with a rate limit (`/v1/verify`, anyone may call it; `/v1/dev/tokens`) get a token bucket
  per client address: `per_minute` requests a minute with bursts of the same size; beyond it,
  429 with `Retry-After`. Who the client is and where the buckets live (the service's database,
  shared by its replicas): `rate_limits`. The per-subject limit of signed-in callers is taken
  where the token is verified (`auth.bearer_principal`), since it needs the verified subject.
- Every answer carries `nosniff`, no framing, no referrer, a CSP that loads nothing, and
  `Cache-Control: no-store` (answers hold personal data); HSTS in production. Only the docs
  pages themselves (exactly `/docs`, `/docs/oauth2-redirect`, `/redoc`) go without the CSP,
  since they load their scripts from a CDN; `/docsx` or `/docs/../v1/...` are no docs page.
- CORS: no cross-origin browser access at all unless `cors_origins` lists origins.
- Text PostgreSQL cannot store (a NUL character, or an unpaired surrogate that a JSON escape can
  write) is refused with 422 naming the field, before any route runs: it would otherwise fail in
  the database as a 500. The OpenAPI documents say so (`document_storable_text`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import Bilingual, DomainError, FieldError, PayloadTooLarge, TooManyRequests, ValidationFailed
from .i18n import negotiate, text
from .problem_responses import PROBLEM_MEDIA_TYPE, problem_document
from .rate_limits import LocalBuckets, RateLimiter

SECURITY_HEADERS: Mapping[str, str] = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "cache-control": "no-store",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
HSTS = ("strict-transport-security", "max-age=31536000; includeSubDomains")
# The OpenAPI pages load their scripts from a CDN: these exact paths go without our CSP.
DOCS_PATHS: frozenset[str] = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})


class Hardening:
    """The ASGI middleware of the module's docstring (outermost, before routing)."""

    def __init__(
        self,
        app: ASGIApp,
        max_request_bytes: int,
        limiter: RateLimiter,
        production: bool,
        docs_paths: frozenset[str] = DOCS_PATHS,
    ) -> None:
        self.app = app
        self.docs_paths = docs_paths
        self.max_request_bytes = max_request_bytes
        self.limiter = limiter
        self.headers = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
        if production:
            self.headers.append((HSTS[0].encode(), HSTS[1].encode()))
        self.docs_headers = [(k, v) for k, v in self.headers if k != b"content-security-policy"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _request_headers(scope)
        language = negotiate(headers.get("accept-language"))
        wait = await self.limiter.path_wait(scope)
        if wait > 0:
            retry_after = str(max(1, math.ceil(wait)))
            await self._refuse(send, TooManyRequests(), language, {"retry-after": retry_after})
            return
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_request_bytes:
            await self._refuse(send, PayloadTooLarge(detail=_at_most(self.max_request_bytes)), language)
            return

        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_request_bytes:
                    # Raised in the route that reads the body: its problem handlers answer 413.
                    raise PayloadTooLarge(detail=_at_most(self.max_request_bytes))
            return message

        # Exactly the docs pages, as the router matches them: a prefix would cover `/docsx`.
        security = self.docs_headers if scope["path"] in self.docs_paths else self.headers

        async def secured_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                existing = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in security if k not in existing]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, bounded_receive, secured_send)

    async def _refuse(
        self, send: Send, error: DomainError, language: str, headers: Mapping[str, str] | None = None
    ) -> None:
        extra = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
        await send_problem(send, error, language, [*extra, *self.headers])


def _request_headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


async def send_problem(
    send: Send, error: DomainError, language: str, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """Answer with `error`'s problem document, from a middleware (outside the problem handlers)."""
    body = json.dumps(
        problem_document(
            status=error.status,
            code=error.code,
            title=error.title(language),
            instance="about:blank",
            language=language,
            detail=error.detail,
            errors=error.errors,
        ),
        ensure_ascii=False,
    ).encode()
    raw_headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"content-language", language.encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# StorableText's rule in the OpenAPI documents: no NUL in any string or key. (An unpaired
# surrogate only a JSON escape can write, and it is no character a schema can name.)
STORABLE_TEXT_PATTERN: Final = r"^[^\u0000]*$"
_STORABLE_JSON: Final = "StorableJson"
_STORABLE_JSON_REF: Final = {"$ref": f"#/components/schemas/{_STORABLE_JSON}"}
_STRING_RULES: Final = ("pattern", "enum", "const", "format")


def document_storable_text(app: FastAPI) -> None:
    """State StorableText's rule in `app`'s OpenAPI document: strings not otherwise bounded, object
    keys and the free-form values of objects (any JSON: `StorableJson`) hold no NUL."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            _storable(document.get("paths", {}))
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            _storable(schemas)
            schemas[_STORABLE_JSON] = {
                "description": "any JSON value without a NUL character in its strings or keys",
                "anyOf": [
                    {"type": ["null", "boolean", "number"]},
                    {"type": "string", "pattern": STORABLE_TEXT_PATTERN},
                    {"type": "array", "items": _STORABLE_JSON_REF},
                    _storable_object(True),
                ],
            }
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _storable_object(additional: Any) -> dict[str, Any]:
    values = _STORABLE_JSON_REF if additional is True else additional
    return {
        "type": "object",
        "propertyNames": {"pattern": STORABLE_TEXT_PATTERN},
        "additionalProperties": values,
    }


def _storable(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _storable(item)
    if not isinstance(node, dict):
        return
    for value in node.values():
        _storable(value)
    if node.get("type") == "string" and not any(rule in node for rule in _STRING_RULES):
        node["pattern"] = STORABLE_TEXT_PATTERN
    additional = node.get("additionalProperties", True)
    if node.get("type") == "object" and additional is not False:
        node.update(_storable_object(additional))


_JSON_MEDIA_TYPE = re.compile(r"^\s*application/([\w.+-]+\+)?json\s*(;|$)", re.IGNORECASE)


class StorableText:
    """The last item of the module's docstring: inside `Hardening`, which bounds the body it reads."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _request_headers(scope)
        language = negotiate(headers.get("accept-language"))
        fields = _unstorable_in_url(scope)
        # FastAPI reads a body without a content type as JSON too.
        if not fields and _JSON_MEDIA_TYPE.match(headers.get("content-type", "application/json")):
            try:
                body = await _read_body(receive)
            except DomainError as error:  # too large: Hardening counts the bytes as they come
                await send_problem(send, error, language)
                return
            fields = _unstorable_in_json(body)
            receive = _replaying(body, receive)
        if fields:
            message = text("field.character_not_allowed", language)
            errors = [
                FieldError(field=name, code="character_not_allowed", message=message) for name in fields
            ]
            await send_problem(send, ValidationFailed(errors=errors), language)
            return
        await self.app(scope, receive, send)


def _unstorable_in_url(scope: Scope) -> list[str]:
    fields = ["path"] if "\x00" in scope["path"] else []
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if "\x00" in value or "\x00" in name:
            fields.append(name if "\x00" not in name else "query")
    return fields


def _unstorable_in_json(body: bytes) -> list[str]:
    if b"\\u" not in body:  # NUL and surrogates get into valid JSON only as escapes
        return []
    try:
        document = json.loads(body)
    except ValueError:  # the route answers 422 json_invalid
        return []
    return list(dict.fromkeys(_unstorable_paths(document, ())))


def _unstorable_paths(value: Any, path: tuple[str, ...]) -> Iterator[str]:
    """The dotted paths of the strings (or of the objects whose keys) hold unstorable text; a bad
    key is not part of the path, so that nothing unstorable is echoed back."""
    here = ".".join(path) or "body"
    if isinstance(value, str):
        if _UNSTORABLE.search(value):
            yield here
    elif isinstance(value, dict):
        for key, item in value.items():
            if _UNSTORABLE.search(key):
                yield here
            else:
                yield from _unstorable_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unstorable_paths(item, (*path, str(index)))


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body read already, then whatever comes next (a disconnect)."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def harden(
    app: Any,
    *,
    max_request_bytes: int,
    rate_limits: Mapping[str, int],
    cors_origins: Sequence[str],
    production: bool,
    limiter: RateLimiter | None = None,
) -> None:
    """Install the module's protections on a FastAPI app (CORS only for the named origins).
    Without a `limiter`, the open endpoints' `rate_limits` are counted in this process."""
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["authorization", "content-type", "accept-language", "idempotency-key"],
            max_age=600,
        )
    app.add_middleware(StorableText)  # added first, so it runs inside Hardening
    document_storable_text(app)
    docs_paths = frozenset(
        path for path in (app.docs_url, app.swagger_ui_oauth2_redirect_url, app.redoc_url) if path
    )
    app.add_middleware(
        Hardening,
        max_request_bytes=max_request_bytes,
        limiter=limiter or RateLimiter(LocalBuckets(), rate_limits),
        production=production,
        docs_paths=docs_paths,
    )


def _at_most(limit: int) -> Bilingual:
    return Bilingual(f"请求内容不得超过 {limit} 字节", f"at most {limit} bytes")
