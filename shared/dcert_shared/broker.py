"""NATS JetStream: one connection per process, subject and stream names, stream set-up.

Subjects are `<context>.events.<EventType>`; each service owns one stream of its events and one
of its dead letters. A prefix (used by tests) keeps runs apart on one server.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

log = logging.getLogger(__name__)

DAY = 24 * 3600


@dataclass(frozen=True)
class Naming:
    """Subject and stream names, with an optional prefix that isolates one run from another."""

    prefix: str = ""

    def _subject_prefix(self) -> str:
        return f"{self.prefix}." if self.prefix else ""

    def _stream_prefix(self) -> str:
        return f"{self.prefix.upper()}_" if self.prefix else ""

    def event_subject_prefix(self, context: str) -> str:
        return f"{self._subject_prefix()}{context}.events."

    def event_subject(self, context: str, event_type: str) -> str:
        return self.event_subject_prefix(context) + event_type

    def event_stream(self, context: str) -> str:
        return f"{self._stream_prefix()}{context.upper()}_EVENTS"

    def dead_letter_subject(self, service: str, consumer: str) -> str:
        return f"{self._subject_prefix()}deadletter.{service}.{consumer}"

    def dead_letter_stream(self, service: str) -> str:
        return f"{self._stream_prefix()}{service.upper()}_DEADLETTER"

    def durable(self, service: str, name: str) -> str:
        return f"{service}-{name}"


@dataclass(frozen=True)
class StreamLimits:
    """Explicit limits: nothing in a stream grows without bound, and duplicates are dropped."""

    max_age_seconds: float = 365 * DAY
    max_bytes: int = 1024**3  # reserved on the server when the stream is created
    max_msg_size: int = 1024**2
    duplicate_window_seconds: float = 2 * 60
    replicas: int = 1


def event_stream_config(naming: Naming, context: str, limits: StreamLimits) -> StreamConfig:
    return StreamConfig(
        name=naming.event_stream(context),
        subjects=[naming.event_subject_prefix(context) + ">"],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=limits.max_age_seconds,
        max_bytes=limits.max_bytes,
        max_msg_size=limits.max_msg_size,
        duplicate_window=limits.duplicate_window_seconds,
        num_replicas=limits.replicas,
    )


def dead_letter_stream_config(naming: Naming, service: str, limits: StreamLimits) -> StreamConfig:
    return StreamConfig(
        name=naming.dead_letter_stream(service),
        subjects=[naming.dead_letter_subject(service, "*")],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=limits.max_age_seconds,
        max_bytes=limits.max_bytes // 8,
        max_msg_size=limits.max_msg_size,
        duplicate_window=limits.duplicate_window_seconds,
        num_replicas=limits.replicas,
    )


async def ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    """Create the stream, or bring an existing one to this configuration."""
    try:
        await js.add_stream(config)
    except BadRequestError as error:
        if error.err_code != 10058:  # stream name already in use with a different configuration
            raise
        await js.update_stream(config)


async def connect(
    url: str,
    name: str,
    *,
    on_reconnect: Callable[[], Awaitable[None]] | None = None,
    connect_timeout_seconds: float = 60,
) -> NATS:
    """One connection per process, retried while the server is starting."""

    async def reconnected() -> None:
        log.warning("reconnected to NATS")
        if on_reconnect is not None:
            await on_reconnect()

    async def disconnected() -> None:
        log.warning("disconnected from NATS")

    async def error(exc: Exception) -> None:
        log.warning("NATS error: %s", type(exc).__name__)

    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type((OSError, nats.errors.NoServersError, TimeoutError)),
        wait=wait_exponential(multiplier=0.2, max=3),
        stop=stop_after_delay(connect_timeout_seconds),
        reraise=True,
    ):
        with attempt:
            nc = await nats.connect(
                url,
                name=name,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                reconnected_cb=reconnected,
                disconnected_cb=disconnected,
                error_cb=error,
                connect_timeout=5,
            )
    return nc
