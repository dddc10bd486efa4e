"""Personal data sealed per person: a data key for each person, wrapped by a master key.

Sensitive values (health findings and measurements today) are stored only as tokens that the
person's data key opens: in event payloads and in read models alike. Data keys live in
`person_keys`, wrapped (AES-GCM) by a master key that a `KeyManager` holds; the local one takes
it from settings (`DCERT_MASTER_KEY`), a KMS can take its place. While a master key is rotated
the keyring also holds the previous ones (`DCERT_PREVIOUS_MASTER_KEYS`): data keys wrapped by
any of them open, new ones are wrapped by the current key, and `rewrap_data_keys` moves the rest
over in batches (`dcert keys rotate`) until no row needs a previous key. Each token is bound to its
person (the associated data), so a token copied onto another person's record does not open.

Erasing a person destroys the wrapped key: every token of theirs stays where it is (streams
replay, counts stay right) and opens to nothing, in a rebuilt projection as much as anywhere.

Token: `v1.<base64url(nonce 12 bytes | ciphertext and tag)>`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Protocol

import asyncpg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

TOKEN_VERSION: Final = "v1."
_NONCE_BYTES: Final = 12
KEY_BYTES: Final = 32


class KeyManager(Protocol):
    """Wraps and unwraps data keys under a master key it never hands out."""

    @property
    def key_id(self) -> str: ...

    def wrap(self, data_key: bytes, person_ref: str) -> bytes: ...

    def unwrap(self, wrapped: bytes, person_ref: str, key_id: str) -> bytes: ...


class UnknownMasterKey(RuntimeError):
    """A data key was wrapped by a master key this service is not configured with."""


def local_key_id(master_key: bytes) -> str:
    """The id a local master key is known by in `person_keys.master_key_id`: a fingerprint."""
    return "local:" + hashlib.sha256(b"dcert-master-key" + master_key).hexdigest()[:16]


class LocalKeyManager:
    """The master key from settings, and the previous ones while a rotation runs; ids are
    fingerprints, so a wrong key is named, not guessed."""

    def __init__(self, master_key: bytes, previous_keys: tuple[bytes, ...] = ()) -> None:
        if any(len(key) != KEY_BYTES for key in (master_key, *previous_keys)):
            raise ValueError(f"a master key must be {KEY_BYTES} bytes")
        self._key_id = local_key_id(master_key)
        self._keyring = {local_key_id(key): AESGCM(key) for key in previous_keys}
        self._keyring[self._key_id] = AESGCM(master_key)

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def previous_key_ids(self) -> frozenset[str]:
        return frozenset(self._keyring) - {self._key_id}

    def wrap(self, data_key: bytes, person_ref: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._keyring[self._key_id].encrypt(nonce, data_key, person_ref.encode())

    def unwrap(self, wrapped: bytes, person_ref: str, key_id: str) -> bytes:
        aead = self._keyring.get(key_id)
        if aead is None:
            raise UnknownMasterKey(key_id)
        return aead.decrypt(wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], person_ref.encode())


class Vault:
    """Seals and opens one person's values with their data key, made on first use."""

    def __init__(self, keys: KeyManager) -> None:
        self.keys = keys

    async def seal(self, conn: asyncpg.Connection, person_ref: str, value: Any) -> str:
        """A token of `value` (anything JSON can hold) that only this person's key opens."""
        data_key = await self._data_key(conn, person_ref, create=True)
        if data_key is None:
            raise PersonErased()
        return self.seal_with(data_key, person_ref, value)

    @staticmethod
    def seal_with(data_key: bytes, person_ref: str, value: Any) -> str:
        """A token of `value` under a data key already looked up (`data_keys`)."""
        nonce = os.urandom(_NONCE_BYTES)
        plaintext = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        sealed = nonce + AESGCM(data_key).encrypt(nonce, plaintext, person_ref.encode())
        return TOKEN_VERSION + base64.urlsafe_b64encode(sealed).decode()

    async def data_keys(
        self, conn: asyncpg.Connection, person_refs: Iterable[str]
    ) -> dict[str, bytes | None]:
        """The data keys of many people at once, made for those who have none yet (None: erased).

        A batch of thousands of first seals (an import) costs three statements, not three per
        person; as in `seal`, two first seals at once agree on one key."""
        wanted = sorted(set(person_refs))
        keys = await self.stored_keys(conn, wanted)
        missing = [ref for ref in wanted if ref not in keys]
        if missing:
            await conn.execute(
                "INSERT INTO person_keys (person_ref, master_key_id, wrapped_key)"
                " SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[]) ON CONFLICT (person_ref) DO NOTHING",
                missing,
                [self.keys.key_id] * len(missing),
                [self.keys.wrap(AESGCM.generate_key(bit_length=KEY_BYTES * 8), ref) for ref in missing],
            )
            keys.update(await self.stored_keys(conn, missing))
        return keys

    async def stored_keys(self, conn: asyncpg.Connection, person_refs: list[str]) -> dict[str, bytes | None]:
        """The data keys these people have (None: erased); someone without one is absent."""
        rows = await conn.fetch(
            "SELECT person_ref, master_key_id, wrapped_key FROM person_keys WHERE person_ref = ANY($1::text[])",
            person_refs,
        )
        return {
            row["person_ref"]: None
            if row["wrapped_key"] is None
            else self.keys.unwrap(bytes(row["wrapped_key"]), row["person_ref"], row["master_key_id"])
            for row in rows
        }

    async def open(
        self,
        conn: asyncpg.Connection,
        person_ref: str,
        token: str,
        keys: dict[str, bytes | None] | None = None,
    ) -> Any | None:
        """The sealed value, or None when the person has been erased.

        `keys`, when given, caches the data keys looked up (one lookup per person in a batch).
        """
        if keys is not None and person_ref in keys:
            data_key = keys[person_ref]
        else:
            data_key = await self._data_key(conn, person_ref, create=False)
            if keys is not None:
                keys[person_ref] = data_key
        if data_key is None:
            return None
        if not token.startswith(TOKEN_VERSION):
            raise ValueError("not a sealed value")
        sealed = base64.urlsafe_b64decode(token[len(TOKEN_VERSION) :])
        plaintext = AESGCM(data_key).decrypt(
            sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], person_ref.encode()
        )
        return json.loads(plaintext)

    async def is_erased(self, conn: asyncpg.Connection, person_ref: str) -> bool:
        erased_at = await conn.fetchval("SELECT erased_at FROM person_keys WHERE person_ref = $1", person_ref)
        return erased_at is not None

    async def erase(self, conn: asyncpg.Connection, person_ref: str) -> bool:
        """Destroy the person's data key (crypto-shredding); True when there was one to destroy.

        A person erased before their first sealed value stays erased: nothing is sealed for them again.
        """
        erased = await conn.fetchval(
            "INSERT INTO person_keys (person_ref, master_key_id, wrapped_key, erased_at)"
            " VALUES ($1, $2, NULL, now())"
            " ON CONFLICT (person_ref) DO UPDATE SET wrapped_key = NULL, erased_at = now()"
            " WHERE person_keys.erased_at IS NULL"
            " RETURNING true",
            person_ref,
            self.keys.key_id,
        )
        return bool(erased)

    async def _data_key(self, conn: asyncpg.Connection, person_ref: str, *, create: bool) -> bytes | None:
        row = await conn.fetchrow(
            "SELECT master_key_id, wrapped_key FROM person_keys WHERE person_ref = $1", person_ref
        )
        if row is None and create:
            fresh = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
            # Two first seals at once: one key wins and both use it.
            await conn.execute(
                "INSERT INTO person_keys (person_ref, master_key_id, wrapped_key) VALUES ($1, $2, $3)"
                " ON CONFLICT (person_ref) DO NOTHING",
                person_ref,
                self.keys.key_id,
                self.keys.wrap(fresh, person_ref),
            )
            return await self._data_key(conn, person_ref, create=False)
        if row is None or row["wrapped_key"] is None:
            return None
        return self.keys.unwrap(bytes(row["wrapped_key"]), person_ref, row["master_key_id"])


@dataclass(frozen=True)
class MasterKeyUse:
    """How many data keys each master key wraps (erased people's rows hold no key)."""

    wrapped_by: dict[str, int]

    def needing_other_than(self, key_id: str) -> int:
        return sum(count for wrapping, count in self.wrapped_by.items() if wrapping != key_id)


async def master_key_use(conn: asyncpg.Connection) -> MasterKeyUse:
    rows = await conn.fetch(
        "SELECT master_key_id, count(*) AS keys FROM person_keys WHERE wrapped_key IS NOT NULL"
        " GROUP BY master_key_id"
    )
    return MasterKeyUse({row["master_key_id"]: row["keys"] for row in rows})


async def rewrap_data_keys(pool: asyncpg.Pool, keys: KeyManager, batch_size: int = 500) -> int:
    """Wrap one batch of data keys that a previous master key wraps by the current one; how
    many were re-wrapped (0: none is left). Rows another transaction holds are skipped and
    taken by a later batch, so the services go on sealing and opening meanwhile; the data keys
    themselves never change, so every token stays readable."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "SELECT person_ref, master_key_id, wrapped_key FROM person_keys"
            " WHERE master_key_id <> $1 AND wrapped_key IS NOT NULL"
            " ORDER BY person_ref LIMIT $2 FOR UPDATE SKIP LOCKED",
            keys.key_id,
            batch_size,
        )
        rewrapped = [
            (
                row["person_ref"],
                keys.wrap(
                    keys.unwrap(bytes(row["wrapped_key"]), row["person_ref"], row["master_key_id"]),
                    row["person_ref"],
                ),
            )
            for row in rows
        ]
        await conn.executemany(
            "UPDATE person_keys SET master_key_id = $2, wrapped_key = $3 WHERE person_ref = $1",
            [(person_ref, keys.key_id, wrapped) for person_ref, wrapped in rewrapped],
        )
    return len(rewrapped)


class PersonErased(RuntimeError):
    """Nothing more is sealed for a person whose data key was destroyed."""
