"""The shared HTTP edge: what a caller may send is what the OpenAPI documents say."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from dcert_shared.api import IsoDate, IsoDateTime


@pytest.mark.parametrize("sent", [0, 1.5, "0", "0.5", "-2.2e-220", "1700000000", "inf"])
def test_a_date_or_time_sent_as_a_number_is_refused_not_read_as_a_unix_time(sent: object) -> None:
    for kind in (IsoDate, IsoDateTime):
        with pytest.raises(ValidationError):
            TypeAdapter(kind).validate_python(sent)


def test_dates_and_times_written_as_rfc_3339_are_read() -> None:
    assert TypeAdapter(IsoDate).validate_python("2025-05-01") == date(2025, 5, 1)
    assert TypeAdapter(IsoDateTime).validate_python("2025-05-01T08:00:00Z") == datetime(
        2025, 5, 1, 8, tzinfo=UTC
    )
