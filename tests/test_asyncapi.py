"""docs/asyncapi.yaml lists every published event with its schema, and cannot drift from the code."""

from __future__ import annotations

import importlib.util
import uuid
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from dcert_benefits.domain.events import DeathReported
from dcert_shared.broker import Naming
from dcert_shared.envelope import Actor, CommandContext, EventEnvelope
from dcert_shared.erasure import erasure_stream_name

ROOT = Path(__file__).resolve().parents[1]


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("asyncapi_tool", ROOT / "tools" / "asyncapi.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_document_is_what_the_event_classes_generate() -> None:
    tool = generator()
    committed = (ROOT / "docs" / "asyncapi.yaml").read_text(encoding="utf-8")
    assert committed == tool.render(tool.current_document()), (
        "docs/asyncapi.yaml is out of date: run `python tools/asyncapi.py` and commit it"
    )


def test_every_published_event_is_a_message_and_no_private_field_is_in_its_schema() -> None:
    tool = generator()
    document = yaml.safe_load((ROOT / "docs" / "asyncapi.yaml").read_text(encoding="utf-8"))
    assert document["asyncapi"] == "3.0.0"
    messages = document["components"]["messages"]
    schemas = document["components"]["schemas"]
    for module in ("certificate", "assessment", "benefits", "notification"):
        registry = importlib.import_module(f"dcert_{module}.domain.events").registry()
        for event_class in registry.classes:
            name = event_class.event_type
            if not event_class.public:
                assert name not in messages, f"{name} is internal but listed"
                continue
            assert name in messages
            assert f"{module}.{name}" in document["channels"]
            assert document["channels"][f"{module}.{name}"]["address"] == f"{module}.events.{name}"
            assert not set(event_class.private_fields) & set(schemas[name]["properties"]), name
    for schema in schemas.values():
        Draft202012Validator.check_schema(schema)
    assert tool.current_document()["components"]["messages"].keys() == messages.keys()


def test_a_real_published_event_validates_against_its_message_schema() -> None:
    document = yaml.safe_load((ROOT / "docs" / "asyncapi.yaml").read_text(encoding="utf-8"))
    registry: Registry[Any] = Registry().with_resource(
        "urn:dcert:asyncapi", Resource(contents=document, specification=DRAFT202012)
    )
    event = DeathReported(person_ref="ref-1", effective_date=date(2026, 3, 1), fact_id="gaj-1")
    context = CommandContext(actor=Actor(role="partner", subject="public-security"))
    envelope = EventEnvelope.record(event, f"holding-{uuid.uuid4()}", 1, "/dcert/benefits", context)
    body = envelope.to_cloudevent(event.published_data())
    payload_schema = {"$ref": "urn:dcert:asyncapi#/components/messages/DeathReported/payload"}
    validator = Draft202012Validator(payload_schema, registry=registry)
    assert list(validator.iter_errors(body)) == []
    body["data"].pop("fact_id")
    assert list(validator.iter_errors(body)), "a body without a required field must not validate"


def test_a_partners_fact_as_published_on_nats_validates_against_the_intake_message() -> None:
    document = yaml.safe_load((ROOT / "docs" / "asyncapi.yaml").read_text(encoding="utf-8"))
    assert document["channels"]["partners"]["address"] == "partners.events.{partner_id}.{fact_type}"
    assert "death" in document["channels"]["partners"]["parameters"]["fact_type"]["enum"]
    registry: Registry[Any] = Registry().with_resource(
        "urn:dcert:asyncapi", Resource(contents=document, specification=DRAFT202012)
    )
    fact = {"fact_id": "gaj-1", "id_number": "11010519491231002X", "effective_date": "2026-03-01"}
    context = CommandContext(actor=Actor(role="partner", subject="public-security"))
    envelope = EventEnvelope.record(
        DeathReported(person_ref="ref-1", effective_date=date(2026, 3, 1), fact_id="gaj-1"),
        "gaj-2026-1",
        1,
        "/partners/public-security",
        context,
    )
    body = {**envelope.to_cloudevent(fact), "type": f"{uuid.uuid4()}.death"}
    payload_schema = {"$ref": "urn:dcert:asyncapi#/components/messages/PartnerFact/payload"}
    validator = Draft202012Validator(payload_schema, registry=registry)
    assert list(validator.iter_errors(body)) == []
    body["data"] = {**fact, "identity": "not a field of a fact"}
    assert list(validator.iter_errors(body)), "a fact with a field it does not have must not validate"


def test_every_services_dead_letters_and_the_erasure_stream_are_listed() -> None:
    document = yaml.safe_load((ROOT / "docs" / "asyncapi.yaml").read_text(encoding="utf-8"))
    naming = Naming()
    for service in ("certificate", "assessment", "benefits", "notification"):
        channel = document["channels"][f"deadletter.{service}"]
        assert channel["address"] == naming.dead_letter_subject(service, "{consumer}")
        assert naming.dead_letter_stream(service) in channel["description"]
    erased = document["channels"]["certificate.PersonErased"]
    assert erasure_stream_name(naming) in erased["description"]
    assert (
        document["operations"]["reapplyErasures"]["channel"]["$ref"] == "#/channels/certificate.PersonErased"
    )
