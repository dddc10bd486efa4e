"""Supervised loops: nothing ends one but a stop; a singleton runs in one process at a time and
another takes over when the holder dies."""

from __future__ import annotations

import asyncio

import asyncpg

from dcert_dev.testing import eventually
from dcert_shared.loops import Backoff, Leases, Loops, Run


async def test_a_loop_that_fails_is_started_again_and_readiness_says_so(fresh_database: str) -> None:
    runs: list[int] = []

    async def flaky(run: Run) -> None:
        runs.append(1)
        if len(runs) < 3:
            raise RuntimeError("the broker answered 503")
        await run.stopping.wait()

    loops = Loops(backoff=Backoff(first=0.05, cap=0.1))
    loops.spawn("consumer x", flaky)
    await eventually(lambda: _running(loops, "consumer x"))
    assert len(runs) == 3
    assert loops.states["consumer x"].restarts == 2
    assert loops.readiness(max_lag_seconds=60) == {}
    loops.states["consumer x"].progress(lag_events=40, lag_seconds=120)
    assert loops.readiness(max_lag_seconds=60) == {"consumer x": "behind by 120 s (40 events)"}
    await loops.stop(5)


async def _running(loops: Loops, name: str) -> bool:
    return loops.states[name].status == "running"


async def test_a_singleton_runs_in_one_process_at_a_time_and_another_takes_over_when_it_dies(
    fresh_database: str,
) -> None:
    """Two processes of a service (two lease keepers on one database): one relay runs, the other
    stands by. The holder's database connection breaks: it stops at once, and one of the two
    runs again within seconds. The holder dies: the other one runs. Never two at once."""
    running: set[str] = set()
    most_at_once = 0

    def relay(process: str):  # type: ignore[no-untyped-def]
        async def body(run: Run) -> None:
            nonlocal most_at_once
            running.add(process)
            most_at_once = max(most_at_once, len(running))
            try:
                await run.stopping.wait()
            finally:
                running.discard(process)

        return body

    processes = {}
    for name in ("a", "b"):
        leases = Leases(fresh_database, "public", poll_seconds=0.2)
        await leases.start()
        loops = Loops(leases, backoff=Backoff(first=0.05, cap=0.1))
        loops.spawn("outbox-relay", relay(name), singleton=True)
        processes[name] = (leases, loops)
        await asyncio.sleep(0.3)
    assert running == {"a"}
    assert processes["b"][1].states["outbox-relay"].status == "standby"
    assert processes["b"][1].readiness(60) == {}, "a standby is ready: another process runs the loop"

    conn = await asyncpg.connect(fresh_database)
    try:  # the holder's lease connection breaks
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'dcert-leases'"
            " AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)"
        )
    finally:
        await conn.close()
    await eventually(lambda: _one_runs(running), timeout=5)
    holder = next(iter(running))
    other = "b" if holder == "a" else "a"
    leases, loops = processes.pop(holder)  # the holder dies
    await loops.stop(5)
    await leases.stop()
    await eventually(lambda: _one_runs(running), timeout=5)
    assert running == {other}
    assert most_at_once == 1
    for leases, loops in processes.values():
        await loops.stop(5)
        await leases.stop()


async def _one_runs(running: set[str]) -> bool:
    return len(running) == 1
