"""Later changes of the certificate reach the benefits: a move across provinces, a renewal."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import TYPE_CHECKING

from dcert_benefits.domain.calendar import month_end, next_month_start
from dcert_shared.ids import china_today, make_identity_number

if TYPE_CHECKING:
    from conftest import BenefitsService

HEFEI_COUNTY = "340104"


async def test_a_move_to_another_province_hands_the_benefits_over_with_tracked_deadlines(
    service: BenefitsService,
) -> None:
    certificate = await service.issue_certificate(level=1)
    await service.publish(
        "certificate",
        "CertificateTransferred",
        {
            "certificate_number": certificate.number,
            "person_ref": certificate.person_ref,
            "from_region": certificate.region,
            "to_region": HEFEI_COUNTY,
            "migration_number": "QY-1",
            "application_id": "app-1",
        },
    )
    await service.handled("certificate")
    today = china_today()
    nursing = (await service.benefits_of(certificate.number))["nursing_subsidy"]
    # Paid by the old region through this month, by the new one (its amount) from the next.
    assert (nursing["status"], nursing["monthly_amount_fen"], nursing["active_to"]) == (
        "active",
        27500,
        month_end(today).isoformat(),
    )
    assert nursing["upcoming"] == {
        "monthly_amount_fen": 24300,
        "active_from": next_month_start(today).isoformat(),
        "active_to": None,
    }
    async with service.runtime.pool.acquire() as conn:
        periods = await conn.fetch(
            "SELECT household_region, active_from, active_to FROM benefit_period"
            " WHERE person_ref = $1 AND benefit = 'nursing_subsidy' ORDER BY active_from",
            certificate.person_ref,
        )
    assert [(row["household_region"], row["active_to"]) for row in periods] == [
        (certificate.region, month_end(today)),
        (HEFEI_COUNTY, None),
    ], "no month paid twice or missed"

    new_region = service.reviewer(HEFEI_COUNTY)
    [handoff] = (await service.call("GET", "/v1/handoffs", new_region)).json()["items"]
    assert (handoff["from_region"], handoff["to_region"]) == (certificate.region, HEFEI_COUNTY)
    assert handoff["passed_on_on"] == handoff["decided_on"] == today.isoformat()
    assert handoff["notified_on"] is None and handoff["overdue_steps"] == []
    assert today < date.fromisoformat(handoff["pass_on_by"]) < date.fromisoformat(handoff["notify_by"])
    assert (await service.call("GET", "/v1/handoffs", service.reviewer(certificate.region))).json()["items"]
    foreign = service.reviewer("110105")
    assert (await service.call("GET", "/v1/handoffs", foreign)).json()["items"] == []
    assert (await service.call("GET", f"/v1/handoffs?region={HEFEI_COUNTY}", foreign)).status_code == 403
    url = f"/v1/handoffs/{handoff['id']}/notified"
    assert (await service.call("POST", url, foreign)).status_code == 404
    told = await service.call("POST", url, new_region)
    assert told.status_code == 200 and told.json()["notified_on"] == today.isoformat()
    again = await service.call("POST", url, new_region)
    assert again.json()["notified_on"] == today.isoformat() and again.json()["late_steps"] == []


async def test_a_renewal_after_expiry_pays_again_from_its_month(service: BenefitsService) -> None:
    issued = china_today() - timedelta(days=3700)
    certificate = await service.issue_certificate(level=2, issued_on=issued)
    expired_on = issued.replace(year=issued.year + 10)
    await service.publish(
        "certificate",
        "CertificateExpired",
        {
            "certificate_number": certificate.number,
            "person_ref": certificate.person_ref,
            "expired_on": expired_on.isoformat(),
        },
    )
    await service.handled("certificate")
    ended = (await service.benefits_of(certificate.number))["nursing_subsidy"]
    assert (ended["status"], ended["reason_code"]) == ("terminated", "certificate_expired")
    renewed_on = china_today()
    await service.publish(
        "certificate",
        "CertificateRenewed",
        {
            "certificate_number": certificate.number,
            "person_ref": certificate.person_ref,
            "application_id": "app-2",
            "issued_on": renewed_on.isoformat(),
            "expires_on": renewed_on.replace(year=renewed_on.year + 10).isoformat(),
        },
    )
    await service.handled("certificate")
    again = (await service.benefits_of(certificate.number))["nursing_subsidy"]
    expected_from = max(renewed_on.replace(day=1), next_month_start(expired_on - timedelta(days=1)))
    assert (again["status"], again["active_from"]) == ("active", expected_from.isoformat())


async def test_a_move_taken_before_the_issue_is_applied_once_the_issue_arrives(
    service: BenefitsService,
) -> None:
    """The issue and the move reach this service by two consumers: a move handled first is tried
    again until the certificate is known, never dropped (a dropped move would pay the old region
    on and never hand over)."""
    id_number = make_identity_number("330502", date(1981, 4, 2), secrets.randbelow(998) + 1)
    number, person_ref = f"{id_number}41", service.person_ref(id_number)
    await service.publish(
        "certificate",
        "CertificateTransferred",
        {
            "certificate_number": number,
            "person_ref": person_ref,
            "from_region": "330502",
            "to_region": HEFEI_COUNTY,
            "migration_number": "QY-2",
            "application_id": "app-2",
        },
    )
    certificate = await service.issue_certificate(level=1, region="330502", id_number=id_number)
    assert certificate.number == number
    await service.handled("certificate")
    new_region = service.reviewer(HEFEI_COUNTY)
    handoffs = (await service.call("GET", "/v1/handoffs", new_region)).json()["items"]
    assert [h["certificate_number"] for h in handoffs] == [number]
