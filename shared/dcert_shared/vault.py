"""Personal data sealed per person: a data key for each person, wrapped by a master key.

Sensitive values (health findings and measurements today) are stored only as tokens that the
person's data key opens: in event payloads and in read models alike. Data keys live in
`person_keys`, wrapped (AES-GCM) by a master key that a `KeyManager` holds; the local one takes
it from settings (`DCERT_MASTER_KEY`), a KMS can take its place. Each token is bound to its
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


class LocalKeyManager:
    """The master key from settings; its id is a fingerprint, so a wrong key is named, not guessed."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != KEY_BYTES:
            raise ValueError(f"the master key must be {KEY_BYTES} bytes")
        self._aead = AESGCM(master_key)
        self._key_id = "local:" + hashlib.sha256(b"dcert-master-key" + master_key).hexdigest()[:16]

    @property
    def key_id(self) -> str:
        return self._key_id

    def wrap(self, data_key: bytes, person_ref: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data_key, person_ref.encode())

    def unwrap(self, wrapped: bytes, person_ref: str, key_id: str) -> bytes:
        if key_id != self._key_id:
            raise UnknownMasterKey(key_id)
        return self._aead.decrypt(wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], person_ref.encode())


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


class PersonErased(RuntimeError):
    """Nothing more is sealed for a person whose data key was destroyed."""
