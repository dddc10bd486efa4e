"""What the services' logs say about a round: their warnings and errors, counted by kind."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from dcert_shared.ids import mask_numbers

SHOWN_PER_LOG = 4


def digest(log_dir: Path) -> list[str]:
    """Per log file, its most frequent warnings and errors: count, level, logger, message and the
    last line of the exception, if any (identity-number-shaped text masked)."""
    lines: list[str] = []
    for path in sorted(log_dir.glob("*.log")):
        kinds: Counter[tuple[str, str, str, str]] = Counter()
        with path.open(errors="replace") as log:
            for line in log:
                if not line.startswith("{"):
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("level") not in ("WARNING", "ERROR", "CRITICAL"):
                    continue
                trace = str(entry.get("exception") or "").strip().splitlines()
                kinds[
                    (
                        str(entry["level"]),
                        str(entry.get("logger", "")),
                        str(entry.get("message", ""))[:90],
                        trace[-1][:120] if trace else "",
                    )
                ] += 1
        for (level, logger, message, error), count in kinds.most_common(SHOWN_PER_LOG):
            cause = f" [{error}]" if error else ""
            lines.append(mask_numbers(f"{path.stem}: {count} x {level} {logger}: {message}{cause}"))
        if len(kinds) > SHOWN_PER_LOG:
            lines.append(f"{path.stem}: ... {len(kinds) - SHOWN_PER_LOG} more kinds")
    return lines
