"""The outbox relay: publishes committed outbox messages to JetStream, in order, at least once.

Each message goes out with `Nats-Msg-Id` = the event id, so a re-publish after a crash between
publish and checkpoint is dropped by the stream's duplicate window. The checkpoint lives in
PostgreSQL. After a NATS restart the relay asks the stream what it really holds and rewinds to
there, because a single node may acknowledge a message it then loses. docs/adr/0002.

Run on its own: `python -m dcert_shared.outbox --database-url ... --nats-url ... --context ...`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import time

import asyncpg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from opentelemetry import metrics

from .broker import Naming, StreamLimits, connect, ensure_stream, event_stream_config
from .db import create_pool, migrate
from .store import SCHEMA, Checkpoint, checkpoint_of, load_checkpoint, read_below_horizon, save_checkpoint

log = logging.getLogger(__name__)

_meter = metrics.get_meter("dcert")
_published = _meter.create_counter("dcert.relay.published", description="Outbox messages published")
_lag = _meter.create_histogram("dcert.relay.lag", unit="s", description="Commit to publish delay")


class OutboxRelay:
    """Tails the outbox below the commit horizon and publishes each message to JetStream."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        js: JetStreamContext,
        stream: str,
        *,
        name: str = "outbox-relay",
        batch_size: int = 200,
        idle_wait_seconds: float = 0.05,
    ) -> None:
        self.pool = pool
        self.js = js
        self.stream = stream
        self.name = name
        self.batch_size = batch_size
        self.idle_wait_seconds = idle_wait_seconds
        self._wake = asyncio.Event()
        self._must_reconcile = True

    def request_reconcile(self) -> None:
        """Called on NATS reconnect: the server may have lost what it acknowledged."""
        self._must_reconcile = True
        self._wake.set()

    async def run(self, stopping: asyncio.Event) -> None:
        # Polling, not LISTEN/NOTIFY: NOTIFY takes a cluster-wide lock at every commit and
        # serialises the writers (bench/append.py: 16 writers fell from 71 % to 36 % of raw).
        while not stopping.is_set():
            try:
                if self._must_reconcile:
                    await self.reconcile()
                published = await self.relay_once()
            except (OSError, TimeoutError, asyncpg.PostgresConnectionError) as error:
                log.warning("outbox relay paused: %s", type(error).__name__)
                published = 0
                await asyncio.sleep(1)
            except Exception:
                log.exception("outbox relay failed; retrying")
                published = 0
                await asyncio.sleep(1)
            if published == 0:
                await self._wait(stopping)

    async def _wait(self, stopping: asyncio.Event) -> None:
        self._wake.clear()
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stopping.wait())]
        await asyncio.wait(waiters, timeout=self.idle_wait_seconds, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()

    async def relay_once(self) -> int:
        """Publish the next batch, then move the checkpoint past it. Returns how many went out."""
        async with self.pool.acquire() as conn:
            checkpoint = await load_checkpoint(conn, self.name)
            rows = await read_below_horizon(
                conn,
                "outbox",
                "position, transaction_id, message_id, subject, headers, body, recorded_at",
                checkpoint,
                self.batch_size,
            )
            if not rows:
                return 0
            for row in rows:
                await self.js.publish(row["subject"], row["body"].encode(), headers=row["headers"])
                _published.add(1, {"stream": self.stream})
                _lag.record(max(0.0, time.time() - row["recorded_at"].timestamp()), {"stream": self.stream})
            # A crash here re-publishes this batch on restart; the stream drops the duplicates.
            await save_checkpoint(conn, self.name, checkpoint_of(rows[-1]))
            return len(rows)

    async def reconcile(self) -> None:
        """Rewind the checkpoint to the last message the stream really holds, if it holds less."""
        try:
            info = await self.js.stream_info(self.stream)
        except NotFoundError:
            log.warning("stream %s missing: re-creating is the service's job; republishing all", self.stream)
            async with self.pool.acquire() as conn:
                await save_checkpoint(conn, self.name, Checkpoint())
            self._must_reconcile = False
            return
        async with self.pool.acquire() as conn:
            checkpoint = await load_checkpoint(conn, self.name)
            held = await self._last_held(info.state.messages, info.state.last_seq, conn, checkpoint)
            if held < checkpoint:
                log.warning("stream %s holds less than the checkpoint; republishing from there", self.stream)
                await save_checkpoint(conn, self.name, held)
        self._must_reconcile = False

    async def _last_held(
        self, messages: int, last_seq: int, conn: asyncpg.Connection, checkpoint: Checkpoint
    ) -> Checkpoint:
        """The outbox place of the newest message the stream still holds (START if it holds none)."""
        if messages == 0:
            return Checkpoint()
        try:
            last = await self.js.get_msg(self.stream, seq=last_seq)
        except NotFoundError:
            return Checkpoint()
        message_id = (last.headers or {}).get("Nats-Msg-Id")
        row = await conn.fetchrow(
            "SELECT transaction_id, position FROM outbox WHERE message_id::text = $1", message_id
        )
        return checkpoint_of(row) if row else checkpoint


async def _main(args: argparse.Namespace) -> None:
    naming = Naming(args.prefix)
    pool = await create_pool(args.database_url, args.schema, application_name="outbox-relay")
    await migrate(pool, SCHEMA)
    stream = naming.event_stream(args.context)
    relay: OutboxRelay | None = None

    async def on_reconnect() -> None:
        if relay is not None:
            relay.request_reconcile()

    nc = await connect(args.nats_url, f"{args.context}-outbox-relay", on_reconnect=on_reconnect)
    js = nc.jetstream()
    await ensure_stream(
        js, event_stream_config(naming, args.context, StreamLimits(max_bytes=args.stream_max_bytes))
    )
    relay = OutboxRelay(pool, js, stream)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    try:
        await relay.run(stopping)
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
