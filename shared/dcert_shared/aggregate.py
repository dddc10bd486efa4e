"""The aggregate base: public methods check rules and trigger events; events alone change state.

A subclass implements `apply(event)` (usually a `match` on the event class), which only changes
state and never fails. Replaying the stored events through `apply` rebuilds the aggregate.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import ClassVar, Self

from .envelope import DomainEvent


class Aggregate(ABC):
    """An event-sourced consistency boundary with a stream of its own."""

    stream_type: ClassVar[str]

    def __init__(self, aggregate_id: str) -> None:
        self.id = aggregate_id
        self.version = 0
        self._pending: list[DomainEvent] = []

    @classmethod
    def stream_id_for(cls, aggregate_id: str) -> str:
        return f"{cls.stream_type}-{aggregate_id}"

    @property
    def stream_id(self) -> str:
        return self.stream_id_for(self.id)

    @property
    def partition_key(self) -> str:
        """Whose events these are, for consumers that keep order across streams: the stream
        itself unless a subclass names the person its events are about."""
        return self.stream_id

    @classmethod
    def rehydrate(cls, aggregate_id: str, events: Iterable[DomainEvent]) -> Self:
        aggregate = cls(aggregate_id)
        for event in events:
            aggregate.apply(event)
            aggregate.version += 1
        return aggregate

    @abstractmethod
    def apply(self, event: DomainEvent) -> None:
        """Change state for one event; never fails, never checks rules."""

    def trigger(self, event: DomainEvent) -> None:
        """Record a new fact: change state through `apply` and keep it to be saved."""
        self.apply(event)
        self._pending.append(event)

    @property
    def pending_events(self) -> list[DomainEvent]:
        return list(self._pending)

    def mark_saved(self) -> None:
        self.version += len(self._pending)
        self._pending.clear()
