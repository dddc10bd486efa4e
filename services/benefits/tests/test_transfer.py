"""Later changes of the certificate reach the benefits: a move across provinces, a renewal."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from dcert_benefits.domain.calendar import month_end, next_month_start
from dcert_shared.ids import china_today

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
    assert handoff["notified_on"] is None
    assert handoff["overdue_steps"] == []
    assert today < date.fromisoformat(handoff["pass_on_by"]) < date.fromisoformat(handoff["notify_by"])
    assert (await service.call("GET", "/v1/handoffs", service.reviewer(certificate.region))).json()["items"]
    foreign = service.reviewer("110105")
    assert (await service.call("GET", "/v1/handoffs", foreign)).json()["items"] == []
    assert (await service.call("GET", f"/v1/handoffs?region={HEFEI_COUNTY}", foreign)).status_code == 403
    url = f"/v1/handoffs/{handoff['id']}/notified"
    assert (await service.call("POST", url, foreign)).status_code == 404
    told = await service.call("POST", url, new_region)
    assert told.status_code == 200
    assert told.json()["notified_on"] == today.isoformat()
    again = await service.call("POST", url, new_region)
    assert again.json()["notified_on"] == today.isoformat()
    assert again.json()["late_steps"] == []


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


async def test_a_replacement_cancelled_at_once_ends_the_benefits(service: BenefitsService) -> None:
    """A lost card replaced (a B1 number), then the B1 certificate cancelled: its issue and its
    cancellation reach this service in the stream's order, so the cancellation ends what the
    replacement carried on (with one consumer per event type the cancellation could come
    first, find no B1 on file, and be dropped: benefits paid for ever)."""
    certificate = await service.issue_certificate(level=1)
    replacement = f"{certificate.number}B1"
    issued = {
        "certificate_number": replacement,
        "application_id": "app-replacement",
        "person_ref": certificate.person_ref,
        "agent_refs": [],
        "category": "physical",
        "level": 1,
        "issued_on": china_today().isoformat(),
        "expires_on": china_today().replace(year=china_today().year + 10).isoformat(),
        "household_region": certificate.region,
        "residence_region": certificate.region,
        "previous_number": certificate.number,
    }
    await service.publish("certificate", "CertificateIssued", issued)
    await service.publish(
        "certificate",
        "CertificateCancelled",
        {
            "certificate_number": replacement,
            "person_ref": certificate.person_ref,
            "reason": "voluntary",
            "effective_date": china_today().isoformat(),
            "application_id": "app-cancellation",
        },
    )
    await service.handled("certificate")
    nursing = (await service.benefits_of(replacement))["nursing_subsidy"]
    assert (nursing["status"], nursing["active_to"]) == ("terminated", month_end(china_today()).isoformat())
