"""Working days (工作日) on China's official calendar: public notice, review and dispute deadlines.

The State Council publishes each year's holidays and the weekend days worked in lieu (调休)
late in the year before; the `chinese-calendar` package carries them for the years it knows.
Settings add or correct days (`DCERT_CALENDAR_HOLIDAYS`, `DCERT_CALENDAR_WORKDAYS`) for a year
the package does not cover yet; for such a year without overrides, Monday to Friday count.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import date, timedelta

import chinese_calendar  # type: ignore[import-untyped]

log = logging.getLogger(__name__)


class WorkingCalendar:
    def __init__(self, holidays: Collection[date] = (), workdays: Collection[date] = ()) -> None:
        self.holidays = frozenset(holidays)
        self.workdays = frozenset(workdays)
        self._uncovered_years_warned: set[int] = set()

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            self._warn_uncovered(day.year)
            return day.weekday() < 5

    def add_working_days(self, start: date, days: int) -> date:
        """The date `days` working days after `start` (0: `start` itself)."""
        current = start
        remaining = days
        while remaining > 0:
            current += timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def _warn_uncovered(self, year: int) -> None:
        if year not in self._uncovered_years_warned:
            self._uncovered_years_warned.add(year)
            log.warning(
                "official holidays of %d are not known yet: counting Monday-Friday; "
                "set DCERT_CALENDAR_HOLIDAYS / DCERT_CALENDAR_WORKDAYS once they are published",
                year,
            )
