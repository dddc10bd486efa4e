"""Events and their envelope: what every service stores, publishes and consumes.

A domain event is a frozen pydantic model named in the past tense. The envelope wraps it with
identity (event id, stream id and version), CloudEvents 1.0 attributes, correlation and
causation ids, the actor and the W3C trace context. Old schema versions are upcast on read.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

CLOUDEVENTS_SPEC_VERSION = "1.0"


class DomainEvent(BaseModel):
    """Base of every event payload. Subclasses name their type and schema version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    # Published on JetStream through the outbox; internal events stay in the service.
    public: ClassVar[bool] = True
    # Fields left out of the published message (personal data other services do not need).
    private_fields: ClassVar[frozenset[str]] = frozenset()
    # Personal data stored only sealed (dcert_shared.vault): the field naming a person (their
    # keyed hash) -> the fields sealed with that person's data key. The event store seals them
    # when it appends and opens them when it reads; once the person is erased they read as None.
    sealed_fields: ClassVar[Mapping[str, frozenset[str]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "event_type" not in cls.__dict__:
            cls.event_type = cls.__name__

    def published_data(self) -> dict[str, Any]:
        sealed = {name for fields in self.sealed_fields.values() for name in fields}
        return self.model_dump(mode="json", exclude=set(self.private_fields) | sealed)


@dataclass(frozen=True)
class Actor:
    """Who caused an event: a role and an opaque subject, never a name or identity number."""

    role: str
    subject: str

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role, "subject": self.subject}


SYSTEM = Actor(role="system", subject="system")


@dataclass(frozen=True)
class CommandContext:
    """Why a command runs: carried into every event it records."""

    actor: Actor = SYSTEM
    correlation_id: uuid.UUID = field(default_factory=uuid.uuid4)
    causation_id: uuid.UUID | None = None
    traceparent: str | None = None
    tracestate: str | None = None

    def caused_by(self, envelope: EventEnvelope) -> CommandContext:
        """The context of a reaction to `envelope`: same correlation, caused by that event."""
        return replace(
            self,
            correlation_id=envelope.correlation_id,
            causation_id=envelope.event_id,
            traceparent=self.traceparent or envelope.traceparent,
            tracestate=self.tracestate or envelope.tracestate,
        )


@dataclass(frozen=True)
class EventEnvelope:
    """A recorded event with everything needed to route, trace and replay it."""

    event_id: uuid.UUID
    event_type: str
    schema_version: int
    stream_id: str
    stream_version: int
    payload: dict[str, Any]
    source: str
    occurred_at: datetime
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None
    actor: Actor | None = None
    traceparent: str | None = None
    tracestate: str | None = None
    position: int | None = None
    # Whose events these are across streams (the CloudEvents partitioning extension): consumers
    # keep the order of one partition's events, whatever their streams (docs/adr/0007).
    partition_key: str | None = None

    @classmethod
    def record(
        cls,
        event: DomainEvent,
        stream_id: str,
        stream_version: int,
        source: str,
        context: CommandContext,
        partition_key: str | None = None,
    ) -> EventEnvelope:
        return cls(
            event_id=uuid.uuid4(),
            event_type=event.event_type,
            schema_version=event.schema_version,
            stream_id=stream_id,
            stream_version=stream_version,
            payload=event.model_dump(mode="json"),
            source=source,
            occurred_at=datetime.now(UTC),
            correlation_id=context.correlation_id,
            causation_id=context.causation_id,
            actor=context.actor,
            traceparent=context.traceparent,
            tracestate=context.tracestate,
            partition_key=partition_key,
        )

    @property
    def ordering_key(self) -> str:
        """What a consumer keeps in order: the partition (the person), else the stream itself.
        Events recorded before partition keys existed fall back on their `person_ref`."""
        if self.partition_key:
            return self.partition_key
        person = self.payload.get("person_ref")
        return person if isinstance(person, str) and person else self.stream_id

    def metadata(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "correlation_id": str(self.correlation_id),
            "causation_id": str(self.causation_id) if self.causation_id else None,
            "actor": self.actor.as_dict() if self.actor else None,
            "traceparent": self.traceparent,
            "tracestate": self.tracestate,
            "partition_key": self.partition_key,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> EventEnvelope:
        meta = row["metadata"]
        actor = meta.get("actor")
        causation = meta.get("causation_id")
        return cls(
            event_id=row["event_id"],
            event_type=row["event_type"],
            schema_version=row["schema_version"],
            stream_id=row["stream_id"],
            stream_version=row["version"],
            payload=row["payload"],
            source=meta["source"],
            occurred_at=row["recorded_at"],
            correlation_id=uuid.UUID(meta["correlation_id"]),
            causation_id=uuid.UUID(causation) if causation else None,
            actor=Actor(**actor) if actor else None,
            traceparent=meta.get("traceparent"),
            tracestate=meta.get("tracestate"),
            position=row["position"],
            partition_key=meta.get("partition_key"),
        )

    def to_cloudevent(self, data: dict[str, Any]) -> dict[str, Any]:
        """CloudEvents 1.0 structured JSON, with our extensions in lower-case attribute names."""
        event: dict[str, Any] = {
            "specversion": CLOUDEVENTS_SPEC_VERSION,
            "id": str(self.event_id),
            "source": self.source,
            "type": self.event_type,
            "subject": self.stream_id,
            "time": self.occurred_at.isoformat(),
            "datacontenttype": "application/json",
            "dataschemaversion": self.schema_version,
            "streamversion": self.stream_version,
            "correlationid": str(self.correlation_id),
            "data": data,
        }
        if self.causation_id:
            event["causationid"] = str(self.causation_id)
        if self.actor:
            event["actorrole"] = self.actor.role
            event["actorsubject"] = self.actor.subject
        if self.traceparent:
            event["traceparent"] = self.traceparent
        if self.tracestate:
            event["tracestate"] = self.tracestate
        if self.partition_key:
            event["partitionkey"] = self.partition_key
        return event

    @classmethod
    def from_cloudevent(cls, event: Mapping[str, Any]) -> EventEnvelope:
        causation = event.get("causationid")
        role, subject = event.get("actorrole"), event.get("actorsubject")
        return cls(
            event_id=uuid.UUID(event["id"]),
            event_type=event["type"],
            schema_version=int(event.get("dataschemaversion", 1)),
            stream_id=event["subject"],
            stream_version=int(event.get("streamversion", 0)),
            payload=dict(event["data"]),
            source=event["source"],
            occurred_at=datetime.fromisoformat(event["time"]),
            correlation_id=uuid.UUID(event["correlationid"]),
            causation_id=uuid.UUID(causation) if causation else None,
            actor=Actor(role=role, subject=subject) if role and subject else None,
            traceparent=event.get("traceparent"),
            tracestate=event.get("tracestate"),
            partition_key=event.get("partitionkey"),
        )


Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class EventRegistry:
    """Maps event type names to their classes and upcasts stored payloads to the current version."""

    def __init__(self) -> None:
        self._classes: dict[str, type[DomainEvent]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}

    def register(self, *classes: type[DomainEvent]) -> None:
        for event_class in classes:
            self._classes[event_class.event_type] = event_class

    @property
    def classes(self) -> list[type[DomainEvent]]:
        """Every registered event class, in the order registered."""
        return list(self._classes.values())

    def event_class(self, event_type: str) -> type[DomainEvent]:
        return self._classes[event_type]

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register a function turning a payload of `from_version` into `from_version + 1`."""

        def decorate(function: Upcaster) -> Upcaster:
            self._upcasters[(event_type, from_version)] = function
            return function

        return decorate

    def upcast(self, envelope: EventEnvelope) -> EventEnvelope:
        payload, version = envelope.payload, envelope.schema_version
        while (step := self._upcasters.get((envelope.event_type, version))) is not None:
            payload, version = step(dict(payload)), version + 1
        if version == envelope.schema_version:
            return envelope
        return replace(envelope, payload=payload, schema_version=version)

    def decode(self, envelope: EventEnvelope) -> DomainEvent:
        upcast = self.upcast(envelope)
        return self._classes[upcast.event_type].model_validate(upcast.payload)
