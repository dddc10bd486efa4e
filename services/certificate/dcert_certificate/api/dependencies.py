"""What every certificate route needs: the commands (who may see what: api/policy.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..application.commands import CertificateCommands


def commands(request: Request) -> CertificateCommands:
    return request.app.state.commands  # type: ignore[no-any-return]


Commands = Annotated[CertificateCommands, Depends(commands)]
