"""A holder imported from the national system: benefits decided from their original issue,
paid from the month of the import, never for the years before it."""

from __future__ import annotations

import uuid
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import BenefitsService


async def imported(service: BenefitsService, issued_on: date, benefits_from: date) -> str:
    id_number = service.new_identity_number()
    number = f"{id_number}41"
    await service.publish(
        "certificate",
        "CertificateImported",
        {
            "certificate_number": number,
            "person_ref": service.person_ref(id_number),
            "agent_refs": [],
            "category": "physical",
            "level": 1,
            "issued_on": issued_on.isoformat(),
            "expires_on": issued_on.replace(year=issued_on.year + 10).isoformat(),
            "household_region": service.regions.huzhou_county,
            "residence_region": service.regions.huzhou_county,
            "age_years": 45,
            "replacement_count": 0,
            "card_generation": 2,
            "card_status": "valid",
            "benefits_from": benefits_from.isoformat(),
            "application_id": str(uuid.uuid4()),
        },
    )
    await service.handled("certificate")
    return number


async def test_an_imported_holder_is_paid_from_the_month_of_the_import_not_the_original_issue(
    service: BenefitsService,
) -> None:
    number = await imported(service, issued_on=date(2019, 4, 8), benefits_from=date(2025, 6, 1))

    nursing = (await service.benefits_of(number))["nursing_subsidy"]

    assert nursing["status"] == "active"
    assert nursing["active_from"] == "2025-06-01"


async def test_arrears_asked_for_at_the_import_reach_back_to_that_month(service: BenefitsService) -> None:
    number = await imported(service, issued_on=date(2019, 4, 8), benefits_from=date(2024, 1, 1))

    nursing = (await service.benefits_of(number))["nursing_subsidy"]

    assert nursing["active_from"] == "2024-01-01"
