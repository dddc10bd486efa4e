"""The notification service in-process over HTTP, on real PostgreSQL and NATS, with real partner
webhook receivers on loopback. Helpers live here (fixtures), as the tests run in importlib mode."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from dcert_notification.bootstrap import create_app
from dcert_notification.settings import NotificationSettings
from dcert_shared.auth import DevIssuer, TokenVerifier
from dcert_shared.broker import Naming, StreamLimits, connect, ensure_stream, event_stream_config
from dcert_shared.envelope import EventEnvelope

T = TypeVar("T")

FIELDS = ["certificate_number", "category", "level", "expires_on"]
FAST = {
    "webhook_retry_schedule_seconds": [0.05, 0.1, 0.2],
    "webhook_timeout_seconds": 2.0,
    "delivery_poll_seconds": 0.05,
}


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float = 10) -> T:
    """The first truthy answer of `check`, polled until `timeout` (then the test fails)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


@dataclass
class Received:
    at: float
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


class WebhookReceiver:
    """A partner's webhook endpoint on 127.0.0.1: answers each request with the next planned
    (status, delay) and then with 204; records what it got and when."""

    def __init__(self, plan: list[int | tuple[int, float]] | None = None) -> None:
        self.received: list[Received] = []
        self.plan = [step if isinstance(step, tuple) else (step, 0.0) for step in plan or []]
        self._lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver._lock:
                    status, delay = receiver.plan.pop(0) if receiver.plan else (204, 0.0)
                time.sleep(delay)
                with receiver._lock:
                    receiver.received.append(
                        Received(time.monotonic(), {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"

    async def got(self, count: int = 1, timeout: float = 10) -> list[Received]:
        async def enough() -> list[Received] | None:
            return list(self.received) if len(self.received) >= count else None

        return await eventually(enough, timeout)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class NotificationService:
    """The running service as its clients see it: HTTP with tokens, and JetStream to publish on."""

    app: FastAPI
    http: httpx.AsyncClient
    issuer: DevIssuer
    js: JetStreamContext
    naming: Naming
    receivers: list[WebhookReceiver]

    def token(self, role: str, subject: str, **claims: str) -> str:
        return str(self.issuer.issue(role, subject, claims))

    @property
    def admin(self) -> str:
        return self.token("admin", "admin-1")

    def partner_token(self, partner_id: str) -> str:
        return self.token("partner", f"partner-{partner_id[:8]}", partner_id=partner_id)

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

    async def partner(
        self,
        event_types: tuple[str, ...] = ("CertificateIssued",),
        fields: tuple[str, ...] = tuple(FIELDS),
        facts: tuple[str, ...] = (),
        name: str = "民政局",
    ) -> str:
        """A registered partner's token."""
        answer = await self.call(
            "POST",
            "/v1/partners",
            self.admin,
            {
                "name": name,
                "policy": {"event_types": list(event_types), "fields": list(fields), "facts": list(facts)},
            },
        )
        assert answer.status_code == 201, answer.text
        return self.partner_token(answer.json()["id"])

    def receiver(self, plan: list[int | tuple[int, float]] | None = None) -> WebhookReceiver:
        receiver = WebhookReceiver(plan)
        self.receivers.append(receiver)
        return receiver

    async def subscribe(
        self, token: str, receiver: WebhookReceiver, event_types: tuple[str, ...] = ("CertificateIssued",)
    ) -> dict[str, Any]:
        answer = await self.call(
            "POST", "/v1/subscriptions", token, {"url": receiver.url, "event_types": list(event_types)}
        )
        assert answer.status_code == 201, answer.text
        return answer.json()  # type: ignore[no-any-return]

    async def publish(
        self,
        event_type: str,
        data: dict[str, Any],
        *,
        context: str = "certificate",
        event_id: uuid.UUID | None = None,
        message_id: str | None = None,
    ) -> uuid.UUID:
        """Publish another context's event as that service's outbox relay would."""
        envelope = EventEnvelope(
            event_id=event_id or uuid.uuid4(),
            event_type=event_type,
            schema_version=1,
            stream_id=f"certificate-{data.get('certificate_number', 'x')}",
            stream_version=1,
            payload=data,
            source=f"/dcert/{context}",
            occurred_at=datetime.now(UTC),
            correlation_id=uuid.uuid4(),
            traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        )
        await self.js.publish(
            self.naming.event_subject(context, event_type),
            json.dumps(envelope.to_cloudevent(envelope.payload), ensure_ascii=False).encode(),
            headers={"Nats-Msg-Id": message_id or str(envelope.event_id)},
        )
        return envelope.event_id

    async def deliveries(self, token: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        path = "/v1/deliveries" + (f"?status={status}" if status else "")
        answer = await self.call("GET", path, token or self.admin)
        assert answer.status_code == 200, answer.text
        return answer.json()["items"]  # type: ignore[no-any-return]

    async def deliveries_once(self, status: str, token: str | None = None) -> list[dict[str, Any]]:
        """The deliveries in `status`, once there is at least one."""

        async def some() -> list[dict[str, Any]] | None:
            return await self.deliveries(token, status) or None

        return await eventually(some)

    async def queued(self, count: int) -> None:
        """Wait until `count` deliveries are queued, whatever their status."""

        async def enough() -> bool:
            return len(await self.deliveries()) >= count

        await eventually(enough)

    async def all_handled(self) -> None:
        """Wait until the consumers have handled and acknowledged everything published to them."""
        runtime = self.app.state.runtime
        for context in ("certificate", "benefits"):
            stream = self.naming.event_stream(context)
            durable = runtime.consumers[f"partner-deliveries-{context}"].durable

            async def settled(stream: str = stream, durable: str = durable) -> bool:
                info = await self.js.consumer_info(stream, durable)
                last = (await self.js.stream_info(stream)).state.last_seq
                return bool(info.ack_floor.stream_seq == last and info.num_ack_pending == 0)

            await eventually(settled)


async def delete_streams(js: JetStreamContext, prefix: str) -> None:
    """Remove this test's streams, so a long test session does not fill the server's storage."""
    for stream in await js.streams_info():
        name = stream.config.name or ""
        if name.startswith(f"{prefix.upper()}_"):
            await js.delete_stream(name)


Starter = Callable[..., AbstractAsyncContextManager[NotificationService]]


@pytest.fixture
def receivers() -> Iterator[list[WebhookReceiver]]:
    """Every receiver a test starts, closed when the test ends (after the service has stopped)."""
    started: list[WebhookReceiver] = []
    yield started
    for receiver in started:
        receiver.close()


@pytest.fixture
async def start_service(
    fresh_database: str, nats_url: str, test_prefix: str, receivers: list[WebhookReceiver]
) -> AsyncIterator[Starter]:
    """Starts the service with the test settings (fast retries) and any overrides. Starting it
    again in the same test (a restart, or a second replica alongside) shares the database and
    the streams, which are removed when the test ends."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[NotificationService]:
        settings = NotificationSettings(
            service_name="notification",
            database_url=fresh_database,
            nats_url=nats_url,
            nats_prefix=test_prefix,
            environment="test",
            **{**FAST, **overrides},
        )
        naming = Naming(test_prefix)
        nc: NATS = await connect(nats_url, "notification-tests")
        js = nc.jetstream()
        for context in ("certificate", "benefits"):  # their streams, as their runtimes make them
            await ensure_stream(
                js, event_stream_config(naming, context, StreamLimits(max_bytes=settings.stream_bytes))
            )
        app = create_app(settings)
        issuer = DevIssuer()
        app.state.token_verifier = TokenVerifier(jwks=issuer.jwks())
        try:
            async with app.router.lifespan_context(app):
                for consumer in app.state.runtime.consumers.values():
                    await consumer.ready.wait()
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                    yield NotificationService(app, http, issuer, js, naming, receivers)
        finally:
            await nc.close()

    yield start
    nc = await connect(nats_url, "notification-tests-cleanup")
    try:
        await delete_streams(nc.jetstream(), test_prefix)
    finally:
        await nc.close()


@pytest.fixture
async def service(start_service: Starter) -> AsyncIterator[NotificationService]:
    async with start_service() as running:
        yield running
