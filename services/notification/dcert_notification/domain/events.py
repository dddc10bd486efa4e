"""Events of the notification context. Published data is listed in docs/events.md.

A partner's name, a subscription's URL and its signing secret are kept in the stored events
(`private_fields`) so the read models can be rebuilt, and are never published.
"""

from __future__ import annotations

from typing import ClassVar

from dcert_shared.envelope import DomainEvent, EventRegistry


class PartnerRegistered(DomainEvent):
    """合作单位: an agency and its data-sharing policy; the benefits service reads `facts`."""

    private_fields: ClassVar[frozenset[str]] = frozenset({"name"})
    partner_id: str
    event_types: list[str]
    fields: list[str]
    facts: list[str]
    name: str


class SubscriptionCreated(DomainEvent):
    """A partner's webhook endpoint for some of the event types its policy grants."""

    private_fields: ClassVar[frozenset[str]] = frozenset({"url", "secret"})
    subscription_id: str
    partner_id: str
    event_types: list[str]
    url: str
    secret: str


def registry() -> EventRegistry:
    events = EventRegistry()
    events.register(PartnerRegistered, SubscriptionCreated)
    return events
