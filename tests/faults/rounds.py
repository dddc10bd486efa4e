"""One round: fresh databases and NATS prefix, the four services, the staff and the partner, the
load with its fault(s) at random moments, recovery measured, the load drained, then the checks."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dcert_dev.embedded import ensure_databases
from dcert_dev.testing import delete_streams
from dcert_shared.broker import Naming

from . import checks, logs, readmodels
from .actors import Doctor, People, Staff, register_staff
from .auth import TokenIssuer
from .client import Api
from .cost import Cost, CostMeter
from .evidence import ConsumerSpec, gather, pending_messages, query, settled_consumers
from .faults import Fault, FaultContext, parse_round
from .load import Load
from .partner import WebhookReceiver
from .probe import Prober
from .system import SERVICES, Infrastructure, ServiceSet

if TYPE_CHECKING:
    from .cluster import ClusterInfrastructure


@dataclass(frozen=True)
class Options:
    """How much load a round carries and how long it waits for what."""

    cases: int  # stories per round
    spread_seconds: float  # the stories start evenly over this time
    concurrency: int  # stories running at once
    story_patience: float  # a story waits this long for one step (and a call for an answer)
    load_seconds: float  # after the spread, stories still running this long are stopped
    drain_seconds: float  # the load drains within this, or the round says what still moved
    probe_patience: float  # recovery counts as failed past this
    freeze_seconds: float  # PostgreSQL frozen (SIGSTOP)
    overlap_seconds: float  # old and new version side by side in a rollout
    stop_seconds: float  # a service still running this long after SIGTERM is killed (and named)
    cost_interval: float  # one application every this many seconds measures the fault's cost


FULL = Options(30, 45, 8, 150, 150, 120, 120, 25, 20, 25, 1.0)
QUICK = Options(6, 8, 6, 30, 30, 15, 30, 12, 6, 8, 2.0)

# The services' settings for a round: the tests' fast clocks and retries, and the short retry
# ladder of the consumers (0.5 + 1 + 2 s over 4 tries) that "longer than the ladder" refers to.
ENVIRONMENT = {
    "DCERT_ENV": "test",
    "DCERT_DEV_AUTH": "1",
    "DCERT_PUBLIC_NOTICE_WORKING_DAYS": "0",
    "DCERT_NOTICE_CHECK_SECONDS": "0.2",
    "DCERT_RENEWAL_WINDOW_MONTHS": "130",  # a certificate issued today may be renewed at once
    "DCERT_WEBHOOK_RETRY_SCHEDULE_SECONDS": "[0.2, 0.5, 1, 2, 5]",
    "DCERT_WEBHOOK_TIMEOUT_SECONDS": "3",
    "DCERT_DELIVERY_POLL_SECONDS": "0.1",
    # The load's few tokens make every call: counted per subject, never refused for it.
    "DCERT_SUBJECT_RATE_LIMIT_PER_MINUTE": "1000000",
    "DCERT_CONSUMER_RETRY_DELAYS_SECONDS": "[0.5, 1, 2]",
    "DCERT_CONSUMER_MAX_ATTEMPTS": "4",
}


@dataclass
class RoundResult:
    number: int
    spec: str
    name: str
    events: int = 0
    findings: list[checks.Finding] = field(default_factory=list)
    read_models: list[readmodels.ReadModelCheck] = field(default_factory=list)
    recovery_seconds: float | None = None
    notes: list[str] = field(default_factory=list)
    retried: Counter[str] = field(default_factory=Counter)
    error: str | None = None  # the round itself could not be carried out
    log_dir: Path | None = None
    timeline: dict[str, float] = field(default_factory=dict)  # phase -> seconds it took
    log_digest: list[str] = field(default_factory=list)
    cost: Cost | None = None  # what the fault cost the people using the system (cost.py)

    @property
    def lost(self) -> int:
        """Events lost anywhere (a stream, a consumer, the partner), each counted once."""
        return len(set().union(*(finding.lost for finding in self.findings)))

    @property
    def doubled(self) -> int:
        return sum(finding.doubled for finding in self.findings)

    @property
    def out_of_order(self) -> int:
        return sum(finding.out_of_order for finding in self.findings)

    @property
    def read_models_available(self) -> bool:
        return any(check.available for check in self.read_models)

    @property
    def read_models_failed(self) -> bool:
        return any(check.error or check.differences for check in self.read_models)

    @property
    def failed(self) -> bool:
        return bool(
            self.error
            or self.recovery_seconds is None
            or any(finding.failed for finding in self.findings)
            or self.read_models_failed
        )


async def run_round(
    number: int,
    spec: str,
    infra: Infrastructure | ClusterInfrastructure,
    options: Options,
    seed: int,
    log_root: Path,
    *,
    parse: Callable[[str], list[Fault]] = parse_round,
) -> RoundResult:
    faults = parse(spec)
    result = RoundResult(number, spec, " + ".join(fault.name for fault in faults))
    result.log_dir = log_root / f"round-{number}"
    run = f"r{number}"
    names = {service: f"faults_{run}_{service}" for service in SERVICES}
    try:
        dsns = await ensure_databases(infra.server_url, list(names.values()))
    except Exception as error:  # PostgreSQL did not come back from the round before
        result.error = f"no databases: {type(error).__name__}"
        return result
    issuer = TokenIssuer()
    environment = {
        **ENVIRONMENT,
        **infra.environment,
        "NATS_URL": infra.nats_url,
        "DCERT_NATS_PREFIX": run,
        "DCERT_AUTH_JWKS_URL": issuer.jwks_url,
    }
    databases = {service: dsns[name] for service, name in names.items()}
    nats_urls = {service: infra.nats_url_for(service) for service in SERVICES}
    services = infra.service_set(environment, databases, result.log_dir, nats_urls)
    api = Api(services, issuer, patience=options.story_patience)
    context = FaultContext(
        infra,
        services,
        random.Random(f"{seed}:{number}:{spec}"),
        result.log_dir,
        options.freeze_seconds,
        options.overlap_seconds,
    )
    round_ = Round(result, faults, context, api, WebhookReceiver(), databases, Naming(run), options, run)
    try:
        await round_.carry_out()
    except Exception as error:  # the round broke down: say how, never hide it
        result.error = f"{type(error).__name__}: {str(error)[:300]}"
    finally:
        await round_.close()
        issuer.close()
    return result


@dataclass
class Round:
    """The running parts of one round and its phases, each timed in `result.timeline`."""

    result: RoundResult
    faults: list[Fault]
    context: FaultContext
    api: Api
    receiver: WebhookReceiver
    databases: dict[str, str]
    naming: Naming
    options: Options
    run: str

    @property
    def services(self) -> ServiceSet:
        return self.context.services

    @property
    def nats_url(self) -> str:
        return self.context.infra.nats_url

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.result.timeline[name] = time.monotonic() - started

    async def carry_out(self) -> None:
        with self.phase("services up"):
            await self.services.start()
        with self.phase("setup"):
            staff, consumers = await self.set_up()
        with self.phase("load"):
            load, doctor = await self.load(staff)
        with self.phase("drain"):
            drained, waited, moving = await drain(
                self.nats_url, self.naming, self.databases, self.options.drain_seconds
            )
        if not drained:
            self.result.notes.append(f"not drained after {waited:.0f} s")
        with self.phase("checks"):
            await self.check(staff, consumers, load, doctor, moving)

    async def set_up(self) -> tuple[Staff, dict[str, ConsumerSpec]]:
        """The staff and the partner, what the faults prepare, and the consumers bound by then."""
        staff, self.receiver.secret = await register_staff(self.api, self.receiver.url, self.run)
        await _partner_known_to_benefits(self.databases["benefits"], staff.partner_id)
        for fault in self.faults:
            await fault.prepare(self.context)
        return staff, await settled_consumers(self.nats_url, self.naming)

    async def load(self, staff: Staff) -> tuple[Load, Doctor]:
        """The stories, the faults at their moments and the recovery probe, side by side."""
        options, rng = self.options, self.context.rng
        people = People(rng)
        doctor = Doctor(self.api, staff.doctor)
        stopping = asyncio.Event()
        doctor_task = asyncio.create_task(doctor.run(stopping))
        load = Load(self.api, staff, doctor, rng, people, self.run, options.story_patience)
        load.plan(options.cases)
        started = time.monotonic()
        deadline = started + options.spread_seconds + options.load_seconds
        load_task = asyncio.create_task(load.run_all(options.spread_seconds, options.concurrency, deadline))
        prober = Prober(self.api, people, self.run)
        meter = CostMeter(Prober(self.api, people, f"{self.run}c"), interval=options.cost_interval)
        meter_task = asyncio.create_task(meter.run(stopping))
        try:
            over = await _inject(self.faults, self.context, options, started)
            self.result.recovery_seconds = await _recovery(
                prober, self.services, over, options.probe_patience
            )
            await load_task
        finally:
            self.result.notes += self.context.notes
            load_task.cancel()  # done already, unless the round is given up
            stopping.set()
            await asyncio.gather(load_task, doctor_task, meter_task, return_exceptions=True)
        self.result.cost = meter.cost(self.context.first_fault_at)
        prober.open += meter.prober.open
        self.result.notes += [f"a probe could not be withdrawn: {i}" for i in await prober.withdraw_all(60)]
        return load, doctor

    async def check(
        self, staff: Staff, consumers: dict[str, ConsumerSpec], load: Load, doctor: Doctor, moving: list[str]
    ) -> None:
        result, databases = self.result, self.databases
        evidence = await gather(self.nats_url, self.naming, databases, consumers)
        result.events = sum(len(events) for events in evidence.published.values())
        result.findings += [
            checks.check_stream(c, evidence.published[c], evidence.streams[c], self.naming) for c in SERVICES
        ]
        result.findings += [await checks.check_store(service, databases[service]) for service in SERVICES]
        result.findings += [
            checks.check_consumers(evidence),
            await checks.check_effects(databases),
            checks.check_partner(evidence, self.receiver.receipts),
            await checks.check_applications(databases["certificate"], load.cases),
            await checks.check_live_certificates(databases["certificate"]),
            await checks.check_benefits_end(self.api, staff.admin, databases["certificate"], load.cases),
        ]
        result.notes.append(
            f"{len(load.cases)} stories, {len(evidence.consumers)} consumers checked,"
            f" {len(self.receiver.receipts)} webhook receipts for {len(checks.partner_entitled(evidence))}"
            " entitled events"
        )
        load_finding = checks.Finding("load")
        load_finding.add("still moving when the drain's time was up", moving)
        load_finding.add("results the doctor could not record", doctor.refused)
        result.findings.append(load_finding)
        gate = asyncio.Semaphore(2)  # two service imports at a time on two cores

        async def compare(service: str) -> readmodels.ReadModelCheck:
            async with gate:
                return await readmodels.check(self.services, service)

        result.read_models = list(await asyncio.gather(*(compare(service) for service in SERVICES)))

    async def close(self) -> None:
        """Stop everything the round started; name the services that had to be killed."""
        self.result.retried = self.api.retried
        await self.api.close()
        self.receiver.close()
        with self.phase("stop"):
            killed = await asyncio.to_thread(self.services.stop, self.options.stop_seconds)
        self.result.notes += [
            f"{label} did not stop within {self.options.stop_seconds:.0f} s of SIGTERM: killed"
            for label in killed
        ]
        with contextlib.suppress(Exception):
            await delete_streams(self.nats_url, self.run)
        self.result.log_digest = logs.digest(self.context.work_dir)


async def _partner_known_to_benefits(dsn: str, partner_id: str, timeout: float = 60) -> None:
    """Facts are refused until the benefits service has taken PartnerRegistered."""
    deadline = time.monotonic() + timeout
    while not await query(dsn, "SELECT 1 FROM partner_fact_policy WHERE partner_id = $1", partner_id):
        if time.monotonic() > deadline:
            raise TimeoutError("the benefits service did not learn of the partner")
        await asyncio.sleep(0.3)


async def _inject(faults: list[Fault], context: FaultContext, options: Options, started: float) -> float:
    """Each fault at a random moment of the load (the first within 20-60 % of its spread, the next
    10-30 % after the one before ended); returns when the last one was over."""
    rng = context.rng
    moment = started + rng.uniform(0.2, 0.6) * options.spread_seconds
    for fault in faults:
        await asyncio.sleep(max(0.0, moment - time.monotonic()))
        at = time.monotonic()
        if context.first_fault_at is None:
            context.first_fault_at = at
        await fault.inject(context)
        over = time.monotonic()
        context.notes.append(
            f"{fault.name}: at {at - started:.1f} s of the load, over {over - at:.1f} s later"
        )
        moment = over + rng.uniform(0.1, 0.3) * options.spread_seconds
    return time.monotonic()


async def _recovery(prober: Prober, services: ServiceSet, since: float, patience: float) -> float | None:
    """Seconds from the fault's end until every serving process is healthy and a new application
    reaches `assessing`; None when that does not happen within `patience`."""

    async def healthy() -> bool:
        for instance in [i for i in services.all() if i.in_rotation]:
            while not await asyncio.to_thread(instance.process.check_health, 1.0):
                if time.monotonic() - since > patience:
                    return False
                await asyncio.sleep(0.2)
        return True

    probed, all_healthy = await asyncio.gather(prober.probe(1, patience), healthy())
    if probed is None or not all_healthy:
        return None
    return time.monotonic() - since


async def drain(
    nats_url: str, naming: Naming, databases: dict[str, str], limit: float
) -> tuple[bool, float, list[str]]:
    """Wait until nothing is left to move (twice in a row, a second apart): (drained, seconds
    waited, what was still moving)."""
    started = time.monotonic()
    calm = 0
    while True:
        moving = await still_moving(nats_url, naming, databases)
        calm = 0 if moving else calm + 1
        waited = time.monotonic() - started
        if calm >= 2:
            return True, waited, []
        if waited > limit:
            return False, waited, moving
        await asyncio.sleep(1)


async def still_moving(nats_url: str, naming: Naming, databases: dict[str, str]) -> list[str]:
    moving = []
    try:
        pending = await pending_messages(nats_url, naming)
        moving += [f"{durable}: {count} pending" for durable, count in sorted(pending.items()) if count]
    except Exception as error:
        moving.append(f"NATS: {type(error).__name__}")
    for service, dsn in databases.items():
        try:
            rows = await query(
                dsn,
                "SELECT count(*) AS behind FROM outbox o LEFT JOIN checkpoints c ON c.name = 'outbox-relay'"
                " WHERE c.name IS NULL OR (o.transaction_id, o.position) > (c.transaction_id, c.position)",
            )
            if rows[0]["behind"]:
                moving.append(f"{service} outbox: {rows[0]['behind']} not relayed")
        except Exception as error:
            moving.append(f"{service} database: {type(error).__name__}")
    try:
        rows = await query(
            databases["notification"], "SELECT count(*) AS n FROM deliveries WHERE status = 'pending'"
        )
        if rows[0]["n"]:
            moving.append(f"webhook deliveries: {rows[0]['n']} pending")
    except Exception as error:
        moving.append(f"notification database: {type(error).__name__}")
    return moving
