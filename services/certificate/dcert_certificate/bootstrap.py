"""Builds the certificate service from settings: the same wiring for `make run`, tests and production."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date

from fastapi import FastAPI

from dcert_shared.auth import DevIssuer
from dcert_shared.consumer import Subscription
from dcert_shared.envelope import Actor
from dcert_shared.ids import china_today
from dcert_shared.runtime import ServiceRuntime, build_app
from dcert_shared.telemetry import command_context

from .adapters import cards, ecert, read_models
from .api import cards as cards_api
from .api import keys as keys_api
from .api.routes import router
from .application.commands import CertificateCommands
from .domain.events import registry
from .settings import CertificateSettings

log = logging.getLogger(__name__)


def create_app(
    settings: CertificateSettings | None = None, today: Callable[[], date] = china_today
) -> FastAPI:
    settings = settings or CertificateSettings()  # type: ignore[call-arg]
    runtime = ServiceRuntime(
        settings,
        context="certificate",
        registry=registry(),
        schema=[*read_models.SCHEMA, *cards.SCHEMA, *ecert.SCHEMA],
        projectors=[read_models.project, cards.project],
    )
    commands = CertificateCommands(runtime, settings, today)
    runtime.subscriptions = [
        Subscription(
            "assessment-scheduled", "assessment", ["AssessmentScheduled"], commands.on_assessment_scheduled
        ),
        Subscription("grade-recorded", "assessment", ["GradeRecorded"], commands.on_grade_recorded),
        Subscription("death-reported", "benefits", ["DeathReported"], commands.on_death_reported),
    ]

    async def public_notice_clock(runtime: ServiceRuntime, stopping: asyncio.Event) -> None:
        """公示期满: end due public notices, so results reach the reviewer's queue on time."""
        context = command_context(Actor(role="service", subject="public-notice-clock"))
        while not stopping.is_set():
            try:
                ended = await commands.end_due_public_notices(context)
                if ended:
                    log.info("public notice ended for %d applications", ended)
            except Exception:
                log.exception("public notice clock failed; trying again")
            try:
                await asyncio.wait_for(stopping.wait(), settings.notice_check_seconds)
            except TimeoutError:
                pass

    runtime.workers = [public_notice_clock]

    async def on_started(started: ServiceRuntime) -> None:
        app.state.signer = await ecert.load_or_create_signer(started.pool, settings.ecert_seed_bytes)

    app = build_app(
        runtime,
        title="残疾人证 certificate service",
        routers=[router, cards_api.router, keys_api.router],
        dev_issuer=DevIssuer() if settings.dev_auth else None,
        on_started=on_started,
    )
    app.state.commands = commands
    return app
