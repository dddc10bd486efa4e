"""The electronic certificate (电子证照): a signed code compact enough for a QR code.

Format `DC1.<key id>.<base64url payload>.<base64url Ed25519 signature>`. The payload holds the
serial (not the certificate number: a code is shown to gate keepers), category, level, expiry
and the masked holder name, so a verifier can check it offline with the public keys and online
for the current status. Codes are read by `offline_verify` (one file offices copy) and made here.

Beside it, the holder's phone shows an online code, `DC1T.<key id>.<payload>.<signature>`: the
same payload and key with `t`, the second it was made, signed with it (and under another prefix,
so neither kind passes for the other). `/v1/verify` takes it only within the online life of
the settings (`DCERT_ECERT_ONLINE_CODE_SECONDS`), so a screenshot or a photo of the screen
stops working within a minute or two; nobody without the signing key can move `t`.

Keys rotate: one current key signs, earlier keys only verify, until an administrator retires
them. Embedded runs keep the keys in `signing_keys`; production takes them from configuration.
docs/adr/0003, docs/e-certificate.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from dcert_shared.problems import Conflict, NotFound

from ..offline_verify import (
    ONLINE_PREFIX,
    PREFIX,
    CodeContent,
    InvalidCode,
    content_of,
    open_code,
    public_key,
    signed_payload,
)

__all__ = [
    "CodeContent",
    "CurrentSigningKeyNotRetirable",
    "ECertificateSigner",
    "InvalidCode",
    "OnlineCode",
    "SigningKeyNotFound",
    "configured_signer",
    "is_online_code",
    "key_id_of",
    "load_or_create_signer",
    "online_code_refusal",
    "retire_signing_key",
    "rotate_signing_key",
]

# Held for the length of a transaction that creates, rotates or retires a key, so that replicas
# acting at once agree on one current key.
_KEYS_LOCK = "SELECT pg_advisory_xact_lock(hashtext(current_setting('dcert.schema') || ':signing_keys'))"


class SigningKeyNotFound(NotFound):
    code = "signing_key_not_found"
    title_zh = "未找到该签名密钥，或已停用"
    title_en = "No such signing key, or it is already retired"


class CurrentSigningKeyNotRetirable(Conflict):
    code = "current_signing_key_not_retirable"
    title_zh = "当前签名密钥不能停用，请先轮换密钥"
    title_en = "The current signing key cannot be retired; rotate the keys first"


# An online code made this much later than the verifier's clock still counts (replicas' clocks).
ONLINE_CODE_CLOCK_SKEW_SECONDS = 10


@dataclass(frozen=True)
class OnlineCode:
    """An online code whose signature checked out: its content and when it was made."""

    content: CodeContent
    issued_at: datetime

    def valid_until(self, life_seconds: int) -> datetime:
        return self.issued_at + timedelta(seconds=life_seconds)


def online_code_refusal(code: OnlineCode, now: datetime, life_seconds: int) -> str | None:
    """Why an online code is no longer (or not yet) taken, or None while it is fresh."""
    if now > code.valid_until(life_seconds):
        return "online_code_expired"
    if code.issued_at > now + timedelta(seconds=ONLINE_CODE_CLOCK_SKEW_SECONDS):
        return "online_code_not_yet_valid"
    return None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id_of(key: Ed25519PublicKey) -> str:
    """The id a code names its key by: the first 8 hex digits of SHA-256 of the raw public key."""
    return hashlib.sha256(_raw(key)).hexdigest()[:8]


class ECertificateSigner:
    """Signs codes with the current key; verifies codes of the current key and of `earlier_keys`."""

    def __init__(
        self, private_key: Ed25519PrivateKey, earlier_keys: Mapping[str, Ed25519PublicKey] | None = None
    ) -> None:
        self._private_key = private_key
        self.key_id = key_id_of(private_key.public_key())
        self._public_keys = {**(earlier_keys or {}), self.key_id: private_key.public_key()}

    @classmethod
    def from_seed(
        cls, seed: bytes, earlier_keys: Mapping[str, Ed25519PublicKey] | None = None
    ) -> ECertificateSigner:
        return cls(Ed25519PrivateKey.from_private_bytes(seed), earlier_keys)

    def public_keys(self) -> dict[str, str]:
        """Every key that verifies, key id -> raw public key in base64url."""
        return {key_id: _b64(_raw(key)) for key_id, key in self._public_keys.items()}

    def sign(self, content: CodeContent) -> str:
        return self._signed(PREFIX, _payload(content))

    def sign_online(self, content: CodeContent, issued_at: datetime) -> str:
        """The online code of `content`, made at `issued_at` (whole seconds)."""
        return self._signed(ONLINE_PREFIX, {**_payload(content), "t": int(issued_at.timestamp())})

    def _signed(self, prefix: str, payload: dict[str, object]) -> str:
        data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        signed = f"{prefix}.{self.key_id}.{_b64(data)}"
        return f"{signed}.{_b64(self._private_key.sign(signed.encode()))}"

    def verify(self, code: str) -> CodeContent:
        """The content of a code one of our keys signed; raises InvalidCode (a retired key is unknown)."""
        return open_code(code, self._public_keys)

    def verify_online(self, code: str) -> OnlineCode:
        """An online code one of our keys signed, fresh or not; raises InvalidCode."""
        data = signed_payload(code, self._public_keys, ONLINE_PREFIX)
        try:
            issued_at = datetime.fromtimestamp(int(data["t"]), UTC)
        except (KeyError, TypeError, ValueError, OverflowError, OSError):
            raise InvalidCode("malformed") from None
        return OnlineCode(content_of(data), issued_at)


def _payload(content: CodeContent) -> dict[str, object]:
    return {
        "s": content.serial,
        "c": content.category,
        "l": content.level,
        "x": content.expires_on.strftime("%Y%m%d"),
        "h": content.holder_masked,
    }


def is_online_code(code: str) -> bool:
    return code.strip().startswith(ONLINE_PREFIX + ".")


def configured_signer(seed: bytes, previous_public_keys: Mapping[str, str]) -> ECertificateSigner:
    """Production: the seed signs; the operator lists earlier keys, each under its own key id."""
    earlier = {key_id: public_key(text) for key_id, text in previous_public_keys.items()}
    for key_id, key in earlier.items():
        if key_id_of(key) != key_id:
            raise ValueError(f"DCERT_ECERT_PREVIOUS_PUBLIC_KEYS: {key_id} is the id of another key")
    return ECertificateSigner.from_seed(seed, earlier)


async def load_or_create_signer(
    pool: asyncpg.Pool, configured_seed: bytes | None, previous_public_keys: Mapping[str, str] | None = None
) -> ECertificateSigner:
    """Production passes its keys from settings; embedded runs keep theirs in the database (the
    first start makes one), so codes issued before a restart still verify after it."""
    if configured_seed is not None:
        return configured_signer(configured_seed, previous_public_keys or {})
    async with pool.acquire() as conn:
        signer = await _stored_signer(conn)
        if signer is not None:
            return signer
        async with conn.transaction():
            await conn.execute(_KEYS_LOCK)
            return await _stored_signer(conn) or await _add_key(conn)


async def rotate_signing_key(pool: asyncpg.Pool) -> ECertificateSigner:
    """A new current key; the earlier ones keep verifying the codes they signed."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(_KEYS_LOCK)
        return await _add_key(conn)


async def retire_signing_key(pool: asyncpg.Pool, key_id: str) -> ECertificateSigner:
    """An administrator's act: codes signed by `key_id` stop verifying (the current key cannot go)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(_KEYS_LOCK)
        signer = await _stored_signer(conn)
        if signer is None or key_id not in signer.public_keys():
            raise SigningKeyNotFound()
        if key_id == signer.key_id:
            raise CurrentSigningKeyNotRetirable()
        await conn.execute("UPDATE signing_keys SET retired_at = now() WHERE key_id = $1", key_id)
        return await _stored_signer(conn) or signer


async def _stored_signer(conn: asyncpg.Connection) -> ECertificateSigner | None:
    """The newest key that is not retired signs; the other keys that are not retired verify."""
    rows = await conn.fetch(
        "SELECT private_seed FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at, key_id"
    )
    if not rows:
        return None
    *earlier, current = [Ed25519PrivateKey.from_private_bytes(bytes(row["private_seed"])) for row in rows]
    return ECertificateSigner(current, {key_id_of(key.public_key()): key.public_key() for key in earlier})


async def _add_key(conn: asyncpg.Connection) -> ECertificateSigner:
    """Store a fresh key as the newest (call under `_KEYS_LOCK`) and answer the signer it makes."""
    fresh = Ed25519PrivateKey.generate()
    # clock_timestamp(), not now(): a transaction that waited for the lock started earlier than
    # the rotation it waited for, and must still come after it.
    await conn.execute(
        "INSERT INTO signing_keys (key_id, private_seed, created_at) VALUES ($1, $2, clock_timestamp())",
        key_id_of(fresh.public_key()),
        fresh.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()),
    )
    signer = await _stored_signer(conn)
    assert signer is not None
    return signer
