"""Builds the benefits service from settings: the same wiring for `make run`, tests and production."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from fastapi import FastAPI

from dcert_shared.envelope import CommandContext
from dcert_shared.ids import china_today
from dcert_shared.runtime import ServiceRuntime, build_app, periodic

from .adapters import access_log, read_models
from .adapters.policy_files import load_catalogue
from .api import handoffs, jobs, reports
from .api.routes import router
from .application import policy_effects
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
        schema=[*read_models.SCHEMA, *access_log.SCHEMA, *policy_effects.SCHEMA],
        projectors=[read_models.project],
        subscriptions=subscriptions(catalogue, settings.working_calendar(), settings.identity_hash_key_bytes),
        intake_contexts=[PARTNERS],
    )
    app = build_app(
        runtime,
        title="残疾人证 benefits service",
        routers=[router, handoffs.router, reports.router, jobs.router],
    )
    commands = BenefitsCommands(runtime, settings, catalogue, today)
    app.state.commands = commands

    async def apply_policy_effects(context: CommandContext) -> dict[str, int]:
        return await policy_effects.apply_policy_effects(runtime, catalogue, today(), context)

    runtime.workers.append(periodic(settings.policy_effects_seconds, "policy-effects", apply_policy_effects))
    app.state.catalogue = catalogue
    return app
