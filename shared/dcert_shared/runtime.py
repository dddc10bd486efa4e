"""A service's running parts, wired once: pool, event store, NATS, relay, consumers, workers.

Every service builds its FastAPI app through `build_app`, the same way for `make run`, tests
and production. Start-up migrates, connects (with retries) and starts the background tasks;
shutdown stops taking messages, lets in-flight ones finish and be acknowledged, drains NATS
and closes the pool.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal

import asyncpg
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from pydantic import BaseModel

from . import access_log as access_log_module
from . import consumer as consumer_module
from . import store as store_module
from . import uow as uow_module
from . import vault as vault_module
from .access_relay import ACCESS_CONTEXT, AccessLogRelay
from .auth import DevIssuer, TokenVerifier, dev_auth_router
from .broker import (
    Naming,
    StreamLimits,
    connect,
    dead_letter_stream_config,
    ensure_stream,
    event_stream_config,
)
from .consumer import EventConsumer, RedeliveryPolicy, Subscription
from .db import ReadModels, create_pool, ensure_read_models, migrate
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
from .outbox import OutboxRelay
from .problems import document_problem_answers, install_problem_handlers
from .settings import ServiceSettings
from .store import EventStore
from .telemetry import command_context, instrument_app, instrument_asyncpg, setup_telemetry
from .uow import EventSourcing, Projector
from .vault import LocalKeyManager, Vault

log = logging.getLogger(__name__)

Worker = Callable[["ServiceRuntime", asyncio.Event], Awaitable[None]]


def periodic(seconds: float, name: str, job: Callable[[CommandContext], Awaitable[object]]) -> Worker:
    """A worker that runs `job` at start and then every `seconds` until the service stops; a
    failure is logged by its type only (a database error's message may quote personal data)."""

    async def run(runtime: ServiceRuntime, stopping: asyncio.Event) -> None:
        context = command_context(Actor(role="service", subject=name))
        while not stopping.is_set():
            try:
                done = await job(context)
                if done:
                    log.info("%s: %s", name, done)
            except Exception as error:
                log.error("%s failed (%s); trying again", name, type(error).__name__)
            try:
                await asyncio.wait_for(stopping.wait(), seconds)
            except TimeoutError:
                pass

    run.__name__ = name
    return run


class ServiceRuntime:
    """Everything a service runs besides its HTTP routes."""

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        context: str,
        registry: EventRegistry,
        schema: Sequence[str] = (),
        read_models: ReadModels | None = None,
        projectors: Iterable[Projector] = (),
        subscriptions: Iterable[Subscription] = (),
        workers: Iterable[Worker] = (),
        redelivery: RedeliveryPolicy = RedeliveryPolicy(),
        stream_limits: StreamLimits | None = None,
        intake_contexts: Sequence[str] = (),
    ) -> None:
        self.settings = settings
        self.context = context
        self.registry = registry
        self.schema = list(schema)
        self.read_models = read_models
        self.projectors = list(projectors)
        self.subscriptions = list(subscriptions)
        self.workers = list(workers)
        # Streams this service keeps for others to publish into (e.g. partner agencies' facts).
        self.intake_contexts = list(intake_contexts)
        self.redelivery = redelivery
        self.stream_limits = stream_limits or StreamLimits(max_bytes=settings.stream_bytes)
        self.naming = Naming(settings.nats_prefix)
        self.vault = Vault(LocalKeyManager(settings.master_key_bytes))
        # The erasing service records an erasure again when a restored database needed it.
        self.on_erasure_reapplied: Callable[[str], Awaitable[None]] | None = None
        self.stopping = asyncio.Event()
        self._pool: asyncpg.Pool | None = None
        self._nc: NATS | None = None
        self._es: EventSourcing | None = None
        self._js: JetStreamContext | None = None
        self.relay: OutboxRelay | None = None
        self.access_relay: AccessLogRelay | None = None
        self.consumers: dict[str, EventConsumer] = {}
        self._tasks: list[asyncio.Task[None]] = []

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
        self.stopping = asyncio.Event()
        await self.open_store()
        await self._start_messaging()

    async def open_store(self) -> None:
        """The database part alone: pool, schema, event store, read models (an operator's CLI
        uses it without NATS; events it records leave through the outbox once the service runs)."""
        settings = self.settings
        self._pool = await create_pool(
            settings.database_url, settings.database_schema, application_name=settings.service_name
        )
        await migrate(
            self._pool,
            [
                *store_module.SCHEMA,
                *uow_module.SCHEMA,
                *consumer_module.SCHEMA,
                *vault_module.SCHEMA,
                *access_log_module.SCHEMA,
                *self.schema,
            ],
        )
        store = EventStore(
            self.registry,
            f"/dcert/{self.context}",
            self.naming.event_subject_prefix(self.context),
            self.vault,
        )
        self._es = EventSourcing(self._pool, store, self.projectors, settings.identity_hash_key_bytes)
        if self.read_models is not None:
            replayed = await ensure_read_models(self._pool, self.read_models, self._es.replay_into)
            if replayed is not None:
                log.info("read models (re)built from %d events", replayed)

    async def _start_messaging(self) -> None:
        settings = self.settings

        async def on_reconnect() -> None:
            for relay in (self.relay, self.access_relay):
                if relay is not None:
                    relay.request_reconcile()

        self._nc = await connect(settings.nats_url, settings.service_name, on_reconnect=on_reconnect)
        self._js = self._nc.jetstream()
        for context in [self.context, *self.intake_contexts, ACCESS_CONTEXT]:
            await ensure_stream(self._js, event_stream_config(self.naming, context, self.stream_limits))
        await ensure_stream(
            self._js, dead_letter_stream_config(self.naming, settings.service_name, self.stream_limits)
        )
        await ensure_stream(self._js, erasure_stream_config(self.naming, self.stream_limits))
        # Before any request or event is handled: a restored database forgets no erasure.
        await reapply_erasures(self._pool, self._js, self.naming, self.vault, self.on_erasure_reapplied)
        if self.context != ERASING_CONTEXT and not any(
            s.event_types == [PERSON_ERASED] for s in self.subscriptions
        ):
            self.subscriptions.append(erasure_subscription(self.vault))
        self.relay = OutboxRelay(self._pool, self._js, self.naming.event_stream(self.context))
        self._spawn("outbox-relay", self.relay.run(self.stopping))
        # Every read of a person's record leaves for the certificate service (dcert_shared.access_relay).
        self.access_relay = AccessLogRelay(self._pool, self._js, self.naming, self.context)
        self._spawn("access-log-relay", self.access_relay.run(self.stopping))
        if (days := settings.access_log_retention_days) is not None:
            prune = periodic(
                86_400, "access-log-retention", lambda _: access_log_module.prune(self.pool, days)
            )
            self._spawn("access-log-retention", prune(self, self.stopping))
        for subscription in self.subscriptions:
            consumer = EventConsumer(
                self.es, self._js, self.naming, settings.service_name, subscription, self.redelivery
            )
            self.consumers[subscription.name] = consumer
            self._spawn(f"consumer {subscription.name}", consumer.run(self.stopping))
        for worker in self.workers:
            self._spawn(getattr(worker, "__name__", "worker"), worker(self, self.stopping))
        log.info("%s started", settings.service_name)

    def _spawn(self, name: str, coroutine: Awaitable[None]) -> None:
        async def guarded() -> None:
            try:
                await coroutine
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background task %s crashed", name)

        self._tasks.append(asyncio.create_task(guarded(), name=name))

    async def stop(self, grace_seconds: float = 20) -> None:
        self.stopping.set()
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=grace_seconds)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        self._tasks.clear()
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.drain()
        if self._pool is not None:
            await self._pool.close()
        log.info("%s stopped", self.settings.service_name)

    async def health(self) -> dict[str, str]:
        database = "unavailable"
        try:
            async with self.pool.acquire(timeout=2) as conn:
                await conn.fetchval("SELECT 1")
            database = "ok"
        except Exception:  # any failure to answer is "unavailable", whatever its type
            pass
        nats_ok = self._nc is not None and self._nc.is_connected
        return {"database": database, "nats": "ok" if nats_ok else "unavailable"}


class HealthReport(BaseModel):
    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unavailable"]
    nats: Literal["ok", "unavailable"]


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
    install_problem_handlers(app)
    document_problem_answers(
        app, [path for path, per_minute in settings.rate_limits.items() if per_minute > 0]
    )
    harden(
        app,
        max_request_bytes=settings.max_request_bytes,
        rate_limits=settings.rate_limits,
        cors_origins=settings.cors_origins,
        production=settings.environment == "production",
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

    if dev_issuer is not None and settings.dev_auth:
        app.include_router(dev_auth_router(dev_issuer))
    for router in routers:
        app.include_router(router)
    app.add_middleware(RequestLog)
    instrument_app(app)
    return app


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
