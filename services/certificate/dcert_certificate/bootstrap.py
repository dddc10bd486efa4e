"""Builds the certificate service from settings: the same wiring for `make run`, tests and production."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from dcert_shared.auth import DevIssuer
from dcert_shared.db import ReadModels
from dcert_shared.ids import china_today
from dcert_shared.runtime import Job, ServiceRuntime, build_app, periodic

from .adapters import cards, death_reports, ecert, read_models, tables
from .api import access_log, agents, applications, certificates, people
from .api import cards as cards_api
from .api import death_reports as death_reports_api
from .api import keys as keys_api
from .api.routes import router
from .api.schemas import ApplicationCreate
from .application.cards import CardCommands
from .application.clocks import ClockJobs
from .application.deaths import DeathReports
from .application.decisions import DecisionCommands
from .application.people import PersonCommands
from .application.reactions import CertificateReactions
from .application.service import CertificateService
from .application.submissions import SubmissionCommands
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
        schema=tables.HISTORY,
        read_models=ReadModels.of(
            read_models.ReadModel.metadata,
            cards.CardReadModel.metadata,
            death_reports.DeathReportReadModel.metadata,
        ),
        projectors=[
            read_models.project,
            read_models.holder_names(settings.identity_hash_key_bytes),
            cards.project,
            death_reports.project,
        ],
    )
    service = CertificateService(runtime, settings, today)
    person_commands = PersonCommands(service)
    clocks = ClockJobs(service)

    async def on_started(started: ServiceRuntime) -> None:
        app.state.signer = await ecert.load_or_create_signer(
            started.pool, settings.ecert_seed_bytes, settings.ecert_previous_public_keys
        )

    app = build_app(
        runtime,
        title="残疾人证 certificate service",
        routers=[
            applications.router,
            certificates.router,
            router,
            cards_api.router,
            keys_api.router,
            people.router,
            access_log.router,
            agents.router,
            death_reports_api.router,
        ],
        dev_issuer=DevIssuer.derived_from(settings.master_key_bytes) if settings.dev_auth else None,
        on_started=on_started,
    )
    app.state.service = service
    app.state.submissions = SubmissionCommands(service)
    app.state.decisions = DecisionCommands(service)
    app.state.people = person_commands
    app.state.clocks = clocks
    app.state.death_reports = DeathReports(service)
    app.state.cards = CardCommands(service)
    runtime.wire(
        on_erasure_reapplied=person_commands.reapply_erasure,
        subscriptions=CertificateReactions(service).subscriptions(),
        # 公示期满 moves results to the reviewer's queue on time; 到期 expires and reminds.
        workers=[
            periodic(settings.notice_check_seconds, "public-notice-clock", clocks.end_due_public_notices),
            periodic(settings.expiry_check_seconds, "expiry-clock", clocks.run_expiry),
            # A guardian's rights end when the child comes of age (unless renewed).
            periodic(settings.expiry_check_seconds, "agency-clock", clocks.end_agencies_run_out),
            # Every process reloads the keys another one rotated: not a singleton.
            Job("e-certificate-keys", keys_api.refresh_keys_worker(app), singleton=False),
        ],
    )
    _document_body_schemas(app, [ApplicationCreate])
    return app


def _document_body_schemas(app: FastAPI, models: list[type[BaseModel]]) -> None:
    """Bodies a route parses itself (to answer every missing item at once) still appear in OpenAPI."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            _, definitions = models_json_schema(
                [(model, "validation") for model in models], ref_template="#/components/schemas/{model}"
            )
            document.setdefault("components", {}).setdefault("schemas", {}).update(
                definitions.get("$defs", {})
            )
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
