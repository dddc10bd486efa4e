"""The smart card (第三代智能化残疾人证): placeholder, being written (issue 4)."""

from __future__ import annotations

from dcert_shared.envelope import EventRegistry


def register_events(events: EventRegistry) -> None:
    """Register the card's events."""
