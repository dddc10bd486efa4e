"""Root conftest: the shared fixtures of dcert_dev.testing, and the tier of every test.

Each test gets one tier marker (`--strict-markers`): `e2e` for the whole system (everything
under tests/), `service` for a test on real PostgreSQL and NATS (it uses the `infra` fixture,
directly or through another fixture), `unit` for the rest, which needs no server
(`make test-fast` runs them). A test that starts servers of its own says so with
`pytest.mark.service`; a marker written on a test is kept.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["dcert_dev.testing"]

TIERS = ("unit", "service", "e2e")
SYSTEM_TESTS = Path(__file__).parent / "tests"


def tier_of(item: pytest.Item) -> str:
    if item.path.is_relative_to(SYSTEM_TESTS):
        return "e2e"
    if "infra" in getattr(item, "fixturenames", ()):
        return "service"
    return "unit"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not any(item.get_closest_marker(tier) for tier in TIERS):
            item.add_marker(tier_of(item))
