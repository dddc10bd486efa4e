"""Builds the benefits service from settings: the same wiring for `make run`, tests and production."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from fastapi import FastAPI

from dcert_shared.envelope import Actor, CommandContext
from dcert_shared.ids import china_today
from dcert_shared.runtime import ServiceRuntime, build_app, periodic
from dcert_shared.telemetry import command_context

from .adapters import read_models, tables
from .adapters.policy_files import load_catalogue
from .api import handoffs, jobs, policies, reports
from .api import runs as runs_api
from .api.routes import router
from .application import runs
from .application.commands import BenefitsCommands
from .application.policy_versions import PolicyVersions
from .application.reactions import PARTNERS, BenefitsReactions
from .domain.events import registry
from .domain.policies import Catalogue
from .settings import BenefitsSettings


def create_app(settings: BenefitsSettings | None = None, today: Callable[[], date] = china_today) -> FastAPI:
    settings = settings or BenefitsSettings()  # type: ignore[call-arg]
    shipped = load_catalogue(settings.policies_dir)  # a broken policy file stops the start here
    catalogue = Catalogue(shipped.policy(code) for code in shipped.codes)  # kept at the newest versions
    runtime = ServiceRuntime(
        settings,
        context="benefits",
        registry=registry(),
        schema=tables.HISTORY,
        projectors=[read_models.project],
        read_models=read_models.READ_MODELS,
        intake_contexts=[PARTNERS],
    )
    versions = PolicyVersions(runtime, catalogue)

    async def keep_policies_current(context: CommandContext) -> dict[str, int]:
        return await versions.keep_current(context)

    reactions = BenefitsReactions(catalogue, settings.working_calendar(), settings.identity_hash_key_bytes)
    runtime.wire(
        subscriptions=reactions.subscriptions(),
        workers=[periodic(settings.policy_effects_seconds, "policies", keep_policies_current)],
    )

    async def record_shipped_policies(started: ServiceRuntime) -> None:
        context = command_context(Actor(role="service", subject="policy-files"))
        await versions.record_files(context, shipped)
        await versions.keep_current(context)  # the rules of a new file apply at once

    app = build_app(
        runtime,
        title="残疾人证 benefits service",
        routers=[router, handoffs.router, reports.router, jobs.router, policies.router, runs_api.router],
        on_started=record_shipped_policies,
    )
    app.state.commands = BenefitsCommands(runtime, settings, catalogue, today)
    app.state.policy_versions = versions
    app.state.catalogue = catalogue

    # A run first applies the rule changes due today, so no month is paid by an old rule.
    app.state.runs = runs.MonthlyRuns(
        lambda: runtime.es, today, keep_policies_current, settings.run_batch_size
    )
    return app
