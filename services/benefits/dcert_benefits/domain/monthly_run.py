"""The MonthlyRun aggregate: one month's entitlements in one region, produced once and only once.

Its stream is named by the month and the region, so two runs started at once both try to
write the first event of the same stream: the store lets one win, and the other decides again
and finds the run already begun. The lines themselves are not events: they are rows of the
ledger `entitlement_line`, unique per (person, benefit, month), written in batches (see
application/runs.py).
"""

from __future__ import annotations

from dcert_shared.aggregate import Aggregate
from dcert_shared.envelope import DomainEvent

from .calendar import Month
from .errors import RunNotCompleted
from .events import MonthlyRunClosed, MonthlyRunCompleted, MonthlyRunStarted

RUNNING, COMPLETED, CLOSED = "running", "completed", "closed"


class MonthlyRun(Aggregate):
    """月度发放 of one month and region: started, completed (its counts), closed."""

    stream_type = "run"

    def __init__(self, run_key: str) -> None:
        super().__init__(run_key)
        self.run_id: str | None = None
        self.status: str | None = None

    @staticmethod
    def key(month: Month, region: str) -> str:
        return f"{month}-{region}"

    def start(self, run_id: str, month: Month, region: str) -> None:
        if self.run_id is None:
            self.trigger(MonthlyRunStarted(run_id=run_id, month=str(month), region=region))

    def complete(
        self, month: Month, region: str, line_count: int, arrears_count: int, total_fen: int
    ) -> bool:
        if self.status != RUNNING or self.run_id is None:
            return False
        self.trigger(
            MonthlyRunCompleted(
                run_id=self.run_id,
                month=str(month),
                region=region,
                line_count=line_count,
                arrears_count=arrears_count,
                total_fen=total_fen,
            )
        )
        return True

    def close(self, month: Month, region: str) -> None:
        if self.status == CLOSED:
            return
        if self.status != COMPLETED or self.run_id is None:
            raise RunNotCompleted()
        self.trigger(MonthlyRunClosed(run_id=self.run_id, month=str(month), region=region))

    def apply(self, event: DomainEvent) -> None:
        match event:
            case MonthlyRunStarted():
                self.run_id, self.status = event.run_id, RUNNING
            case MonthlyRunCompleted():
                self.run_id, self.status = event.run_id, COMPLETED
            case MonthlyRunClosed():
                self.status = CLOSED
