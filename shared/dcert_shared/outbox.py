"""The outbox relay: publishes committed outbox messages to JetStream, in order, at least once,
and mends the stream when the broker lost some of it (docs/adr/0002, docs/adr/0008).

- One relay per service database at a time (a singleton loop: dcert_shared.loops).
- Each message goes out with `Nats-Msg-Id` = the event id and `Nats-Expected-Last-Msg-Id` = the
  message before it, pipelined. The broker refuses a message whose predecessor is not the
  stream's last one, so the stream is always the outbox's order without a hole: a lost tail
  (a broker that acknowledged and crashed) is found at the next publish, not never.
- On start, after any refusal and after a reconnect, the relay *reconciles*: it reads the last
  message the stream really holds and puts its checkpoint there (back when the broker lost
  messages, forward when a crash came between publish and checkpoint). A stream that is gone
  (a broker that lost its disk) is made again and refilled from the first outbox row.
- The checkpoint lives in PostgreSQL, the system of record; the outbox is kept until every
  durable consumer of the stream has acknowledged it (dcert_shared.pruning).

Run on its own: `python -m dcert_shared.outbox --database-url ... --nats-url ... --context ...`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import time
from typing import Any

import asyncpg
from nats.aio.client import Client as NATS
from nats.js.errors import APIError, NoStreamResponseError, NotFoundError
from opentelemetry import metrics

from .broker import Naming, PipelinedPublisher, StreamLimits, Topology, connect, event_stream_config
from .db import create_pool, migrate_schema
from .loops import LoopState, Run
from .schema_history import SchemaHistory
from .store import (
    START,
    Checkpoint,
    checkpoint_of,
    load_checkpoint,
    read_below_horizon,
    save_checkpoint,
)

log = logging.getLogger(__name__)

_meter = metrics.get_meter("dcert")
_published = _meter.create_counter("dcert.relay.published", description="Outbox messages published")
_lag = _meter.create_histogram("dcert.relay.lag", unit="s", description="Commit to publish delay")
_mended = _meter.create_counter("dcert.relay.mended", description="Stream repairs (rewinds, re-creations)")

# The broker's answers to a message whose expected predecessor is not the stream's last one.
_OUT_OF_SEQUENCE = {10070, 10071}  # wrong last msg id, wrong last sequence


class OutOfSequence(Exception):
    """The stream does not end where the relay thought: reconcile, then go on."""


class OutboxRelay:
    """Tails the outbox below the commit horizon and publishes each message to JetStream."""

    columns = "position, transaction_id, message_id, subject, headers, body, recorded_at"

    def __init__(
        self,
        pool: asyncpg.Pool,
        nc: NATS,
        stream: str,
        *,
        topology: Topology | None = None,
        name: str = "outbox-relay",
        batch_size: int = 500,
        idle_wait_seconds: float = 0.05,
        publish_timeout_seconds: float = 10,
    ) -> None:
        self.pool = pool
        self.js = nc.jetstream()
        self.publisher = PipelinedPublisher(nc)
        self.stream = stream
        self.topology = topology
        self.name = name
        self.batch_size = batch_size
        self.idle_wait_seconds = idle_wait_seconds
        self.publish_timeout_seconds = publish_timeout_seconds
        self._wake = asyncio.Event()
        self._must_reconcile = True
        self._last_message_id: str | None = None  # the stream's last message, as far as we know
        self._last_sequence = 0

    def request_reconcile(self) -> None:
        """Called on NATS reconnect: the server may have lost what it acknowledged."""
        self._must_reconcile = True
        self._wake.set()

    async def run(self, run: Run) -> None:
        """The relay loop; a failure (the database or the broker away) ends it and the
        supervisor starts it again, with a reconcile first."""
        self._must_reconcile = True
        # Polling, not LISTEN/NOTIFY: NOTIFY takes a cluster-wide lock at every commit and
        # serialises the writers (bench/append.py: 16 writers fell from 71 % to 36 % of raw).
        while not run.stopping.is_set():
            if self._must_reconcile:
                await self.reconcile()
            try:
                published = await self.relay_once(run.state)
            except OutOfSequence:
                self._must_reconcile = True
                continue
            if published == 0:
                await self._wait(run.stopping)

    async def _wait(self, stopping: asyncio.Event) -> None:
        self._wake.clear()
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stopping.wait())]
        await asyncio.wait(waiters, timeout=self.idle_wait_seconds, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()

    async def _rows(self, conn: asyncpg.Connection, checkpoint: Checkpoint) -> list[asyncpg.Record]:
        return await read_below_horizon(conn, "outbox", self.columns, checkpoint, self.batch_size)

    def _message(self, row: asyncpg.Record) -> tuple[str, bytes, dict[str, str], str]:
        """(subject, body, headers, message id) of a row."""
        headers: dict[str, str] = dict(row["headers"])
        return row["subject"], row["body"].encode(), headers, str(row["message_id"])

    def _chain(self, headers: dict[str, str], previous: str | None) -> None:
        """Ask the broker to take the message only right after `previous`."""
        if previous is None:
            headers["Nats-Expected-Last-Sequence"] = str(self._last_sequence)
        else:
            headers["Nats-Expected-Last-Msg-Id"] = previous

    async def relay_once(self, state: LoopState | None = None) -> int:
        """Publish the next batch, then move the checkpoint past it. Returns how many went out."""
        async with self.pool.acquire() as conn:
            checkpoint = await load_checkpoint(conn, self.name)
            rows = await self._rows(conn, checkpoint)
            if state is not None:
                oldest = time.time() - rows[0]["recorded_at"].timestamp() if rows else 0.0
                state.progress(len(rows), oldest)
            if not rows:
                return 0
            acks = await self._publish(rows)
            if acks:
                last = rows[len(acks) - 1]
                self._last_message_id = self._message(last)[3]
                self._last_sequence = acks[-1]
                # A crash here publishes nothing twice: the next start reconciles from the stream.
                await save_checkpoint(conn, self.name, self._checkpoint_of(last), acks[-1])
            now = time.time()
            for row in rows[: len(acks)]:
                _lag.record(max(0.0, now - row["recorded_at"].timestamp()), {"stream": self.stream})
            _published.add(len(acks), {"stream": self.stream})
            return len(acks)

    def _checkpoint_of(self, row: asyncpg.Record) -> Checkpoint:
        return checkpoint_of(row)

    async def _publish(self, rows: list[asyncpg.Record]) -> list[int]:
        """Publish `rows` pipelined; the stream sequences of those taken, in order, up to the
        first refusal (raised, after the ones before it are kept)."""
        previous = self._last_message_id
        messages = []
        for row in rows:
            subject, body, headers, message_id = self._message(row)
            self._chain(headers, previous)
            previous = message_id
            messages.append((subject, body, headers))
        acks: list[int] = []
        for result in await self.publisher.publish(messages, self.publish_timeout_seconds):
            if isinstance(result, BaseException):
                if acks:
                    return acks  # what went through is kept; the refusal comes again next time
                raise self._refusal(result)
            acks.append(int(result.seq))
        return acks

    def _refusal(self, error: BaseException) -> BaseException:
        if isinstance(error, APIError) and error.err_code in _OUT_OF_SEQUENCE:
            log.warning("stream %s does not end where the relay thought: reconciling", self.stream)
            return OutOfSequence()
        if isinstance(error, NoStreamResponseError):  # no stream takes the subject: it is gone
            self._must_reconcile = True
        return error

    async def reconcile(self) -> None:
        """Put the checkpoint where the stream really ends (made again, and refilled from the
        first outbox row, when it is gone or empty)."""
        info = await self._stream_info()
        state = info.state
        self._last_sequence = int(state.last_seq or 0)
        async with self.pool.acquire() as conn:
            checkpoint = await load_checkpoint(conn, self.name)
            if not state.messages:
                held, last_id = START, None
            else:
                last = await self.js.get_msg(self.stream, seq=state.last_seq)
                last_id = (last.headers or {}).get("Nats-Msg-Id")
                row = await conn.fetchrow(
                    "SELECT transaction_id, position FROM outbox WHERE message_id::text = $1", last_id
                )
                if row is None:  # a database restored from before the stream's end
                    log.error("stream %s ends with a message this outbox does not hold", self.stream)
                    held = checkpoint
                else:
                    held = checkpoint_of(row)
            if held != checkpoint:
                log.warning(
                    "stream %s and the outbox disagree: the relay goes on from the stream's end", self.stream
                )
                _mended.add(1, {"stream": self.stream})
                await save_checkpoint(conn, self.name, held, self._last_sequence)
        self._last_message_id = last_id
        self._must_reconcile = False

    async def _stream_info(self) -> Any:
        try:
            return await self.js.stream_info(self.stream)
        except NotFoundError:
            if self.topology is None or self.stream not in self.topology.configs:
                raise
            if await self.topology.ensure(self.stream):
                _mended.add(1, {"stream": self.stream})
            return await self.js.stream_info(self.stream)


async def _main(args: argparse.Namespace) -> None:
    naming = Naming(args.prefix)
    await migrate_schema(args.database_url, args.schema, SchemaHistory())
    pool = await create_pool(args.database_url, args.schema, application_name="outbox-relay")
    stream = naming.event_stream(args.context)
    relay: OutboxRelay | None = None

    async def on_reconnect() -> None:
        if relay is not None:
            relay.request_reconcile()

    nc = await connect(args.nats_url, f"{args.context}-outbox-relay", on_reconnect=on_reconnect)
    js = nc.jetstream()
    topology = Topology(
        js, [event_stream_config(naming, args.context, StreamLimits(max_bytes=args.stream_max_bytes))]
    )
    await topology.ensure_all()
    relay = OutboxRelay(pool, nc, stream, topology=topology)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    try:
        await relay.run(Run(LoopState("outbox-relay", singleton=True), stopping))
    finally:
        await nc.drain()
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Relay a service's outbox to JetStream.")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--schema", default="public")
    parser.add_argument("--nats-url", required=True)
    parser.add_argument("--context", required=True, help="the bounded context, e.g. certificate")
    parser.add_argument("--prefix", default="")
    parser.add_argument("--stream-max-bytes", type=int, default=StreamLimits.max_bytes)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
