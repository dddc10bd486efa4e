"""The live code's frame asks for the next code while the one shown still has a third of its life."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dcert_portal.live_code import refresh_seconds

MADE = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)


def test_the_next_code_comes_two_thirds_into_the_life_of_the_one_shown() -> None:
    assert refresh_seconds(MADE, MADE + timedelta(seconds=90)) == 60
    assert refresh_seconds(MADE, MADE + timedelta(seconds=30)) == 20
    assert refresh_seconds(MADE, MADE + timedelta(seconds=5)) == 3
    assert refresh_seconds(MADE, MADE + timedelta(seconds=1)) == 2  # never a reload loop
