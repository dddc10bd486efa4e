"""The certificate service in-process on real PostgreSQL and NATS, with builders for its tests.

One service per test module (`certificate` fixture): tests isolate themselves by data (a new
person each), and move the service's clock only through `clock` and put it back.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from typing import Any

import pytest_asyncio

from dcert_certificate.bootstrap import create_app
from dcert_certificate.settings import CertificateSettings
from dcert_dev.embedded import ensure_databases
from dcert_dev.testing import ServiceUnderTest, eventually, new_prefix, running_service
from dcert_shared.ids import make_identity_number

HOME = "330502"  # 湖州市吴兴区
OTHER_PROVINCE = "310101"  # 上海市黄浦区
TODAY = date(2026, 11, 20)

_people = itertools.count(random.randrange(1, 5_000))


def new_person(region: str = HOME, birth: date | None = None) -> str:
    number = next(_people)
    born = birth or date(1950, 1, 1) + timedelta(days=number * 41 % 15_000)
    return make_identity_number(region, born, number % 999 + 1)


@dataclass
class Clock:
    today: date = TODAY

    def __call__(self) -> date:
        return self.today


def new_application(
    person: str, household: str = HOME, residence: str = HOME, category: str = "physical", **extra: Any
) -> dict[str, Any]:
    return {
        "matter": "new",
        "applicant": {
            "id_number": person,
            "name": "李明华",
            "phone": "13800000000",
            "household_region": household,
            "residence_region": residence,
            "address": "人民路1号",
        },
        "agent": None,
        "declared_category": category,
        "home_visit": False,
        "consent": True,
        **extra,
    }


def residence_permit(valid_until: date = TODAY + timedelta(days=365)) -> dict[str, str]:
    return {"type": "residence_permit", "number": "JZZ-310101-0001", "valid_until": valid_until.isoformat()}


@dataclass
class CertificateService(ServiceUnderTest):
    clock: Clock = field(default_factory=Clock)

    def holder(self, person: str) -> str:
        return self.token("applicant", f"citizen-{person[-6:]}", id_number=person)

    def reviewer(self, region: str = HOME) -> str:
        return self.token("reviewer", f"reviewer-{region}", region=region)

    async def submit(self, token: str, body: dict[str, Any], expect: int = 201) -> dict[str, Any]:
        answer = await self.call("POST", "/v1/applications", token, body)
        assert answer.status_code == expect, answer.text
        return dict(answer.json())

    async def application(self, token: str, application_id: str) -> dict[str, Any]:
        answer = await self.call("GET", f"/v1/applications/{application_id}", token)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    async def reaches(self, token: str, application_id: str, status: str) -> dict[str, Any]:
        async def there() -> dict[str, Any] | None:
            current = await self.application(token, application_id)
            return current if current["status"] == status else None

        return await eventually(there)

    async def assessed(
        self, token: str, application_id: str, category: str = "physical", level: int = 2
    ) -> None:
        """The assessment service's answer: scheduled, then graded."""
        assessment_id = str(uuid.uuid4())
        await self.publish(
            "assessment",
            "AssessmentScheduled",
            {"application_id": application_id, "assessment_id": assessment_id, "doctor_id": "doctor-1"},
        )
        await self.publish(
            "assessment",
            "GradeRecorded",
            {
                "application_id": application_id,
                "assessment_id": assessment_id,
                "category": category,
                "level": level,
                "components": [],
                "override_reason_given": False,
            },
        )
        await self.reaches(token, application_id, "assessed")

    async def decide(
        self, application_id: str, decision: str = "approve", region: str = HOME, expect: int = 200
    ) -> dict[str, Any]:
        body = {"decision": decision, "reason": None if decision == "approve" else "材料需补正"}
        answer = await self.call(
            "POST", f"/v1/applications/{application_id}/decision", self.reviewer(region), body
        )
        assert answer.status_code == expect, answer.text
        return dict(answer.json())

    async def confirm_agent(
        self, application_id: str, region: str = HOME, decision: str = "confirmed"
    ) -> None:
        """The household area's reviewer checked the agent's evidence."""
        answer = await self.call(
            "POST", f"/v1/applications/{application_id}/agent", self.reviewer(region), {"decision": decision}
        )
        assert answer.status_code == 200, answer.text

    async def certificate_for(
        self, person: str, category: str = "physical", level: int = 2, household: str = HOME
    ) -> str:
        """A person holding a live certificate, issued through the whole new-application path."""
        token = self.holder(person)
        created = await self.submit(token, new_application(person, household=household, category=category))
        await self.assessed(token, created["id"], category, level)
        return str((await self.decide(created["id"], region=household))["certificate_number"])

    async def holder_with_certificate(
        self, category: str = "physical", level: int = 2
    ) -> tuple[str, str, str]:
        """A new person, their token and the number of their live certificate."""
        person = new_person()
        return person, self.holder(person), await self.certificate_for(person, category, level)

    async def certificate(self, token: str, number: str) -> dict[str, Any]:
        answer = await self.call("GET", f"/v1/certificates/{number}", token)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    async def code(self, token: str, number: str) -> str:
        answer = await self.call("GET", f"/v1/certificates/{number}/e-certificate", token)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["code"])

    async def published_about(self, event_type: str, field: str, value: str) -> list[dict[str, Any]]:
        """This service's published events of a type whose `data[field]` is `value`, once one is out."""

        async def found() -> list[dict[str, Any]] | None:
            events = [e for e in await self.published(event_type) if e["data"].get(field) == value]
            return events or None

        return await eventually(found)

    async def verify(self, code: str) -> dict[str, Any]:
        answer = await self.http.get("/v1/verify", params={"code": code})
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def certificate(database_server_url: str, nats_url: str) -> AsyncIterator[CertificateService]:
    name = f"cert_{uuid.uuid4().hex[:10]}"
    dsn = (await ensure_databases(database_server_url, [name]))[name]
    settings = CertificateSettings(
        database_url=dsn,
        nats_url=nats_url,
        nats_prefix=new_prefix(),
        environment="test",
        public_notice_working_days=0,
        notice_check_seconds=0.1,
        expiry_check_seconds=3600,
    )
    clock = Clock()
    async with running_service(
        partial(create_app, today=clock),
        settings,
        ("assessment", "benefits"),
        service_type=CertificateService,
        clock=clock,
    ) as service:
        yield service
