"""Recovery, measured from outside: how long until a fresh application moves again."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from .actors import People, new_application
from .client import Api, Token, Unavailable, UnexpectedAnswer


@dataclass
class Prober:
    """Measures recovery: a fresh application sent after a fault must reach `assessing`
    (certificate -> NATS -> assessment -> NATS -> certificate). Each probe is withdrawn afterwards,
    so that it ends in a final state like every other application."""

    api: Api
    people: People
    run: str
    open: list[tuple[Token, str]] = field(default_factory=list)  # probes not withdrawn yet

    async def probe(self, number: int, patience: float) -> float | None:
        """Seconds until the probe was `assessing`, or None if not within `patience`."""
        started = time.monotonic()
        person = self.people.adult()
        caller = Token("applicant", f"faults-probe-{self.run}-{number}", {"id_number": person})
        try:
            answer = await self.api.expect(
                "certificate",
                "POST",
                "/v1/applications",
                201,
                label="probe: submit",
                body=new_application(person, None),
                token=caller,
                key=f"{self.run}-probe-{number}",
                patience=patience,
            )
            application_id = str(answer.json()["id"])
            self.open.append((caller, application_id))
            while time.monotonic() - started < patience:
                current = await self.api.expect(
                    "certificate",
                    "GET",
                    f"/v1/applications/{application_id}",
                    200,
                    label="probe: read",
                    token=caller,
                    patience=max(1.0, patience - (time.monotonic() - started)),
                )
                if current.json()["status"] != "submitted":
                    return time.monotonic() - started
                await asyncio.sleep(0.2)
        except (Unavailable, UnexpectedAnswer):
            return None
        return None

    async def withdraw_all(self, patience: float) -> list[str]:
        """Withdraw every probe; the ids of those that could not be."""
        failed = []
        for caller, application_id in self.open:
            try:
                answer = await self.api.call(
                    "certificate",
                    "POST",
                    f"/v1/applications/{application_id}/withdrawal",
                    label="probe: withdraw",
                    token=caller,
                    patience=patience,
                )
                if answer.status_code not in (200, 409):
                    failed.append(application_id)
            except Unavailable:
                failed.append(application_id)
        self.open.clear()
        return failed
