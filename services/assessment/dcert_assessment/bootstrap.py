"""Builds the assessment service from settings: the same wiring for `make run`, tests and production."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from fastapi import FastAPI

from dcert_shared.db import ReadModels
from dcert_shared.ids import china_today
from dcert_shared.runtime import ServiceRuntime, build_app, periodic

from .adapters import read_models, tables
from .api.routes import router
from .application.assignment import Deadline
from .application.commands import AssessmentCommands
from .application.reactions import AssessmentReactions
from .domain.events import registry
from .settings import AssessmentSettings


def create_app(
    settings: AssessmentSettings | None = None, today: Callable[[], date] = china_today
) -> FastAPI:
    settings = settings or AssessmentSettings()  # type: ignore[call-arg]
    deadline = Deadline(settings.working_calendar(), settings.assessment_working_days, today)
    runtime = ServiceRuntime(
        settings,
        context="assessment",
        registry=registry(),
        schema=tables.HISTORY,
        read_models=ReadModels.of(read_models.ReadModel.metadata),
        projectors=[read_models.project],
    )
    commands = AssessmentCommands(runtime, deadline, settings)
    reactions = AssessmentReactions(deadline)
    runtime.wire(
        subscriptions=reactions.subscriptions(),
        # 资质到期: lapsed institutions stop assessing and their open assessments move.
        workers=[
            periodic(
                settings.accreditation_check_seconds, "accreditation-check", commands.lapse_accreditations
            )
        ],
    )
    app = build_app(
        runtime,
        title="残疾人证 assessment service",
        routers=[router],
    )
    app.state.commands = commands
    return app
