"""Webhook benchmark: deliveries/s to 20 partner endpoints, one failing, beside a floor pipeline.

The notification service runs in-process (create_app with test settings, a fresh database, its
own NATS prefix, development tokens, the tests' short retry schedule 0.05/0.1/0.2 s, private
targets allowed, the default `delivery_concurrency` of 16) on embedded PostgreSQL and NATS in
`.data/bench`, or the servers named by DATABASE_URL / NATS_URL. Twenty partners are registered,
each with a policy granting `CertificateIssued` and a subscription to its own endpoint; the
endpoints are minimal asyncio HTTP/1.1 servers (one port each, keep-alive) in a process of their
own, so receiving does not run on the measured event loop (it does share the machine's cores).
Endpoint 0 answers 500 to everything, the others 204. The service's logs go to
`.data/bench/logs/webhooks.log`.

- service: `--events` CertificateIssued events (each of another certificate) are published on
  the certificate context's stream as its outbox relay does (JetStream, `Nats-Msg-Id`). The
  event's `time` is stamped just before its publish: the commit time. Each healthy endpoint
  records when each event reaches it. Measured: deliveries/s = events x 19 / (last receipt -
  first commit), and p50/p99 of commit -> receipt over every (event, endpoint). Also printed:
  when the consumer had queued every delivery row, and the failing endpoint's deliveries by
  status (GET /v1/deliveries as admin) at the moment the 19 others had everything.
- floor: the same number of events published on a plain NATS subject (core NATS, no stream); a
  minimal nats-py subscriber POSTs each message's body with one httpx client to the 19 healthy
  endpoints, 16 POSTs in flight at most (as the service's concurrency) and a kept-alive
  connection to each endpoint: no database, no policy, no signing, no retries. Measured the same
  way, in the same run, after the service has stopped.

The events go out as one burst, so the latencies are mostly queueing behind the burst: they say
how long the last partner waits for an event of a burst, not the latency of a lone event.
Printed: both rows and the ratios (throughput service/floor; latency floor/service: 1.00 means
as fast as the floor). Exits 1 if a healthy endpoint lacks a delivery after `--seconds-timeout`.

    make bench
    .venv/bin/python bench/webhooks.py --events 200
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import math
import multiprocessing
import os
import secrets
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
import httpx
from system import expect

from dcert_dev.embedded import Infra, ensure_databases, start_infra
from dcert_dev.testing import ServiceUnderTest, a_traceparent, publish_event, running_service
from dcert_notification.application.reactions import partner_deliveries_consumer
from dcert_notification.bootstrap import create_app
from dcert_notification.settings import NotificationSettings
from dcert_shared.broker import connect
from dcert_shared.envelope import EventEnvelope

ENDPOINTS = 20
FAILING = 0  # the endpoint that answers 500 to everything
CONCURRENCY = 16  # the floor's POSTs in flight; the service's is its default delivery_concurrency
RETRY_SCHEDULE = [0.05, 0.1, 0.2]  # as the service's tests: a failing delivery is dead after 4 tries
LISTED = 1000  # the most GET /v1/deliveries lists
WARM_UP = 3  # events through each pipeline before measuring (connections, prepared statements)
FIELDS = ["certificate_number", "category", "level", "expires_on"]
# The other contexts' streams, made as their runtimes make them: the service waits for those it consumes.
UPSTREAM = ("certificate", "assessment", "benefits")
DATA_DIR = Path(os.environ.get("DCERT_DATA_DIR", ".data")) / "bench"
LOG_DIR = DATA_DIR / "logs"

_serials = itertools.count()


# --- the partners' endpoints: a process of their own -----------------------------------------

_OK = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n"
_FAIL = b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n"


@dataclass
class Taken:
    """What the endpoints got since the last `take`."""

    records: list[tuple[int, str, str, float]]  # (endpoint, event id, event time, received at)
    refused: int  # requests the failing endpoint answered with 500
    connections: int  # TCP connections accepted, all endpoints together


def serve_endpoints(control: Connection, endpoints: int, failing: int) -> None:
    """The receiving process: `endpoints` HTTP servers on 127.0.0.1, answering the parent's
    `count`, `take` and `stop` on `control`."""
    asyncio.run(_serve_endpoints(control, endpoints, failing))


async def _serve_endpoints(control: Connection, endpoints: int, failing: int) -> None:
    # (endpoint, event id, event time, received at): one per request a healthy endpoint got.
    records: list[tuple[int, str, str, float]] = []
    seen: set[tuple[int, str]] = set()
    refused = connections = 0

    async def serve(index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal refused, connections
        connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                received = time.time()
                if index == failing:
                    refused += 1
                    writer.write(_FAIL)
                else:
                    event = json.loads(body)
                    records.append((index, event["id"], event["time"], received))
                    seen.add((index, event["id"]))
                    writer.write(_OK)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client closed its connection
        finally:
            writer.close()

    servers = []
    for index in range(endpoints):

        async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter, index: int = index) -> None:
            await serve(index, r, w)

        servers.append(await asyncio.start_server(handler, "127.0.0.1", 0, backlog=512))
    control.send([server.sockets[0].getsockname()[1] for server in servers])

    stopping = asyncio.Event()

    def on_command() -> None:
        nonlocal records, seen, refused, connections
        command = control.recv()
        if command == "count":
            control.send(len(seen))
        elif command == "take":
            control.send(Taken(records, refused, connections))
            records, seen, refused, connections = [], set(), 0, 0
        else:
            stopping.set()

    loop = asyncio.get_running_loop()
    loop.add_reader(control.fileno(), on_command)
    await stopping.wait()
    for server in servers:
        server.close()


class Endpoints:
    """The parent's side of the receiving process."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._control, child = context.Pipe()
        self.process = context.Process(
            target=serve_endpoints, args=(child, ENDPOINTS, FAILING), name="bench-endpoints", daemon=True
        )
        self.process.start()
        deadline = time.monotonic() + 60
        while not self._control.poll(0.1):
            if not self.process.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the endpoints did not start")
        self.ports: list[int] = self._control.recv()

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}/webhooks/{index}"

    @property
    def healthy(self) -> list[int]:
        return [index for index in range(ENDPOINTS) if index != FAILING]

    async def _ask(self, command: str) -> Any:
        def ask() -> Any:
            self._control.send(command)
            return self._control.recv()

        return await asyncio.to_thread(ask)

    async def count(self) -> int:
        """Distinct (endpoint, event) receipts at healthy endpoints since the last `take`."""
        return int(await self._ask("count"))

    async def take(self) -> Taken:
        """What the endpoints got since the last `take`."""
        taken: Taken = await self._ask("take")
        return taken

    async def arrived(self, expected: int, deadline: float) -> bool:
        """Wait until `expected` receipts are in (True) or the monotonic `deadline` (False)."""
        while await self.count() < expected:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._control.send("stop")
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()


# --- figures -----------------------------------------------------------------------------------


@dataclass
class Figures:
    expected: int
    delivered: int
    per_second: float
    p50_ms: float
    p99_ms: float
    duplicates: int

    @classmethod
    def of(cls, records: list[tuple[int, str, str, float]], started: float, expected: int) -> Figures:
        """From the receipts of a burst whose first event was committed at `started` (epoch s)."""
        first: dict[tuple[int, str], tuple[str, float]] = {}
        for index, event_id, event_time, received in records:
            first.setdefault((index, event_id), (event_time, received))
        latencies = [
            received - datetime.fromisoformat(event_time).timestamp()
            for event_time, received in first.values()
        ]
        last = max((received for _, received in first.values()), default=started)
        return cls(
            expected=expected,
            delivered=len(first),
            per_second=len(first) / max(last - started, 1e-9),
            p50_ms=percentile(latencies, 0.5) * 1000,
            p99_ms=percentile(latencies, 0.99) * 1000,
            duplicates=len(records) - len(first),
        )


def percentile(values: list[float], fraction: float) -> float:
    """Nearest rank; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def issued_envelope() -> EventEnvelope:
    """A certificate.CertificateIssued as its relay publishes it, committed now, of a new certificate."""
    serial = next(_serials)
    return EventEnvelope(
        event_id=uuid.uuid4(),
        event_type="CertificateIssued",
        schema_version=1,
        stream_id=f"certificate-{serial}",
        stream_version=1,
        payload={
            "certificate_number": f"33050220160417{serial:04d}41",
            "application_id": str(uuid.uuid4()),
            "person_ref": secrets.token_hex(32),
            "agent_refs": [],
            "category": "physical",
            "level": 2,
            "issued_on": "2025-01-02",
            "expires_on": "2035-01-02",
            "household_region": "330502",
            "residence_region": "330502",
            "age_years": 40,
        },
        source="/dcert/certificate",
        occurred_at=datetime.now(UTC),
        correlation_id=uuid.uuid4(),
        traceparent=a_traceparent(),
    )


# --- the service ------------------------------------------------------------------------------


@dataclass
class ServiceRun:
    figures: Figures
    published_s: float  # from the first commit to the last publish acknowledged
    queued_s: float | None  # from the first commit until the consumer had queued every delivery
    failing: Counter[str]  # the failing endpoint's deliveries of the burst by status
    refused: int  # requests the failing endpoint answered with 500 during the burst
    connections: int  # TCP connections the endpoints accepted during the burst


async def run_service(
    infra: Infra, dsn: str, prefix: str, endpoints: Endpoints, args: argparse.Namespace
) -> ServiceRun:
    settings = NotificationSettings(
        database_url=dsn,
        nats_url=infra.nats_url,
        nats_prefix=prefix,
        environment="test",
        dev_auth=True,
        webhook_retry_schedule_seconds=RETRY_SCHEDULE,
        webhook_allow_private_targets=True,
    )
    async with running_service(create_app, settings, UPSTREAM) as service:
        failing_subscription = ""
        for index in range(ENDPOINTS):
            policy = {"event_types": ["CertificateIssued"], "fields": FIELDS, "facts": []}
            answer = await service.call(
                "POST", "/v1/partners", service.admin, {"name": f"合作单位{index:02d}", "policy": policy}
            )
            partner_id = expect(answer, 201).json()["id"]
            token = service.token("partner", f"partner-{index:02d}", partner_id=partner_id)
            body = {"url": endpoints.url(index), "event_types": ["CertificateIssued"]}
            subscription = expect(await service.call("POST", "/v1/subscriptions", token, body), 201).json()
            if index == FAILING:
                failing_subscription = subscription["id"]

        async def deliveries(since: datetime | None = None) -> Counter[str]:
            """The failing subscription's deliveries (queued since `since`) by status, in one
            answer (so none is counted twice while it changes), of the newest LISTED."""
            query: dict[str, str | int] = {"subscription_id": failing_subscription, "limit": LISTED}
            if since is not None:
                query["since"] = since.isoformat()
            answer = await service.call("GET", f"/v1/deliveries?{urlencode(query)}", service.admin)
            return Counter(item["status"] for item in expect(answer, 200).json()["items"])

        healthy = len(endpoints.healthy)
        for _ in range(WARM_UP):
            await publish_event(service.js, service.naming, "certificate", issued_envelope())
        if not await endpoints.arrived(WARM_UP * healthy, time.monotonic() + 30):
            raise RuntimeError("warm-up: the service did not deliver")
        settled = time.monotonic() + 30
        while (await deliveries())["pending"]:  # the warm-up's failing deliveries run out their retries
            if time.monotonic() > settled:
                raise RuntimeError("warm-up: the failing endpoint's deliveries are still pending")
            await asyncio.sleep(0.05)
        await endpoints.take()

        expected = args.events * healthy
        deadline = time.monotonic() + args.seconds_timeout
        since = datetime.now(UTC)
        started = time.time()
        last_sequence = 0
        for _ in range(args.events):
            last_sequence = (
                await publish_event(service.js, service.naming, "certificate", issued_envelope())
            ).seq
        published = time.time()
        watch = asyncio.create_task(queued_at(service, last_sequence, deadline))
        await endpoints.arrived(expected, deadline)
        failing = await deliveries(since)
        taken = await endpoints.take()
        queued = await watch
        return ServiceRun(
            figures=Figures.of(taken.records, started, expected),
            published_s=published - started,
            queued_s=None if queued is None else queued - started,
            failing=failing,
            refused=taken.refused,
            connections=taken.connections,
        )


async def queued_at(service: ServiceUnderTest, sequence: int, deadline: float) -> float | None:
    """When (epoch s) the service's webhook consumer of the certificate stream (not its other
    consumers of it) had acknowledged message `sequence`: every delivery of the burst queued.
    None: not by the deadline."""
    webhook_consumers = {partner_deliveries_consumer("certificate")}
    stream = service.naming.event_stream("certificate")
    durables = [
        consumer.durable
        for consumer in service.runtime.consumers.values()
        if consumer.stream == stream and consumer.subscription.name in webhook_consumers
    ]
    while time.monotonic() < deadline:
        infos = [await service.js.consumer_info(stream, durable) for durable in durables]
        if all(info.ack_floor.stream_seq >= sequence for info in infos):
            return time.time()
        await asyncio.sleep(0.02)
    return None


# --- the floor --------------------------------------------------------------------------------


@dataclass
class FloorRun:
    figures: Figures
    errors: int  # POSTs that got no answer
    connections: int  # TCP connections the endpoints accepted during the burst


async def run_floor(infra: Infra, prefix: str, endpoints: Endpoints, args: argparse.Namespace) -> FloorRun:
    """Commit -> plain NATS -> one httpx POST per healthy endpoint."""
    subject = f"{prefix}.floor.CertificateIssued"
    urls = [endpoints.url(index) for index in endpoints.healthy]
    publisher = await connect(infra.nats_url, "bench-floor-publisher")
    subscriber = await connect(infra.nats_url, "bench-floor-subscriber")
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    errors = 0
    # CONCURRENCY workers bound the POSTs in flight; the pool keeps a connection to every endpoint.
    pool = CONCURRENCY * len(urls)
    limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
    http = httpx.AsyncClient(limits=limits, timeout=10, trust_env=False)

    async def on_message(message: Any) -> None:
        for url in urls:
            queue.put_nowait((url, message.data))

    async def post() -> None:
        nonlocal errors
        headers = {"content-type": "application/cloudevents+json"}
        while True:
            url, body = await queue.get()
            try:
                await http.post(url, content=body, headers=headers)
            except httpx.HTTPError:
                errors += 1

    workers = [asyncio.create_task(post()) for _ in range(CONCURRENCY)]
    try:
        await subscriber.subscribe(subject, cb=on_message)
        await subscriber.flush()

        async def publish() -> None:
            envelope = issued_envelope()
            body = json.dumps(envelope.to_cloudevent(envelope.payload), ensure_ascii=False).encode()
            await publisher.publish(subject, body)

        for _ in range(WARM_UP):
            await publish()
        await publisher.flush()
        if not await endpoints.arrived(WARM_UP * len(urls), time.monotonic() + 30):
            raise RuntimeError("warm-up: the floor did not deliver")
        await endpoints.take()

        expected = args.events * len(urls)
        started = time.time()
        for _ in range(args.events):
            await publish()
        await publisher.flush()
        await endpoints.arrived(expected, time.monotonic() + args.seconds_timeout)
        taken = await endpoints.take()
        return FloorRun(Figures.of(taken.records, started, expected), errors, taken.connections)
    finally:
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        await http.aclose()
        await subscriber.close()
        await publisher.close()


# --- the run ----------------------------------------------------------------------------------


def row(name: str, figures: Figures) -> str:
    missing = figures.expected - figures.delivered
    note = f"  ({missing} of {figures.expected} missing)" if missing else ""
    return f"{name:<36} {figures.per_second:>12.0f} {figures.p50_ms:>9.1f} {figures.p99_ms:>9.1f}{note}"


def ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


async def bench(infra: Infra, endpoints: Endpoints, args: argparse.Namespace) -> int:
    run = secrets.token_hex(3)
    database = f"dcert_bench_{run}_notification"
    dsn = (await ensure_databases(infra.database_server_url, [database]))[database]
    prefix = f"bench{run}"
    try:
        service = await run_service(infra, dsn, prefix, endpoints, args)
        floor = await run_floor(infra, prefix, endpoints, args)
    finally:
        conn = await asyncpg.connect(infra.database_server_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await conn.close()

    healthy = len(endpoints.healthy)
    print(
        f"webhooks: {args.events} CertificateIssued events as one burst, {healthy} healthy partner endpoints"
        f" + 1 answering 500; {CONCURRENCY} deliveries in flight"
    )
    print(f"{'':<36} {'deliveries/s':>12} {'p50 ms':>9} {'p99 ms':>9}")
    print(row("floor: NATS -> httpx POST", floor.figures))
    print(row("service: stream -> queue -> webhook", service.figures))
    f, s = floor.figures, service.figures
    print(f"{'throughput: service/floor':<36} {ratio(s.per_second, f.per_second):>12.2f}")
    print(
        f"{'latency: floor/service (1 = as fast)':<36} {'':>12} {ratio(f.p50_ms, s.p50_ms):>9.2f}"
        f" {ratio(f.p99_ms, s.p99_ms):>9.2f}"
    )
    queued = "not within the timeout" if service.queued_s is None else f"{service.queued_s:.2f} s"
    print(
        f"service: burst published in {service.published_s:.2f} s, every delivery queued after {queued},"
        f" {s.delivered} delivered after {ratio(s.delivered, s.per_second):.2f} s (from the first commit)"
    )
    failing = service.failing
    capped = f" (of the newest {LISTED})" if failing.total() >= LISTED else ""
    print(
        f"failing endpoint, when the {healthy} others had everything: {failing['dead']} dead,"
        f" {failing['pending']} pending (to retry), {failing['delivered']} delivered{capped}"
        f" of {args.events}; {service.refused} tries answered 500"
    )
    print(
        f"TCP connections opened during the burst: service {service.connections} for"
        f" {s.delivered + s.duplicates + service.refused} requests, floor {floor.connections} for {f.delivered + f.duplicates}"
    )
    if s.duplicates or f.duplicates or floor.errors:
        print(f"duplicates: service {s.duplicates}, floor {f.duplicates}; floor POST errors: {floor.errors}")
    return 0 if s.delivered == s.expected and f.delivered == f.expected else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=500, help="events per pipeline")
    parser.add_argument(
        "--seconds-timeout", type=float, default=90.0, help="longest wait for a pipeline's deliveries"
    )
    args = parser.parse_args()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    # The service's log lines (one per try) go to a file, as a deployment's go to its collector.
    logging.basicConfig(
        filename=LOG_DIR / "webhooks.log",
        filemode="w",
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    endpoints = Endpoints()
    try:
        infra = start_infra(
            DATA_DIR, os.environ.get("DATABASE_URL") or None, os.environ.get("NATS_URL") or None
        )
        try:
            return asyncio.run(bench(infra, endpoints, args))
        finally:
            infra.stop()
    finally:
        endpoints.stop()


if __name__ == "__main__":
    sys.exit(main())
