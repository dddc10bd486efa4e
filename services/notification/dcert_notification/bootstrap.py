"""Builds the notification service from settings: the same wiring for `make run`, tests and production."""

from __future__ import annotations

from fastapi import FastAPI

from dcert_shared.db import ReadModels
from dcert_shared.runtime import ServiceRuntime, build_app

from .adapters import read_models, tables
from .api import people
from .api.routes import router
from .api.webhooks import webhooks
from .application.commands import NotificationCommands
from .application.delivering import deliver_webhooks
from .application.notices import channels_of, notice_sender
from .application.reactions import NotificationReactions
from .domain.events import registry
from .domain.notices import NoticeRules
from .settings import NotificationSettings


def create_app(settings: NotificationSettings | None = None) -> FastAPI:
    settings = settings or NotificationSettings()  # type: ignore[call-arg]
    runtime = ServiceRuntime(
        settings,
        context="notification",
        registry=registry(),
        schema=tables.HISTORY,
        read_models=ReadModels.of(read_models.ReadModel.metadata),
        projectors=[read_models.project],
    )
    channels = channels_of(settings)
    rules = NoticeRules(settings.working_calendar(), settings.dispute_working_days)
    reactions = NotificationReactions(rules, runtime.vault, list(channels))
    runtime.wire(
        subscriptions=reactions.subscriptions(),
        workers=[deliver_webhooks, notice_sender(channels)],
    )
    app = build_app(
        runtime,
        title="残疾人证 notification service",
        routers=[router, people.router],
    )
    app.webhooks.include_router(webhooks)
    app.state.commands = NotificationCommands(runtime, settings.allow_private_targets)
    return app
