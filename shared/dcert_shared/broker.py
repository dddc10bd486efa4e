"""NATS JetStream: one connection per process, subject and stream names, stream set-up.

Subjects are `<context>.events.<EventType>`; each service owns one stream of its events and one
of its dead letters. A prefix (used by tests) keeps runs apart on one server.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from urllib.parse import unquote, urlsplit, urlunsplit

import nats
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, PubAck, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import APIError, BadRequestError, NoStreamResponseError, NotFoundError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from .loops import Run

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
    """Explicit limits. An event stream never discards a message on its own (no age limit,
    `discard: new`): a full stream refuses new ones, the relay waits with them in the outbox,
    and the relay's pruning removes only what every durable consumer has acknowledged."""

    max_age_seconds: float = 0  # 0: no age limit
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
        discard=DiscardPolicy.NEW,
        max_age=limits.max_age_seconds,
        max_bytes=limits.max_bytes,
        max_msg_size=limits.max_msg_size,
        duplicate_window=limits.duplicate_window_seconds,
        num_replicas=limits.replicas,
    )


def dead_letter_stream_config(naming: Naming, service: str, limits: StreamLimits) -> StreamConfig:
    """A copy for tools that watch the broker (the record is the `dead_letters` table): the
    oldest copies may go when it is full."""
    return StreamConfig(
        name=naming.dead_letter_stream(service),
        subjects=[naming.dead_letter_subject(service, "*")],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=365 * DAY,
        max_bytes=limits.max_bytes // 8,
        max_msg_size=limits.max_msg_size,
        duplicate_window=limits.duplicate_window_seconds,
        num_replicas=limits.replicas,
    )


async def ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    """Create the stream, or bring an existing one to this configuration, except that its
    replicas are never lowered (an operator may have raised them; a start never undoes it)."""
    try:
        await js.add_stream(config)
        return
    except BadRequestError as error:
        if error.err_code != 10058:  # stream name already in use with a different configuration
            raise
    assert config.name is not None
    existing = (await js.stream_info(config.name)).config
    await js.update_stream(keeping_replicas(existing, config))


def keeping_replicas(existing: StreamConfig, wanted: StreamConfig) -> StreamConfig:
    """`wanted`, with no fewer replicas than the stream has now."""
    return replace(wanted, num_replicas=max(existing.num_replicas or 1, wanted.num_replicas or 1))


class Topology:
    """The streams one service keeps on the broker, made again whenever one is found missing
    (a broker that lost its disk): at start, and by any loop that meets the gap."""

    def __init__(self, js: JetStreamContext, configs: list[StreamConfig]) -> None:
        self.js = js
        self.configs = {config.name: config for config in configs}
        self._lock = asyncio.Lock()

    async def ensure_all(self) -> None:
        async with self._lock:
            for config in self.configs.values():
                await ensure_stream(self.js, config)

    async def ensure_missing(self) -> list[str]:
        """Make every stream of this service that the broker does not hold; their names."""
        made = []
        for name in self.configs:
            assert name is not None
            if await self.ensure(name, quiet=True):
                made.append(name)
        return made

    async def watch(self, run: Run, every_seconds: float = 10.0) -> None:
        """A loop: a broker that lost its disk gets this service's streams back within seconds,
        also those no loop of this process writes to (intake, dead letters, erasures)."""
        while not run.stopping.is_set():
            await self.ensure_missing()
            await run.sleep(every_seconds)

    async def ensure(self, stream: str, quiet: bool = False) -> bool:
        """Make `stream` if it is missing: True when it was made now (False when it was there,
        or is not one of this service's)."""
        config = self.configs.get(stream)
        if config is None:
            return False
        async with self._lock:
            try:
                await self.js.stream_info(stream)
                return False
            except NotFoundError:
                log.warning("stream %s is missing on the broker: making it again", stream)
                await ensure_stream(self.js, config)
                return True


async def connect(
    url: str,
    name: str,
    *,
    on_reconnect: Callable[[], Awaitable[None]] | None = None,
    connect_timeout_seconds: float = 60,
    ca_file: str | None = None,
) -> NATS:
    """One connection per process, retried while the server is starting.

    The user and password of the URL are given to the client apart from it, so that the servers
    of a cluster it learns of later take them too; the connection's replies come below
    `_INBOX.<user>`, which the broker lets no other user read (dcert_shared.broker_permissions).
    `ca_file` is the certificate authority of a `tls://` server, when not the system's."""
    servers, user, password = _servers_and_credentials(url)

    async def reconnected() -> None:
        log.warning("reconnected to NATS")
        if on_reconnect is not None:
            await on_reconnect()

    async def disconnected() -> None:
        log.warning("disconnected from NATS")

    async def error(exc: Exception) -> None:
        if "violation" in str(exc).lower():  # names a subject: event types and stream names only
            log.error("NATS refused: %s", exc)
        else:
            log.warning("NATS error: %s", type(exc).__name__)

    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type((OSError, nats.errors.NoServersError, TimeoutError)),
        wait=wait_exponential(multiplier=0.2, max=3),
        stop=stop_after_delay(connect_timeout_seconds),
        reraise=True,
    ):
        with attempt:
            nc = await nats.connect(
                servers,
                name=name,
                user=user,
                password=password,
                inbox_prefix=inbox_prefix(user),
                tls=ssl.create_default_context(cafile=ca_file) if ca_file else None,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                # A node cut off answers nothing and resets nothing: two pings unanswered in 5 s
                # each, and the client moves to another node of the cluster (nats-py's default
                # waits 4 minutes).
                ping_interval=5,
                max_outstanding_pings=2,
                reconnected_cb=reconnected,
                disconnected_cb=disconnected,
                error_cb=error,
                connect_timeout=5,
                # A stop drains in time for the supervisor's grace (nats-py waits 30 s by default).
                drain_timeout=5,
            )
    return nc


_USER_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


def inbox_prefix(user: str | None) -> str:
    """Where a connection of `user` gets its replies: `_INBOX.<user>` (nats-py's `_INBOX` for a
    connection without a user, or a user name that cannot be a subject token)."""
    return f"_INBOX.{user}" if user and _USER_TOKEN.fullmatch(user) else "_INBOX"


def _servers_and_credentials(url: str) -> tuple[list[str], str | None, str | None]:
    """`url`, or the comma-separated URLs of a cluster's nodes, without user information, and
    the user and password they carry (the same on every node)."""
    servers, user, password = [], None, None
    for part in (part.strip() for part in url.split(",") if part.strip()):
        server, part_user, part_password = _credentials(part)
        servers.append(server)
        user, password = user or part_user, password or part_password
    return servers, user, password


def _credentials(url: str) -> tuple[str, str | None, str | None]:
    """The URL without its user information, the user and the password (a URL with a token
    instead, or none, as it is)."""
    parts = urlsplit(url)
    if parts.username is None or parts.password is None:
        return url, None, None
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host)), unquote(parts.username), unquote(parts.password)


class PipelinedPublisher:
    """Publishes many JetStream messages without waiting for each acknowledgement in turn.

    nats-py's `publish_async` leaves a future pending for ever when the server refuses a message
    (nats-io/nats.py#985: the refusal is raised inside its reply handler), and a relay must see
    refusals (a broken chain, a full stream). This one sends each message with a reply subject
    of its own under one wildcard subscription and resolves each future with the acknowledgement
    or the refusal. Messages of one connection reach the server in the order sent.
    """

    def __init__(self, nc: NATS) -> None:
        self.nc = nc
        self._prefix: str | None = None
        self._futures: dict[str, asyncio.Future[PubAck]] = {}
        self._counter = itertools.count()

    async def publish(
        self, messages: Sequence[tuple[str, bytes, dict[str, str]]], timeout: float
    ) -> list[PubAck | BaseException]:
        """Send every (subject, body, headers) and return, in order, each one's acknowledgement
        or the error that refused it (TimeoutError for the ones not answered in `timeout`)."""
        if self._prefix is None:
            self._prefix = self.nc.new_inbox()
            await self.nc.subscribe(f"{self._prefix}.*", cb=self._answered)
        loop = asyncio.get_running_loop()
        replies = []
        for subject, body, headers in messages:
            reply = f"{self._prefix}.{next(self._counter)}"
            self._futures[reply] = loop.create_future()
            replies.append(reply)
            await self.nc.publish(subject, body, reply=reply, headers=headers)
        futures = [self._futures[reply] for reply in replies]
        try:
            await asyncio.wait(futures, timeout=timeout)
        finally:
            for reply in replies:
                self._futures.pop(reply, None)
        return [
            (future.exception() or future.result()) if future.done() else TimeoutError() for future in futures
        ]

    async def _answered(self, message: Msg) -> None:
        future = self._futures.get(message.subject)
        if future is None or future.done():
            return
        if message.headers and message.headers.get("Status") == "503":  # no stream takes the subject
            future.set_exception(NoStreamResponseError())
            return
        try:
            answer = json.loads(message.data)
            if "error" in answer:
                APIError.from_error(answer["error"])  # raises the error's own class
            future.set_result(PubAck.from_response(answer))
        except Exception as error:
            future.set_exception(error)
