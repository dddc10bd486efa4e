"""A run of the suite: rounds one after the other on one embedded PostgreSQL and NATS of its own."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .cluster import ClusterInfrastructure, parse_cluster_round
from .faults import parse_round
from .rounds import Options, RoundResult, run_round
from .system import Infrastructure

# The short round of `make test` (tests/test_faults.py): a service killed, then NATS's disk wiped.
QUICK_ROUND = "kill:certificate+wipe:nats"


@dataclass(frozen=True)
class Suite:
    rounds: Sequence[str]
    options: Options
    seed: int
    work_dir: Path
    keep: bool = False
    cluster: bool = False  # on the cluster of `make run-cluster` (tests/faults/cluster.py)


def run_suite(suite: Suite, echo: bool = True) -> list[RoundResult]:
    """Every round on one infrastructure of its own (the cluster's with `suite.cluster`);
    results in order. Runs on the calling (main) thread: the servers are tied to it
    (PR_SET_PDEATHSIG)."""
    parse = parse_cluster_round if suite.cluster else parse_round
    for spec in suite.rounds:
        parse(spec)  # refuse a mistyped round before anything starts
    suite.work_dir.mkdir(parents=True, exist_ok=True)
    # Short: PostgreSQL's socket lives here; not under the work dir, whose path may be long.
    data_dir = Path(tempfile.mkdtemp(prefix="dcert-faults-"))
    infra: Infrastructure | ClusterInfrastructure
    infra = ClusterInfrastructure(data_dir) if suite.cluster else Infrastructure(data_dir)
    results: list[RoundResult] = []
    try:
        for number, spec in enumerate(suite.rounds, start=1):
            started = time.monotonic()
            if echo:
                print(f"round {number}/{len(suite.rounds)}: {spec} ...", flush=True)
            result = asyncio.run(
                run_round(number, spec, infra, suite.options, suite.seed, suite.work_dir, parse=parse)
            )
            results.append(result)
            if echo:
                print(
                    f"round {number}: {'FAIL' if result.failed else 'ok'} in {time.monotonic() - started:.0f} s",
                    flush=True,
                )
            infra.restore()
    finally:
        infra.stop()
        if not suite.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    return results
