"""Administrative division codes (行政区划代码): six digits, province, city and county."""

from __future__ import annotations

import re

NATIONAL = "000000"
_REGION = re.compile(r"^[0-9]{6}$")


def is_region_code(value: str) -> bool:
    return bool(_REGION.match(value))


def significant_digits(region: str) -> str:
    """The digits that name an area: 330000 -> 33 (province), 330500 -> 3305, 330502 -> 330502."""
    if region == NATIONAL:
        return ""
    if region[2:] == "0000":
        return region[:2]
    if region[4:] == "00":
        return region[:4]
    return region


def covers(area: str, region: str) -> bool:
    """Whether `region` lies in `area` (an area covers itself)."""
    return region.startswith(significant_digits(area))
