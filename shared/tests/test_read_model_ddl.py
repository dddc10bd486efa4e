"""The read models' fingerprint is the same in every process, whatever its hash seed: a different
one would drop and rebuild every read model at each start (ADR 0004)."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel
from dcert_shared.db import ReadModels

class Base(SQLModel, registry=registry()):
    pass

class Period(Base, table=True):
    id: int | None = Field(default=None, primary_key=True)
    person_ref: str = Field(index=True)
    region: str = Field(index=True)
    benefit: str = Field(index=True)
    month: str = Field(index=True)

print(ReadModels.of(Base.metadata).fingerprint)
"""


def test_the_read_model_fingerprint_does_not_depend_on_the_hash_seed() -> None:
    fingerprints = {
        subprocess.run(
            [sys.executable, "-c", SCRIPT],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in range(1, 7)
    }
    assert len(fingerprints) == 1, fingerprints
