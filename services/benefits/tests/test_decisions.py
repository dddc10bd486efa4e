"""A certificate is issued: each benefit is decided at once, and the decisions go out on JetStream."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import BenefitsService


async def test_a_grade_1_holder_in_huzhou_gets_the_nursing_subsidy_from_the_month_of_issue(
    service: BenefitsService,
) -> None:
    certificate = await service.issue_certificate(level=1, issued_on=date(2025, 5, 20))
    benefits = await service.benefits_of(certificate.number)
    nursing = benefits["nursing_subsidy"]
    assert nursing["status"] == "active"
    assert nursing["monthly_amount"] == nursing["monthly_amount_fen"] == 27500
    assert (nursing["active_from"], nursing["active_to"]) == ("2025-05-01", None)
    assert nursing["policy_version"] == "nursing_subsidy/v1/huzhou-2024"
    living = benefits["living_subsidy"]
    assert (living["status"], living["reason_code"], living["monthly_amount"]) == (
        "not_eligible",
        "no_low_income_fact",
        None,
    )


async def test_the_decisions_are_published_with_reason_and_policy_version_and_no_personal_data(
    service: BenefitsService,
) -> None:
    certificate = await service.issue_certificate(level=1, issued_on=date(2025, 5, 20))
    published = await service.published("BenefitActivated", count=2)
    by_benefit = {event["data"]["benefit"]: event for event in published}
    assert sorted(by_benefit) == ["nursing_subsidy", "pension_contribution_severe"]  # born 1980
    activated = by_benefit["nursing_subsidy"]
    assert activated["data"] == {
        "certificate_number": certificate.number,
        "person_ref": certificate.person_ref,
        "benefit": "nursing_subsidy",
        "monthly_amount_fen": 27500,
        "active_from": "2025-05-01",
        "reason_code": "severe_disability",
        "policy_version": "nursing_subsidy/v1/huzhou-2024",
        "activation_rule": "month_of_application",  # issued in the month applied
        "household_region": certificate.region,
        "active_to": None,
        "ends_because": None,
    }
    assert activated["source"] == "/dcert/benefits"
    assert certificate.number not in activated["subject"]  # streams are keyed by person_ref
    not_eligible = {
        event["data"]["benefit"]: event for event in await service.published("BenefitNotEligible", count=4)
    }["living_subsidy"]
    assert not_eligible["data"]["reason_code"] == "no_low_income_fact"
    assert not_eligible["data"]["policy_version"] == "living_subsidy/v1/huzhou-2024"


async def test_a_grade_3_physical_holder_is_not_eligible_for_nursing_in_the_other_city(
    service: BenefitsService,
) -> None:
    certificate = await service.issue_certificate(level=3, region=service.regions.other_city_county)
    nursing = (await service.benefits_of(certificate.number))["nursing_subsidy"]
    assert (nursing["status"], nursing["reason_code"], nursing["monthly_amount_fen"]) == (
        "not_eligible",
        "grade_not_covered",
        None,
    )
    published = await service.published("BenefitNotEligible", count=6)
    assert {event["data"]["benefit"]: event["data"]["reason_code"] for event in published} == {
        "nursing_subsidy": "grade_not_covered",
        "living_subsidy": "no_low_income_fact",
        "pension_contribution_severe": "grade_not_covered",
        "free_transit_blind": "category_not_covered",
        "free_psychiatric_medication": "category_not_covered",
        "child_rehabilitation": "age_not_covered",
    }


async def test_huzhou_extends_nursing_to_grade_3_mental_disability(service: BenefitsService) -> None:
    certificate = await service.issue_certificate(level=3, category="mental")
    nursing = (await service.benefits_of(certificate.number))["nursing_subsidy"]
    assert (nursing["status"], nursing["reason_code"]) == ("active", "local_extension_intellectual_mental")


async def test_a_redelivered_certificate_issued_has_no_second_effect(service: BenefitsService) -> None:
    certificate = await service.issue_certificate(level=1)
    before = await service.fetch("SELECT event_type FROM events ORDER BY position")
    await service.issue_certificate(level=1, id_number=certificate.id_number, event_id=certificate.event_id)
    assert await service.fetch("SELECT event_type FROM events ORDER BY position") == before
    assert len(await service.fetch("SELECT * FROM benefit_period")) == 2  # nursing, pension
    handled = await service.fetch("SELECT count(*) AS n FROM inbox WHERE event_id = $1", certificate.event_id)
    assert handled == [{"n": 1}]


async def test_reasons_are_given_in_chinese_by_default_and_in_english_on_request(
    service: BenefitsService,
) -> None:
    certificate = await service.issue_certificate(level=1)
    chinese = (await service.benefits_of(certificate.number))["living_subsidy"]
    assert "低保" in chinese["reason"]
    assert chinese["name"] == "困难残疾人生活补贴"
    english = (await service.benefits_of(certificate.number, language="en-US,en;q=0.9,zh;q=0.5"))[
        "living_subsidy"
    ]
    assert english["reason"] == "No subsistence-allowance (dibao) status reported by civil affairs yet"
    assert english["name"] == "Living subsidy for disabled people in hardship"
    preferring_chinese = await service.benefits_of(certificate.number, language="zh-CN,en;q=0.8")
    assert preferring_chinese["living_subsidy"]["reason"] == chinese["reason"]


async def test_a_cancelled_or_expired_certificate_ends_every_benefit_after_its_month(
    service: BenefitsService,
) -> None:
    cancelled = await service.issue_certificate(level=1, issued_on=date(2025, 5, 20))
    await service.publish(
        "certificate",
        "CertificateCancelled",
        {
            "certificate_number": cancelled.number,
            "person_ref": cancelled.person_ref,
            "reason": "voluntary",
            "effective_date": "2026-03-10",
            "application_id": None,
        },
    )
    expired = await service.issue_certificate(level=2, issued_on=date(2016, 7, 1))
    await service.publish(
        "certificate",
        "CertificateExpired",
        {"certificate_number": expired.number, "person_ref": expired.person_ref, "expired_on": "2026-07-02"},
    )
    await service.handled("certificate")
    nursing = (await service.benefits_of(cancelled.number))["nursing_subsidy"]
    assert (nursing["status"], nursing["active_to"], nursing["reason_code"]) == (
        "terminated",
        "2026-03-31",
        "certificate_voluntary",
    )
    nursing = (await service.benefits_of(expired.number))["nursing_subsidy"]
    assert (nursing["status"], nursing["active_to"], nursing["reason_code"]) == (
        "terminated",
        "2026-07-31",
        "certificate_expired",
    )
