"""The load: people applying, a doctor grading, reviewers deciding, matters later, partner facts.

Each case is one person's story through the public API: a `new` application (an adult, or a
child whose parent applies as agent), the doctor's result, the reviewer's approval, then one
follow-up on the issued certificate: nothing, renewal, replacement of a lost card (and then
cancelling the replacement's B1 number), grade change (re-assessed), transfer within the province
or to another, voluntary cancellation, a partner's low-income or death fact; or the application
is withdrawn while it is being assessed. Cases start at a steady pace and run side by side; one
doctor works her list for all of them. The people's identity numbers stay in this process: what
is printed names a case by its number.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .actors import AWAY, HOME, NEAR, Doctor, People, Staff, new_application
from .client import Api, Token, Unavailable, UnexpectedAnswer

FINAL_STATUSES = frozenset({"issued", "completed", "rejected", "withdrawn"})
FOLLOW_UPS = (
    "none",
    "renewal",
    "replacement",
    "grade_change",
    "transfer_near",
    "transfer_away",
    "cancellation",
    "low_income",
    "death",
    "withdrawal",
)


class StoryEnded(Exception):
    """The application ended in another state than the story waited for."""


@dataclass
class Case:
    """One person's story; `person` is personal data and never printed."""

    number: int
    kind: str  # adult or child
    follow_up: str
    person: str
    applications: list[str] = field(default_factory=list)
    certificates: list[str] = field(default_factory=list)
    step: str = "waiting"
    outcome: str = ""  # "done", or what stopped the story

    @property
    def name(self) -> str:
        return f"case {self.number} ({self.kind}, {self.follow_up})"


@dataclass
class Load:
    api: Api
    staff: Staff
    doctor: Doctor
    rng: random.Random
    people: People
    run: str
    patience: float  # how long a story waits for one step before giving up
    cases: list[Case] = field(default_factory=list)

    def plan(self, count: int) -> list[Case]:
        """`count` cases: every follow-up in turn (shuffled), adults and children alternating."""
        follow_ups = list(FOLLOW_UPS)
        self.rng.shuffle(follow_ups)
        for number in range(1, count + 1):
            kind = "child" if number % 3 == 0 else "adult"
            person = self.people.child() if kind == "child" else self.people.adult()
            self.cases.append(Case(number, kind, follow_ups[(number - 1) % len(follow_ups)], person))
        return self.cases

    async def run_all(self, spread_seconds: float, concurrency: int, deadline: float) -> None:
        """Start the cases evenly over `spread_seconds`, at most `concurrency` at once; cases still
        running at `deadline` (monotonic) are stopped where they are."""
        gate = asyncio.Semaphore(concurrency)
        pace = spread_seconds / max(1, len(self.cases))

        async def one(case: Case, delay: float) -> None:
            await asyncio.sleep(delay)
            async with gate:
                await self.story(case)

        tasks = [asyncio.create_task(one(case, i * pace)) for i, case in enumerate(self.cases)]
        try:
            await asyncio.wait(tasks, timeout=max(0.0, deadline - time.monotonic()))
        finally:  # also when the round is given up: no story goes on behind its back
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for case in self.cases:
            if not case.outcome:
                case.outcome = f"still at {case.step} when the load's time was up"

    async def story(self, case: Case) -> None:
        try:
            await self._story(case)
            case.outcome = "done"
        except (Unavailable, UnexpectedAnswer, StoryEnded, TimeoutError) as error:
            case.outcome = f"stopped at {case.step}: {type(error).__name__}: {error}"

    async def _story(self, case: Case) -> None:
        parent = self.people.adult() if case.kind == "child" else None
        caller = Token("applicant", f"faults-{self.run}-{case.number}", {"id_number": parent or case.person})
        case.step = "apply"
        body = new_application(case.person, parent)
        application_id = await self.submit(case, caller, body, "new")
        if case.follow_up == "withdrawal":
            case.step = "wait for assessing"
            await self.wait_status(caller, application_id, {"assessing"})
            case.step = "withdraw"
            await self.withdraw(caller, application_id)
            return
        self.doctor.plan[application_id] = level = self.rng.randint(1, 4)
        case.step = "new: review"
        number = await self.approve(caller, application_id, "assessed", HOME)
        case.certificates.append(number)
        follow_up = self.follow_ups()[case.follow_up]
        await follow_up(case, caller, number, level)

    def follow_ups(self) -> dict[str, Callable[[Case, Token, str, int], Awaitable[None]]]:
        return {
            "none": self.nothing,
            "renewal": self.renewal,
            "replacement": self.replacement,
            "grade_change": self.grade_change,
            "transfer_near": self.transfer_near,
            "transfer_away": self.transfer_away,
            "cancellation": self.cancellation,
            "low_income": self.low_income,
            "death": self.death,
        }

    # -- follow-ups ---------------------------------------------------------------------------
    async def nothing(self, case: Case, caller: Token, number: str, level: int) -> None:
        return None

    async def renewal(self, case: Case, caller: Token, number: str, level: int) -> None:
        await self.matter(case, caller, {"matter": "renewal", "certificate_number": number})

    async def replacement(self, case: Case, caller: Token, number: str, level: int) -> None:
        new_number = await self.matter(
            case, caller, {"matter": "replacement", "certificate_number": number, "reason": "lost"}
        )
        case.certificates.append(new_number)
        await self.matter(
            case,
            caller,
            {"matter": "cancellation", "certificate_number": new_number, "reason": "voluntary"},
            "cancellation of B1",
        )

    async def grade_change(self, case: Case, caller: Token, number: str, level: int) -> None:
        body = {"matter": "grade_change", "certificate_number": number, "declared_category": "physical"}
        new_level = self.rng.choice([other for other in range(1, 5) if other != level])
        new_number = await self.matter(case, caller, body, assessed_level=new_level)
        case.certificates.append(new_number)

    async def transfer_near(self, case: Case, caller: Token, number: str, level: int) -> None:
        await self.transfer(case, caller, number, NEAR)

    async def transfer_away(self, case: Case, caller: Token, number: str, level: int) -> None:
        await self.transfer(case, caller, number, AWAY)

    async def transfer(self, case: Case, caller: Token, number: str, region: str) -> None:
        case.step = "transfer: apply"
        body = {"matter": "transfer", "certificate_number": number, "to_region": region}
        application_id = await self.submit(case, caller, {**body, "consent": True}, "transfer")
        case.step = "transfer: old region's review"
        await self.approve(caller, application_id, "submitted", HOME)
        case.step = "transfer: new region's review"
        await self.approve(caller, application_id, "migrating", region)

    async def cancellation(self, case: Case, caller: Token, number: str, level: int) -> None:
        body = {"matter": "cancellation", "certificate_number": number, "reason": "voluntary"}
        await self.matter(case, caller, body)

    async def low_income(self, case: Case, caller: Token, number: str, level: int) -> None:
        await self.fact(case, "low_income_started")

    async def death(self, case: Case, caller: Token, number: str, level: int) -> None:
        await self.fact(case, "death")

    # -- steps --------------------------------------------------------------------------------
    async def submit(self, case: Case, caller: Token, body: dict[str, Any], what: str) -> str:
        answer = await self.api.expect(
            "certificate",
            "POST",
            "/v1/applications",
            201,
            label=f"{case.name}: submit {what}",
            body={"consent": True, **body},
            token=caller,
            key=f"{self.run}-{case.number}-{len(case.applications)}",
        )
        application_id = str(answer.json()["id"])
        case.applications.append(application_id)
        return application_id

    async def matter(
        self,
        case: Case,
        caller: Token,
        body: dict[str, Any],
        what: str | None = None,
        assessed_level: int | None = None,
    ) -> str:
        """Apply for a matter and have it approved: the certificate number the approval names."""
        what = what or str(body["matter"])
        case.step = f"{what}: apply"
        application_id = await self.submit(case, caller, body, what)
        if assessed_level is not None:
            self.doctor.plan[application_id] = assessed_level
        case.step = f"{what}: review"
        return await self.approve(
            caller, application_id, "submitted" if assessed_level is None else "assessed"
        )

    async def fact(self, case: Case, fact_type: str) -> None:
        case.step = f"fact {fact_type}"
        await self.api.expect(
            "benefits",
            "POST",
            "/v1/facts",
            202,
            label=f"{case.name}: report {fact_type}",
            body={
                "fact_id": f"faults-{self.run}-{case.number}-{fact_type}",
                "type": fact_type,
                "id_number": case.person,
                "effective_date": date.today().isoformat(),
                "details": {},
            },
            token=self.staff.partner,
        )

    async def application(self, caller: Token, application_id: str) -> dict[str, Any]:
        answer = await self.api.expect(
            "certificate",
            "GET",
            f"/v1/applications/{application_id}",
            200,
            label=f"read application {application_id}",
            token=caller,
            patience=self.patience,
        )
        return dict(answer.json())

    async def wait_status(self, caller: Token, application_id: str, statuses: set[str]) -> dict[str, Any]:
        deadline = time.monotonic() + self.patience
        while True:
            current = await self.application(caller, application_id)
            if current["status"] in statuses:
                return current
            if current["status"] in FINAL_STATUSES:
                raise StoryEnded(f"application {application_id} ended {current['status']}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"application {application_id} stayed {current['status']}")
            await asyncio.sleep(0.3 + self.rng.random() * 0.3)

    async def approve(self, caller: Token, application_id: str, waiting_for: str, region: str = HOME) -> str:
        """Once the application is `waiting_for`, the region's reviewer approves it: the number
        of the certificate it names. A 409 after a lost answer is the approval taken already."""
        await self.wait_status(caller, application_id, {waiting_for})
        answer = await self.api.call(
            "certificate",
            "POST",
            f"/v1/applications/{application_id}/decision",
            label=f"approve application {application_id}",
            body={"decision": "approve"},
            token=self.staff.reviewers[region],
        )
        if answer.status_code == 200:
            decided = dict(answer.json())
        elif answer.status_code == 409:
            decided = await self.application(caller, application_id)
            if decided["status"] == waiting_for:
                raise UnexpectedAnswer(f"approve application {application_id}", answer)
        else:
            raise UnexpectedAnswer(f"approve application {application_id}", answer)
        return str(decided.get("certificate_number") or "")

    async def withdraw(self, caller: Token, application_id: str) -> None:
        answer = await self.api.call(
            "certificate",
            "POST",
            f"/v1/applications/{application_id}/withdrawal",
            label=f"withdraw application {application_id}",
            token=caller,
        )
        if (
            answer.status_code == 409
            and (await self.application(caller, application_id))["status"] == "withdrawn"
        ):
            return
        if answer.status_code != 200:
            raise UnexpectedAnswer(f"withdraw application {application_id}", answer)
