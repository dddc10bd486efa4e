"""`dcert dead-letters`: the dead letters of every consumer of every service, listed and replayed
in order, and the notification service's dead webhook deliveries.

A consumer's dead letter holds its person's lane (dcert_shared.consumer): replaying it hands the
event to the handler again, here, and the running service then drains the lane's later events
in order. Rows show ids, types, error type names and times: never a payload.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Annotated

import typer
from nats.aio.client import Client as NATS
from rich.table import Table

from dcert_notification.adapters import deliveries as webhook_deliveries
from dcert_notification.adapters import queries as webhook_queries
from dcert_notification.adapters.deliveries import DeliveryFilter
from dcert_shared.broker import connect
from dcert_shared.consumer import EventConsumer
from dcert_shared.erasure import ERASING_CONTEXT, PERSON_ERASED, erasure_subscription
from dcert_shared.runtime import ServiceRuntime

from .targets import TARGETS, Target, opened, target
from .texts import YES_HELP, ask, refuse, run, say, screen

app = typer.Typer(help="Dead letters of every consumer (and of webhooks): list, replay in order.")


@dataclass(frozen=True)
class DeadLetter:
    id: int
    consumer: str
    event_type: str | None
    error: str
    deliveries: int
    failed_at: datetime


async def open_dead_letters(runtime: ServiceRuntime, consumer: str | None = None) -> list[DeadLetter]:
    """Open dead letters in the order they died (the order they are replayed in)."""
    rows = await runtime.pool.fetch(
        "SELECT id, consumer, event_type, error, deliveries, failed_at FROM dead_letters"
        " WHERE replayed_at IS NULL AND discarded_at IS NULL AND ($1::text IS NULL OR consumer = $1)"
        " ORDER BY id",
        consumer,
    )
    return [DeadLetter(**dict(row)) for row in rows]


def _table(service: str, letters: list[DeadLetter]) -> Table:
    table = Table(title=f"{say('dead.title')}: {service}")
    for column in ("dead.id", "dead.consumer", "dead.event_type", "dead.error", "dead.tries", "dead.when"):
        table.add_column(say(column))
    for letter in letters:
        table.add_row(
            str(letter.id),
            letter.consumer,
            letter.event_type or "-",
            letter.error,
            str(letter.deliveries),
            letter.failed_at.isoformat(timespec="seconds"),
        )
    return table


ServiceOption = Annotated[str | None, typer.Option("--service", help="one service (default: every one)")]


@app.command("list")
def list_dead_letters(service: ServiceOption = None) -> None:
    """The open dead letters of every consumer, by service."""
    run(lambda: _list(service))


async def _list(service: str | None) -> None:
    targets = [target(service)] if service else list(TARGETS.values())
    console = screen()
    for each in targets:
        async with opened(each) as service_app:
            letters = await open_dead_letters(service_app.state.runtime)
        if letters:
            console.print(_table(each.name, letters))
        else:
            console.print(say("dead.none", service=each.name))


@app.command("replay")
def replay(
    service: Annotated[str, typer.Argument(help="certificate | assessment | benefits | notification")],
    consumer: Annotated[str | None, typer.Option(help="only this consumer's (its durable name)")] = None,
    dead_letter_ids: Annotated[
        list[int] | None, typer.Option("--id", help="only these dead letters (repeatable)")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help=YES_HELP)] = False,
) -> None:
    """Replay open dead letters, oldest first; the first that fails again stops the replay, so
    none is handled before one it may depend on."""
    run(lambda: _replay(target(service), consumer, set(dead_letter_ids or ()), yes))


async def _replay(service: Target, consumer: str | None, ids: set[int], yes: bool) -> None:
    async with opened(service) as service_app:
        runtime: ServiceRuntime = service_app.state.runtime
        letters = [
            letter for letter in await open_dead_letters(runtime, consumer) if not ids or letter.id in ids
        ]
        if not letters:
            raise refuse("dead.nothing_matches", service=service.name)
        ask(say("dead.plan", service=service.name, count=len(letters)), yes)
        async with _consumers(runtime) as consumers:
            for letter in letters:
                reacting = consumers.get(letter.consumer)
                if reacting is None:  # a consumer of an earlier version: nothing handles it now
                    raise refuse(
                        "dead.failed", id=letter.id, consumer=letter.consumer, error="no such consumer"
                    )
                try:
                    handled = await reacting.replay_dead_letter(letter.id)
                except Exception as error:
                    raise refuse(
                        "dead.failed", id=letter.id, consumer=letter.consumer, error=type(error).__name__
                    ) from None
                outcome = say("dead.handled" if handled else "dead.had_been_handled")
                typer.echo(say("dead.replayed", id=letter.id, consumer=letter.consumer, outcome=outcome))


@contextlib.asynccontextmanager
async def _consumers(runtime: ServiceRuntime) -> AsyncIterator[dict[str, EventConsumer]]:
    """The service's consumers by durable name, as its runtime makes them (the erasure's too)."""
    settings = runtime.settings
    subscriptions = list(runtime.subscriptions)
    if runtime.context != ERASING_CONTEXT and not any(
        s.event_types == [PERSON_ERASED] for s in subscriptions
    ):
        subscriptions.append(erasure_subscription(runtime.vault))
    try:
        nc: NATS = await connect(
            settings.nats_url,
            f"{settings.service_name}-console",
            connect_timeout_seconds=5,
            ca_file=settings.nats_ca_file,
        )
    except Exception as error:
        raise refuse("broker_unreachable", error=type(error).__name__) from None
    try:
        js = nc.jetstream()
        consumers = [
            EventConsumer(
                runtime.es, js, runtime.naming, settings.service_name, subscription, runtime.redelivery
            )
            for subscription in subscriptions
        ]
        yield {consumer.durable: consumer for consumer in consumers}
    finally:
        await nc.close()


# -- webhooks -----------------------------------------------------------------------------------


def _webhook_filter(
    ids: list[str] | None,
    partner: str | None,
    subscription: str | None,
    event_type: str | None,
    since: datetime | None,
    until: datetime | None,
) -> DeliveryFilter:
    return DeliveryFilter(
        ids=tuple(ids) if ids else None,
        partner_id=partner,
        subscription_id=subscription,
        event_type=event_type,
        status="dead",
        since=since,
        until=until,
    )


IdsOption = Annotated[list[str] | None, typer.Option("--id", help="a webhook-id (repeatable)")]
PartnerOption = Annotated[str | None, typer.Option(help="a partner id")]
SubscriptionOption = Annotated[str | None, typer.Option(help="a subscription id")]
EventTypeOption = Annotated[str | None, typer.Option(help="an event type")]
SinceOption = Annotated[datetime | None, typer.Option(help="queued at or after (ISO 8601)")]
UntilOption = Annotated[datetime | None, typer.Option(help="queued before (ISO 8601)")]


@app.command("webhooks")
def list_webhooks(
    ids: IdsOption = None,
    partner: PartnerOption = None,
    subscription: SubscriptionOption = None,
    event_type: EventTypeOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[int, typer.Option(min=1)] = 200,
) -> None:
    """Webhook deliveries given up after the last try, newest first (ids, type, tries, last
    status and error: never a body or URL)."""
    which = _webhook_filter(ids, partner, subscription, event_type, since, until)
    run(lambda: _list_webhooks(which, limit))


async def _list_webhooks(which: DeliveryFilter, limit: int) -> None:
    async with opened(target("notification")) as service_app:
        entries = await webhook_queries.deliveries(service_app.state.runtime.pool, which, limit)
    table = Table(title=say("dead.title") + ": webhooks")
    columns = (
        "id",
        "partner_id",
        "subscription_id",
        "event_type",
        "attempts",
        "last_status_code",
        "last_error",
    )
    for column in (*columns, "created_at"):
        table.add_column(column)
    for entry in entries:
        values = asdict(entry)
        table.add_row(
            *(str(values[column]) for column in columns), entry.created_at.isoformat(timespec="seconds")
        )
    screen().print(table)


@app.command("replay-webhooks")
def replay_webhooks(
    ids: IdsOption = None,
    partner: PartnerOption = None,
    subscription: SubscriptionOption = None,
    event_type: EventTypeOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    yes: Annotated[bool, typer.Option("--yes", help=YES_HELP)] = False,
) -> None:
    """Queue dead webhook deliveries again: the running notification service sends them in
    their original order with their original webhook-id."""
    which = _webhook_filter(ids, partner, subscription, event_type, since, until)
    run(lambda: _replay_webhooks(which, yes))


async def _replay_webhooks(which: DeliveryFilter, yes: bool) -> None:
    if which == DeliveryFilter(status="dead"):
        raise refuse("dead.webhooks_need_criterion")
    async with opened(target("notification")) as service_app:
        pool = service_app.state.runtime.pool
        matching = len(await webhook_queries.deliveries(pool, which, 1_000_000))
        if not matching:
            raise refuse("dead.nothing_matches", service="notification")
        ask(say("dead.webhooks_plan", count=matching), yes)
        typer.echo(say("dead.webhooks_replayed", count=await webhook_deliveries.replay(pool, which)))
