"""The whole system from outside: four service processes, HTTP helpers, builders, a webhook receiver."""

from __future__ import annotations

import http.server
import itertools
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx

from dcert_shared.ids import make_identity_number

T = TypeVar("T")

SERVICES = ("certificate", "assessment", "benefits", "notification")


@dataclass
class System:
    """Talks to the running services over HTTP, as a client of the public API would (docs/api.md)."""

    ports: dict[str, int]
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=15))
    telemetry: TelemetryReceiver | None = None
    log_paths: list[Path] = field(default_factory=list)
    # Each service's database, for tests that look at what is stored as an attacker with a copy would.
    databases: dict[str, str] = field(default_factory=dict)

    def url(self, service: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}{path}"

    def call(
        self,
        service: str,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        return self.client.request(method, self.url(service, path), json=body, headers=all_headers)

    def token(self, role: str, subject: str, **claims: str) -> str:
        answer = self.call(
            "certificate", "POST", "/v1/dev/tokens", {"role": role, "subject": subject, "claims": claims}
        )
        assert answer.status_code in (200, 201), answer.text
        return str(answer.json()["access_token"])


def wait_for(check: Callable[[], T | None], timeout: float = 90, interval: float = 0.1) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "the system did not get there in time"
        time.sleep(interval)


_people = itertools.count(random.randrange(10_000))


def new_person(region: str = "330502", birth: date | None = None) -> str:
    """A fresh, valid identity number: an adult unless a birth date is given."""
    number = next(_people)
    born = birth or date(1960, 1, 1) + timedelta(days=number * 37 % 14_000)
    return make_identity_number(region, born, number % 999 + 1)


def created(system: System, service: str, path: str, body: dict[str, Any], token: str) -> str:
    """The id of what a POST made (201)."""
    answer = system.call(service, "POST", path, body, token)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def register_doctor(
    system: System, admin: str, region: str, categories: list[str], hospital: str, name: str
) -> str:
    """An institution of `region` and a doctor of it, both qualified for `categories`: the
    doctor's id."""
    institution = system.call(
        "assessment",
        "POST",
        "/v1/institutions",
        {"name": hospital, "region": region, "categories": categories},
        admin,
    )
    assert institution.status_code == 201, institution.text
    registered = system.call(
        "assessment",
        "POST",
        "/v1/doctors",
        {
            "name": name,
            "institution_id": institution.json()["id"],
            "license_no": f"LIC-{new_person(region)}",
            "categories": categories,
        },
        admin,
    )
    assert registered.status_code == 201, registered.text
    return str(registered.json()["id"])


def application(
    person: str,
    *,
    agent: str | None = None,
    category: str = "physical",
    household_region: str = "330502",
    residence_region: str = "330502",
    consent: bool = True,
) -> dict[str, Any]:
    return {
        "matter": "new",
        "applicant": {
            "id_number": person,
            "name": "王小明",
            "phone": "13800000000",
            "household_region": household_region,
            "residence_region": residence_region,
            "address": "湖州市吴兴区人民路1号",
        },
        "agent": {"id_number": agent, "name": "王大明", "relationship": "parent"} if agent else None,
        "declared_category": category,
        "home_visit": False,
        "consent": consent,
    }


class WebhookReceiver:
    """A partner's webhook endpoint on loopback; answers with the statuses it is given, then 204."""

    def __init__(self, failures: list[int] | None = None) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.failures = list(failures or [])
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.failures.pop(0) if receiver.failures else 204
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"

    def bodies_with(self, text: str) -> list[tuple[dict[str, str], bytes]]:
        return [(headers, body) for headers, body in self.received if text.encode() in body]

    def close(self) -> None:
        self.server.shutdown()


def json_of(response: httpx.Response) -> Any:
    return json.loads(response.text)


class TelemetryReceiver:
    """An OTLP/HTTP collector on loopback: keeps every export (traces, metrics) as sent, so a test
    can search the raw protobuf bytes, where strings travel as UTF-8."""

    def __init__(self) -> None:
        self.exports: list[tuple[str, bytes]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.exports.append((self.path, body))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def received(self, path: str) -> bytes:
        return b"\n".join(body for where, body in list(self.exports) if where == path)

    def close(self) -> None:
        self.server.shutdown()
