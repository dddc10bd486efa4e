"""The electronic certificate (电子证照): a signed code compact enough for a QR code.

Format `DC1.<key id>.<base64url payload>.<base64url Ed25519 signature>`. The payload holds the
serial (not the certificate number: a code is shown to gate keepers), category, level, expiry
and the masked holder name, so a verifier can check it offline with the public key and online
for the current status. docs/adr/0003.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import date

import asyncpg
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

PREFIX = "DC1"

SCHEMA = [
    """
    CREATE TABLE IF NOT EXISTS signing_keys (
        key_id text PRIMARY KEY,
        private_seed bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    )
    """,
]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class CodeContent:
    serial: str
    category: int
    level: int
    expires_on: date
    holder_masked: str


class InvalidCode(Exception):
    """A code that is malformed, signed by an unknown key, or altered."""


class ECertificateSigner:
    """Signs and checks e-certificate codes with Ed25519 keys."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        raw_public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = hashlib.sha256(raw_public).hexdigest()[:8]
        self._public_keys: dict[str, Ed25519PublicKey] = {self.key_id: private_key.public_key()}

    @classmethod
    def from_seed(cls, seed: bytes) -> ECertificateSigner:
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    def public_keys(self) -> dict[str, str]:
        return {
            key_id: _b64(key.public_bytes(Encoding.Raw, PublicFormat.Raw))
            for key_id, key in self._public_keys.items()
        }

    def sign(self, content: CodeContent) -> str:
        payload = json.dumps(
            {
                "s": content.serial,
                "c": content.category,
                "l": content.level,
                "x": content.expires_on.strftime("%Y%m%d"),
                "h": content.holder_masked,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        signed = f"{PREFIX}.{self.key_id}.{_b64(payload)}"
        return f"{signed}.{_b64(self._private_key.sign(signed.encode()))}"

    def verify(self, code: str) -> CodeContent:
        parts = code.strip().split(".")
        if len(parts) != 4 or parts[0] != PREFIX:
            raise InvalidCode("format")
        _, key_id, payload, signature = parts
        key = self._public_keys.get(key_id)
        if key is None:
            raise InvalidCode("unknown key")
        try:
            key.verify(_unb64(signature), f"{PREFIX}.{key_id}.{payload}".encode())
            data = json.loads(_unb64(payload))
            return CodeContent(
                serial=str(data["s"]),
                category=int(data["c"]),
                level=int(data["l"]),
                expires_on=date(int(data["x"][:4]), int(data["x"][4:6]), int(data["x"][6:8])),
                holder_masked=str(data["h"]),
            )
        except (InvalidSignature, binascii.Error, ValueError, KeyError, TypeError) as error:
            raise InvalidCode(type(error).__name__) from None


async def load_or_create_signer(pool: asyncpg.Pool, configured_seed: bytes | None) -> ECertificateSigner:
    """Production passes the key from settings; embedded runs keep a generated one in the database,
    so codes issued before a restart still verify after it."""
    if configured_seed is not None:
        return ECertificateSigner.from_seed(configured_seed)
    async with pool.acquire() as conn:
        seed = await conn.fetchval("SELECT private_seed FROM signing_keys ORDER BY created_at LIMIT 1")
        if seed is None:
            fresh = Ed25519PrivateKey.generate()
            candidate = fresh.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
            signer = ECertificateSigner(fresh)
            await conn.execute(
                "INSERT INTO signing_keys (key_id, private_seed) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                signer.key_id,
                candidate,
            )
            seed = await conn.fetchval("SELECT private_seed FROM signing_keys ORDER BY created_at LIMIT 1")
    return ECertificateSigner.from_seed(bytes(seed))
