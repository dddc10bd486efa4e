"""What every read shares: where it reads, and how a record becomes a read-model row."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias, TypeVar

import asyncpg
from sqlmodel import SQLModel

Database: TypeAlias = asyncpg.Pool | asyncpg.Connection
Row = TypeVar("Row", bound=SQLModel)


def as_row(model: type[Row], record: Mapping[str, Any]) -> Row:
    """A read-model row from a record holding at least its columns."""
    return model.model_validate({name: record[name] for name in model.model_fields})
