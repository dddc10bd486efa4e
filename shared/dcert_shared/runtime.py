"""A service's running parts, wired once: pool, event store, NATS, relay, consumers, workers.

Every service builds its FastAPI app through `build_app`, the same way for `make run`, tests
and production. Start-up migrates, connects (with retries) and starts the background tasks;
shutdown stops taking messages, lets in-flight ones finish and be acknowledged, drains NATS
and closes the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from pydantic import BaseModel

from . import access_log as access_log_module
from . import rate_limits as rate_limits_module
from .access_relay import ACCESS_CONTEXT, AccessLogRelay
from .auth import DevIssuer, TokenVerifier, dev_auth_router
from .broker import (
    Naming,
    StreamLimits,
    Topology,
    connect,
    dead_letter_stream_config,
    event_stream_config,
)
from .consumer import EventConsumer, RedeliveryPolicy, Subscription
from .db import ReadModels, create_pool, migrate_schema
from .envelope import Actor, CommandContext, EventRegistry
from .erasure import (
    ERASING_CONTEXT,
    PERSON_ERASED,
    erasure_stream_config,
    erasure_subscription,
    reapply_erasures,
)
from .hardening import harden
from .logs import RequestLog, configure_logging
from .loops import Backoff, Leases, Loops, Run
from .openapi import document_problem_answers
from .outbox import OutboxRelay
from .problem_responses import install_problem_handlers
from .pruning import prune
from .rate_limits import RateLimiter, SharedBuckets
from .read_models import ReadModelKeeper
from .restore import rebase_if_restored
from .schema_history import SchemaHistory
from .settings import ServiceSettings
from .store import EventStore
from .telemetry import command_context, instrument_app, instrument_asyncpg, setup_telemetry
from .uow import EventSourcing, Projector
from .vault import LocalKeyManager, Vault

log = logging.getLogger(__name__)

Worker = Callable[["ServiceRuntime", asyncio.Event], Awaitable[None]]


@dataclass(frozen=True)
class Job:
    """A background job of a service. A singleton runs in one process of the service at a time
    (the scheduled clocks, the senders): two replicas never do one job twice."""

    name: str
    run: Worker
    singleton: bool = True

    @classmethod
    def of(cls, worker: Worker | Job) -> Job:
        return worker if isinstance(worker, Job) else cls(getattr(worker, "__name__", "worker"), worker)


def periodic(seconds: float, name: str, job: Callable[[CommandContext], Awaitable[object]]) -> Job:
    """A singleton job that runs `job` at start and then every `seconds` until the service
    stops; a failure is logged by its type only (a database error's message may quote personal
    data) and the next round comes as planned."""

    async def run(runtime: ServiceRuntime, stopping: asyncio.Event) -> None:
        context = command_context(Actor(role="service", subject=name))
        while not stopping.is_set():
            try:
                done = await job(context)
                if done:
                    log.info("%s: %s", name, done)
            except Exception as error:
                log.error("%s failed (%s); trying again", name, type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), seconds)

    run.__name__ = name
    return Job(name, run)


class ServiceRuntime:
    """Everything a service runs besides its HTTP routes."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        context: str,
        registry: EventRegistry,
        schema: SchemaHistory = SchemaHistory(),
        read_models: ReadModels | None = None,
        projectors: Iterable[Projector] = (),
        stream_limits: StreamLimits | None = None,
        intake_contexts: Sequence[str] = (),
    ) -> None:
        """The infrastructure: stores, streams, read models. What the service does with it
        (reactions, background work) is declared once with `wire`."""
        self.settings = settings
        self.context = context
        self.registry = registry
        self.schema = schema
        self.read_models = read_models
        self.projectors = list(projectors)
        self.subscriptions: list[Subscription] = []
        self.workers: list[Worker | Job] = []
        # Streams this service keeps for others to publish into (e.g. partner agencies' facts).
        self.intake_contexts = list(intake_contexts)
        self.redelivery = RedeliveryPolicy(
            max_attempts=settings.consumer_max_attempts,
            retry_delays_seconds=tuple(settings.consumer_retry_delays_seconds),
            ack_wait_seconds=settings.consumer_ack_wait_seconds,
            dependency_wait_seconds=settings.consumer_dependency_wait_seconds,
        )
        self.stream_limits = stream_limits or StreamLimits(
            max_bytes=settings.stream_bytes, replicas=settings.stream_replicas
        )
        self.naming = Naming(settings.nats_prefix)
        self.vault = Vault(LocalKeyManager(settings.master_key_bytes, settings.previous_master_keys_bytes))
        # The erasing service records an erasure again when a restored database needed it.
        self.on_erasure_reapplied: Callable[[str], Awaitable[None]] | None = None
        self._pool: asyncpg.Pool | None = None
        self._nc: NATS | None = None
        self._es: EventSourcing | None = None
        self._js: JetStreamContext | None = None
        self.topology: Topology | None = None
        self.relay: OutboxRelay | None = None
        self.access_relay: AccessLogRelay | None = None
        self.consumers: dict[str, EventConsumer] = {}
        self.leases: Leases | None = None
        self.loops = Loops()
        self.read_model_keeper: ReadModelKeeper | None = None

    def wire(
        self,
        *,
        subscriptions: Iterable[Subscription] = (),
        workers: Iterable[Worker | Job] = (),
        on_erasure_reapplied: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        """Declare what the service runs besides its routes: its reactions to other services'
        events, its background work and, for the erasing service, how it records an erasure
        again. Once per runtime, before it starts."""
        if self.subscriptions or self.workers or self.on_erasure_reapplied or self._pool is not None:
            raise RuntimeError("a runtime is wired once, before it starts")
        self.subscriptions = list(subscriptions)
        self.workers = list(workers)
        self.on_erasure_reapplied = on_erasure_reapplied

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None, "runtime not started"
        return self._pool

    @property
    def es(self) -> EventSourcing:
        assert self._es is not None, "runtime not started"
        return self._es

    @property
    def js(self) -> JetStreamContext:
        assert self._js is not None, "runtime not started"
        return self._js

    async def start(self) -> None:
        await self.open_store()
        self.leases = Leases(
            self.settings.database_url, self.settings.database_schema, self.settings.lease_poll_seconds
        )
        await self.leases.start()
        self.loops = Loops(self.leases)
        await self._start_messaging()

    async def open_store(self) -> None:
        """The database part alone: pool, schema, event store, read models (an operator's CLI
        uses it without NATS; events it records leave through the outbox once the service runs)."""
        settings = self.settings
        await migrate_schema(
            settings.database_url,
            settings.database_schema,
            self.schema,
            # Before anything is written: ids of another cluster (a logical restore) rebased.
            then=rebase_if_restored,
        )
        store = EventStore(
            self.registry,
            f"/dcert/{self.context}",
            self.naming.event_subject_prefix(self.context),
            self.vault,
        )
        if self.read_models is not None:
            self.read_model_keeper = ReadModelKeeper(
                self.read_models,
                store,
                self.projectors,
                dsn=settings.database_url,
                service_schema=settings.database_schema,
                service_name=settings.service_name,
            )
        keeper = self.read_model_keeper
        self._pool = await create_pool(
            settings.database_url,
            settings.database_schema,
            application_name=keeper.application_name if keeper else settings.service_name,
            command_timeout=settings.database_command_timeout_seconds,
            search_path=keeper.search_path if keeper else None,
        )
        self._es = EventSourcing(
            self._pool,
            store,
            self.projectors,
            settings.identity_hash_key_bytes,
            gate=keeper.gate if keeper else None,
        )
        if keeper is not None:
            await keeper.prepare(self._pool)

    async def rebuild_read_models(
        self, tables: Sequence[str] | None = None, progress: Callable[[int], None] | None = None
    ) -> int:
        """Build the read models (all, or `tables`) anew from the events while the service runs
        (an operator's act: `dcert projections rebuild`)."""
        assert self.read_model_keeper is not None, "this service has no read models"
        return await self.read_model_keeper.rebuild(tables, progress)

    async def read_model_differences(self) -> list[str]:
        """How the read models differ from a build from the events now (empty: equal)."""
        if self.read_model_keeper is None:
            return []
        return await self.read_model_keeper.differences()

    def stream_configs(self) -> list[Any]:
        """Every stream this service keeps on the broker. The erasures are the erasing service's
        alone: a stream's configuration can bring any subject into it (sources, republish), so
        no other service may configure that stream (dcert_shared.broker_permissions)."""
        limits = self.stream_limits
        return [
            *(
                event_stream_config(self.naming, context, limits)
                for context in [self.context, *self.intake_contexts]
            ),
            event_stream_config(self.naming, ACCESS_CONTEXT, limits),
            dead_letter_stream_config(self.naming, self.settings.service_name, limits),
            *([erasure_stream_config(self.naming, limits)] if self.context == ERASING_CONTEXT else []),
        ]

    async def _start_messaging(self) -> None:
        settings = self.settings

        async def on_reconnect() -> None:
            for relay in (self.relay, self.access_relay):
                if relay is not None:
                    relay.request_reconcile()

        self._nc = await connect(
            settings.nats_url, settings.service_name, on_reconnect=on_reconnect, ca_file=settings.nats_ca_file
        )
        self._js = self._nc.jetstream()
        self.topology = Topology(self._js, self.stream_configs())
        await self.topology.ensure_all()
        self.loops.spawn("streams", self.topology.watch, backoff=_BROKER_BACKOFF)
        # Before any request or event is handled: a restored database forgets no erasure.
        await reapply_erasures(self._pool, self._js, self.naming, self.vault, self.on_erasure_reapplied)
        if self.context != ERASING_CONTEXT and not any(
            s.event_types == [PERSON_ERASED] for s in self.subscriptions
        ):
            self.subscriptions.append(erasure_subscription(self.vault))
        if (keeper := self.read_model_keeper) is not None:
            self.loops.spawn(f"read-models {keeper.fingerprint[:12]}", keeper.run, singleton=True)
        self.relay = OutboxRelay(
            self.pool, self._nc, self.naming.event_stream(self.context), topology=self.topology
        )
        self.loops.spawn("outbox-relay", self.relay.run, singleton=True, backoff=_BROKER_BACKOFF)
        # Every read of a person's record leaves for the certificate service (dcert_shared.access_relay).
        self.access_relay = AccessLogRelay(self.pool, self._nc, self.naming, self.context, self.topology)
        self.loops.spawn("access-log-relay", self.access_relay.run, singleton=True, backoff=_BROKER_BACKOFF)
        self.workers.append(periodic(settings.prune_interval_seconds, "pruning", self._prune))
        self.workers.append(periodic(60, "rate-limit-pruning", self._prune_rate_limits))
        if (days := settings.access_log_retention_days) is not None:
            self.workers.append(
                periodic(86_400, "access-log-retention", lambda _: access_log_module.prune(self.pool, days))
            )
        await self._forget_obsolete_consumers()
        for subscription in self.subscriptions:
            consumer = EventConsumer(
                self.es,
                self._js,
                self.naming,
                settings.service_name,
                subscription,
                self.redelivery,
                topology=self.topology,
            )
            self.consumers[subscription.name] = consumer
            self.loops.spawn(
                f"consumer {subscription.name}", consumer.run, singleton=True, backoff=_BROKER_BACKOFF
            )
        for job in map(Job.of, self.workers):
            self.loops.spawn(job.name, self._job_body(job), singleton=job.singleton)
        log.info("%s started", settings.service_name)

    async def _prune(self, _: CommandContext) -> dict[str, int]:
        stream = self.naming.event_stream(self.context)
        removed = await prune(self.pool, self.js, stream, self.settings.retention())
        return {what: count for what, count in removed.items() if count}

    async def _prune_rate_limits(self, _: CommandContext) -> None:
        """Quietly (a count each minute is not worth a log line)."""
        await rate_limits_module.prune(self.pool)

    def _job_body(self, job: Job) -> Callable[[Run], Awaitable[None]]:
        async def body(run: Run) -> None:
            await job.run(self, run.stopping)

        return body

    async def _forget_obsolete_consumers(self) -> None:
        """Durable consumers this service made in an earlier version and no longer reads from:
        left on the broker, they would hold back the pruning of their streams for ever."""
        durables = {self.naming.durable(self.settings.service_name, s.name) for s in self.subscriptions}
        mine = f"{self.settings.service_name}-"
        for stream in {self.naming.event_stream(s.source_context) for s in self.subscriptions}:
            try:
                infos = await self.js.consumers_info(stream)
            except Exception:  # not there yet: nothing to forget
                continue
            for info in infos:
                name = info.config.durable_name or info.name
                if name and name.startswith(mine) and name not in durables:
                    log.warning("deleting the obsolete durable consumer %s of %s", name, stream)
                    with contextlib.suppress(Exception):
                        await self.js.delete_consumer(stream, name)

    async def stop(self, grace_seconds: float = 10) -> None:
        await self.loops.stop(grace_seconds)
        if self.leases is not None:
            await self.leases.stop()
        if self._nc is not None and not self._nc.is_closed:
            with contextlib.suppress(Exception):
                await self._nc.drain()
        if self._pool is not None:
            await self._pool.close()
        log.info("%s stopped", self.settings.service_name)

    async def health(self) -> dict[str, str]:
        database = "unavailable"
        try:
            async with self.pool.acquire(timeout=2) as conn:
                await conn.fetchval("SELECT 1", timeout=2)
            database = "ok"
        except Exception:  # any failure to answer is "unavailable", whatever its type
            pass
        nats_ok = self._nc is not None and self._nc.is_connected
        return {"database": database, "nats": "ok" if nats_ok else "unavailable"}

    async def readiness(self) -> dict[str, Any]:
        """/health/ready: the database, the broker, and every loop running (or standing by for
        another process) and not further behind than `ready_max_lag_seconds`."""
        checks: dict[str, Any] = await self.health()
        problems = self.loops.readiness(self.settings.ready_max_lag_seconds)
        checks["loops"] = {
            name: {
                "status": state.status,
                "lag_events": state.lag_events,
                "lag_seconds": round(state.lag_seconds, 3),
            }
            for name, state in self.loops.states.items()
        }
        checks["not_ready"] = problems
        ready = checks["database"] == "ok" and checks["nats"] == "ok" and not problems
        return {"status": "ok" if ready else "unavailable", **checks}


# A loop that met a missing stream or a broker away binds again soon, not after half a minute.
_BROKER_BACKOFF = Backoff(first=0.5, cap=5.0)


class HealthReport(BaseModel):
    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unavailable"]
    nats: Literal["ok", "unavailable"]


class Liveness(BaseModel):
    status: Literal["ok"]


class LoopReport(BaseModel):
    status: Literal["starting", "running", "standby", "waiting", "retrying", "done", "stopped"]
    lag_events: int
    lag_seconds: float


class ReadinessReport(HealthReport):
    """Each background loop (`standby`: another process of the service runs it; `waiting`: for
    a stream another service makes) and, in `not_ready`, each one that is failing, not started
    or further behind than allowed, and why."""

    loops: dict[str, LoopReport]
    not_ready: dict[str, str]


def build_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    routers: Iterable[APIRouter],
    dev_issuer: DevIssuer | None = None,
    on_started: Callable[[ServiceRuntime], Awaitable[None]] | None = None,
) -> FastAPI:
    """The FastAPI app of a service: problem details, auth, telemetry, health, lifespan."""
    settings = runtime.settings
    configure_logging(settings.service_name, settings.log_level)
    setup_telemetry(settings.service_name, settings.otel_exporter_otlp_endpoint)
    instrument_asyncpg()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        if on_started is not None:
            await on_started(runtime)
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, version="1.0.0", lifespan=lifespan)
    app.state.runtime = runtime
    app.state.settings = settings
    app.state.token_verifier = token_verifier(settings, dev_issuer)
    app.state.rate_limiter = rate_limiter(runtime)
    install_problem_handlers(app)
    document_problem_answers(
        app,
        [path for path, per_minute in settings.rate_limits.items() if per_minute > 0],
        subjects_limited=settings.subject_rate_limit_per_minute > 0,
    )
    harden(
        app,
        max_request_bytes=settings.max_request_bytes,
        rate_limits=settings.rate_limits,
        cors_origins=settings.cors_origins,
        production=settings.environment == "production",
        limiter=app.state.rate_limiter,
    )

    @app.get(
        "/health",
        tags=["operations"],
        response_model=HealthReport,
        responses={503: {"model": HealthReport, "description": "The database or NATS cannot be reached"}},
    )
    async def health() -> Any:
        checks = await runtime.health()
        healthy = all(value == "ok" for value in checks.values())
        return JSONResponse({"status": "ok" if healthy else "unavailable", **checks}, 200 if healthy else 503)

    @app.get("/health/live", tags=["operations"], response_model=Liveness)
    async def live() -> Any:
        """The process runs and answers (restart it when this fails)."""
        return {"status": "ok"}

    @app.get(
        "/health/ready",
        tags=["operations"],
        response_model=ReadinessReport,
        responses={
            503: {"model": ReadinessReport, "description": "Something named in the body is not ready"}
        },
    )
    async def ready() -> Any:
        """Send traffic here? The database, the broker, and every relay, consumer and scheduled
        loop running (or standing by) and within its lag limit."""
        report = await runtime.readiness()
        return JSONResponse(report, 200 if report["status"] == "ok" else 503)

    if dev_issuer is not None and settings.dev_auth:
        app.include_router(dev_auth_router(dev_issuer))
    for router in routers:
        app.include_router(router)
    app.add_middleware(RequestLog)
    instrument_app(app)
    return app


def rate_limiter(runtime: ServiceRuntime) -> RateLimiter:
    """The service's limits, counted in its database once it runs (dcert_shared.rate_limits);
    the runtime prunes the full buckets every minute."""
    settings = runtime.settings
    return RateLimiter(
        SharedBuckets(lambda: runtime._pool),
        settings.rate_limits,
        subject_per_minute=settings.subject_rate_limit_per_minute,
        trusted_proxies=settings.trusted_proxies,
        key_secret=hashlib.sha256(b"dcert-rate-limits\x00" + settings.identity_hash_key_bytes).digest(),
    )


def token_verifier(settings: ServiceSettings, dev_issuer: DevIssuer | None) -> TokenVerifier:
    if dev_issuer is not None and settings.dev_auth and not settings.auth_jwks_url:
        return TokenVerifier(
            jwks=dev_issuer.jwks(),
            audience=settings.auth_audience,
            leeway_seconds=settings.auth_leeway_seconds,
        )
    return TokenVerifier(
        jwks_url=settings.auth_jwks_url,
        oidc_issuer=settings.auth_oidc_issuer,
        audience=settings.auth_audience,
        issuer=settings.auth_issuer,
        leeway_seconds=settings.auth_leeway_seconds,
    )
