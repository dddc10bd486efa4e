"""The AsyncAPI 3 catalogue of every published event, made from the event classes themselves.

Each service's `EventRegistry` lists its event classes; every class with `public = True` is a
message on the subject `<context>.events.<type>` (of the JetStream stream `<CONTEXT>_EVENTS`),
a CloudEvents 1.0 structured JSON body whose `data` is the class's JSON Schema without its
`private_fields`. `docs/asyncapi.yaml` is this function's output (tools/asyncapi.py writes it; a
test fails when it drifts from the code).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from .envelope import CLOUDEVENTS_SPEC_VERSION, DomainEvent, EventRegistry

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


def asyncapi_document(contexts: Mapping[str, EventRegistry], *, version: str = "1.0.0") -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the published events of `contexts` (context name -> registry)."""
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
                "description": f"JetStream stream {context.upper()}_EVENTS (a deployment prefix may precede both).",
                "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            }
            operations[f"receive{name}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{channel}"},
                "summary": f"Consume {name} from the {context} service",
                "messages": [{"$ref": f"#/channels/{channel}/messages/{name}"}],
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "残疾人证 platform events",
            "version": version,
            "description": (
                "Every event the four services publish on NATS JetStream, generated from the event "
                "classes (shared/dcert_shared/asyncapi.py). Partners receive the same CloudEvents by "
                "webhook, with `data` reduced to the fields their data-sharing policy grants."
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
