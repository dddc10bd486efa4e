"""The notification service in-process over HTTP, on real PostgreSQL and NATS, with real partner
webhook receivers on loopback. Helpers live here (fixtures), as the tests run in importlib mode."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

import pytest

from dcert_dev.testing import (
    ServiceUnderTest,
    SettingsMaker,
    delete_streams,
    eventually,
    running_service,
)
from dcert_notification.bootstrap import create_app
from dcert_notification.settings import NotificationSettings

FIELDS = ["certificate_number", "category", "level", "expires_on"]
FAST = {
    "webhook_retry_schedule_seconds": [0.05, 0.1, 0.2],
    "webhook_timeout_seconds": 2.0,
    "delivery_poll_seconds": 0.05,
}


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
class NotificationService(ServiceUnderTest):
    """The running notification service, with partners, subscriptions and webhook receivers."""

    receivers: list[WebhookReceiver] = field(default_factory=list)

    def partner_token(self, partner_id: str) -> str:
        return self.token("partner", f"partner-{partner_id[:8]}", partner_id=partner_id)

    async def partner(
        self,
        event_types: tuple[str, ...] = ("CertificateIssued",),
        fields: tuple[str, ...] = tuple(FIELDS),
        facts: tuple[str, ...] = (),
        name: str = "民政局",
        regions: tuple[str, ...] | None = None,
    ) -> str:
        """A registered partner's token (no `regions`: a policy of API v1, the whole country)."""
        policy: dict[str, Any] = {
            "event_types": list(event_types),
            "fields": list(fields),
            "facts": list(facts),
        }
        if regions is not None:
            policy["regions"] = list(regions)
        answer = await self.call("POST", "/v1/partners", self.admin, {"name": name, "policy": policy})
        assert answer.status_code == 201, answer.text
        return self.partner_token(answer.json()["id"])

    def receiver(self, plan: list[int | tuple[int, float]] | None = None) -> WebhookReceiver:
        receiver = WebhookReceiver(plan)
        self.receivers.append(receiver)
        return receiver

    async def subscribe(
        self,
        token: str,
        receiver: WebhookReceiver,
        event_types: tuple[str, ...] = ("CertificateIssued",),
        regions: tuple[str, ...] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"url": receiver.url, "event_types": list(event_types)}
        if regions is not None:
            body["regions"] = list(regions)
        answer = await self.call("POST", "/v1/subscriptions", token, body)
        assert answer.status_code == 201, answer.text
        return answer.json()  # type: ignore[no-any-return]

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


Starter = Callable[..., AbstractAsyncContextManager[NotificationService]]
UPSTREAM = ("certificate", "assessment", "benefits")  # their streams, as their runtimes make them


@pytest.fixture
def receivers() -> Iterator[list[WebhookReceiver]]:
    """Every receiver a test starts, closed when the test ends (after the service has stopped)."""
    started: list[WebhookReceiver] = []
    yield started
    for receiver in started:
        receiver.close()


@pytest.fixture
async def start_service(
    service_settings: SettingsMaker, nats_url: str, test_prefix: str, receivers: list[WebhookReceiver]
) -> AsyncIterator[Starter]:
    """Starts the service with the test settings (fast retries) and any overrides. Starting it
    again in the same test (a restart, or a second replica alongside) shares the database and
    the streams, which are removed when the test ends."""

    def start(**overrides: Any) -> AbstractAsyncContextManager[NotificationService]:
        settings = service_settings(NotificationSettings, **{**FAST, **overrides})
        return running_service(
            create_app,
            settings,
            UPSTREAM,
            service_type=NotificationService,
            keep_streams=True,
            receivers=receivers,
        )

    yield start
    await delete_streams(nats_url, test_prefix)


@pytest.fixture
async def service(start_service: Starter) -> AsyncIterator[NotificationService]:
    async with start_service() as running:
        yield running
