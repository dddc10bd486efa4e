"""`dcert prune`: what each service prunes hourly by itself (dcert_shared.pruning), now: before a
backup, or after raising a retention. The events are never pruned."""

from __future__ import annotations

from typing import Annotated

import typer

from dcert_shared.broker import connect
from dcert_shared.pruning import prune as prune_service
from dcert_shared.runtime import ServiceRuntime

from .targets import TARGETS, Target, opened, target
from .texts import YES_HELP, ask, refuse, run, say


def prune(
    service: Annotated[str | None, typer.Option("--service", help="one service (default: every one)")] = None,
    yes: Annotated[bool, typer.Option("--yes", help=YES_HELP)] = False,
) -> None:
    """Remove what each service keeps only for a while and no longer needs (outbox rows and
    stream messages every consumer acknowledged, old inbox ids, idempotency keys, dead letters
    replayed or discarded long ago), by the service's retention settings."""
    run(lambda: _prune([target(service)] if service else list(TARGETS.values()), yes))


async def _prune(services: list[Target], yes: bool) -> None:
    for service in services:
        async with opened(service) as service_app:
            ask(say("prune.plan", service=service.name), yes)
            await _prune_one(service, service_app.state.runtime)


async def _prune_one(service: Target, runtime: ServiceRuntime) -> None:
    settings = runtime.settings
    try:
        nc = await connect(
            settings.nats_url, "dcert-console", connect_timeout_seconds=5, ca_file=settings.nats_ca_file
        )
    except Exception as error:
        raise refuse("broker_unreachable", error=type(error).__name__) from None
    try:
        stream = runtime.naming.event_stream(runtime.context)
        removed = await prune_service(runtime.pool, nc.jetstream(), stream, settings.retention())
    finally:
        await nc.close()
    removed = {what: count for what, count in removed.items() if count}
    if not removed:
        typer.echo(say("prune.nothing", service=service.name))
    for what, count in removed.items():
        typer.echo(say("prune.removed", service=service.name, what=what, count=count))
