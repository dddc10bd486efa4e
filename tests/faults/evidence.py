"""What the checks read, straight from the services' databases and from JetStream.

The API shows too little for the checks (which events were published, which ones each consumer
took), so they read each service's tables (`outbox`, `events`, `inbox`, `dead_letters`, ...) and
every message of its stream. Streams are named as `dcert_shared.broker.Naming` names them under
the round's prefix; durable consumers are `<service>-<subscription>`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from dcert_shared.broker import Naming

from .system import SERVICES


@dataclass(frozen=True)
class Published:
    """An outbox row: a public event as its service committed it, in commit order."""

    context: str
    event_id: str
    subject: str  # the NATS subject
    event_type: str
    stream_id: str  # the aggregate stream (CloudEvent `subject`): may hold a certificate number
    version: int
    data: dict[str, Any]


@dataclass(frozen=True)
class Message:
    """A message as the JetStream stream holds it."""

    seq: int
    event_id: str
    stream_id: str
    version: int


@dataclass(frozen=True)
class ConsumerSpec:
    durable: str
    stream: str
    filters: tuple[str, ...]

    @property
    def service(self) -> str:
        return self.durable.split("-", 1)[0]

    def takes(self, subject: str) -> bool:
        return any(subject_matches(pattern, subject) for pattern in self.filters)


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS wildcards: `*` one token, `>` the rest."""
    wanted, tokens = pattern.split("."), subject.split(".")
    for index, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > index
        if index >= len(tokens) or token not in ("*", tokens[index]):
            return False
    return len(tokens) == len(wanted)


@dataclass
class Evidence:
    published: dict[str, list[Published]] = field(default_factory=dict)  # context -> in commit order
    streams: dict[str, list[Message] | None] = field(default_factory=dict)  # None: no such stream
    consumers: dict[str, ConsumerSpec] = field(default_factory=dict)
    inbox: dict[str, set[tuple[str, str]]] = field(default_factory=dict)  # service -> (durable, event id)


async def connect_nats(url: str) -> NATS:
    logging.getLogger("nats").setLevel(logging.CRITICAL)
    # A cluster's URL names every node, comma-separated; each carries the credentials.
    servers = [server.strip() for server in url.split(",") if server.strip()]
    return await nats.connect(servers, name="fault-suite", connect_timeout=5, max_reconnect_attempts=2)


async def consumer_specs(nats_url: str, naming: Naming) -> dict[str, ConsumerSpec]:
    """The durable consumers on the four event streams now (empty for a stream that is gone)."""
    specs: dict[str, ConsumerSpec] = {}
    nc = await connect_nats(nats_url)
    try:
        js = nc.jetstream(timeout=5)
        for context in SERVICES:
            stream = naming.event_stream(context)
            try:
                infos = await js.consumers_info(stream)
            except NotFoundError:
                continue
            for info in infos:
                config = info.config
                filters = tuple(
                    config.filter_subjects or ([config.filter_subject] if config.filter_subject else [])
                )
                name = config.durable_name or info.name
                specs[name] = ConsumerSpec(name, context, filters or (">",))
    finally:
        await nc.close()
    return specs


async def settled_consumers(nats_url: str, naming: Naming, timeout: float = 30) -> dict[str, ConsumerSpec]:
    """The durable consumers once the services have bound them all (the same set three times, a
    second apart): a consumer of a stream its owner had not created yet binds a moment later."""
    deadline = time.monotonic() + timeout
    last: dict[str, ConsumerSpec] = {}
    same = 0
    while True:
        now = await consumer_specs(nats_url, naming)
        same = same + 1 if now and now.keys() == last.keys() else 0
        if same >= 2 or time.monotonic() > deadline:
            return now
        last = now
        await asyncio.sleep(1)


async def pending_messages(nats_url: str, naming: Naming) -> dict[str, int]:
    """Per durable consumer: messages not delivered yet plus those delivered and not acknowledged."""
    pending: dict[str, int] = {}
    nc = await connect_nats(nats_url)
    try:
        js = nc.jetstream(timeout=5)
        for context in SERVICES:
            with contextlib.suppress(NotFoundError):
                for info in await js.consumers_info(naming.event_stream(context)):
                    pending[info.name] = int(info.num_pending or 0) + int(info.num_ack_pending or 0)
    finally:
        await nc.close()
    return pending


async def stream_messages(js: JetStreamContext, stream: str) -> list[Message] | None:
    """Every message of `stream` in stream order (None when the stream does not exist)."""
    try:
        info = await js.stream_info(stream)
    except NotFoundError:
        return None
    messages: list[Message] = []
    seq = info.state.first_seq or 1
    while seq <= (info.state.last_seq or 0):
        try:
            raw = await js.get_msg(stream, seq=seq, subject=">", next=True)
        except NotFoundError:
            break
        try:
            event = json.loads(raw.data or b"{}")
            message = Message(
                int(raw.seq or seq),
                str((raw.headers or {}).get("Nats-Msg-Id") or event.get("id")),
                str(event.get("subject", "")),
                int(event.get("streamversion", 0)),
            )
        except (ValueError, TypeError):
            message = Message(int(raw.seq or seq), "unreadable", "", 0)
        messages.append(message)
        seq = message.seq + 1
    return messages


async def published_events(dsn: str, context: str) -> list[Published]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT message_id, subject, body FROM outbox ORDER BY transaction_id, position"
        )
    finally:
        await conn.close()
    events = []
    for row in rows:
        body = json.loads(row["body"])
        events.append(
            Published(
                context,
                str(row["message_id"]),
                row["subject"],
                str(body.get("type")),
                str(body.get("subject")),
                int(body.get("streamversion", 0)),
                dict(body.get("data") or {}),
            )
        )
    return events


async def inbox_of(dsn: str) -> set[tuple[str, str]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT consumer, event_id FROM inbox")
    finally:
        await conn.close()
    return {(row["consumer"], str(row["event_id"])) for row in rows}


async def gather(
    nats_url: str, naming: Naming, databases: dict[str, str], consumers: dict[str, ConsumerSpec]
) -> Evidence:
    """Everything the checks need; `consumers` are those seen earlier in the round (a wiped
    server forgets its consumers, the checks should not)."""
    evidence = Evidence(consumers=dict(consumers))
    for service in SERVICES:
        evidence.published[service] = await published_events(databases[service], service)
        evidence.inbox[service] = await inbox_of(databases[service])
    with contextlib.suppress(Exception):  # NATS still down: every stream reads as missing
        evidence.consumers |= await consumer_specs(nats_url, naming)
    try:
        nc = await connect_nats(nats_url)
    except Exception:
        evidence.streams = {service: None for service in SERVICES}
        return evidence
    try:
        js = nc.jetstream(timeout=10)
        for service in SERVICES:
            evidence.streams[service] = await stream_messages(js, naming.event_stream(service))
    finally:
        await nc.close()
    return evidence


async def query(dsn: str, sql: str, *args: Any, read_models: bool = False) -> list[asyncpg.Record]:
    """Rows of `sql` on a service's database; with `read_models`, its read-model tables are found
    where the service keeps the shape in use (see `read_model_schema`)."""
    conn = await asyncpg.connect(dsn)
    try:
        if read_models and (schema := await read_model_schema(conn)) is not None:
            await conn.execute(f'SET search_path TO "{schema}", public')
        rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
        return rows
    finally:
        await conn.close()


async def read_model_schema(conn: asyncpg.Connection) -> str | None:
    """The schema of the read-model shape in use, where a service keeps each shape in a schema of
    its own (`read_model_sets`, docs/adr/0009): the inline one, else the one switched last. None
    where the read models live in the service's own schema."""
    if await conn.fetchval("SELECT to_regclass('read_model_sets')") is None:
        return None
    schema: str | None = await conn.fetchval(
        "SELECT schema_name FROM read_model_sets ORDER BY inline DESC, built DESC, switched_at DESC LIMIT 1"
    )
    return schema
