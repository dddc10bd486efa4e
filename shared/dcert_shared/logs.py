"""What a service writes for its operator: one JSON object a line, and one line per request.

A request is logged by its route template (`GET /v1/certificates/{number}`), never by its path
or query: certificate numbers contain identity numbers and verification codes are credentials.
Each line carries the trace id, so a line leads to its trace. Personal data never goes into a
log message; the end-to-end test `tests/test_no_personal_data.py` searches every line for it.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("dcert.requests")


class JsonLines(logging.Formatter):
    """time, level, service, logger, message, trace and span ids; an exception's type and trace."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            line["trace_id"] = f"{span.trace_id:032x}"
            line["span_id"] = f"{span.span_id:016x}"
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO") -> None:
    """JSON lines on stderr for the whole process, once; left alone where a host (a test runner)
    has set up logging already."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines(service))
    root.addHandler(handler)
    root.setLevel(level.upper())


_HEALTH_PROBES = frozenset({"/health", "/health/live", "/health/ready"})


class RequestLog:
    """ASGI middleware: one line per HTTP request with method, route template, status and time."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # A load balancer probes every process each second: a line only when a probe fails.
        probe = scope.get("path") in _HEALTH_PROBES
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "(no route)"
            if not (probe and status < 400):
                access_log.info(
                    "%s %s %d %.1f ms", scope["method"], route, status, (time.perf_counter() - started) * 1000
                )
