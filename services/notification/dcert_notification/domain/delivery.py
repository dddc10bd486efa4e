"""Webhook deliveries: what a partner receives for an event, its stable id, and when to try again."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dcert_shared.envelope import CLOUDEVENTS_SPEC_VERSION, EventEnvelope

from .partner import DataSharingPolicy

CONTENT_TYPE = "application/cloudevents+json"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"  # every try failed: kept and listed (dead letters), sent again only on replay
    WITHDRAWN = "withdrawn"  # the partner's policy stopped granting the event type before it went out


def webhook_id(subscription_id: str, event_id: uuid.UUID) -> str:
    """The Standard Webhooks `webhook-id`: the same for every try of one event to one subscription,
    so a partner can drop a repeat; different per subscription."""
    return f"msg_{uuid.uuid5(uuid.UUID(subscription_id), str(event_id)).hex}"


def partner_event(envelope: EventEnvelope, policy: DataSharingPolicy) -> dict[str, Any]:
    """The CloudEvent a partner receives: `data` holds only the granted fields.

    The attributes are an allow-list. Our internal ones are left out: `subject` is a stream id,
    which for a certificate holds its number and so an identity number; the actor, the
    correlation and causation ids and the trace context describe our system, not the event.
    """
    return {
        "specversion": CLOUDEVENTS_SPEC_VERSION,
        "id": str(envelope.event_id),
        "source": envelope.source,
        "type": envelope.event_type,
        "time": envelope.occurred_at.isoformat(),
        "datacontenttype": "application/json",
        "dataschemaversion": envelope.schema_version,
        "data": policy.share(envelope.payload),
    }


def narrowed_body(body: str, policy: DataSharingPolicy) -> str | None:
    """A queued body under a newer policy: its `data` without the fields no longer granted; None
    when the event type is no longer granted at all. (A wider policy adds nothing: the body
    holds only what was granted when the event was queued.)"""
    event = json.loads(body)
    if not policy.grants(event["type"]):
        return None
    event["data"] = {field: value for field, value in event["data"].items() if field in policy.fields}
    return webhook_body(event)


def order_key(
    stream_id: str, certificate_number: str | None, person_ref: str | None, application_id: str | None
) -> str:
    """What a partner's deliveries are ordered by: the certificate (or person) the event is about,
    so one certificate's events arrive in order while a stuck one holds up no other."""
    about = {
        "certificate_number": certificate_number,
        "person_ref": person_ref,
        "application_id": application_id,
    }
    key = next((f"{field}:{value}" for field, value in about.items() if value), f"stream:{stream_id}")
    # Hashed: a certificate number holds an identity number, and this key is stored for ordering only.
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def webhook_body(event: dict[str, Any]) -> str:
    """The exact text signed and sent, kept as is so every try sends the same bytes."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class RetrySchedule:
    """Delays after each failed try; after the last delay's try the delivery is dead.

    Each delay is spread by +/- `jitter` so that partners coming back from an outage are not
    hit by every retry at the same second.
    """

    delays_seconds: tuple[float, ...]
    jitter: float = 0.2

    @property
    def max_attempts(self) -> int:
        return len(self.delays_seconds) + 1

    def delay_after(self, attempts: int, spread: float) -> float | None:
        """The wait after `attempts` failed tries (None: give up); `spread` is uniform in [0, 1)."""
        if attempts >= self.max_attempts:
            return None
        base = self.delays_seconds[attempts - 1]
        return base * (1 - self.jitter + 2 * self.jitter * spread)
