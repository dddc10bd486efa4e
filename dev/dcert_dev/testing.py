"""Pytest fixtures shared by every test directory (loaded by the root conftest.py).

- `infra` (session): embedded PostgreSQL and NATS in a temporary folder, started once per test
  session, or the servers named by DATABASE_URL / NATS_URL when those are set.
- `database_server_url`, `nats_url` (session): their URLs; `nats_url` is the embedded broker's
  operator, who may publish anything (`infra.nats_url_for(service)` is a service's own user).
- `fresh_database` (function, async): the DSN of a brand-new empty database on that server,
  named `test_<session>_<n>`; it is left behind (the embedded server is thrown away anyway).
- `test_prefix` (function): a unique short lowercase token such as `t3f9a1`, for NATS subject
  and stream prefixes, so tests sharing one NATS server never see each other's messages.
- `service_settings` (function): makes a service's settings for this test (its fresh database,
  the NATS server, its prefix, `environment="test"`), with any overrides.

And the machinery of the service test harnesses (each service's tests/conftest.py adds only its
own builders): `eventually`, the `ServiceUnderTest` its tests talk to, `running_service` that
starts it in-process with its lifespan, `publish_event` that plays another context's outbox
relay, and `delete_streams`. A service `running_service` starts on the session's embedded broker
connects as its own user, with the permissions of production (dcert_shared.broker_permissions);
the test keeps the operator's connection, to play the other services.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol, TypeVar, overload

import httpx
import jwt
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, generate_private_key
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import FastAPI
from nats.js import JetStreamContext
from nats.js.api import PubAck
from nats.js.errors import NotFoundError

from dcert_dev.embedded import Infra, ensure_databases, start_infra
from dcert_shared.auth import DevIssuer, TokenVerifier
from dcert_shared.broker import Naming, StreamLimits, connect, ensure_stream, event_stream_config
from dcert_shared.consumer import EventConsumer
from dcert_shared.envelope import EventEnvelope
from dcert_shared.runtime import ServiceRuntime
from dcert_shared.settings import ServiceSettings
from dcert_shared.store import EventStore

T = TypeVar("T")
SettingsT = TypeVar("SettingsT", bound=ServiceSettings)

SESSION_TOKEN = secrets.token_hex(3)
_database_numbers = itertools.count(1)
_prefixes_given: set[str] = set()
_session_infra: list[Infra] = []  # the `infra` fixture's, while the session runs


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    """The servers for this test session (embedded unless DATABASE_URL / NATS_URL are set)."""
    database_url = os.environ.get("DATABASE_URL") or None
    nats_url = os.environ.get("NATS_URL") or None
    data_dir: Path | None = None
    if database_url is None or nats_url is None:
        # Not under pytest's basetemp: that one is made 0700, and the embedded PostgreSQL runs
        # as another OS user when we are root. A short path also keeps the socket path short.
        data_dir = Path(tempfile.mkdtemp(prefix="dcert-test-"))
    started = start_infra(data_dir or Path(tempfile.gettempdir()), database_url, nats_url)
    _session_infra.append(started)
    try:
        yield started
    finally:
        _session_infra.remove(started)
        started.stop()
        if data_dir is not None:
            shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def database_server_url(infra: Infra) -> str:
    """A PostgreSQL server URL (the `postgres` database); create databases of your own on it."""
    return infra.database_server_url


@pytest.fixture(scope="session")
def nats_url(infra: Infra) -> str:
    return infra.nats_url


@pytest_asyncio.fixture(loop_scope="session")
async def fresh_database(database_server_url: str) -> AsyncIterator[str]:
    """The DSN of a new, empty database created for this test."""
    name = f"test_{SESSION_TOKEN}_{next(_database_numbers)}"
    dsns = await ensure_databases(database_server_url, [name])
    yield dsns[name]


def new_prefix() -> str:
    """A token not given before in this session: 't' and five hex digits."""
    while True:
        prefix = "t" + secrets.token_hex(3)[:5]
        if prefix not in _prefixes_given:
            _prefixes_given.add(prefix)
            return prefix


@pytest.fixture
def test_prefix() -> str:
    """A unique short lowercase token (e.g. `t3f9a1`) for NATS subject / stream prefixes."""
    return new_prefix()


class SettingsMaker(Protocol):
    """What `service_settings` gives: `service_settings(BenefitsSettings, policies_dir=...)`."""

    def __call__(self, settings_class: type[SettingsT], /, **overrides: Any) -> SettingsT: ...


@pytest.fixture
def service_settings(fresh_database: str, nats_url: str, test_prefix: str) -> SettingsMaker:
    """Makes a service's settings for this test: its fresh database, its NATS prefix, `test`."""

    def make(settings_class: type[SettingsT], /, **overrides: Any) -> SettingsT:
        return settings_class(
            **{
                "database_url": fresh_database,
                "nats_url": nats_url,
                "nats_prefix": test_prefix,
                "environment": "test",
                **overrides,
            }
        )

    return make


# --- the machinery of the service test harnesses ---


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float = 10) -> T:
    """The first truthy answer of `check`, polled until `timeout` seconds (then the test fails)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def a_traceparent() -> str:
    """A new W3C trace context, as a traced request would have recorded it."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


async def publish_event(
    js: JetStreamContext, naming: Naming, context: str, envelope: EventEnvelope, message_id: str | None = None
) -> PubAck:
    """Publish `envelope` on `context`'s stream as that context's outbox relay would: CloudEvent
    JSON with the relay's headers (`Nats-Msg-Id` = the event id unless `message_id` is given)."""
    headers = EventStore.message_headers(envelope)
    if message_id is not None:
        headers["Nats-Msg-Id"] = message_id
    body = json.dumps(envelope.to_cloudevent(envelope.payload), ensure_ascii=False).encode()
    return await js.publish(naming.event_subject(context, envelope.event_type), body, headers=headers)


@dataclass
class ServiceUnderTest:
    """A running service as its clients see it: HTTP with development tokens, and JetStream.

    A service's tests/conftest.py subclasses it (a dataclass) with its own builders."""

    app: FastAPI
    http: httpx.AsyncClient
    issuer: DevIssuer
    js: JetStreamContext
    naming: Naming
    _published_event_ids: set[uuid.UUID] = field(default_factory=set, init=False, repr=False)

    @property
    def runtime(self) -> ServiceRuntime:
        runtime = self.app.state.runtime
        assert isinstance(runtime, ServiceRuntime)
        return runtime

    @property
    def settings(self) -> ServiceSettings:
        return self.runtime.settings

    # --- tokens and HTTP ---

    def token(self, role: str, subject: str, **claims: str) -> str:
        return self.issuer.issue(role, subject, claims)

    @property
    def admin(self) -> str:
        return self.token("admin", "admin-1")

    async def call(
        self,
        method: str,
        path: str,
        token: str | None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        all_headers = {**(headers or {}), **({"Authorization": f"Bearer {token}"} if token else {})}
        return await self.http.request(method, path, json=body, headers=all_headers)

    # --- the database ---

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        """The rows of a query on the service's database, as dicts."""
        async with self.runtime.pool.acquire() as conn:
            return [dict(row) for row in await conn.fetch(sql, *args)]

    # --- other contexts' events, and this service's own ---

    async def publish(
        self,
        context: str,
        event_type: str,
        data: dict[str, Any],
        event_id: uuid.UUID | None = None,
        *,
        message_id: str | None = None,
        stream_id: str | None = None,
        stream_version: int = 1,
        partition_key: str = "tests",
    ) -> uuid.UUID:
        """Publish another context's event as its outbox relay would, and return its event id.

        An event id published before goes out under a new message id (past JetStream's
        duplicate window), as a redelivery would, unless `message_id` is given. Every event a
        test publishes is of one partition unless it says otherwise, so the service's consumers
        take them in the order published."""
        envelope = EventEnvelope(
            event_id=event_id or uuid.uuid4(),
            event_type=event_type,
            schema_version=1,
            stream_id=stream_id or f"{context}-{uuid.uuid4().hex[:8]}",
            stream_version=stream_version,
            payload=data,
            source=f"/dcert/{context}",
            occurred_at=datetime.now(UTC),
            correlation_id=uuid.uuid4(),
            traceparent=a_traceparent(),
            partition_key=partition_key,
        )
        if message_id is None and envelope.event_id in self._published_event_ids:
            message_id = f"{envelope.event_id}-again-{uuid.uuid4().hex[:6]}"
        self._published_event_ids.add(envelope.event_id)
        await publish_event(self.js, self.naming, context, envelope, message_id)
        return envelope.event_id

    async def handled(self, context: str, sequence: int | None = None) -> None:
        """Wait until this service's consumers of `context` have handled and acknowledged the
        stream up to message `sequence` (by default its last); effects commit before the ack."""
        await self._acknowledged(self.naming.event_stream(context), sequence)

    async def all_handled(self) -> None:
        """Wait until every consumer of this service has handled everything published to it."""
        for stream in dict.fromkeys(consumer.stream for consumer in self.runtime.consumers.values()):
            await self._acknowledged(stream, None)

    async def _acknowledged(self, stream: str, sequence: int | None) -> None:
        durables = [c.durable for c in self.runtime.consumers.values() if c.stream == stream]
        if sequence is None:
            sequence = (await self.js.stream_info(stream)).state.last_seq

        async def acknowledged() -> bool:
            for durable in durables:
                info = await self.js.consumer_info(stream, durable)
                # A filtered consumer's ack floor stays behind messages of other types: nothing
                # of its own pending or unacknowledged means it has handled the stream too.
                caught_up = not info.num_pending and not info.num_ack_pending
                if info.ack_floor.stream_seq < sequence and not caught_up:
                    return False
            return True

        await eventually(acknowledged)

    async def published(self, event_type: str, count: int = 1) -> list[dict[str, Any]]:
        """The CloudEvents of `event_type` this service's relay put on its own stream, once there
        are at least `count` of them (all of them, in order)."""
        context = self.runtime.context
        stream = self.naming.event_stream(context)
        subject = self.naming.event_subject(context, event_type)

        async def enough() -> list[dict[str, Any]] | None:
            state = (await self.js.stream_info(stream)).state
            if not state.messages:
                return None
            found = []
            for sequence in range(state.first_seq, state.last_seq + 1):
                message = await self.js.get_msg(stream, sequence)
                if message.subject == subject:
                    found.append(json.loads(message.data or b"{}"))
            return found if len(found) >= count else None

        return await eventually(enough)


ServiceT = TypeVar("ServiceT", bound=ServiceUnderTest)


@overload
def running_service(
    create_app: Callable[[SettingsT], FastAPI],
    settings: SettingsT,
    upstream_contexts: Sequence[str] = (),
    *,
    keep_streams: bool = False,
) -> AbstractAsyncContextManager[ServiceUnderTest]: ...


@overload
def running_service(
    create_app: Callable[[SettingsT], FastAPI],
    settings: SettingsT,
    upstream_contexts: Sequence[str] = (),
    *,
    service_type: type[ServiceT],
    keep_streams: bool = False,
    **fields: Any,
) -> AbstractAsyncContextManager[ServiceT]: ...


def running_service(
    create_app: Callable[[SettingsT], FastAPI],
    settings: SettingsT,
    upstream_contexts: Sequence[str] = (),
    *,
    service_type: type[ServiceUnderTest] = ServiceUnderTest,
    keep_streams: bool = False,
    **fields: Any,
) -> AbstractAsyncContextManager[ServiceUnderTest]:
    """The service of `create_app(settings)` in-process, its lifespan run, as `service_type`
    (made with `fields` besides the common ones).

    First the streams of `upstream_contexts` are made, as those contexts' runtimes would make
    them; the service's consumers are ready when it is given. Development tokens are accepted.
    When it stops, the streams under the settings' NATS prefix are deleted, unless
    `keep_streams` (to start it again on them: delete them with `delete_streams` at the end)."""
    return _running_service(create_app, settings, upstream_contexts, service_type, keep_streams, fields)


@asynccontextmanager
async def _running_service(
    create_app: Callable[[SettingsT], FastAPI],
    settings: SettingsT,
    upstream_contexts: Sequence[str],
    service_type: type[ServiceT],
    keep_streams: bool,
    fields: dict[str, Any],
) -> AsyncIterator[ServiceT]:
    naming = Naming(settings.nats_prefix)
    nc = await connect(settings.nats_url, f"{settings.service_name}-tests")  # may play other services
    js = nc.jetstream()
    try:
        limits = StreamLimits(max_bytes=settings.stream_bytes)
        for context in upstream_contexts:
            await ensure_stream(js, event_stream_config(naming, context, limits))
        app = create_app(as_its_own_user(settings))
        issuer = DevIssuer()
        app.state.token_verifier = TokenVerifier(jwks=issuer.jwks())
        async with app.router.lifespan_context(app):
            runtime: ServiceRuntime = app.state.runtime
            async with asyncio.timeout(30):
                for consumer in runtime.consumers.values():
                    await _bound(js, consumer)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                yield service_type(app=app, http=http, issuer=issuer, js=js, naming=naming, **fields)
    finally:
        try:
            if not keep_streams:
                await _delete_streams(js, settings.nats_prefix)
        finally:
            await nc.close()


def as_its_own_user(settings: SettingsT) -> SettingsT:
    """`settings` connecting to the session's embedded broker as the service's own user when they
    name its operator (as the `nats_url` fixture does); other settings as they are."""
    for infra in _session_infra:
        if settings.nats_url == infra.nats_url:
            return settings.model_copy(update={"nats_url": infra.nats_url_for(settings.service_name)})
    return settings


async def _bound(js: JetStreamContext, consumer: EventConsumer) -> None:
    """The consumer's durable exists on the broker: bound here, or by the process of the
    service that holds its lease (this one standing by)."""
    while not consumer.ready.is_set():
        with contextlib.suppress(NotFoundError):
            await js.consumer_info(consumer.stream, consumer.durable)
            return
        await asyncio.sleep(0.02)


async def delete_streams(nats_url: str, prefix: str) -> None:
    """Delete the streams under NATS prefix `prefix` (none without a prefix): the server is shared
    by the whole session, and a long session must not fill its storage."""
    nc = await connect(nats_url, "tests-cleanup")
    try:
        await _delete_streams(nc.jetstream(), prefix)
    finally:
        await nc.close()


async def _delete_streams(js: JetStreamContext, prefix: str) -> None:
    if not prefix:  # unprefixed streams are not a test's own: leave them
        return
    marker = f"{prefix.upper()}_"  # as `Naming` prefixes stream names
    names: list[str] = []
    while page := await js.streams_info(offset=len(names)):
        names.extend(stream.config.name or "" for stream in page)
    for name in names:
        if name.startswith(marker):
            with contextlib.suppress(NotFoundError):
                await js.delete_stream(name)


# --- a real OIDC provider for sign-in tests ---


class LocalOidcProvider:
    """A small OpenID provider over real HTTP for tests: a discovery document and a JWKS, RS256
    keys that rotate (`rotate` publishes a new current key beside the old, `retire` withdraws
    one), and tokens minted as a production issuer would, or broken on purpose."""

    def __init__(self, audience: str = "dcert") -> None:
        self.audience = audience
        self.keys: dict[str, RSAPrivateKey] = {}
        self.current_kid = ""
        self.fetches: list[str] = []
        # The authorization code flow: registered clients (id → redirect URIs), who signs in at
        # the next authorization request (a test sets it: there is no login form), codes issued.
        self.clients: dict[str, set[str]] = {}
        self.next_sign_in: tuple[str, str, dict[str, str]] | None = None
        self.codes: dict[str, dict[str, Any]] = {}
        self.token_requests: list[dict[str, str]] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.fetches.append(self.path)
                path, _, query = self.path.partition("?")
                if path == "/.well-known/openid-configuration":
                    body: dict[str, Any] = {
                        "issuer": provider.url,
                        "jwks_uri": provider.url + "/jwks.json",
                        "authorization_endpoint": provider.url + "/authorize",
                        "token_endpoint": provider.url + "/token",
                        "response_types_supported": ["code"],
                        "code_challenge_methods_supported": ["S256"],
                        "token_endpoint_auth_methods_supported": ["none"],
                        "id_token_signing_alg_values_supported": ["RS256"],
                    }
                elif path == "/jwks.json":
                    body = provider.jwks()
                elif path == "/authorize":
                    self._redirect(provider.authorize(dict(urllib.parse.parse_qsl(query))))
                    return
                else:
                    self.send_error(404)
                    return
                self._json(200, body)

            def do_POST(self) -> None:
                if self.path != "/token":
                    self.send_error(404)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                provider.token_requests.append(form)
                status, body = provider.exchange(form)
                self._json(status, body)

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def _redirect(self, location: str) -> None:
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.rotate()

    def rotate(self) -> str:
        """A new signing key becomes current; the previous ones stay published until retired."""
        kid = secrets.token_hex(6)
        self.keys[kid] = generate_private_key(public_exponent=65537, key_size=2048)
        self.current_kid = kid
        return kid

    def retire(self, kid: str) -> None:
        del self.keys[kid]

    def jwks(self) -> dict[str, Any]:
        published = []
        for kid, key in self.keys.items():
            public = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            published.append({**public, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": published}

    def public_pem(self, kid: str | None = None) -> bytes:
        key = self.keys[kid or self.current_kid].public_key()
        return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)

    def token(
        self,
        role: str,
        subject: str,
        *,
        ttl_seconds: int = 600,
        not_before_in: int = 0,
        issuer: str | None = None,
        audience: str | None = None,
        kid: str | None = None,
        key: RSAPrivateKey | None = None,
        **claims: str,
    ) -> str:
        now = int(time.time())
        payload = {
            **claims,
            "sub": subject,
            "role": role,
            "iss": issuer or self.url,
            "aud": audience or self.audience,
            "iat": now,
            "nbf": now + not_before_in,
            "exp": now + ttl_seconds,
        }
        signing_kid = kid or self.current_kid
        signing_key = key or self.keys[self.current_kid if kid not in self.keys else signing_kid]
        return jwt.encode(payload, signing_key, algorithm="RS256", headers={"kid": signing_kid})

    def register_client(self, client_id: str, redirect_uri: str) -> None:
        self.clients.setdefault(client_id, set()).add(redirect_uri)

    def authorize(self, query: dict[str, str]) -> str:
        """The authorization endpoint: PKCE with S256 is required, as OAuth 2.1 asks of every
        client; the person of `next_sign_in` is signed in without a form. Answers the redirect."""
        redirect_uri = query.get("redirect_uri", "")
        if redirect_uri not in self.clients.get(query.get("client_id", ""), set()):
            return self.url + "/unknown-client"  # never redirect to an unregistered address
        state = {"state": query["state"]} if "state" in query else {}
        if query.get("response_type") != "code" or query.get("code_challenge_method") != "S256":
            error = {"error": "invalid_request", "error_description": "code flow with PKCE S256 only"}
            return redirect_uri + "?" + urllib.parse.urlencode({**error, **state})
        if self.next_sign_in is None:
            return redirect_uri + "?" + urllib.parse.urlencode({"error": "access_denied", **state})
        code = secrets.token_urlsafe(24)
        self.codes[code] = {
            "client_id": query["client_id"],
            "redirect_uri": redirect_uri,
            "challenge": query.get("code_challenge", ""),
            "nonce": query.get("nonce"),
            "person": self.next_sign_in,
        }
        return redirect_uri + "?" + urllib.parse.urlencode({"code": code, **state})

    def exchange(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """The token endpoint: a code once, for its client and redirect URI, with the verifier
        whose S256 hash was the challenge."""
        issued = self.codes.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if (
            form.get("grant_type") != "authorization_code"
            or issued is None
            or issued["client_id"] != form.get("client_id")
            or issued["redirect_uri"] != form.get("redirect_uri")
            or not verifier
            or not secrets.compare_digest(challenge, issued["challenge"])
        ):
            return 400, {"error": "invalid_grant"}
        role, subject, claims = issued["person"]
        id_claims = {**claims, "nonce": issued["nonce"]} if issued["nonce"] else claims
        return 200, {
            "access_token": self.token(role, subject, **claims),
            "id_token": self.token(role, subject, audience=issued["client_id"], **id_claims),
            "token_type": "Bearer",
            "expires_in": 600,
        }

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --- the operator's console ---


@dataclass(frozen=True)
class ConsoleAnswer:
    """What `dcert` answered: its exit status, standard output and standard error."""

    status: int
    output: str
    errors: str

    def json_lines(self) -> list[Any]:
        return [json.loads(line) for line in self.output.splitlines() if line.strip()]


async def run_console(
    services: dict[str, ServiceSettings], *args: str, typed: str | None = None, **environment: str
) -> ConsoleAnswer:
    """`dcert` run to its end; `typed` is what the operator types at its questions."""
    process = await start_console(services, *args, **environment)
    output, errors = await process.communicate((typed or "").encode())
    assert process.returncode is not None
    return ConsoleAnswer(process.returncode, output.decode(), errors.decode())


async def start_console(
    services: dict[str, ServiceSettings], *args: str, **environment: str
) -> asyncio.subprocess.Process:
    """`dcert` as an operator runs it, in a process of its own, given each service's database
    as docs/operations.md says (`DCERT_<SERVICE>_DATABASE_URL`), the broker and the services'
    keys and NATS prefix."""
    some = next(iter(services.values()))
    given = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "NATS_URL")}
    given |= {
        f"DCERT_{name.upper()}_DATABASE_URL": settings.database_url for name, settings in services.items()
    }
    given |= {
        "NATS_URL": some.nats_url,
        "DCERT_NATS_PREFIX": some.nats_prefix,
        "DCERT_DATABASE_SCHEMA": some.database_schema,
        "DCERT_ENV": "test",
    }
    if some.identity_hash_key is not None:
        given["DCERT_IDENTITY_HASH_KEY"] = some.identity_hash_key.get_secret_value()
    if some.master_key is not None:
        given["DCERT_MASTER_KEY"] = some.master_key.get_secret_value()
    return await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "dcert"),
        *args,
        env=given | environment,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
