"""The benefits service in-process over HTTP, on real PostgreSQL and NATS, one per test.

Other services are played from outside, as their outbox relays would: `CertificateIssued` on
the certificate stream, `PartnerRegistered` on the notification stream. Helpers live here
(fixtures and the types they return), as the tests run in importlib mode.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest

from dcert_benefits.bootstrap import create_app
from dcert_benefits.settings import BenefitsSettings
from dcert_dev.testing import ServiceUnderTest, SettingsMaker, running_service
from dcert_shared.ids import Category, keyed_hash, make_identity_number


@dataclass(frozen=True)
class Regions:
    """Where the holders live, and what the shipped catalogue pays there."""

    huzhou: str = "330500"  # 湖州市: living 26200, nursing 27500 fen
    huzhou_county: str = "330502"  # 湖州市吴兴区
    huzhou_other_county: str = "330503"  # 湖州市南浔区
    other_city: str = "340100"  # living 18100, nursing 24300 fen
    other_city_county: str = "340104"


REGIONS = Regions()
HUZHOU_COUNTY = REGIONS.huzhou_county
_sequence = iter(range(1, 999))


def an_identity_number(region: str = HUZHOU_COUNTY, born: date = date(1980, 3, 1)) -> str:
    """A valid identity number not used before in this test session."""
    return make_identity_number(region, born, next(_sequence))


@dataclass
class Certificate:
    number: str
    id_number: str
    person_ref: str
    region: str
    event_id: uuid.UUID


@dataclass
class BenefitsService(ServiceUnderTest):
    """The running benefits service, with builders of certificates, partners and facts."""

    regions: Regions = REGIONS

    @staticmethod
    def new_identity_number(region: str = HUZHOU_COUNTY) -> str:
        return an_identity_number(region)

    # --- people and tokens ---

    def applicant(self, id_number: str) -> str:
        return self.token("applicant", f"citizen-{id_number[-6:]}", id_number=id_number)

    def reviewer(self, region: str) -> str:
        return self.token("reviewer", f"reviewer-{region}", region=region)

    def person_ref(self, id_number: str) -> str:
        return keyed_hash(self.settings.identity_hash_key_bytes, id_number)

    # --- HTTP ---

    async def benefits_of(
        self, number: str, token: str | None = None, language: str | None = None
    ) -> dict[str, dict[str, Any]]:
        """The certificate's benefits by code, as an admin (or `token`) sees them."""
        headers = {"Accept-Language": language} if language else None
        answer = await self.call(
            "GET", f"/v1/certificates/{number}/benefits", token or self.admin, headers=headers
        )
        assert answer.status_code == 200, answer.text
        return {item["code"]: item for item in answer.json()["items"]}

    async def report(
        self, partner: str, fact_type: str, id_number: str, effective: date, **extra: Any
    ) -> httpx.Response:
        body = {
            "fact_id": extra.pop("fact_id", f"fact-{uuid.uuid4().hex[:12]}"),
            "type": fact_type,
            "id_number": id_number,
            "effective_date": effective.isoformat(),
            "details": extra.pop("details", {}),
        }
        return await self.call("POST", "/v1/facts", partner, body)

    # --- other services' events ---

    async def issue_certificate(
        self,
        level: int = 1,
        category: str = "physical",
        region: str = HUZHOU_COUNTY,
        id_number: str | None = None,
        agents: tuple[str, ...] = (),
        issued_on: date | None = None,
        event_id: uuid.UUID | None = None,
    ) -> Certificate:
        """The certificate service issued a certificate; returns once this service has handled it."""
        id_number = id_number or an_identity_number(region)
        category_digit = Category[category].code
        number = f"{id_number}{category_digit}{level}"
        issued_on = issued_on or date.today()
        data = {
            "certificate_number": number,
            "application_id": str(uuid.uuid4()),
            "person_ref": self.person_ref(id_number),
            "agent_refs": [self.person_ref(agent) for agent in agents],
            "category": category,
            "level": level,
            "issued_on": issued_on.isoformat(),
            "expires_on": issued_on.replace(year=issued_on.year + 10).isoformat(),
            "household_region": region,
            "residence_region": region,
            "age_years": 45,
        }
        for agent in agents:  # verified by a reviewer, as the certificate service tells it
            await self.publish(
                "certificate",
                "AgentVerified",
                {"person_ref": data["person_ref"], "agent_ref": self.person_ref(agent), "basis": "reviewer"},
            )
        sent = await self.publish("certificate", "CertificateIssued", data, event_id)
        await self.handled("certificate")
        return Certificate(number, id_number, self.person_ref(id_number), region, sent)

    async def register_partner(self, facts: tuple[str, ...], regions: tuple[str, ...] | None = None) -> str:
        """The notification service registered a partner allowed these facts (in `regions`;
        none: an event from before jurisdictions, the whole country); returns its token."""
        partner_id = str(uuid.uuid4())
        data: dict[str, Any] = {
            "partner_id": partner_id,
            "event_types": [],
            "fields": [],
            "facts": list(facts),
        }
        if regions is not None:
            data["regions"] = list(regions)
        await self.publish("notification", "PartnerRegistered", data)
        await self.handled("notification")
        return self.token("partner", f"partner-{partner_id[:8]}", partner_id=partner_id)

    async def certificate_event(self, event_type: str, certificate: Certificate, **data: Any) -> None:
        """The certificate service changed the certificate (on hold, lifted, cancelled,
        reinstated); returns once this service has handled it."""
        body = {"certificate_number": certificate.number, "person_ref": certificate.person_ref, **data}
        await self.publish("certificate", event_type, body)
        await self.handled("certificate")


@pytest.fixture
async def service(service_settings: SettingsMaker) -> AsyncIterator[BenefitsService]:
    # The certificate and notification streams, as their runtimes would have made them.
    settings = service_settings(BenefitsSettings)
    async with running_service(
        create_app, settings, ("certificate", "notification"), service_type=BenefitsService
    ) as running:
        yield running


@pytest.fixture
async def impatient_service(service_settings: SettingsMaker) -> AsyncIterator[BenefitsService]:
    """The service with a short retry ladder: an event that keeps failing is a dead letter at once."""
    settings = service_settings(
        BenefitsSettings, consumer_max_attempts=2, consumer_retry_delays_seconds=[0.05]
    )
    async with running_service(
        create_app, settings, ("certificate", "notification"), service_type=BenefitsService
    ) as running:
        yield running
