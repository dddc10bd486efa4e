"""The access logs of the four services in one place, so a person sees every read in one answer.

Each service's `AccessLogRelay` publishes its new `access_log` rows, in commit order (below the
commit horizon, as the outbox relay does: dcert_shared.store), as `AccessRecorded` CloudEvents
on `accesslog.events.AccessRecorded` (stream `ACCESSLOG_EVENTS`, made by every service), with
`Nats-Msg-Id` = a UUID of (service, row id). The certificate service's consumer (`collector`)
copies each into `person_access_log`, once per (service, row id), which `GET /v1/me/access-log`
reads. The copy is kept like the originals (dcert_shared.access_log).
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime
from typing import Final

import asyncpg
from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError

from .broker import Naming, Topology
from .consumer import Subscription
from .envelope import DomainEvent, EventEnvelope, EventRegistry
from .outbox import OutboxRelay
from .store import START, Checkpoint, load_checkpoint, load_stream_sequence, save_checkpoint
from .uow import UnitOfWork

log = logging.getLogger(__name__)

# Not a bounded context: the name of the stream every service publishes its reads into.
ACCESS_CONTEXT: Final = "accesslog"
_MESSAGE_IDS: Final = uuid.UUID("6f9c4f43-5c1e-4a43-9d55-0c9a53d7a1e2")


class AccessRecorded(DomainEvent):
    """One row of a service's access log, as it travels to the certificate service."""

    service: str
    log_id: int
    person_ref: str
    read_at: datetime
    reader_role: str
    reader_subject: str
    reader_region: str | None
    reader_organisation: str | None
    record_kind: str
    record_ref: str
    route: str
    purpose: str


_COLUMNS = (
    "read_at, person_ref, reader_role, reader_subject, reader_region, reader_organisation,"
    " record_kind, record_ref, route, purpose"
)


def message_of(service: str, row: asyncpg.Record) -> tuple[bytes, dict[str, str]]:
    """The CloudEvent of an access-log row and its headers; the same row gives the same id."""
    event_id = uuid.uuid5(_MESSAGE_IDS, f"{service}:{row['id']}")
    event = AccessRecorded(service=service, log_id=row["id"], **{k: row[k] for k in _COLUMNS.split(", ")})
    envelope = EventEnvelope(
        event_id=event_id,
        event_type=event.event_type,
        schema_version=event.schema_version,
        stream_id=f"accesslog-{service}",
        stream_version=int(row["id"]),
        payload=event.published_data(),
        source=f"/dcert/{service}",
        occurred_at=row["read_at"],
        correlation_id=event_id,
    )
    body = json.dumps(envelope.to_cloudevent(envelope.payload), ensure_ascii=False).encode()
    return body, {"Nats-Msg-Id": str(event_id), "ce-type": event.event_type}


class AccessLogRelay(OutboxRelay):
    """Publishes a service's access-log rows, at least once, in commit order (the outbox
    relay's loop, over another table and into a stream every service publishes into)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        nc: NATS,
        naming: Naming,
        service: str,
        topology: Topology | None = None,
    ) -> None:
        super().__init__(
            pool, nc, naming.event_stream(ACCESS_CONTEXT), topology=topology, name="access-log-relay"
        )
        self.service = service
        self.subject = naming.event_subject(ACCESS_CONTEXT, AccessRecorded.event_type)

    async def _rows(self, conn: asyncpg.Connection, checkpoint: Checkpoint) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await conn.fetch(
            f"SELECT id, transaction_id, read_at AS recorded_at, {_COLUMNS} FROM access_log"
            " WHERE (transaction_id, id) > ($1::text::xid8, $2)"
            "   AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())"
            " ORDER BY transaction_id, id LIMIT $3",
            str(checkpoint.transaction_id),
            checkpoint.position,
            self.batch_size,
        )
        return rows

    def _message(self, row: asyncpg.Record) -> tuple[str, bytes, dict[str, str], str]:
        body, headers = message_of(self.service, row)
        return self.subject, body, headers, headers["Nats-Msg-Id"]

    def _chain(self, headers: dict[str, str], previous: str | None) -> None:
        """Several services publish into this stream: no chain; `reconcile` finds a loss."""

    def _checkpoint_of(self, row: asyncpg.Record) -> Checkpoint:
        return Checkpoint(int(row["transaction_id"]), int(row["id"]))

    async def reconcile(self) -> None:
        """A stream that no longer holds this service's last message (lost, or made anew) is
        filled again from the first row; the collector keeps each row once, so a repeat costs
        only time."""
        await self._stream_info()
        async with self.pool.acquire() as conn:
            checkpoint = await load_checkpoint(conn, self.name)
            sequence = await load_stream_sequence(conn, self.name)
            if checkpoint != START and not await self._holds(checkpoint, sequence):
                log.warning("stream %s lost this service's access log: publishing it again", self.stream)
                await save_checkpoint(conn, self.name, START)
        self._must_reconcile = False

    async def _holds(self, checkpoint: Checkpoint, sequence: int) -> bool:
        if sequence == 0:
            return True  # recorded before sequences were kept: nothing to compare with
        try:
            message = await self.js.get_msg(self.stream, seq=sequence)
        except NotFoundError:
            return False
        expected = str(uuid.uuid5(_MESSAGE_IDS, f"{self.service}:{checkpoint.position}"))
        return (message.headers or {}).get("Nats-Msg-Id") == expected


async def collect(uow: UnitOfWork, envelope: EventEnvelope) -> None:
    """Keep a service's access-log row for the person it is about, once."""
    read = AccessRecorded.model_validate(envelope.payload)
    await uow.conn.execute(
        f"INSERT INTO person_access_log (service, log_id, {_COLUMNS})"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        " ON CONFLICT (service, log_id) DO NOTHING",
        read.service,
        read.log_id,
        read.read_at,
        read.person_ref,
        read.reader_role,
        read.reader_subject,
        read.reader_region,
        read.reader_organisation,
        read.record_kind,
        read.record_ref,
        read.route,
        read.purpose,
    )


def registry() -> EventRegistry:
    """The one message of the `accesslog` stream (for the AsyncAPI catalogue)."""
    events = EventRegistry()
    events.register(AccessRecorded)
    return events


def collector() -> Subscription:
    """The certificate service's consumer of every service's access-log rows."""
    return Subscription("access-log", ACCESS_CONTEXT, [AccessRecorded.event_type], collect)
