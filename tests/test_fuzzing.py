"""Fuzzing (issue 8): schemathesis sends each operation of every service's OpenAPI document
inputs drawn from its schema, valid and invalid, as admin and as the roles the service serves;
no answer may be a server error or differ from what the document declares (status code,
content type, body schema).

The services run as real processes of their own, on databases of their own: the fuzzer registers
institutions, doctors and partners at random, which the end-to-end flows must not meet.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dcert_assessment.bootstrap import create_app as assessment_app
from dcert_assessment.settings import AssessmentSettings
from dcert_benefits.bootstrap import create_app as benefits_app
from dcert_benefits.settings import BenefitsSettings
from dcert_certificate.bootstrap import create_app as certificate_app
from dcert_certificate.settings import CertificateSettings
from dcert_notification.bootstrap import create_app as notification_app
from dcert_notification.settings import NotificationSettings

from .system import System, created, new_person

REGION = "330502"
SETTINGS: dict[str, Any] = {
    "database_url": "postgresql://unused/unused",
    "nats_url": "nats://unused:4222",
    "environment": "test",
    "dev_auth": True,
}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Bounded for `make test`: a few seconds per service on two cores, the same cases on every run.
CONFIG: dict[str, Any] = {
    "seed": 8,
    "generation": {"max-examples": 12, "deterministic": True, "no-shrink": True, "database": "none"},
    "phases": {"coverage": {"generation": {"mode": "positive"}}, "stateful": {"enabled": False}},
}


def _documents() -> dict[str, dict[str, Any]]:
    """Each service's OpenAPI document, built as the fuzzed processes build it (test settings,
    development sign-in) without connecting anywhere: pytest collects one test per operation."""
    apps = {
        "certificate": certificate_app(CertificateSettings(**SETTINGS)),
        "assessment": assessment_app(AssessmentSettings(**SETTINGS)),
        "benefits": benefits_app(BenefitsSettings(**SETTINGS)),
        "notification": notification_app(NotificationSettings(**SETTINGS)),
    }
    return {service: app.openapi() for service, app in apps.items()}


DOCUMENTS = _documents()
SERVICE_BY_TITLE = {document["info"]["title"]: service for service, document in DOCUMENTS.items()}


@dataclass
class Callers:
    """Each service's callers (tokens). A case goes to them in turn, starting with the next one
    each time, until one of them is admitted: each role has its share of the cases it may send."""

    tokens: dict[str, list[str]]
    turns: Iterator[int] = field(default_factory=itertools.count)

    def in_turn(self, service: str) -> list[str]:
        tokens = self.tokens[service]
        first = next(self.turns) % len(tokens)
        return tokens[first:] + tokens[:first]


@pytest.fixture(scope="module")
def callers(fuzzed_system: System) -> Callers:
    """Per service: an admin's token and those of the roles it serves, each with a real record
    behind it where one is needed, so that role-scoped operations are fuzzed past 403."""
    system = fuzzed_system
    admin = system.token("admin", "fuzz-admin")
    hospital = {"name": "吴兴区人民医院", "region": REGION, "categories": ["physical"]}
    doctor = {
        "name": "李医生",
        "institution_id": created(system, "assessment", "/v1/institutions", hospital, admin),
        "license_no": "LIC-FUZZ-1",
        "categories": ["physical"],
    }
    civil_affairs = {
        "name": "民政局",
        "policy": {"event_types": ["CertificateIssued"], "fields": ["category"], "facts": ["death"]},
    }
    doctor_id = created(system, "assessment", "/v1/doctors", doctor, admin)
    partner_id = created(system, "notification", "/v1/partners", civil_affairs, admin)
    applicant = system.token("applicant", "fuzz-applicant", id_number=new_person())
    partner = system.token("partner", "fuzz-partner", partner_id=partner_id)
    return Callers(
        {
            "certificate": [admin, applicant, system.token("reviewer", "fuzz-reviewer", region=REGION)],
            "assessment": [admin, system.token("doctor", "fuzz-doctor", doctor_id=doctor_id)],
            "benefits": [admin, partner, applicant],
            "notification": [admin, partner, applicant],
        }
    )


def served_document(system: System, service: str) -> dict[str, Any]:
    answer = system.call(service, "GET", "/openapi.json")
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


def test_the_fuzzed_documents_are_the_ones_the_services_serve(fuzzed_system: System) -> None:
    for service, document in DOCUMENTS.items():
        assert served_document(fuzzed_system, service) == document, service


@schemathesis.pytest.parametrize(
    **{
        service: schemathesis.openapi.from_dict(document, config=SchemathesisConfig.from_dict(CONFIG))
        for service, document in DOCUMENTS.items()
    }
)
def test_no_answer_is_a_server_error_or_off_the_documented_schema(
    case: Case, fuzzed_system: System, callers: Callers
) -> None:
    service = SERVICE_BY_TITLE[case.operation.schema.raw_schema["info"]["title"]]
    for token in callers.in_turn(service):
        answer = case.call_and_validate(
            base_url=fuzzed_system.url(service, ""),
            headers={"Authorization": f"Bearer {token}"},
            checks=CHECKS,
            timeout=15,
        )
        if answer.status_code != 403:  # a role the operation admits has had the case
            break
