"""Scaling benchmark: what one holder costs each service, what a monthly run adds, how fast a rebuild goes.

The figures docs/scaling.md extrapolates to a province and the country, measured on real
PostgreSQL (an embedded server of its own in `.data/bench/scaling`, or DATABASE_URL's) and
NATS, on this machine:

- holders: the whole system (bench/system.py) with `--holders` people carried through the
  public HTTP API by `--clients` concurrent clients, as bench/end_to_end.py does (application,
  assessment, public notice, approval, certificate, benefits decided), twice: the first lot
  unmeasured (so tables are past their first pages), then the measured one. Before and after
  it, once every consumer is quiet, each service's database is measured: events per holder (by
  type), bytes per holder of the events table (heap, TOAST and indexes), the outbox, the inbox
  and the read models (`pg_total_relation_size`), and the events' raw JSON (payload and
  metadata as text: the baseline that bytes per event are set against) and the outbox's
  messages (what JetStream stores). Also the requests each service served per second and the
  events it appended per second while the holders ran.
- reads: one service process (certificate) answering `GET /v1/applications/{id}` for
  `--read-seconds` with `--clients` clients, against `GET /health/live` of the same process (the
  framework's floor).
- rebuild: every service's read models rebuilt from its events (`rebuild_read_models()`, the
  operator's act, while the service runs), in events/s, against a plain COPY of the same rows
  out of the events table and into a scratch table; after the first lot of holders and again
  after the second (twice the events), so that a rate falling with size shows.
- monthly run: `--monthly-holders` generated holders' decided periods (as bench/monthly_run.py)
  and one run of the service's own code: lines/s against a plain INSERT ... SELECT, and the
  ledger rows, events and bytes it adds per holder.

Ends with one summary line. Prints figures only, asserts nothing.

    .venv/bin/python bench/scaling.py --quick      # under a minute
    .venv/bin/python bench/scaling.py              # a few minutes
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from importlib import import_module
from typing import Any

import asyncpg
import httpx
from end_to_end import WARM_UP, Staff, new_application, new_person, one_application, register_staff
from monthly_run import BASELINE, CONTEXT, GENERATE, MONTH, PROVINCE, nothing_due
from system import DATA_DIR, SERVICES, Client, bench_database, expect, running_system

from dcert_benefits.adapters import read_models as benefits_read_models
from dcert_benefits.adapters import tables as benefits_tables
from dcert_benefits.application import runs
from dcert_benefits.domain.events import registry as benefits_registry
from dcert_dev.embedded import EmbeddedPostgres, database_url
from dcert_shared.db import create_pool, migrate, migrate_schema
from dcert_shared.runtime import ServiceRuntime
from dcert_shared.settings import ServiceSettings
from dcert_shared.store import EventStore
from dcert_shared.uow import EventSourcing

GIB = 1024**3
COUNTRY = 38_000_000
PROVINCE_HOLDERS = 5_000_000
# The write side's tables named on their own; the rest of the service schema is "other state".
NAMED_TABLES = ("events", "outbox", "inbox")
EVENT_COLUMNS = (
    "position, transaction_id, event_id, stream_id, version, event_type, schema_version,"
    " payload, metadata, recorded_at"
)
SIZES = """
SELECT n.nspname AS schema_name, c.relname AS table_name, pg_total_relation_size(c.oid) AS total_bytes
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_%'
"""


# -- measuring a database -------------------------------------------------------------------------


def kind_of(schema_name: str, table_name: str) -> str:
    """Where a table's bytes are counted: a named write-side table, the read models (a schema of
    their own per shape, ADR 0009), or the rest of the service's state."""
    if "_rm_" in schema_name:
        return "read models"
    return table_name if table_name in NAMED_TABLES else "other state"


@dataclass
class Snapshot:
    """One service database at a quiet moment."""

    bytes_by_kind: Counter[str]
    bytes_by_table: Counter[str]
    events: int
    last_position: int
    inbox: int
    outbox: int
    last_outbox_position: int

    @property
    def total_bytes(self) -> int:
        return sum(self.bytes_by_kind.values())


async def snapshot(dsn: str) -> Snapshot:
    conn = await asyncpg.connect(dsn)
    try:
        by_kind: Counter[str] = Counter()
        by_table: Counter[str] = Counter()
        for row in await conn.fetch(SIZES):
            by_kind[kind_of(row["schema_name"], row["table_name"])] += row["total_bytes"]
            by_table[row["table_name"]] += row["total_bytes"]
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM events) AS events,"
            " (SELECT coalesce(max(position), 0) FROM events) AS last_position,"
            " (SELECT count(*) FROM inbox) AS inbox, (SELECT count(*) FROM outbox) AS outbox,"
            " (SELECT coalesce(max(position), 0) FROM outbox) AS last_outbox_position"
        )
        assert counts is not None
        return Snapshot(
            by_kind,
            by_table,
            counts["events"],
            counts["last_position"],
            counts["inbox"],
            counts["outbox"],
            counts["last_outbox_position"],
        )
    finally:
        await conn.close()


@dataclass
class EventsWritten:
    """The events appended after a position: by type, and their raw JSON size."""

    by_type: Counter[str]
    payload_bytes: int
    metadata_bytes: int
    message_bytes: int  # outbox bodies and headers: what the relay publishes to JetStream

    @property
    def count(self) -> int:
        return sum(self.by_type.values())


async def events_after(dsn: str, before: Snapshot) -> EventsWritten:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT event_type, count(*) AS n, sum(octet_length(payload::text)) AS payload,"
            " sum(octet_length(metadata::text)) AS metadata FROM events WHERE position > $1"
            " GROUP BY event_type",
            before.last_position,
        )
        message_bytes = await conn.fetchval(
            "SELECT coalesce(sum(octet_length(body) + octet_length(headers::text)), 0) FROM outbox"
            " WHERE position > $1",
            before.last_outbox_position,
        )
    finally:
        await conn.close()
    return EventsWritten(
        Counter({row["event_type"]: row["n"] for row in rows}),
        sum(int(row["payload"]) for row in rows),
        sum(int(row["metadata"]) for row in rows),
        int(message_bytes),
    )


async def quiet(databases: dict[str, str], still_for: float = 2.0, timeout: float = 120) -> None:
    """Until no service appends, relays or handles anything for `still_for` seconds: consumers
    react after the last answer the clients waited for (notification, the other side's inbox)."""

    async def counts() -> tuple[int, ...]:
        taken = [await snapshot(dsn) for dsn in databases.values()]
        return tuple(n for s in taken for n in (s.events, s.inbox, s.outbox))

    deadline = time.monotonic() + timeout
    last, since = await counts(), time.monotonic()
    while time.monotonic() - since < still_for and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        now = await counts()
        if now != last:
            last, since = now, time.monotonic()


# -- the holders, through the whole system --------------------------------------------------------


@dataclass
class CountingClient(Client):
    """A client that counts the requests each service answered (polls included: served all the same)."""

    requests: Counter[str] = field(default_factory=Counter)

    async def call(
        self, service: str, method: str, path: str, body: Any = None, token: str | None = None
    ) -> httpx.Response:
        self.requests[service] += 1
        return await super().call(service, method, path, body, token)


@dataclass
class Drive:
    holders: int
    seconds: float
    requests: Counter[str]


async def drive_holders(ports: dict[str, int], staff: Staff, clients: int, holders: int) -> Drive:
    """`holders` people carried from application to benefits by `clients` concurrent clients."""
    pending = iter(range(holders))
    requests: Counter[str] = Counter()

    async def run_client() -> None:
        client = CountingClient(ports)
        try:
            for _ in pending:
                await one_application(client, staff)
        finally:
            requests.update(client.requests)
            await client.close()

    started = time.perf_counter()
    await asyncio.gather(*(run_client() for _ in range(clients)))
    return Drive(holders, time.perf_counter() - started, requests)


@dataclass
class ServiceCost:
    service: str
    written: EventsWritten
    added: Counter[str]  # bytes by kind
    added_by_table: Counter[str]

    def per_holder(self, holders: int) -> float:
        return self.written.count / holders


async def holder_costs(
    databases: dict[str, str], before: dict[str, Snapshot], holders: int
) -> dict[str, ServiceCost]:
    costs = {}
    for service, dsn in databases.items():
        after = await snapshot(dsn)
        added = Counter(after.bytes_by_kind)
        added.subtract(before[service].bytes_by_kind)
        by_table = Counter(after.bytes_by_table)
        by_table.subtract(before[service].bytes_by_table)
        costs[service] = ServiceCost(service, await events_after(dsn, before[service]), added, by_table)
    return costs


def print_holder_costs(costs: dict[str, ServiceCost], drive: Drive) -> None:
    n = drive.holders
    kinds = ("events", "outbox", "inbox", "read models", "other state")
    print(f"\nper holder (application -> certificate -> benefits decided), {n} holders:")
    print(
        f"{'service':<13}{'events':>7}{'raw B/ev':>9}{'disk B/ev':>10}{'disk/raw':>9}"
        + "".join(f"{kind + ' B':>14}" for kind in kinds)
        + f"{'total B':>10}"
    )
    for cost in costs.values():
        count = cost.written.count
        raw = (cost.written.payload_bytes + cost.written.metadata_bytes) / count if count else 0.0
        disk = cost.added["events"] / count if count else 0.0
        print(
            f"{cost.service:<13}{count / n:>7.1f}{raw:>9.0f}{disk:>10.0f}"
            + (f"{disk / raw:>8.2f}x" if raw else f"{'-':>9}")
            + "".join(f"{cost.added[kind] / n:>14,.0f}" for kind in kinds)
            + f"{sum(cost.added.values()) / n:>10,.0f}"
        )
    for cost in costs.values():
        types = ", ".join(f"{name} {count / n:.2g}" for name, count in sorted(cost.written.by_type.items()))
        print(f"  {cost.service} events per holder: {types or 'none'}")
        largest = ", ".join(
            f"{name} {size / n:,.0f}" for name, size in cost.added_by_table.most_common(6) if size > 0
        )
        print(
            f"    bytes per holder of its largest tables: {largest}; JetStream messages"
            f" {cost.written.message_bytes / n:,.0f} B (outbox bodies and headers)"
        )


def print_drive(drive: Drive, costs: dict[str, ServiceCost], clients: int) -> None:
    print(
        f"\nwhole system on this machine, {clients} clients: {drive.holders / drive.seconds:.2f} holders/s"
        f" ({drive.holders} in {drive.seconds:.1f} s; every service, PostgreSQL and NATS on the same cores)"
    )
    for service in SERVICES:
        served = drive.requests[service]
        appended = costs[service].written.count
        print(
            f"  {service:<13}{served / drive.seconds:>8.1f} requests/s ({served / drive.holders:.1f} per holder,"
            f" polls included){appended / drive.seconds:>8.1f} events/s appended"
        )


# -- one process's reads ----------------------------------------------------------------------------


async def read_rate(
    ports: dict[str, int], clients: int, seconds: float, path: str, token: str | None
) -> float:
    """Requests/s one certificate process answers on `path` with `clients` clients for `seconds`."""
    deadline = time.perf_counter() + seconds
    answered = [0] * clients

    async def run_client(index: int) -> None:
        client = Client(ports)
        try:
            while time.perf_counter() < deadline:
                expect(await client.call("certificate", "GET", path, token=token), 200)
                answered[index] += 1
        finally:
            await client.close()

    started = time.perf_counter()
    await asyncio.gather(*(run_client(i) for i in range(clients)))
    return sum(answered) / (time.perf_counter() - started)


async def one_process_reads(ports: dict[str, int], clients: int, seconds: float) -> tuple[float, float]:
    """(applications read/s, /health/live answered/s) of one process, the second the floor."""
    client = Client(ports)
    try:
        person = new_person()
        token = await client.token("applicant", f"citizen-{person}", id_number=person)
        created = await client.call("certificate", "POST", "/v1/applications", new_application(person), token)
        path = f"/v1/applications/{expect(created, 201).json()['id']}"
    finally:
        await client.close()
    await read_rate(ports, clients, min(1.0, seconds), path, token)  # warm-up
    reads = await read_rate(ports, clients, seconds, path, token)
    floor = await read_rate(ports, clients, seconds, "/health/live", None)
    return reads, floor


# -- rebuilds ---------------------------------------------------------------------------------------


@dataclass
class Rebuild:
    service: str
    events: int
    seconds: float
    copy_seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def copy_rate(self) -> float:
        return self.events / self.copy_seconds


def service_settings(service: str, dsn: str) -> ServiceSettings:
    """The service's settings as bench/system.py starts it (test keys, so sealed fields open)."""
    settings_class = getattr(import_module(f"dcert_{service}.settings"), f"{service.capitalize()}Settings")
    settings: ServiceSettings = settings_class(
        database_url=dsn,
        nats_url="nats://127.0.0.1:1",
        environment="test",
        dev_auth=True,
        log_level="WARNING",
    )
    return settings


async def plain_copy_seconds(dsn: str) -> float:
    """Seconds to COPY every event row out in global order and into a scratch table: the floor
    of reading the events and writing as many rows."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE TABLE scaling_copy_of_events (LIKE events)")
        started = time.perf_counter()
        rows = io.BytesIO()
        await conn.copy_from_query(
            f"SELECT {EVENT_COLUMNS} FROM events ORDER BY transaction_id, position", output=rows
        )
        rows.seek(0)
        await conn.copy_to_table("scaling_copy_of_events", source=rows, columns=EVENT_COLUMNS.split(", "))
        seconds = time.perf_counter() - started
        await conn.execute("DROP TABLE scaling_copy_of_events")
        return seconds
    finally:
        await conn.close()


async def rebuild(service: str, dsn: str) -> Rebuild:
    """The service's read models rebuilt from its events by its own wiring, while it runs."""
    bootstrap = import_module(f"dcert_{service}.bootstrap")
    runtime: ServiceRuntime = bootstrap.create_app(service_settings(service, dsn)).state.runtime
    await runtime.open_store()
    try:
        started = time.perf_counter()
        events = await runtime.rebuild_read_models()
        seconds = time.perf_counter() - started
    finally:
        await runtime.pool.close()
    return Rebuild(service, events, seconds, await plain_copy_seconds(dsn))


# -- the monthly run --------------------------------------------------------------------------------


@dataclass
class MonthlyCost:
    holders: int
    lines: int
    seconds: float
    baseline_lines: int
    baseline_seconds: float
    events: int
    added: Counter[str]

    @property
    def rate(self) -> float:
        return self.lines / self.seconds

    @property
    def baseline_rate(self) -> float:
        return self.baseline_lines / self.baseline_seconds


async def table_bytes(pool: asyncpg.Pool) -> Counter[str]:
    return Counter({row["table_name"]: row["total_bytes"] for row in await pool.fetch(SIZES)})


async def monthly_cost(holders: int, batch_size: int) -> MonthlyCost:
    """One run of the service's code over generated holders (bench/monthly_run.py's set-up)."""
    async with bench_database() as dsn:
        await migrate_schema(dsn, "public", benefits_tables.HISTORY)
        pool = await create_pool(dsn, max_size=4)
        try:
            await migrate(pool, benefits_read_models.READ_MODELS.schema)
            await migrate(pool, ["CREATE TABLE baseline_line (LIKE entitlement_line INCLUDING ALL)"])
            store = EventStore(benefits_registry(), "/dcert/benefits", "benefits.events.")
            es = EventSourcing(pool, store, [benefits_read_models.project])
            monthly_runs = runs.MonthlyRuns(lambda: es, lambda: date(2026, 11, 22), nothing_due, batch_size)
            await pool.execute(GENERATE, holders)
            await pool.execute("ANALYZE benefit_period")

            started = time.perf_counter()
            await pool.execute(BASELINE, MONTH.first_day)
            baseline_seconds = time.perf_counter() - started
            baseline_lines = await pool.fetchval("SELECT count(*) FROM baseline_line")
            await pool.execute("DROP TABLE baseline_line")  # not counted as the run's bytes

            before, events_before = (
                await table_bytes(pool),
                await pool.fetchval("SELECT count(*) FROM events"),
            )
            started = time.perf_counter()
            outcome = await monthly_runs.run(CONTEXT, MONTH, PROVINCE)
            seconds = time.perf_counter() - started
            lines = (await monthly_runs.summary(outcome.run_id)).line_count
            added = await table_bytes(pool)
            added.subtract(before)
            events = await pool.fetchval("SELECT count(*) FROM events") - events_before
        finally:
            await pool.close()
    return MonthlyCost(holders, lines, seconds, baseline_lines, baseline_seconds, events, +added)


def print_monthly(cost: MonthlyCost) -> None:
    n = cost.holders
    print(
        f"\nmonthly run, {n:,} generated holders ({cost.lines:,} lines: every holder nursing, every third living too):"
    )
    print(
        f"  run {cost.rate:,.0f} lines/s ({cost.seconds:.1f} s) vs plain INSERT ... SELECT"
        f" {cost.baseline_rate:,.0f} lines/s: {cost.rate / cost.baseline_rate:.0%}"
    )
    added = ", ".join(f"{name} {size / n:.0f}" for name, size in cost.added.most_common() if size / n >= 1)
    print(
        f"  adds per holder: {cost.lines / n:.2f} ledger lines, {cost.events / n:.6f} events"
        f" ({cost.events} for the run), {sum(cost.added.values()) / n:.0f} bytes ({added})"
    )


# -- arithmetic -------------------------------------------------------------------------------------


def print_extrapolation(
    costs: dict[str, ServiceCost], drive: Drive, rebuilds: list[Rebuild], monthly: MonthlyCost
) -> None:
    """The measured ratios times a province's and the country's holders: arithmetic, not measurement."""
    n = drive.holders
    kept, pruned = kept_and_pruned_bytes(costs, n)
    ledger_per_month = sum(monthly.added.values()) / monthly.holders
    print("\nextrapolated (measured per-holder ratios x holders; linear, no index depth or bloat effects):")
    for label, holders in (("province", PROVINCE_HOLDERS), ("country", COUNTRY)):
        run_minutes = monthly.lines / monthly.holders * holders / monthly.rate / 60
        print(
            f"  {label} {holders / 1e6:.0f} M holders: {kept * holders / GIB:,.0f} GiB kept for their issuance"
            f" (outbox and inbox, {pruned / 1024:.1f} KiB per holder, only for those of the last 30-60 days),"
            f" +{ledger_per_month * holders / GIB:,.1f} GiB a month of ledger,"
            f" monthly run {run_minutes:,.0f} min at the measured rate"
        )
        for item in (rebuild for rebuild in rebuilds if rebuild.events):
            events = costs[item.service].per_holder(n) * holders
            print(
                f"    {item.service} rebuild: {events / 1e6:,.0f} M events (issuance only) in"
                f" {events / item.rate / 3600:,.1f} h at {item.rate:,.0f} events/s"
            )


def kept_and_pruned_bytes(costs: dict[str, ServiceCost], holders: int) -> tuple[float, float]:
    """Bytes per holder kept for good, and those pruning removes (outbox after 30 days, inbox
    after 60: docs/operations.md)."""
    total = sum(sum(cost.added.values()) for cost in costs.values()) / holders
    pruned = sum(cost.added["outbox"] + cost.added["inbox"] for cost in costs.values()) / holders
    return total - pruned, pruned


# -- running it ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def database_server() -> Iterator[str]:
    """DATABASE_URL's server, or an embedded one of this benchmark's own, so that the databases
    the system makes can be found and measured (bench/system.py keeps their names to itself)."""
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    server = EmbeddedPostgres.start(DATA_DIR / "scaling")
    os.environ["DATABASE_URL"] = server.server_url  # for running_system and bench_database
    try:
        yield server.server_url
    finally:
        del os.environ["DATABASE_URL"]
        server.stop()


async def bench_databases(server_url: str) -> set[str]:
    conn = await asyncpg.connect(server_url)
    try:
        return {row["datname"] for row in await conn.fetch("SELECT datname FROM pg_database")}
    finally:
        await conn.close()


async def through_the_system(
    ports: dict[str, int], databases: dict[str, str], args: argparse.Namespace
) -> tuple[dict[str, ServiceCost], Drive, list[Rebuild]]:
    client = Client(ports)
    try:
        staff = await register_staff(client)
        for _ in range(WARM_UP):
            await one_application(client, staff)
    finally:
        await client.close()
    # As many holders first, unmeasured: past a table's first pages (and its free-space map) the
    # bytes grow with the rows, so the measured half gives bytes per holder, not fixed costs.
    await drive_holders(ports, staff, args.clients, args.holders)
    await quiet(databases)
    # Rebuilt here and again at twice the events: equal rates say a rebuild's time grows with
    # the events alone, which the extrapolation to millions of holders assumes.
    halfway = [await rebuild(service, dsn) for service, dsn in databases.items()]
    before = {service: await snapshot(dsn) for service, dsn in databases.items()}
    drive = await drive_holders(ports, staff, args.clients, args.holders)
    await quiet(databases)
    costs = await holder_costs(databases, before, args.holders)
    print_holder_costs(costs, drive)
    print_drive(drive, costs, args.clients)

    reads, floor = await one_process_reads(ports, args.clients, args.read_seconds)
    print(
        f"\none certificate process, {args.clients} clients: GET /v1/applications/{{id}} {reads:,.0f}/s"
        f" vs GET /health/live {floor:,.0f}/s: {reads / floor:.0%} of the floor"
    )

    rebuilds = [await rebuild(service, dsn) for service, dsn in databases.items()]
    print("\nread-model rebuild (while the service runs) vs COPY of the same rows out and in:")
    for item in [*halfway, *rebuilds]:
        if not item.events:
            print(f"  {item.service:<13}no events in its store in this run: nothing to rebuild")
            continue
        print(
            f"  {item.service:<13}{item.events:>8,} events {item.seconds:>6.2f} s {item.rate:>8,.0f} events/s"
            f"   COPY {item.copy_rate:>9,.0f} rows/s   rebuild/COPY {item.rate / item.copy_rate:.1%}"
        )
    return costs, drive, rebuilds


def load() -> str:
    """The machine's load: other work on the same cores lowers every absolute rate (not the ratios)."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min) {five:.1f} (5 min)"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: under a minute")
    parser.add_argument("--holders", type=int, help="holders carried through the system (200; quick 16)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--read-seconds", type=float, help="seconds of the read load (5; quick 2)")
    parser.add_argument(
        "--monthly-holders", type=int, help="generated holders of the monthly run (200,000; quick 20,000)"
    )
    parser.add_argument("--batch-size", type=int, default=20_000, help="holders per batch of the monthly run")
    args = parser.parse_args()
    args.holders = args.holders or (16 if args.quick else 200)
    args.read_seconds = args.read_seconds or (2.0 if args.quick else 5.0)
    args.monthly_holders = args.monthly_holders or (20_000 if args.quick else 200_000)

    started = time.perf_counter()
    print(f"{date.today()}, {os.cpu_count()} cores, {load()}, {' '.join(sys.argv)}", flush=True)
    with database_server() as server_url:
        existing = asyncio.run(bench_databases(server_url))
        with running_system() as ports:
            made = asyncio.run(bench_databases(server_url)) - existing
            databases = {
                service: next(database_url(server_url, name) for name in made if name.endswith(f"_{service}"))
                for service in SERVICES
            }
            print(f"system up in {time.perf_counter() - started:.1f} s", flush=True)
            costs, drive, rebuilds = asyncio.run(through_the_system(ports, databases, args))
        monthly = asyncio.run(monthly_cost(args.monthly_holders, args.batch_size))
    print_monthly(monthly)
    print_extrapolation(costs, drive, rebuilds, monthly)

    events_per_holder = sum(cost.per_holder(args.holders) for cost in costs.values())
    kept, pruned = kept_and_pruned_bytes(costs, args.holders)
    slowest = min((item for item in rebuilds if item.events), key=lambda item: item.rate)
    print(
        f"\nsummary: {events_per_holder:.1f} events and {kept / 1024:.1f} KiB kept (+{pruned / 1024:.1f} pruned)"
        f" per issued holder ({kept * 1e6 / GIB:.1f} GiB kept per million), {drive.holders / drive.seconds:.2f} holders/s"
        f" whole system, monthly run {monthly.rate:,.0f} lines/s ({monthly.rate / monthly.baseline_rate:.0%} of"
        f" INSERT...SELECT), slowest rebuild {slowest.service} {slowest.rate:,.0f} events/s;"
        f" {time.perf_counter() - started:.0f} s, {load()}"
    )
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop everything as on Ctrl-C
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
