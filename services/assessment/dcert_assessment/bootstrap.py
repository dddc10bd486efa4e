"""Builds the assessment service from settings: the same wiring for `make run`, tests and production."""

from __future__ import annotations

from fastapi import FastAPI

from dcert_shared.consumer import Subscription
from dcert_shared.db import ReadModels
from dcert_shared.runtime import ServiceRuntime, build_app

from .adapters import read_models
from .api.routes import router
from .application.commands import AssessmentCommands
from .application.reactions import on_application_ended, on_assessment_requested
from .domain.events import registry
from .settings import AssessmentSettings


def create_app(settings: AssessmentSettings | None = None) -> FastAPI:
    settings = settings or AssessmentSettings()  # type: ignore[call-arg]
    runtime = ServiceRuntime(
        settings,
        context="assessment",
        registry=registry(),
        read_models=ReadModels.of(read_models.ReadModel.metadata),
        projectors=[read_models.project],
        subscriptions=[
            Subscription(
                "assessment-requested", "certificate", ["AssessmentRequested"], on_assessment_requested
            ),
            Subscription(
                "applications-ended",
                "certificate",
                ["ApplicationWithdrawn", "ApplicationRejected"],
                on_application_ended,
            ),
        ],
    )
    app = build_app(
        runtime,
        title="残疾人证 assessment service",
        routers=[router],
    )
    app.state.commands = AssessmentCommands(runtime)
    return app
