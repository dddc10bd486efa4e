"""The assessment service in-process over HTTP, on real PostgreSQL and NATS, one per test.

Helpers live here (fixtures and the types they return), as the tests run in importlib mode.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from dcert_assessment.bootstrap import create_app
from dcert_assessment.settings import AssessmentSettings
from dcert_dev.testing import ServiceUnderTest, SettingsMaker, eventually, running_service


@dataclass(frozen=True)
class Regions:
    """Places around the applicants' residence, from nearest to farthest."""

    home: str = "330502"  # 湖州市吴兴区
    same_city: str = "330503"  # 湖州市南浔区
    same_province: str = "330106"  # 杭州市西湖区
    other_province: str = "110105"  # 北京市朝阳区


REGION = Regions().home


@dataclass
class AssessmentService(ServiceUnderTest):
    """The running assessment service, with builders of its institutions, doctors and requests."""

    regions: Regions = Regions()

    def doctor_token(self, doctor_id: str) -> str:
        return self.token("doctor", f"subject-{doctor_id}", doctor_id=doctor_id)

    async def institution(
        self, region: str = REGION, categories: tuple[str, ...] = ("visual", "hearing")
    ) -> str:
        answer = await self.call(
            "POST",
            "/v1/institutions",
            self.admin,
            {"name": f"医院-{uuid.uuid4().hex[:6]}", "region": region, "categories": list(categories)},
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    async def doctor(self, institution_id: str, categories: tuple[str, ...] = ("visual", "hearing")) -> str:
        answer = await self.call(
            "POST",
            "/v1/doctors",
            self.admin,
            {
                "name": "李医生",
                "institution_id": institution_id,
                "license_no": f"LIC{uuid.uuid4().hex[:12]}",
                "categories": list(categories),
            },
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    async def qualified_doctor(
        self, region: str = REGION, categories: tuple[str, ...] = ("visual", "hearing")
    ) -> str:
        return await self.doctor(await self.institution(region, categories), categories)

    async def request_assessment(
        self,
        category: str = "visual",
        region: str = REGION,
        age_years: int = 40,
        application_id: str | None = None,
        event_id: uuid.UUID | None = None,
        message_id: str | None = None,
        person_ref: str = "ab" * 32,
    ) -> str:
        """Publish certificate.AssessmentRequested as the certificate service's relay would."""
        application_id = application_id or str(uuid.uuid4())
        payload = {
            "application_id": application_id,
            "person_ref": person_ref,
            "age_years": age_years,
            "declared_category": category,
            "residence_region": region,
            "household_region": region,
            "home_visit": False,
        }
        await self.publish(
            "certificate",
            "AssessmentRequested",
            payload,
            event_id,
            message_id=message_id,
            stream_id=f"application-{application_id}",
            stream_version=2,
        )
        return application_id

    async def assessment_of(self, application_id: str) -> dict[str, Any]:
        """The assessment of an application once the service has handled its request (admin view)."""

        async def found() -> dict[str, Any] | None:
            answer = await self.call("GET", "/v1/assessments", self.admin)
            mine = [item for item in answer.json()["items"] if item["application_id"] == application_id]
            return mine[0] if mine else None

        return await eventually(found)

    async def assigned_doctor(self, application_id: str) -> str | None:
        assessment = await self.assessment_of(application_id)
        answer = await self.call("GET", f"/v1/assessments/{assessment['id']}", self.admin)
        return answer.json()["doctor_id"]  # type: ignore[no-any-return]


@pytest.fixture
async def service(service_settings: SettingsMaker) -> AsyncIterator[AssessmentService]:
    # The certificate service's stream, as its runtime would have made it.
    settings = service_settings(AssessmentSettings)
    async with running_service(
        create_app, settings, ("certificate",), service_type=AssessmentService
    ) as running:
        yield running
