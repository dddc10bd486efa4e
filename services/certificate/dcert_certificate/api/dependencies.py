"""What every certificate route needs: the commands, the calendar's today, and who may see what."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dcert_shared.auth import Principal

from ..application.commands import CertificateCommands


def commands(request: Request) -> CertificateCommands:
    return request.app.state.commands  # type: ignore[no-any-return]


Commands = Annotated[CertificateCommands, Depends(commands)]


def is_own(principal: Principal, service: CertificateCommands, people: set[str | None]) -> bool:
    """The person themself or a recorded agent (by the keyed hash of the token's identity number)."""
    return (
        principal.role == "applicant"
        and principal.id_number is not None
        and service.person_ref(principal.id_number) in people
    )


def may_see(
    principal: Principal, service: CertificateCommands, people: set[str | None], regions: set[str | None]
) -> bool:
    """The person, their agent, a reviewer of a region involved, or an admin."""
    if principal.role == "reviewer":
        return principal.region in regions
    return principal.role == "admin" or is_own(principal, service, people)


def requester_ref(principal: Principal, service: CertificateCommands) -> str:
    assert principal.id_number is not None
    return service.person_ref(principal.id_number)
