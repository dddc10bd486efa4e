"""Offline check of an e-certificate code (电子证照): this one file is all an office needs to copy.

Needs Python 3.11+ and `cryptography`, nothing else of the service. The keys file is the body of
`GET /v1/e-certificate/keys`, saved as it is:

    python -m dcert_certificate.offline_verify --keys keys.json 'DC1.<key id>.<payload>.<signature>'
    python offline_verify.py --keys keys.json CODE          (the copied file on its own)

It prints a JSON result and exits 0 when the code is valid, 1 when it is not, 2 when the keys
file cannot be used. Valid offline means: well formed, signed by a listed key, signature
correct, and not past its expiry date on this computer's clock. It cannot know whether the
certificate was reported lost, replaced or cancelled after the code was made
(`status_checked: false`); `GET /v1/verify?code=...` online answers that. docs/e-certificate.md.

The holder's phone also shows an online code (`DC1T.`, made a minute ago, valid for a minute or
two, so that a screenshot stops working): it is checked online only, and this check says so
(`online_only`) instead of calling it malformed.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PREFIX = "DC1"
# The short-lived online code: the same payload and key, with the time it was made (`t`).
ONLINE_PREFIX = "DC1T"
# The disability categories of GB/T 26341-2010, as numbered in the payload and in certificate numbers.
CATEGORIES = {
    1: "visual",
    2: "hearing",
    3: "speech",
    4: "physical",
    5: "intellectual",
    6: "mental",
    7: "multiple",
}


class InvalidCode(Exception):
    """A code that cannot be trusted; `reason` is `malformed`, `unknown_key` or `signature_invalid`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CodeContent:
    """What a code says once its signature is checked: no identity or certificate number in it."""

    serial: str
    category: int
    level: int
    expires_on: date
    holder_masked: str


@dataclass(frozen=True)
class OfflineResult:
    """The answer of an offline check; `status_checked` is always false (see the module docstring)."""

    valid: bool
    reason: str | None
    category: str | None
    level: int | None
    expires_on: date | None
    holder: str | None
    key_id: str | None
    status_checked: bool = False

    def as_json(self) -> dict[str, Any]:
        answer = asdict(self)
        answer["expires_on"] = self.expires_on.isoformat() if self.expires_on else None
        return answer


def b64url_decode(text: str) -> bytes:
    """Base64url without padding, as the code and the keys use it; raises ValueError otherwise."""
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except binascii.Error as error:
        raise ValueError("not base64url") from error


def public_key(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key from its raw 32 bytes in base64url."""
    raw = b64url_decode(text)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def signed_payload(code: str, public_keys: Mapping[str, Ed25519PublicKey], prefix: str = PREFIX) -> Any:
    """The decoded payload of `code` (format `prefix`) if one of `public_keys` signed it exactly
    so; raises InvalidCode."""
    parts = code.strip().split(".")
    if len(parts) != 4 or parts[0] != prefix:
        raise InvalidCode("malformed")
    _, key_id, payload, signature = parts
    key = public_keys.get(key_id)
    if key is None:
        raise InvalidCode("unknown_key")
    try:
        key.verify(b64url_decode(signature), f"{prefix}.{key_id}.{payload}".encode())
    except (InvalidSignature, ValueError):
        raise InvalidCode("signature_invalid") from None
    try:
        return json.loads(b64url_decode(payload))
    except ValueError:
        raise InvalidCode("malformed") from None


def content_of(data: Any) -> CodeContent:
    """What a signed payload says; raises InvalidCode when it is not a payload of ours."""
    try:
        expiry = str(data["x"])
        return CodeContent(
            serial=str(data["s"]),
            category=int(data["c"]),
            level=int(data["l"]),
            expires_on=date(int(expiry[:4]), int(expiry[4:6]), int(expiry[6:8])),
            holder_masked=str(data["h"]),
        )
    except (ValueError, KeyError, TypeError):
        raise InvalidCode("malformed") from None


def open_code(code: str, public_keys: Mapping[str, Ed25519PublicKey]) -> CodeContent:
    """The content of `code` if one of `public_keys` signed it exactly so; raises InvalidCode."""
    return content_of(signed_payload(code, public_keys))


def verify_offline(code: str, public_keys: Mapping[str, str], today: date) -> OfflineResult:
    """Check `code` against `public_keys` (key id -> base64url raw Ed25519 key, the `keys` of
    `GET /v1/e-certificate/keys`) on the day `today`, without the network.

    Raises ValueError when a listed key is not an Ed25519 public key: the keys file is wrong,
    not the code. An expired code is invalid but still shows what it says."""
    keys = {key_id: public_key(text) for key_id, text in public_keys.items()}
    parts = code.strip().split(".")
    key_id = parts[1] if len(parts) == 4 else None
    if parts[0] == ONLINE_PREFIX:
        return OfflineResult(False, "online_only", None, None, None, None, key_id)
    try:
        content = open_code(code, keys)
    except InvalidCode as refused:
        return OfflineResult(False, refused.reason, None, None, None, None, key_id)
    category = CATEGORIES.get(content.category)
    if category is None:
        return OfflineResult(False, "malformed", None, None, None, None, key_id)
    expired = content.expires_on < today
    return OfflineResult(
        valid=not expired,
        reason="expired" if expired else None,
        category=category,
        level=content.level,
        expires_on=content.expires_on,
        holder=content.holder_masked,
        key_id=key_id,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Check an e-certificate code offline (signature and expiry, not current status)."
    )
    parser.add_argument("--keys", type=Path, required=True, help="the body of GET /v1/e-certificate/keys")
    parser.add_argument("--today", type=date.fromisoformat, default=date.today(), help="YYYY-MM-DD")
    parser.add_argument("code")
    arguments = parser.parse_args(argv)
    try:
        published = json.loads(arguments.keys.read_text(encoding="utf-8"))
        if published.get("algorithm", "Ed25519") != "Ed25519":
            raise ValueError("the keys are not Ed25519 keys")
        result = verify_offline(arguments.code, published["keys"], arguments.today)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        parser.error(f"{arguments.keys}: not a keys file ({type(error).__name__}: {error})")
    print(json.dumps(result.as_json(), ensure_ascii=False))
    return 0 if result.valid else 1


if __name__ == "__main__":
    sys.exit(main())
