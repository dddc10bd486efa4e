"""Writes docs/openapi/<service>.json, each service's OpenAPI document (`python tools/openapi.py`).

The documents are what each service serves at `/openapi.json` in the embedded run (`make run`:
development sign-in on), built from `create_app(...)` without starting a server or touching a
database. The portal serves pages, not a JSON API, and has none.

tests/test_openapi_documents.py fails when a file and the code disagree: run this after changing
a route or a schema and commit both.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from dcert_assessment.bootstrap import create_app as assessment_app
from dcert_assessment.settings import AssessmentSettings
from dcert_benefits.bootstrap import create_app as benefits_app
from dcert_benefits.settings import BenefitsSettings
from dcert_certificate.bootstrap import create_app as certificate_app
from dcert_certificate.settings import CertificateSettings
from dcert_notification.bootstrap import create_app as notification_app
from dcert_notification.settings import NotificationSettings
from dcert_shared.settings import ServiceSettings

DOCUMENTS = Path(__file__).resolve().parents[1] / "docs" / "openapi"
# As `make run` sets them (dcert_dev.supervisor); the servers are never connected to: the app
# is built, not started.
EMBEDDED_RUN: dict[str, Any] = {
    "environment": "embedded",
    "dev_auth": True,
    "auth_jwks_url": "http://127.0.0.1:8001/v1/dev/jwks.json",
    "database_url": "postgresql://unused/unused",
    "nats_url": "nats://127.0.0.1:1",
}

SERVICES: dict[str, tuple[Callable[..., FastAPI], type[ServiceSettings]]] = {
    "certificate": (certificate_app, CertificateSettings),
    "assessment": (assessment_app, AssessmentSettings),
    "benefits": (benefits_app, BenefitsSettings),
    "notification": (notification_app, NotificationSettings),
}


def current_document(service: str) -> dict[str, Any]:
    """The OpenAPI document `service` serves in the embedded run."""
    create_app, settings_class = SERVICES[service]
    settings = settings_class(**EMBEDDED_RUN)
    return create_app(settings).openapi()


def render(document: dict[str, Any]) -> str:
    """Sorted keys and fixed indentation, so that the same code always writes the same bytes."""
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def path_of(service: str) -> Path:
    return DOCUMENTS / f"{service}.json"


if __name__ == "__main__":
    DOCUMENTS.mkdir(parents=True, exist_ok=True)
    for name in SERVICES:
        path_of(name).write_text(render(current_document(name)), encoding="utf-8")
        print(f"wrote {path_of(name)}")
