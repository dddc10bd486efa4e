"""The services the console works on, each with its own settings read the way the service reads them.

The operator has one database per service. `DCERT_<SERVICE>_DATABASE_URL` names it
(`DCERT_CERTIFICATE_DATABASE_URL`, ...); without it, `DATABASE_URL` is taken as the database
server and the service's database is `dcert_<service>` on it, as `make run` lays them out. The
broker is `NATS_URL` (the `operator` user). Every other setting is the service's own `DCERT_*`
(the master keys, the identity hash key, the NATS prefix...). docs/operations.md.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
from fastapi import FastAPI
from pydantic import ValidationError

from dcert_assessment.bootstrap import create_app as assessment_app
from dcert_assessment.settings import AssessmentSettings
from dcert_benefits.bootstrap import create_app as benefits_app
from dcert_benefits.settings import BenefitsSettings
from dcert_certificate.bootstrap import create_app as certificate_app
from dcert_certificate.settings import CertificateSettings
from dcert_notification.bootstrap import create_app as notification_app
from dcert_notification.settings import NotificationSettings
from dcert_shared.runtime import ServiceRuntime
from dcert_shared.settings import ServiceSettings

from .texts import refuse

# Not a service's own: the console connects as the broker's operator.
_CONSOLE_NATS_URL: Final = "nats://127.0.0.1:4222"


@dataclass(frozen=True)
class Target:
    """One service: its settings class, its wiring, and where `make run` serves it."""

    name: str
    settings_class: type[ServiceSettings]
    create_app: Callable[[ServiceSettings], FastAPI]
    port: int
    project: str

    @property
    def database_variable(self) -> str:
        return f"DCERT_{self.name.upper()}_DATABASE_URL"

    def database_url(self) -> str:
        if url := os.environ.get(self.database_variable):
            return url
        if server := os.environ.get("DATABASE_URL"):
            parts = urlsplit(server)
            return urlunsplit(parts._replace(path="/" + quote(f"dcert_{self.name}", safe="")))
        raise refuse("no_database_url", service=self.name, variable=self.database_variable)

    def settings(self) -> ServiceSettings:
        try:
            return self.settings_class(
                service_name=self.name,
                database_url=self.database_url(),
                nats_url=os.environ.get("NATS_URL") or _CONSOLE_NATS_URL,
                # The services' own log lines are for their logs, not the operator's screen.
                log_level=os.environ.get("DCERT_CONSOLE_LOG_LEVEL", "ERROR"),
            )
        except ValidationError as invalid:
            problem = "; ".join(str(error["msg"]) for error in invalid.errors())
            raise refuse("settings_invalid", service=self.name, problem=problem) from None

    @property
    def base_url(self) -> str:
        variable = f"DCERT_{self.name.upper()}_URL"
        return os.environ.get(variable) or f"http://127.0.0.1:{self.port}"


def _wiring(create: Callable[..., FastAPI]) -> Callable[[ServiceSettings], FastAPI]:
    def wired(settings: ServiceSettings) -> FastAPI:
        return create(settings)

    return wired


TARGETS: Final = {
    target.name: target
    for target in (
        Target("certificate", CertificateSettings, _wiring(certificate_app), 8001, "dcert-certificate"),
        Target("assessment", AssessmentSettings, _wiring(assessment_app), 8002, "dcert-assessment"),
        Target("benefits", BenefitsSettings, _wiring(benefits_app), 8003, "dcert-benefits"),
        Target("notification", NotificationSettings, _wiring(notification_app), 8004, "dcert-notification"),
    )
}


def target(name: str) -> Target:
    found = TARGETS.get(name)
    if found is None:
        raise refuse("unknown_service", service=name, choices=", ".join(TARGETS))
    return found


@asynccontextmanager
async def opened(target: Target) -> AsyncIterator[FastAPI]:
    """The service's own wiring on its database, without HTTP or NATS: what the console records
    leaves through the outbox when the service's relay runs."""
    app = target.create_app(target.settings())
    runtime: ServiceRuntime = app.state.runtime
    try:
        await runtime.open_store()
    except (OSError, asyncpg.PostgresError) as error:
        raise refuse("database_unreachable", service=target.name, error=type(error).__name__) from None
    try:
        yield app
    finally:
        await runtime.pool.close()
