"""One short round of the fault suite (`make faults`, docs/fault-suite.md) inside `make test`.

A few applications go through the whole flow while the certificate service is killed (kill -9)
and, a moment later, nats-server loses its disk; afterwards every check of the suite must pass.
It brings its own embedded PostgreSQL and NATS (it kills them), not the session's `infra`.
"""

from __future__ import annotations

import os
from pathlib import Path

from .faults.report import details, table
from .faults.rounds import QUICK
from .faults.suite import QUICK_ROUND, Suite, run_suite


def test_a_killed_service_and_a_wiped_nats_disk_lose_double_and_reorder_nothing(tmp_path: Path) -> None:
    seed = int(os.environ.get("DCERT_FAULTS_SEED", "20240617"))
    [result] = run_suite(Suite([QUICK_ROUND], QUICK, seed, tmp_path / "faults"), echo=False)
    report = f"{table([result])}\n\n{details([result])}\n(seed {seed}: DCERT_FAULTS_SEED={seed} replays it)"
    print(report)
    assert not result.failed, report
