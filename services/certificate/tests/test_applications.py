"""The certificate service in-process on real PostgreSQL and NATS: races on one person."""

from __future__ import annotations

import asyncio
from datetime import date

from dcert_certificate.bootstrap import create_app
from dcert_certificate.settings import CertificateSettings
from dcert_shared.ids import make_identity_number
from dcert_shared.testing import SettingsMaker, running_service

RACES = 25


def a_new_application(person: str) -> dict[str, object]:
    return {
        "matter": "new",
        "applicant": {
            "id_number": person,
            "name": "王小明",
            "phone": "13800000000",
            "household_region": "330502",
            "residence_region": "330502",
            "address": "人民路1号",
        },
        "agent": None,
        "declared_category": "physical",
        "home_visit": False,
        "consent": True,
    }


async def test_two_simultaneous_new_applications_for_one_person_give_exactly_one(
    service_settings: SettingsMaker,
) -> None:
    settings = service_settings(CertificateSettings, service_name="certificate")
    async with running_service(create_app, settings, ("assessment", "benefits")) as service:
        for race in range(RACES):
            person = make_identity_number("330502", date(1970, 1, 1 + race), 100 + race)
            token = service.token("applicant", f"c-{race}", id_number=person)
            answers = await asyncio.gather(
                *(
                    service.call("POST", "/v1/applications", token, a_new_application(person))
                    for _ in range(2)
                )
            )
            assert sorted(answer.status_code for answer in answers) == [201, 409], f"race {race}"
            listed = await service.call("GET", "/v1/applications", token)
            assert len(listed.json()["items"]) == 1, f"race {race}: two open applications"
        submitted = await service.fetch(
            "SELECT count(*) AS n FROM events WHERE event_type = 'ApplicationSubmitted'"
        )
        assert submitted[0]["n"] == RACES
