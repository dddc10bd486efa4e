"""A service's background loops, supervised: nothing ends them but the service stopping.

Every loop (the outbox relay, each consumer, each scheduled job) runs under `Loops.spawn`: an
exception is logged by its type, the loop waits (a growing, capped backoff) and starts again.
A *singleton* loop runs in one process of the service at a time: it first takes a lease, a
PostgreSQL session advisory lock on the lease keeper's own connection; the other processes wait
as standbys and one of them takes over within `poll_seconds` when the holder dies or loses its
connection (docs/adr/0008).

Each loop reports its state and lag; `/health/ready` reads them, and the metrics
`dcert.loop.running`, `dcert.loop.lag_events` and `dcert.loop.lag_seconds` carry them (labels:
loop names only).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

import asyncpg
from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

log = logging.getLogger(__name__)

# waiting: for something another service makes (a stream it publishes to), not a failure here.
Status = Literal["starting", "running", "standby", "waiting", "retrying", "done", "stopped"]


@dataclass
class LoopState:
    """What one loop is doing now, as readiness and the metrics see it."""

    name: str
    singleton: bool
    status: Status = "starting"
    error: str | None = None  # the type of the last failure, never its text
    restarts: int = 0
    lag_events: int = 0
    lag_seconds: float = 0.0
    since: float = field(default_factory=time.monotonic)

    def set(self, status: Status, error: str | None = None) -> None:
        if status != self.status:
            self.since = time.monotonic()
        self.status = status
        self.error = error

    def progress(self, lag_events: int = 0, lag_seconds: float = 0.0) -> None:
        """How far behind the loop is: events not yet handled, and the age of the oldest one."""
        self.lag_events = lag_events
        self.lag_seconds = max(0.0, lag_seconds)


class Run:
    """What a loop body is given: when to stop (the service stops, or the lease is lost), and
    where to report its progress."""

    def __init__(self, state: LoopState, stopping: asyncio.Event) -> None:
        self.state = state
        self.stopping = stopping

    def progress(self, lag_events: int = 0, lag_seconds: float = 0.0) -> None:
        self.state.progress(lag_events, lag_seconds)

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds`, or less if the loop is told to stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)


Body = Callable[[Run], Awaitable[None]]


@dataclass(frozen=True)
class Backoff:
    """Waits between restarts of a failing loop: doubling from `first` up to `cap`, with jitter."""

    first: float = 0.5
    cap: float = 30.0

    def delay(self, failures: int) -> float:
        base = min(self.cap, self.first * 2.0 ** max(0, failures - 1))
        return base * random.uniform(0.8, 1.2)


class Leases:
    """Singleton leases: session advisory locks held on one connection of this process.

    The lock key is the schema and the loop's name, so test schemas never contend. When the
    connection fails, every lease it held is lost at once (PostgreSQL released the locks) and
    the loops holding them are stopped; wanted leases are tried again every `poll_seconds`.
    """

    def __init__(self, dsn: str, schema: str, poll_seconds: float = 1.0) -> None:
        self.dsn = dsn
        self.schema = schema
        self.poll_seconds = poll_seconds
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self._wanted: dict[str, asyncio.Event] = {}  # name -> set when granted
        self._held: dict[str, asyncio.Event] = {}  # name -> set when lost
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect (so the first leases are granted at once), then keep the connection."""
        with contextlib.suppress(Exception):  # the keeper connects later if this fails
            await self._check()
        self._task = asyncio.create_task(self._keep(), name="leases")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for lost in self._held.values():
            lost.set()
        self._held.clear()
        await self._close()

    def holds(self, name: str) -> bool:
        lost = self._held.get(name)
        return lost is not None and not lost.is_set()

    async def acquire(self, name: str, stopping: asyncio.Event) -> asyncio.Event | None:
        """Wait until this process holds `name`; the event returned is set when it is lost.
        None when `stopping` was set first."""
        granted = self._wanted.setdefault(name, asyncio.Event())
        await self._try_wanted()
        waiters = [asyncio.ensure_future(granted.wait()), asyncio.ensure_future(stopping.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        if not granted.is_set():
            self._wanted.pop(name, None)
            return None
        return self._held[name]

    async def release(self, name: str) -> None:
        self._wanted.pop(name, None)
        lost = self._held.pop(name, None)
        if lost is None or lost.is_set():
            return
        lost.set()
        with contextlib.suppress(Exception):
            async with self._lock:
                if self._conn is not None and not self._conn.is_closed():
                    await self._conn.execute(
                        "SELECT pg_advisory_unlock(hashtextextended($1, 0))", self._key(name)
                    )

    def _key(self, name: str) -> str:
        return f"{self.schema}:lease:{name}"

    async def _keep(self) -> None:
        while True:
            try:
                await self._check()
                await self._try_wanted()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the connection failed: every lease is gone with it
                self._lose_all(type(error).__name__)
                await self._close()
            await asyncio.sleep(self.poll_seconds)

    async def _check(self) -> None:
        async with self._lock:
            if self._conn is None or self._conn.is_closed():
                if self._held:
                    self._lose_all("connection closed")
                self._conn = await asyncpg.connect(
                    self.dsn, timeout=10, server_settings={"application_name": "dcert-leases"}
                )
            await self._conn.fetchval("SELECT 1", timeout=5)

    async def _try_wanted(self) -> None:
        names = [name for name, granted in self._wanted.items() if not granted.is_set()]
        if not names:
            return
        try:
            async with self._lock:
                if self._conn is None or self._conn.is_closed():
                    return  # the keeper connects first
                rows = await self._conn.fetch(
                    "SELECT name, pg_try_advisory_lock(hashtextextended($2 || ':lease:' || name, 0)) AS got"
                    " FROM unnest($1::text[]) AS name",
                    names,
                    self.schema,
                    timeout=5,
                )
        except (asyncpg.PostgresError, OSError, TimeoutError, asyncpg.InterfaceError):
            return  # the keeper finds the connection broken and reconnects
        for row in rows:
            if row["got"] and row["name"] in self._wanted:
                self._held[row["name"]] = asyncio.Event()
                self._wanted[row["name"]].set()

    def _lose_all(self, why: str) -> None:
        if self._held:
            log.warning("leases lost (%s): %s", why, ", ".join(sorted(self._held)))
        for name, lost in self._held.items():
            lost.set()
            granted = self._wanted.get(name)
            if granted is not None:
                granted.clear()
        self._held.clear()

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.terminate()


_registries: list[Loops] = []


class Loops:
    """The loops of one service process."""

    def __init__(self, leases: Leases | None = None, backoff: Backoff = Backoff()) -> None:
        self.leases = leases
        self.backoff = backoff
        self.states: dict[str, LoopState] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()

    def spawn(
        self, name: str, body: Body, *, singleton: bool = False, backoff: Backoff | None = None
    ) -> None:
        if singleton and self.leases is None:
            raise RuntimeError("a singleton loop needs leases")
        if self not in _registries:
            _registries.append(self)
        state = self.states[name] = LoopState(name, singleton)
        task = asyncio.create_task(self._supervise(state, body, backoff or self.backoff), name=name)
        self._tasks.append(task)

    async def stop(self, grace_seconds: float) -> None:
        self._stopping.set()
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=grace_seconds)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        self._tasks.clear()
        with contextlib.suppress(ValueError):
            _registries.remove(self)

    async def _supervise(self, state: LoopState, body: Body, backoff: Backoff) -> None:
        failures = 0
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                if await self._run_once(state, body):
                    state.set("done")  # the body had nothing (more) to do here
                    return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                failures = 1 if time.monotonic() - started > 60 else failures + 1
                state.restarts += 1
                if getattr(error, "waiting", False):
                    state.set("waiting", type(error).__name__)
                    log.info("loop %s waits (%s)", state.name, type(error).__name__)
                else:
                    state.set("retrying", type(error).__name__)
                    log.warning("loop %s failed (%s); starting again", state.name, type(error).__name__)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), backoff.delay(failures))
        state.set("stopped")

    async def _run_once(self, state: LoopState, body: Body) -> bool:
        """Run the body once (a singleton's once it holds its lease); True when the body ended
        by itself, False when it was stopped (the service stops, or the lease was lost)."""
        if not state.singleton:
            state.set("running")
            await body(Run(state, self._stopping))
            return not self._stopping.is_set()
        assert self.leases is not None
        state.set("standby")
        lost = await self.leases.acquire(state.name, self._stopping)
        if lost is None:
            return False
        try:
            state.set("running")
            stopping = asyncio.Event()
            relay_stop = asyncio.ensure_future(_first_of(self._stopping, lost, then=stopping))
            try:
                await _until(body(Run(state, stopping)), lost, grace_seconds=5)
            finally:
                relay_stop.cancel()
            if lost.is_set() and not self._stopping.is_set():
                log.warning("loop %s lost its lease; standing by", state.name)
            return not (self._stopping.is_set() or lost.is_set())
        finally:
            await self.leases.release(state.name)

    def readiness(self, max_lag_seconds: float) -> dict[str, str]:
        """Each loop that is not as it should be, and why (empty: all ready)."""
        problems = {}
        for state in self.states.values():
            if state.status in ("starting", "retrying", "stopped"):
                problems[state.name] = state.status + (f" ({state.error})" if state.error else "")
            elif state.status == "running" and state.lag_seconds > max_lag_seconds:
                problems[state.name] = f"behind by {state.lag_seconds:.0f} s ({state.lag_events} events)"
        return problems


async def _first_of(*events: asyncio.Event, then: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        then.set()
    finally:
        for waiter in waiters:
            waiter.cancel()


async def _until(body: Awaitable[None], lost: asyncio.Event, grace_seconds: float) -> None:
    """Run `body`; once `lost` is set, give it `grace_seconds` to stop on its own, then cancel it."""
    task = asyncio.ensure_future(body)
    lost_wait = asyncio.ensure_future(lost.wait())
    try:
        await asyncio.wait([task, lost_wait], return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            done, _ = await asyncio.wait([task], timeout=grace_seconds)
            if not done:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                return
        task.result()  # a failure of the body reaches the supervisor
    finally:
        lost_wait.cancel()
        if not task.done():
            task.cancel()


def _observe(pick: Callable[[LoopState], float]) -> Callable[[CallbackOptions], Iterable[Observation]]:
    def observe(_: CallbackOptions) -> Iterable[Observation]:
        for registry in list(_registries):
            for state in registry.states.values():
                if state.status != "standby":
                    yield Observation(pick(state), {"loop": state.name})

    return observe


_meter = metrics.get_meter("dcert")
_meter.create_observable_gauge(
    "dcert.loop.running",
    [_observe(lambda state: 1.0 if state.status == "running" else 0.0)],
    description="1 while the loop runs here (standbys are not reported)",
)
_meter.create_observable_gauge(
    "dcert.loop.lag_events", [_observe(lambda state: state.lag_events)], description="Events behind"
)
_meter.create_observable_gauge(
    "dcert.loop.lag_seconds",
    [_observe(lambda state: state.lag_seconds)],
    unit="s",
    description="Age of the oldest event not yet handled",
)
