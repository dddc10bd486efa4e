"""What a fault cost the people using the system, measured from outside while the load runs.

Every `interval` seconds a fresh adult applies, one try with a short timeout, as a person at a
counter would: an answer other than 201 is a refused write. Each accepted application is then
followed until it leaves `submitted`, which takes certificate -> NATS -> assessment -> NATS ->
certificate: that time is how long events took to flow. The cost of a round:

- writes refused: the seconds during which applications were refused (refused ticks x interval);
- events delayed: the slowest flow minus the median flow of the ticks before the first fault.

The applications are the prober's (withdrawn at the end of the round, like its probes).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field

import httpx

from .actors import new_application
from .client import Token, Unavailable
from .probe import Prober


@dataclass
class Tick:
    sent: float  # monotonic
    accepted: bool
    flowed_after: float | None = None  # seconds until the application left `submitted`


@dataclass
class Cost:
    writes_refused_seconds: float
    events_delayed_seconds: float | None  # None: no flow was measured before or after the fault
    ticks: int


@dataclass
class CostMeter:
    prober: Prober
    interval: float = 1.0
    write_timeout: float = 5.0
    flow_patience: float = 120.0
    ticks: list[Tick] = field(default_factory=list)
    _followers: set[asyncio.Task[None]] = field(default_factory=set)

    async def run(self, stopping: asyncio.Event) -> None:
        number = 0
        while not stopping.is_set():
            number += 1
            started = time.monotonic()
            await self._tick(number)
            await _sleep_until(stopping, started + self.interval)
        if self._followers:
            await asyncio.wait(self._followers, timeout=self.flow_patience)

    async def _tick(self, number: int) -> None:
        api, prober = self.prober.api, self.prober
        person = prober.people.adult()
        caller = Token("applicant", f"faults-cost-{prober.run}-{number}", {"id_number": person})
        tick = Tick(time.monotonic(), accepted=False)
        self.ticks.append(tick)
        try:
            answer = await api.once(
                "certificate",
                "POST",
                "/v1/applications",
                body=new_application(person, None),
                token=caller,
                key=f"{prober.run}-cost-{number}",
                timeout=self.write_timeout,
            )
        except httpx.HTTPError:
            return
        if answer.status_code != 201:
            return
        tick.accepted = True
        application_id = str(answer.json()["id"])
        prober.open.append((caller, application_id))
        follower = asyncio.create_task(self._follow(tick, caller, application_id))
        self._followers.add(follower)
        follower.add_done_callback(self._followers.discard)

    async def _follow(self, tick: Tick, caller: Token, application_id: str) -> None:
        api = self.prober.api
        while time.monotonic() - tick.sent < self.flow_patience:
            try:
                current = await api.call(
                    "certificate",
                    "GET",
                    f"/v1/applications/{application_id}",
                    label="cost: read",
                    token=caller,
                    patience=self.flow_patience,
                )
            except Unavailable:
                return
            if current.status_code == 200 and current.json()["status"] != "submitted":
                tick.flowed_after = time.monotonic() - tick.sent
                return
            await asyncio.sleep(0.2)

    def cost(self, first_fault_at: float | None) -> Cost:
        refused = sum(1 for tick in self.ticks if not tick.accepted)
        before = [
            tick.flowed_after
            for tick in self.ticks
            if tick.flowed_after is not None and (first_fault_at is None or tick.sent < first_fault_at)
        ]
        flows = [tick.flowed_after for tick in self.ticks if tick.flowed_after is not None]
        delayed = None
        if before and flows:
            delayed = max(0.0, max(flows) - statistics.median(before))
        return Cost(refused * self.interval, delayed, len(self.ticks))


async def _sleep_until(stopping: asyncio.Event, moment: float) -> None:
    remaining = moment - time.monotonic()
    if remaining > 0:
        try:
            await asyncio.wait_for(stopping.wait(), remaining)
        except TimeoutError:
            return
