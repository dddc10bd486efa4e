"""The AsyncAPI 3 catalogue of every published event, made from the event classes themselves.

Each service's `EventRegistry` lists its event classes; every class with `public = True` is a
message on the subject `<context>.events.<type>` (of the JetStream stream `<CONTEXT>_EVENTS`),
a CloudEvents 1.0 structured JSON body whose `data` is the class's JSON Schema without its
`private_fields`. Beside the events: the intake where partner agencies publish facts, each
service's dead-letter subjects, and the stream that keeps every erasure. `docs/asyncapi.yaml` is
this function's output (tools/asyncapi.py writes it; a test fails when it drifts from the code).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from .broker import Naming
from .broker_permissions import PARTNERS, SERVICES
from .envelope import CLOUDEVENTS_SPEC_VERSION, DomainEvent, EventRegistry
from .erasure import ERASING_CONTEXT, PERSON_ERASED, erasure_stream_name

SCHEMAS = "#/components/schemas/"

_CLOUDEVENT: dict[str, Any] = {
    "type": "object",
    "description": (
        "CloudEvents 1.0, structured JSON. `subject` is the stream id (internal consumers only: "
        "partners' webhooks never carry it); `dataschemaversion` is the version of `data`'s schema."
    ),
    "required": ["specversion", "id", "source", "type", "subject", "time", "datacontenttype", "data"],
    "properties": {
        "specversion": {"const": CLOUDEVENTS_SPEC_VERSION},
        "id": {
            "type": "string",
            "format": "uuid",
            "description": "The event id: stable, use it to deduplicate",
        },
        "source": {"type": "string", "examples": ["/dcert/certificate"]},
        "type": {"type": "string"},
        "subject": {
            "type": "string",
            "description": "The stream the event belongs to, e.g. certificate-<id>",
        },
        "time": {"type": "string", "format": "date-time"},
        "datacontenttype": {"const": "application/json"},
        "dataschemaversion": {"type": "integer", "minimum": 1},
        "streamversion": {"type": "integer", "minimum": 1, "description": "Order of events in one stream"},
        "correlationid": {"type": "string", "format": "uuid"},
        "causationid": {"type": "string", "format": "uuid"},
        "actorrole": {"type": "string"},
        "actorsubject": {"type": "string", "description": "An opaque id, never a name or identity number"},
        "traceparent": {"type": "string", "description": "W3C trace context"},
        "tracestate": {"type": "string"},
        "partitionkey": {
            "type": "string",
            "description": "CloudEvents partitioning: whose events these are (a person_ref, or the stream"
            " itself). Events of one partition key are published in the order they happened; keep them"
            " in that order when handling them",
        },
    },
}


def asyncapi_document(
    contexts: Mapping[str, EventRegistry], partner_fact: type[BaseModel], *, version: str = "1.0.0"
) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the published events of `contexts` (context name -> registry),
    the partner fact intake (`partner_fact`: the body of a fact, as `POST /v1/facts` takes it),
    the dead letters and the erasure stream."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {"CloudEvent": _CLOUDEVENT}
    for context in sorted(contexts):
        for event_class in sorted(contexts[context].classes, key=lambda cls: cls.event_type):
            if not event_class.public:
                continue
            name = event_class.event_type
            data_schema, nested = _data_schema(event_class)
            for nested_name, nested_schema in nested.items():
                schemas.setdefault(nested_name, nested_schema)
            schemas[name] = data_schema
            messages[name] = {
                "name": name,
                "title": name,
                "summary": _summary(event_class),
                "contentType": "application/cloudevents+json",
                "payload": {
                    "allOf": [
                        {"$ref": f"{SCHEMAS}CloudEvent"},
                        {
                            "type": "object",
                            "properties": {
                                "type": {"const": name},
                                "dataschemaversion": {"const": event_class.schema_version},
                                "data": {"$ref": f"{SCHEMAS}{name}"},
                            },
                        },
                    ]
                },
            }
            channel = f"{context}.{name}"
            channels[channel] = {
                "address": f"{context}.events.{name}",
                "description": f"JetStream stream {context.upper()}_EVENTS (a deployment prefix may precede both)."
                + (_ERASURES_KEPT if (context, name) == (ERASING_CONTEXT, PERSON_ERASED) else ""),
                "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            }
            operations[f"receive{name}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{channel}"},
                "summary": f"Consume {name} from the {context} service",
                "messages": [{"$ref": f"#/channels/{channel}/messages/{name}"}],
            }
    erasing = contexts.get(ERASING_CONTEXT)
    if erasing is not None and any(cls.event_type == PERSON_ERASED and cls.public for cls in erasing.classes):
        operations["reapplyErasures"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{ERASING_CONTEXT}.{PERSON_ERASED}"},
            "summary": f"At every start, each service reads the stream {_ERASURES} and destroys any data key"
            " it still holds of an erased person (a database restored from an older backup)",
            "messages": [{"$ref": f"#/channels/{ERASING_CONTEXT}.{PERSON_ERASED}/messages/{PERSON_ERASED}"}],
        }
    _add_partner_facts(partner_fact, channels, operations, messages, schemas)
    _add_dead_letters(channels, operations, messages)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "残疾人证 platform events",
            "version": version,
            "description": (
                "Every event the four services publish on NATS JetStream, generated from the event "
                "classes (shared/dcert_shared/asyncapi.py); the facts partner agencies publish into "
                "the benefits service's intake; the services' dead letters. Partners receive the same "
                "CloudEvents by webhook, with `data` reduced to the fields their data-sharing policy "
                "grants (the `webhooks` of docs/openapi/notification.json)."
            ),
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": {
            "embedded": {
                "host": "127.0.0.1:4222",
                "protocol": "nats",
                "description": "The NATS server of `make run`",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _summary(event_class: type[DomainEvent]) -> str:
    """The first paragraph of the class's own docstring."""
    own_doc = event_class.__dict__.get("__doc__")
    if not own_doc:
        return f"{event_class.event_type} event"
    return " ".join(inspect.cleandoc(own_doc).split("\n\n")[0].split())


def _data_schema(event_class: type[DomainEvent]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The published `data`'s JSON Schema, and the schemas of the models it nests."""
    schema = event_class.model_json_schema(ref_template=SCHEMAS + "{model}", mode="serialization")
    nested: dict[str, Any] = schema.pop("$defs", {})
    private = event_class.private_fields
    properties = schema.get("properties", {})
    schema["properties"] = {key: value for key, value in properties.items() if key not in private}
    if "required" in schema:
        schema["required"] = [key for key in schema["required"] if key not in private]
    schema.pop("title", None)
    schema["description"] = _summary(event_class)
    return schema, nested


_PRODUCTION = Naming()
_ERASURES = erasure_stream_name(_PRODUCTION)
_ERASURES_KEPT = (
    f" Every {PERSON_ERASED} is also kept in the stream {_ERASURES}, which sources it from this"
    " subject and never ages it out (dcert_shared.erasure)."
)


def _add_partner_facts(
    partner_fact: type[BaseModel],
    channels: dict[str, Any],
    operations: dict[str, Any],
    messages: dict[str, Any],
    schemas: dict[str, Any],
) -> None:
    """The intake partner agencies publish their facts into, kept by the benefits service."""
    data = partner_fact.model_json_schema(ref_template=SCHEMAS + "{model}")
    for nested_name, nested_schema in data.pop("$defs", {}).items():
        schemas.setdefault(nested_name, nested_schema)
    fact_types = data["properties"]["type"].get("enum", [])
    data["properties"]["type"] = {
        "type": "string",
        "description": "Not needed: the fact type of the subject replaces it",
    }
    data["required"] = [key for key in data.get("required", []) if key != "type"]
    data.pop("title", None)
    data["description"] = (
        "The body of `POST /v1/facts` on the benefits service, without `type` (the subject says it)."
    )
    schemas["PartnerFact"] = data
    messages["PartnerFact"] = {
        "name": "PartnerFact",
        "title": "PartnerFact",
        "summary": (
            "A fact a partner agency reports about a person (low income, death, a move, care, guardianship). "
            "Checked and kept exactly as over HTTP: once per (partner, fact_id), against the partner's "
            "policy and jurisdiction; nobody is told what became of it"
        ),
        "contentType": "application/cloudevents+json",
        "headers": {
            "type": "object",
            "properties": {
                "Nats-Msg-Id": {
                    "type": "string",
                    "description": "Optional: JetStream drops a message whose id it saw in the last two minutes",
                }
            },
        },
        "payload": {
            "allOf": [
                {"$ref": f"{SCHEMAS}CloudEvent"},
                {
                    "type": "object",
                    "required": ["correlationid"],
                    "properties": {
                        "type": {
                            "type": "string",
                            "pattern": r"^[A-Za-z0-9_-]+\.[a-z_]+$",
                            "description": "`<partner id>.<fact type>`, the last two tokens of the subject;"
                            " a message whose type names another subject is a dead letter",
                        },
                        "subject": {
                            "type": "string",
                            "description": "A reference of the partner's own choosing, never an identity number",
                        },
                        "correlationid": {"type": "string", "format": "uuid"},
                        "data": {"$ref": f"{SCHEMAS}PartnerFact"},
                    },
                },
            ]
        },
    }
    address = _PRODUCTION.event_subject(PARTNERS, "{partner_id}.{fact_type}")
    channels[PARTNERS] = {
        "address": address,
        "description": (
            f"JetStream stream {_PRODUCTION.event_stream(PARTNERS)}, kept by the benefits service (a deployment "
            "prefix may precede both). A partner's broker user may publish only below "
            f"`{_PRODUCTION.event_subject(PARTNERS, '<its partner id>')}.>` (deploy/nats/users.conf). "
            "One partner's facts about one person are taken in the order published."
        ),
        "parameters": {
            "partner_id": {"description": "The partner's id, as `POST /v1/partners` gave it"},
            "fact_type": {
                "enum": fact_types,
                "description": "The fact type; the partner's policy must grant it",
            },
        },
        "messages": {"PartnerFact": {"$ref": "#/components/messages/PartnerFact"}},
    }
    operations["receivePartnerFact"] = {
        "action": "receive",
        "channel": {"$ref": f"#/channels/{PARTNERS}"},
        "summary": "The benefits service takes a partner agency's fact, as `POST /v1/facts` would",
        "messages": [{"$ref": f"#/channels/{PARTNERS}/messages/PartnerFact"}],
    }


def _add_dead_letters(channels: dict[str, Any], operations: dict[str, Any], messages: dict[str, Any]) -> None:
    """Each service's dead-letter subjects: copies for tools that watch the broker."""
    messages["DeadLetter"] = {
        "name": "DeadLetter",
        "title": "DeadLetter",
        "summary": (
            "A message a consumer gave up on: unreadable, of a type that does not match its subject, or whose "
            "handler failed on every try of the retry ladder. A copy: the record that counts, and what an "
            "operator replays or discards, is the service's `dead_letters` table (`dcert dead-letters`)"
        ),
        "contentType": "application/json",
        "headers": {
            "type": "object",
            "required": ["dcert-consumer", "dcert-error"],
            "properties": {
                "dcert-consumer": {
                    "type": "string",
                    "description": "The durable consumer, `<service>-<reaction>`",
                },
                "dcert-error": {
                    "type": "string",
                    "description": "Why: an error class or a reason, never data",
                },
            },
        },
        "payload": {
            "description": "The message as the consumer received it (a CloudEvent of the source stream), "
            "or nothing when it was not JSON"
        },
    }
    for access in SERVICES:
        service = access.service
        channel = f"deadletter.{service}"
        channels[channel] = {
            "address": _PRODUCTION.dead_letter_subject(service, "{consumer}"),
            "description": (
                f"JetStream stream {_PRODUCTION.dead_letter_stream(service)} (a deployment prefix may precede "
                "both): kept a year, the oldest copies go first when it is full."
            ),
            "parameters": {"consumer": {"description": "The durable consumer, `<service>-<reaction>`"}},
            "messages": {"DeadLetter": {"$ref": "#/components/messages/DeadLetter"}},
        }
        operations[f"receive{service.capitalize()}DeadLetters"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": f"Watch the {service} service's dead letters",
            "messages": [{"$ref": f"#/channels/{channel}/messages/DeadLetter"}],
        }
