"""No secret lives in the repository: deployments take every key from their environment."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SECRET_SHAPES = {
    "a private key": re.compile(rb"-----BEGIN (?:RSA |EC |OPENSSH |ENCRYPTED )?PRIVATE KEY-----"),
    "a webhook signing secret": re.compile(rb"whsec_[A-Za-z0-9+/]{24,}={0,2}"),
    "a key given a value": re.compile(
        rb"(?:DCERT_(?:MASTER_KEY|IDENTITY_HASH_KEY|ECERT_SIGNING_SEED|SMS_API_KEY|SMTP_PASSWORD)"
        rb"|POSTGRES_PASSWORD)\s*[:=]\s*['\"]?(?![$<{])[A-Za-z0-9+/=_-]{12,}"
    ),
    "a password in a URL": re.compile(rb"postgres(?:ql)?://[^:/\s]+:(?![$<{])[^@\s]{6,}@(?!localhost|127\.)"),
}


def tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in listed.decode().split("\0") if name]


def test_no_tracked_file_holds_a_secret() -> None:
    files = tracked_files()
    assert len(files) > 100, "the repository's files were not listed"
    found = []
    for path in files:
        if not path.is_file() or path.suffix in {".png", ".jpg", ".ico"}:
            continue
        content = path.read_bytes()
        found += [
            f"{path.relative_to(ROOT)}: {what}"
            for what, shape in SECRET_SHAPES.items()
            if shape.search(content)
        ]
    assert found == []


def test_the_shapes_do_find_secrets() -> None:
    """The check above would see a leaked key (each shape against a made-up example)."""
    made_up = "q8Zr0vX3bT1yWm5nL2kP9sD4fG7hJ6cA"  # put together here, so this file holds none
    examples = {
        "a private key": b"-----BEGIN " + b"PRIVATE KEY-----\nMIIE",
        "a webhook signing secret": f"secret = 'whsec_{made_up}'".encode(),
        "a key given a value": f"DCERT_MASTER_KEY={made_up}".encode(),
        "a password in a URL": f"DATABASE_URL=postgresql://dcert:{made_up}@db.internal:5432/x".encode(),
    }
    for what, example in examples.items():
        assert SECRET_SHAPES[what].search(example), what
    assert not SECRET_SHAPES["a key given a value"].search(b"DCERT_MASTER_KEY: ${DCERT_MASTER_KEY:?set it}")
