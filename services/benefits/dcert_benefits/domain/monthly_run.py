"""The MonthlyRun aggregate: one month's entitlements in one region, produced once and only once.

Its stream is named by the month and the region, so two runs started at once both try to
write the first event of the same stream: the store lets one win, and the other decides again
and finds the run already made.
"""

from __future__ import annotations

from collections.abc import Sequence

from dcert_shared.aggregate import Aggregate
from dcert_shared.envelope import DomainEvent

from .calendar import Month
from .events import MonthlyRunCompleted, RunLine


class MonthlyRun(Aggregate):
    """月度发放: the lines of one month and region, each a benefit of a certificate and its amount."""

    stream_type = "run"

    def __init__(self, run_key: str) -> None:
        super().__init__(run_key)
        self.run_id: str | None = None
        self.lines: list[RunLine] = []
        self.total_fen = 0

    @staticmethod
    def key(month: Month, region: str) -> str:
        return f"{month}-{region}"

    @property
    def completed(self) -> bool:
        return self.run_id is not None

    def complete(self, run_id: str, month: Month, region: str, lines: Sequence[RunLine]) -> None:
        if self.completed:
            return
        self.trigger(
            MonthlyRunCompleted(
                run_id=run_id,
                month=str(month),
                region=region,
                lines=list(lines),
                total_fen=sum(line.amount_fen for line in lines),
            )
        )

    def apply(self, event: DomainEvent) -> None:
        match event:
            case MonthlyRunCompleted():
                self.run_id = event.run_id
                self.lines = list(event.lines)
                self.total_fen = event.total_fen
