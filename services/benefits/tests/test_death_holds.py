"""A death a partner reports holds the certificate (the certificate service) until a reviewer
confirms it: meanwhile nothing is paid; confirmed, the benefits end; rejected or corrected, they
carry on and the months held are paid as arrears."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conftest import BenefitsService, Certificate


async def run(service: BenefitsService, month: str, region: str = "330502") -> Any:
    answer = await service.call("POST", "/v1/runs", service.admin, {"month": month, "region": region})
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def paid(run_answer: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted((line["benefit"], line["for_month"], line["kind"]) for line in run_answer["lines"])


async def held(service: BenefitsService, certificate: Certificate, died_on: str) -> None:
    await service.certificate_event(
        "CertificatePutOnHold",
        certificate,
        household_region=certificate.region,
        reason_code="death_reported",
        effective_date=died_on,
        fact_id="gaj-1",
        partner_id="public-security",
        held_on="2025-04-02",
    )


async def statuses(service: BenefitsService, certificate: Certificate) -> dict[str, str]:
    benefits = await service.benefits_of(certificate.number)
    return {code: item["status"] for code, item in benefits.items() if item["status"] != "not_eligible"}


async def test_a_hold_suspends_every_benefit_paid_and_the_run_pays_nothing_meanwhile(
    service: BenefitsService,
) -> None:
    certificate = await service.issue_certificate(level=1, issued_on=date(2025, 1, 10))
    assert paid(await run(service, "2025-03")) == [
        ("nursing_subsidy", "2025-03", "regular"),
        ("pension_contribution_severe", "2025-03", "regular"),
    ]
    await held(service, certificate, "2025-03-20")
    suspended = await service.published("BenefitSuspended", count=2)
    assert {event["data"]["benefit"]: event["data"]["suspended_from"] for event in suspended} == {
        "nursing_subsidy": "2025-04-01",
        "pension_contribution_severe": "2025-04-01",
    }
    assert {event["data"]["reason_code"] for event in suspended} == {"death_reported"}
    assert await statuses(service, certificate) == {
        "nursing_subsidy": "suspended",
        "pension_contribution_severe": "suspended",
    }
    assert (await run(service, "2025-04"))["lines"] == []
    assert (await run(service, "2025-05"))["lines"] == []


async def test_a_hold_lifted_carries_the_benefits_on_and_pays_the_months_held_as_arrears(
    service: BenefitsService,
) -> None:
    certificate = await service.issue_certificate(level=1, issued_on=date(2025, 1, 10))
    await run(service, "2025-03")
    await held(service, certificate, "2025-03-20")
    await run(service, "2025-04")
    await service.certificate_event(
        "CertificateHoldLifted",
        certificate,
        household_region=certificate.region,
        reason_code="death_rejected",
    )
    assert await statuses(service, certificate) == {
        "nursing_subsidy": "active",
        "pension_contribution_severe": "active",
    }
    resumed = await service.published("BenefitActivated", count=4)
    assert {event["data"]["active_from"] for event in resumed[2:]} == {"2025-04-01"}
    assert paid(await run(service, "2025-05")) == [
        ("nursing_subsidy", "2025-04", "arrears"),
        ("nursing_subsidy", "2025-05", "regular"),
        ("pension_contribution_severe", "2025-04", "arrears"),
        ("pension_contribution_severe", "2025-05", "regular"),
    ]
    lines = await service.fetch("SELECT benefit, for_month FROM entitlement_line")
    assert len(lines) == len({tuple(line.values()) for line in lines}), "a month paid twice"


async def test_a_confirmed_death_ends_the_benefits_held_after_the_month_of_death(
    service: BenefitsService,
) -> None:
    certificate = await service.issue_certificate(level=1, issued_on=date(2025, 1, 10))
    await held(service, certificate, "2025-03-20")
    await service.certificate_event(
        "CertificateCancelled", certificate, reason="death", effective_date="2025-03-20", application_id=None
    )
    benefits = await service.benefits_of(certificate.number)
    assert {
        code: (item["status"], item["active_to"], item["reason_code"])
        for code, item in benefits.items()
        if item["status"] != "not_eligible"
    } == {
        "nursing_subsidy": ("terminated", "2025-03-31", "certificate_death"),
        "pension_contribution_severe": ("terminated", "2025-03-31", "certificate_death"),
    }
    assert paid(await run(service, "2025-03")) == [
        ("nursing_subsidy", "2025-03", "regular"),
        ("pension_contribution_severe", "2025-03", "regular"),
    ]
    assert (await run(service, "2025-04"))["lines"] == []


async def test_a_certificate_reinstated_after_a_mistaken_death_pays_every_month_since_as_arrears(
    service: BenefitsService,
) -> None:
    certificate = await service.issue_certificate(level=1, issued_on=date(2025, 1, 10))
    await run(service, "2025-03")
    await held(service, certificate, "2025-03-20")
    await service.certificate_event(
        "CertificateCancelled", certificate, reason="death", effective_date="2025-03-20", application_id=None
    )
    await run(service, "2025-04")
    await service.certificate_event(
        "CertificateReinstated",
        certificate,
        household_region=certificate.region,
        reason_code="death_corrected",
    )
    assert await statuses(service, certificate) == {
        "nursing_subsidy": "active",
        "pension_contribution_severe": "active",
    }
    assert paid(await run(service, "2025-05")) == [
        ("nursing_subsidy", "2025-04", "arrears"),
        ("nursing_subsidy", "2025-05", "regular"),
        ("pension_contribution_severe", "2025-04", "arrears"),
        ("pension_contribution_severe", "2025-05", "regular"),
    ]
    [holding] = await service.fetch("SELECT deceased_on FROM holding_view")
    assert holding["deceased_on"] is None


async def test_facts_during_a_hold_are_kept_and_count_when_it_lifts(service: BenefitsService) -> None:
    certificate = await service.issue_certificate(level=2, issued_on=date(2025, 1, 10))
    civil_affairs = await service.register_partner(("low_income_started",))
    await held(service, certificate, "2025-03-20")
    await service.report(civil_affairs, "low_income_started", certificate.id_number, date(2025, 5, 3))
    assert (await statuses(service, certificate))["nursing_subsidy"] == "suspended"
    assert "living_subsidy" not in await statuses(service, certificate), "nothing is decided on hold"
    await service.certificate_event(
        "CertificateHoldLifted",
        certificate,
        household_region=certificate.region,
        reason_code="death_corrected",
    )
    benefits = await service.benefits_of(certificate.number)
    assert (benefits["living_subsidy"]["status"], benefits["living_subsidy"]["active_from"]) == (
        "active",
        "2025-05-01",
    )
    assert (benefits["nursing_subsidy"]["status"], benefits["nursing_subsidy"]["active_from"]) == (
        "active",
        "2025-04-01",
    )


async def test_a_correction_of_a_death_is_passed_on_to_the_certificate_service(
    service: BenefitsService,
) -> None:
    certificate = await service.issue_certificate(level=1)
    public_security = await service.register_partner(("death", "death_corrected"), regions=("330000",))
    await service.report(public_security, "death", certificate.id_number, date(2025, 6, 1), fact_id="gaj-9")
    answer = await service.report(
        public_security, "death_corrected", certificate.id_number, date(2025, 6, 5), fact_id="gaj-10"
    )
    assert answer.status_code == 202
    assert answer.json() == {"fact_id": "gaj-10", "status": "received"}
    [corrected] = await service.published("DeathCorrected")
    assert corrected["data"] == {
        "person_ref": certificate.person_ref,
        "fact_id": "gaj-10",
        "effective_date": "2025-06-05",
        "partner_id": corrected["data"]["partner_id"],
        "certificate_number": certificate.number,
    }
