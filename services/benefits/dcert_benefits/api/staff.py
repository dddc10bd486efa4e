"""Who of the staff may read which region's benefit records."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from dcert_shared.auth import Principal, require_role
from dcert_shared.problems import Forbidden

from ..domain.calendar import covers

Staff = Annotated[Principal, Depends(require_role("reviewer", "admin"))]


def staff_region(principal: Principal, requested: str | None) -> str | None:
    """The region a request reads: a reviewer their own (or a part of it), an admin any (None: all)."""
    if principal.role == "admin":
        return requested
    own = str(principal.region or "")
    if not own or (requested is not None and not covers(own, requested)):
        raise Forbidden()
    return requested or own
