"""Findings and measurements at rest: sealed with the assessed person's data key."""

from __future__ import annotations

import asyncpg

from dcert_shared.vault import Vault

from ..domain.events import LEGACY_UNSEALED, MedicalRecord


async def seal(vault: Vault, conn: asyncpg.Connection, person_ref: str, record: MedicalRecord) -> str:
    return await vault.seal(conn, person_ref, record.model_dump(mode="json"))


async def open_record(
    vault: Vault, db: asyncpg.Connection | asyncpg.Pool, person_ref: str, token: str
) -> MedicalRecord:
    """The record, or an empty one when the person has been erased (their key destroyed)."""
    if token.startswith(LEGACY_UNSEALED):
        return MedicalRecord.model_validate_json(token.removeprefix(LEGACY_UNSEALED))
    opened = await vault.open(db, person_ref, token)
    return MedicalRecord() if opened is None else MedicalRecord.model_validate(opened)
