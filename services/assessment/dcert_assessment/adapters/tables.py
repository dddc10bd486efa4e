"""The assessment service's schema history (docs/adr/0010): the shared tables alone; every
table of its own is a read model, rebuilt from its events."""

from __future__ import annotations

from dcert_shared.schema_history import SchemaHistory

HISTORY = SchemaHistory()
