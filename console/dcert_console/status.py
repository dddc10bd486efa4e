"""`dcert status`: each service at a glance, from its HTTP health, its database and the broker.

Health is `/health/ready` at `DCERT_<SERVICE>_URL` (default: `make run`'s port on 127.0.0.1);
relay lag is the outbox rows the relay has not published yet; consumer lag what the broker
holds for the service's durable consumers (not delivered, or not acknowledged); then the open
dead letters and the oldest event parked behind a failure. A part that does not answer is
shown as such: status itself never fails for it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version

import httpx
import typer
from nats.js.errors import NotFoundError
from rich.table import Table

from dcert_shared.broker import connect
from dcert_shared.runtime import ServiceRuntime

from .targets import TARGETS, Target, opened
from .texts import Refused, run, say, screen


@dataclass(frozen=True)
class DatabaseFigures:
    relay_lag: int
    dead_letters: int
    oldest_parked: datetime | None


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    version: str
    health: str
    database: DatabaseFigures | str
    consumer_lag: int | str


async def database_figures(runtime: ServiceRuntime) -> DatabaseFigures:
    async with runtime.pool.acquire() as conn:
        relay_lag = await conn.fetchval(
            "SELECT count(*) FROM outbox o LEFT JOIN checkpoints c ON c.name = 'outbox-relay'"
            " WHERE c.name IS NULL OR (o.transaction_id, o.position) > (c.transaction_id, c.position)"
        )
        dead_letters = await conn.fetchval(
            "SELECT count(*) FROM dead_letters WHERE replayed_at IS NULL AND discarded_at IS NULL"
        )
        oldest_parked = await conn.fetchval("SELECT min(parked_at) FROM parked_events")
    return DatabaseFigures(relay_lag, dead_letters, oldest_parked)


async def consumer_lag(runtime: ServiceRuntime) -> int:
    """Messages the broker holds for the service's durable consumers."""
    settings = runtime.settings
    nc = await connect(
        settings.nats_url, "dcert-console", connect_timeout_seconds=3, ca_file=settings.nats_ca_file
    )
    try:
        js = nc.jetstream(timeout=5)
        durables = {runtime.naming.durable(settings.service_name, s.name) for s in runtime.subscriptions}
        lag = 0
        for stream in {runtime.naming.event_stream(s.source_context) for s in runtime.subscriptions}:
            with contextlib.suppress(NotFoundError):  # a stream its publisher has not made yet
                for info in await js.consumers_info(stream):
                    if info.name in durables:
                        lag += int(info.num_pending or 0) + int(info.num_ack_pending or 0)
        return lag
    finally:
        await nc.close()


async def health(service: Target) -> str:
    try:
        async with httpx.AsyncClient(timeout=3) as client:
            answer = await client.get(f"{service.base_url}/health/ready")
        return str(answer.json().get("status", answer.status_code))
    except (httpx.HTTPError, ValueError):
        return say("status.unreachable")


async def status_of(service: Target) -> ServiceStatus:
    try:
        installed = version(service.project)
    except PackageNotFoundError:
        installed = "-"
    answer = await health(service)
    try:
        async with opened(service) as service_app:
            runtime: ServiceRuntime = service_app.state.runtime
            figures: DatabaseFigures | str = await database_figures(runtime)
            lag: int | str
            try:
                lag = await consumer_lag(runtime)
            except Exception as error:  # the broker away: said, not fatal
                lag = f"{say('status.unreachable')} ({type(error).__name__})"
    except Refused as refusal:
        figures, lag = str(refusal), "-"
    return ServiceStatus(service.name, installed, answer, figures, lag)


def status() -> None:
    """Each service: version, health, relay and consumer lag, dead letters, oldest unhandled event."""
    run(lambda: _status())


async def _status() -> None:
    table = Table(title=say("status.title"))
    for column in (
        "status.service",
        "status.version",
        "status.health",
        "status.relay_lag",
        "status.consumer_lag",
        "status.dead_letters",
        "status.oldest_parked",
    ):
        table.add_column(say(column))
    problems = []
    for service in TARGETS.values():
        found = await status_of(service)
        if isinstance(found.database, str):
            problems.append(found.database)
            table.add_row(found.name, found.version, found.health, "-", str(found.consumer_lag), "-", "-")
            continue
        figures = found.database
        oldest = figures.oldest_parked.isoformat(timespec="seconds") if figures.oldest_parked else "-"
        table.add_row(
            found.name,
            found.version,
            found.health,
            str(figures.relay_lag),
            str(found.consumer_lag),
            str(figures.dead_letters),
            oldest,
        )
    console = screen()
    console.print(table)
    for problem in problems:
        typer.echo(problem, err=True)
