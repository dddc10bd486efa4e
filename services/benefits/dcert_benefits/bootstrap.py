"""Builds the benefits service from settings: the same wiring for `make run`, tests and production."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from fastapi import FastAPI

from dcert_shared.ids import china_today
from dcert_shared.runtime import ServiceRuntime, build_app

from .adapters import access_log, read_models
from .adapters.policy_files import load_catalogue
from .api import handoffs, reports
from .api.routes import router
from .application.commands import BenefitsCommands
from .application.reactions import PARTNERS, subscriptions
from .domain.events import registry
from .settings import BenefitsSettings


def create_app(settings: BenefitsSettings | None = None, today: Callable[[], date] = china_today) -> FastAPI:
    settings = settings or BenefitsSettings()  # type: ignore[call-arg]
    catalogue = load_catalogue(settings.policies_dir)  # a broken policy file stops the start here
    runtime = ServiceRuntime(
        settings,
        context="benefits",
        registry=registry(),
        schema=[*read_models.SCHEMA, *access_log.SCHEMA],
        projectors=[read_models.project],
        subscriptions=subscriptions(catalogue, settings.working_calendar(), settings.identity_hash_key_bytes),
        intake_contexts=[PARTNERS],
    )
    app = build_app(
        runtime,
        title="残疾人证 benefits service",
        routers=[router, handoffs.router, reports.router],
    )
    app.state.commands = BenefitsCommands(runtime, settings, catalogue, today)
    app.state.catalogue = catalogue
    return app
