"""Months and region codes, the two coordinates every benefit decision is made in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from dcert_shared.regions import NATIONAL as NATIONAL
from dcert_shared.regions import covers as covers
from dcert_shared.regions import is_region_code as is_region_code
from dcert_shared.regions import significant_digits as significant_digits

# Years from 1000: a year 0000 has no first day (datetime.date starts at year 1).
MONTH_PATTERN = r"^([1-9][0-9]{3})-(0[1-9]|1[0-2])$"
_MONTH = re.compile(MONTH_PATTERN)


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    in_next_month = day.replace(day=28) + timedelta(days=4)
    return in_next_month - timedelta(days=in_next_month.day)


def next_month_start(day: date) -> date:
    return month_end(day) + timedelta(days=1)


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month, the unit in which benefits are paid."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        match = _MONTH.match(text)
        if match is None:
            raise ValueError("a month is written YYYY-MM")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return month_end(self.first_day)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def ancestry(region: str) -> list[str]:
    """The areas a region lies in, least local first: national, province, city, county."""
    levels = [NATIONAL, region[:2] + "0000", region[:4] + "00", region]
    chain: list[str] = []
    for level in levels:
        if level not in chain and covers(level, region):
            chain.append(level)
    return chain
