"""What schemathesis needs to draw valid requests the OpenAPI documents describe with a named
`format` (SCHEMATHESIS_HOOKS=tests.openapi_hooks): rules a pattern cannot state."""

from __future__ import annotations

from datetime import date

import schemathesis
from hypothesis import strategies as st

from dcert_shared.ids import IDENTITY_NUMBER_FORMAT, PROVINCE_CODES, china_today, make_identity_number

# A check character, a birth date from 1900 to today: identity numbers as GB 11643 makes them.
schemathesis.openapi.format(
    IDENTITY_NUMBER_FORMAT,
    st.builds(
        make_identity_number,
        region=st.sampled_from(sorted(PROVINCE_CODES)).map(lambda province: f"{province}0502"),
        birth=st.dates(min_value=date(1900, 1, 1), max_value=china_today()),
        sequence=st.integers(min_value=0, max_value=999),
    ),
)
