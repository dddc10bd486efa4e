"""The partner agency's side: a webhook endpoint on loopback that records what arrives, in order.

It verifies each delivery's Standard Webhooks signature with the subscription's secret and keeps
per receipt only what the checks need: the arrival order, the webhook-id, the CloudEvent id and
type, whether the signature held and the names of the data fields (never their values). The
first try of about one delivery in twelve is answered 503 (chosen by its webhook-id, so the next
try gets through), so retries happen in every round.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from dataclasses import dataclass

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

FIRST_TRY_REFUSED_ONE_IN = 12


@dataclass(frozen=True)
class Receipt:
    order: int
    webhook_id: str
    event_id: str
    event_type: str
    signed: bool  # the signature verified with the subscription's secret
    fields: frozenset[str]  # the names of the fields in `data` (never their values)


class WebhookReceiver:
    def __init__(self) -> None:
        self.receipts: list[Receipt] = []
        self.refused: set[str] = set()
        self.secret: str | None = None
        self._lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                status = receiver.receive({k.lower(): v for k, v in self.headers.items()}, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"

    def receive(self, headers: dict[str, str], body: bytes) -> int:
        webhook_id = headers.get("webhook-id", "")
        first_try = webhook_id not in self.refused
        if (
            first_try
            and int(hashlib.sha256(webhook_id.encode()).hexdigest(), 16) % FIRST_TRY_REFUSED_ONE_IN == 0
        ):
            with self._lock:
                self.refused.add(webhook_id)
            return 503
        try:
            event = json.loads(body)
            event_id, event_type = str(event["id"]), str(event["type"])
            fields = frozenset(event.get("data") or {})
        except (ValueError, KeyError, TypeError, AttributeError):
            event_id, event_type, fields = "", "unreadable", frozenset()
        signed = False
        if self.secret is not None:
            try:
                Webhook(self.secret).verify(body, headers)
                signed = True
            except WebhookVerificationError:
                signed = False
        with self._lock:
            self.receipts.append(
                Receipt(len(self.receipts), webhook_id, event_id, event_type, signed, fields)
            )
        return 204

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
