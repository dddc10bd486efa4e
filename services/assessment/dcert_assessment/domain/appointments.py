"""Appointment slots (预约): the times an assigned doctor offers on the coming working days.

Slots are on China's official working days, at the hours a region sets; a slot that another
assessment of the same doctor holds is not offered.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from dcert_shared.working_days import WorkingCalendar

CHINA = ZoneInfo("Asia/Shanghai")


def offered_slots(
    calendar: WorkingCalendar,
    today: date,
    working_days_ahead: int,
    hours: Sequence[str],
    taken: Collection[datetime] = (),
) -> list[datetime]:
    """The free slots from the next working day on, `working_days_ahead` working days long."""
    slots: list[datetime] = []
    day = today
    for _ in range(working_days_ahead):
        day = calendar.add_working_days(day, 1)
        slots.extend(datetime.combine(day, time.fromisoformat(hour), CHINA) for hour in hours)
    busy = {moment.astimezone(CHINA) for moment in taken}
    return [slot for slot in slots if slot not in busy]
