"""Per-person data keys on real PostgreSQL: sealed values open only for their person, and not after erasure."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import asyncpg
import pytest
from cryptography.exceptions import InvalidTag

from dcert_shared.db import migrate_schema
from dcert_shared.schema_history import SchemaHistory
from dcert_shared.vault import (
    LocalKeyManager,
    PersonErased,
    UnknownMasterKey,
    Vault,
    local_key_id,
    master_key_use,
    rewrap_data_keys,
)

FINDINGS = {"findings": "双耳感音神经性聋", "measurements": {"hearing_loss_db": 85}}


@pytest.fixture
async def pool(fresh_database: str) -> AsyncIterator[asyncpg.Pool]:
    async with asyncpg.create_pool(fresh_database, min_size=1, max_size=4) as created:
        await migrate_schema(fresh_database, "public", SchemaHistory())
        yield created


async def test_a_sealed_value_opens_for_its_person_only(pool: asyncpg.Pool) -> None:
    vault = Vault(LocalKeyManager(os.urandom(32)))
    async with pool.acquire() as conn:
        token = await vault.seal(conn, "person-a", FINDINGS)
        await vault.seal(conn, "person-b", {"findings": "other"})
        assert "神经" not in token
        assert "hearing_loss_db" not in token
        assert await vault.open(conn, "person-a", token) == FINDINGS
        with pytest.raises(InvalidTag):  # a token copied onto another person's record does not open
            await vault.open(conn, "person-b", token)
        stored = await conn.fetchval("SELECT wrapped_key FROM person_keys WHERE person_ref = 'person-a'")
        assert len(stored) == 12 + 32 + 16  # wrapped, never the bare key


async def test_another_master_key_cannot_unwrap_and_says_so(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        token = await Vault(LocalKeyManager(os.urandom(32))).seal(conn, "person-a", FINDINGS)
        with pytest.raises(UnknownMasterKey):
            await Vault(LocalKeyManager(os.urandom(32))).open(conn, "person-a", token)


async def test_erasing_destroys_the_key_so_nothing_opens_or_is_sealed_again(pool: asyncpg.Pool) -> None:
    vault = Vault(LocalKeyManager(os.urandom(32)))
    async with pool.acquire() as conn:
        token = await vault.seal(conn, "person-a", FINDINGS)
        kept = await vault.seal(conn, "person-b", FINDINGS)
        assert await vault.erase(conn, "person-a")
        assert await vault.open(conn, "person-a", token) is None
        assert await vault.open(conn, "person-b", kept) == FINDINGS
        with pytest.raises(PersonErased):
            await vault.seal(conn, "person-a", FINDINGS)
        assert not await vault.erase(conn, "person-a")
        assert await vault.erase(conn, "never-sealed")  # erased before any record: stays erased
        with pytest.raises(PersonErased):
            await vault.seal(conn, "never-sealed", FINDINGS)


async def test_first_seals_at_once_share_one_key(pool: asyncpg.Pool) -> None:
    vault = Vault(LocalKeyManager(os.urandom(32)))

    async def seal_in_own_transaction(value: int) -> str:
        async with pool.acquire() as conn, conn.transaction():
            return await vault.seal(conn, "person-c", {"value": value})

    tokens = await asyncio.gather(*(seal_in_own_transaction(value) for value in range(4)))
    async with pool.acquire() as conn:
        assert [await vault.open(conn, "person-c", token) for token in tokens] == [
            {"value": v} for v in range(4)
        ]
        assert await conn.fetchval("SELECT count(*) FROM person_keys") == 1


async def test_a_rotated_master_key_rewraps_every_data_key_and_skips_the_erased(pool: asyncpg.Pool) -> None:
    old, new = os.urandom(32), os.urandom(32)
    before = Vault(LocalKeyManager(old))
    during = Vault(LocalKeyManager(new, (old,)))
    after = Vault(LocalKeyManager(new))
    async with pool.acquire() as conn:
        tokens = {person: await before.seal(conn, person, FINDINGS) for person in ("p-1", "p-2", "p-3")}
        await before.erase(conn, "p-3")
        tokens["p-4"] = await during.seal(conn, "p-4", FINDINGS)  # new data keys: the new key wraps them
        assert await during.open(conn, "p-1", tokens["p-1"]) == FINDINGS
        with pytest.raises(UnknownMasterKey):
            await after.open(conn, "p-1", tokens["p-1"])
        assert (await master_key_use(conn)).wrapped_by == {local_key_id(old): 2, local_key_id(new): 1}
    assert await rewrap_data_keys(pool, during.keys, batch_size=1) == 1
    assert await rewrap_data_keys(pool, during.keys, batch_size=10) == 1
    assert await rewrap_data_keys(pool, during.keys) == 0
    async with pool.acquire() as conn:
        assert (await master_key_use(conn)).needing_other_than(local_key_id(new)) == 0
        for person in ("p-1", "p-2", "p-4"):
            assert await after.open(conn, person, tokens[person]) == FINDINGS
        assert await after.open(conn, "p-3", tokens["p-3"]) is None
