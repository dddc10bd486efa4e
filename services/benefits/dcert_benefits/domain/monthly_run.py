"""The MonthlyRun aggregate: one month's entitlements in one region, produced once and only once.

Its stream is named by the month and the region, so two runs started at once both try to
write the first event of the same stream: the store lets one win, and the other decides again
and finds the run already begun. The lines themselves are not events: they are rows of the
ledger `entitlement_line`, unique per (person, benefit, month), written in batches (see
application/runs.py). How far back a run pays each holder (arrears, 补发) is `reaches` below.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

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


# A period recorded shortly before a run began may still have been invisible to it (a decision
# committing while the run read its batch, or the clock of another host being behind the
# database's): counting it as late too costs a few lookups, and the ledger refuses a second line.
LATE_MARGIN = timedelta(hours=1)


@dataclass(frozen=True)
class RunDone:
    """A completed (or closed) run of an area that overlaps the area being run."""

    prefix: str  # the significant digits of its region (330500 -> 3305)
    month: Month
    started_at: datetime


@dataclass(frozen=True)
class Reach:
    """How far back a run pays the holders of one area, from the runs that covered it before.

    - `catch_up_from`: the month after the area's previous run; months from there on were never
      run for it and are paid now (arrears for all but the run's own month).
    - `late_since`: a period recorded after this (the previous run's start, less a margin) was
      decided late, so it is paid back to its start, but not before `first_month`.
    - `first_month`: the area's first run on this platform (its go-live): months before it were
      paid by the system before, never here.
    """

    prefix: str
    first_month: Month
    catch_up_from: Month
    late_since: datetime | None


def reaches(month: Month, prefix: str, done: Iterable[RunDone]) -> list[Reach]:
    """The reach of the run's area, then of each area within it that had runs of its own.

    A holder is paid by the reach of the most specific of these areas they live in: a county
    run alone in April does not make April "run" for the rest of its province, and a province
    going live later than one of its counties pays that county's late decisions from the
    county's own first month."""
    done = list(done)
    within = sorted({run.prefix for run in done if run.prefix.startswith(prefix) and run.prefix != prefix})
    return [
        _reach(month, area, [run for run in done if area.startswith(run.prefix)])
        for area in [prefix, *within]
    ]


def _reach(month: Month, area: str, covering: list[RunDone]) -> Reach:
    before = [run for run in covering if run.month < month]
    if not before:  # the area's first run: nothing before it is paid here
        return Reach(area, month, month, None)
    previous = max(run.month for run in before)
    # Of two runs of that month (a county's, then its city's), the earlier start counts: a
    # period the later one saw is found again and refused by the ledger, never missed.
    began = min(run.started_at for run in before if run.month == previous)
    return Reach(
        area,
        first_month=min(run.month for run in before),
        catch_up_from=previous.next(),
        late_since=began - LATE_MARGIN,
    )
