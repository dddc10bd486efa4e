"""Partner agencies report facts: low income, its end, death, a household move; once each."""

from __future__ import annotations

import uuid
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import BenefitsService

LOW_INCOME = ("low_income_started", "low_income_ended")
CIVIL_AFFAIRS = ("low_income_started", "low_income_ended", "death", "household_moved")


async def test_a_low_income_fact_makes_the_living_subsidy_active_from_its_month(
    service: BenefitsService,
) -> None:
    certificate = await service.issue_certificate(level=2, issued_on=date(2025, 3, 3))
    civil_affairs = await service.register_partner(LOW_INCOME)
    answer = await service.report(
        civil_affairs, "low_income_started", certificate.id_number, date(2025, 4, 18)
    )
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"fact_id": answer.json()["fact_id"], "status": "received"}
    living = (await service.benefits_of(certificate.number))["living_subsidy"]
    assert (living["status"], living["monthly_amount_fen"], living["active_from"]) == (
        "active",
        26200,
        "2025-04-01",
    )
    assert living["reason_code"] == "low_income_family"
    [activated] = [
        event
        for event in await service.published("BenefitActivated", count=3)
        if event["data"]["benefit"] == "living_subsidy"
    ]
    assert activated["data"]["activation_rule"] == "month_of_fact"


async def test_the_end_of_low_income_stops_the_living_subsidy_from_the_month_after(
    service: BenefitsService,
) -> None:
    certificate = await service.issue_certificate(level=2, issued_on=date(2025, 3, 3))
    civil_affairs = await service.register_partner(LOW_INCOME)
    await service.report(civil_affairs, "low_income_started", certificate.id_number, date(2025, 4, 18))
    answer = await service.report(civil_affairs, "low_income_ended", certificate.id_number, date(2025, 9, 9))
    assert answer.status_code == 202, answer.text
    living = (await service.benefits_of(certificate.number))["living_subsidy"]
    assert (living["status"], living["active_from"], living["active_to"]) == (
        "terminated",
        "2025-04-01",
        "2025-09-30",
    )
    [terminated] = await service.published("BenefitTerminated")
    assert terminated["data"]["reason_code"] == "low_income_ended"
    assert (await service.benefits_of(certificate.number))["nursing_subsidy"]["status"] == "active"


async def test_the_same_fact_again_is_answered_the_same_and_changes_nothing(service: BenefitsService) -> None:
    certificate = await service.issue_certificate(level=1)
    civil_affairs = await service.register_partner(LOW_INCOME)
    first = await service.report(
        civil_affairs, "low_income_started", certificate.id_number, date.today(), fact_id="mz-1"
    )
    events = await service.fetch("SELECT event_id FROM events ORDER BY position")
    again = await service.report(
        civil_affairs, "low_income_started", certificate.id_number, date.today(), fact_id="mz-1"
    )
    assert again.status_code == 202
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert await service.fetch("SELECT event_id FROM events ORDER BY position") == events


async def test_the_same_fact_id_with_other_content_is_a_conflict(service: BenefitsService) -> None:
    certificate = await service.issue_certificate(level=1)
    civil_affairs = await service.register_partner(LOW_INCOME)
    await service.report(
        civil_affairs, "low_income_started", certificate.id_number, date(2025, 6, 1), fact_id="mz-2"
    )
    events = await service.fetch("SELECT event_id FROM events ORDER BY position")
    other = await service.report(
        civil_affairs, "low_income_started", certificate.id_number, date(2025, 7, 1), fact_id="mz-2"
    )
    assert other.status_code == 409
    assert other.json()["code"] == "fact_id_reused"
    assert await service.fetch("SELECT event_id FROM events ORDER BY position") == events


async def test_a_fact_type_outside_the_partners_policy_is_forbidden(service: BenefitsService) -> None:
    certificate = await service.issue_certificate(level=1)
    transit = await service.register_partner(("household_moved",))
    refused = await service.report(transit, "death", certificate.id_number, date.today())
    assert refused.status_code == 403
    assert refused.json()["code"] == "fact_type_outside_policy"
    unregistered = service.token("partner", "partner-x", partner_id="never-registered")
    assert (
        await service.report(unregistered, "death", certificate.id_number, date.today())
    ).status_code == 403
    applicant = service.applicant(certificate.id_number)
    assert (await service.report(applicant, "death", certificate.id_number, date.today())).status_code == 403
    assert (
        await service.fetch("SELECT * FROM events WHERE event_type IN ('FactRecorded', 'DeathReported')")
        == []
    )
    assert (await service.benefits_of(certificate.number))["nursing_subsidy"]["status"] == "active"


async def test_a_bad_identity_number_is_refused_changing_nothing_and_not_echoed(
    service: BenefitsService,
) -> None:
    certificate = await service.issue_certificate(level=1)
    civil_affairs = await service.register_partner(CIVIL_AFFAIRS)
    wrong_check = certificate.id_number[:17] + ("0" if certificate.id_number[17] != "0" else "1")
    before = await service.fetch("SELECT event_id FROM events")
    for bad in (wrong_check, "33050219800230123X", "12345"):
        answer = await service.report(civil_affairs, "death", bad, date.today())
        assert answer.status_code == 422, bad
        assert answer.json()["errors"][0]["field"] == "id_number"
        assert bad not in answer.text
    moved_nowhere = await service.report(
        civil_affairs, "household_moved", certificate.id_number, date.today(), details={"to_region": "33"}
    )
    assert moved_nowhere.status_code == 422
    for far in (date(9999, 12, 31), date(1900, 1, 1)):  # 9999-12-31 has no next month to pay from
        out_of_range = await service.report(civil_affairs, "low_income_started", certificate.id_number, far)
        assert out_of_range.status_code == 422
        assert out_of_range.json()["errors"][0]["field"] == "effective_date"
    assert await service.fetch("SELECT event_id FROM events") == before
    assert await service.fetch("SELECT * FROM idempotency_keys") == []


async def test_a_fact_before_the_certificate_is_kept_and_applied_when_it_is_issued(
    service: BenefitsService,
) -> None:
    civil_affairs = await service.register_partner(LOW_INCOME)
    id_number = service.new_identity_number()
    early = await service.report(civil_affairs, "low_income_started", id_number, date(2025, 1, 15))
    assert early.status_code == 202
    assert early.json()["status"] == "received"
    for table in ("events", "outbox", "idempotency_keys"):
        rows = await service.fetch(
            f"SELECT count(*) AS n FROM {table} t WHERE t::text LIKE '%' || $1 || '%'", id_number
        )
        assert rows == [{"n": 0}], table
    certificate = await service.issue_certificate(level=3, id_number=id_number, issued_on=date(2025, 2, 10))
    living = (await service.benefits_of(certificate.number))["living_subsidy"]
    # Paid from the issue month: never before the certificate.
    assert (living["status"], living["active_from"]) == ("active", "2025-02-01")


async def test_a_reported_death_is_passed_on_to_the_certificate_service_and_ends_nothing_by_itself(
    service: BenefitsService,
) -> None:
    certificate = await service.issue_certificate(level=1, issued_on=date(2025, 1, 10))
    public_security = await service.register_partner(("death", "low_income_started"))
    await service.report(public_security, "low_income_started", certificate.id_number, date(2025, 2, 1))
    answer = await service.report(
        public_security, "death", certificate.id_number, date(2025, 6, 12), fact_id="gaj-7"
    )
    assert answer.status_code == 202, answer.text
    [death] = await service.published("DeathReported")
    assert death["data"] == {
        "person_ref": certificate.person_ref,
        "effective_date": "2025-06-12",
        "fact_id": "gaj-7",
        "partner_id": death["data"]["partner_id"],
        "certificate_number": certificate.number,
        "household_region": certificate.region,
    }
    benefits = await service.benefits_of(certificate.number)
    assert {code: item["status"] for code, item in benefits.items() if item["status"] != "not_eligible"} == {
        "living_subsidy": "active",
        "nursing_subsidy": "active",
        "pension_contribution_severe": "active",
    }, "a partner alone ends nothing: the certificate service holds the certificate for a reviewer"
    # The facts left the identity number nowhere in plain text (but inside the certificate number).
    for table in ("events", "outbox", "idempotency_keys"):
        rows = await service.fetch(
            f"SELECT count(*) AS n FROM {table} t WHERE replace(t::text, $2, '') LIKE '%' || $1 || '%'",
            certificate.id_number,
            certificate.number,
        )
        assert rows == [{"n": 0}], table


async def test_a_household_move_carries_the_benefits_to_the_new_region_from_the_next_month(
    service: BenefitsService,
) -> None:
    certificate = await service.issue_certificate(level=1, issued_on=date(2025, 1, 10))
    public_security = await service.register_partner(("household_moved",))
    answer = await service.report(
        public_security,
        "household_moved",
        certificate.id_number,
        date(2025, 8, 20),
        details={"to_region": service.regions.other_city_county},
    )
    assert answer.status_code == 202, answer.text
    nursing = (await service.benefits_of(certificate.number))["nursing_subsidy"]
    assert (nursing["status"], nursing["monthly_amount_fen"], nursing["active_from"]) == (
        "active",
        24300,
        "2025-09-01",
    )
    periods = await service.fetch(
        "SELECT household_region, active_from, active_to FROM benefit_period"
        " WHERE benefit = 'nursing_subsidy' ORDER BY active_from"
    )
    assert [(p["household_region"], str(p["active_from"]), str(p["active_to"])) for p in periods] == [
        (certificate.region, "2025-01-01", "2025-08-31"),
        (service.regions.other_city_county, "2025-09-01", "None"),
    ]
    new_reviewer = service.reviewer(service.regions.other_city_county)
    assert (
        await service.call("GET", f"/v1/certificates/{certificate.number}/benefits", new_reviewer)
    ).status_code == 200


async def test_a_new_version_of_a_partners_policy_decides_which_facts_it_may_report(
    service: BenefitsService,
) -> None:
    certificate = await service.issue_certificate(level=1)
    partner_id = str(uuid.uuid4())
    await service.publish(
        "notification",
        "PartnerRegistered",
        {"partner_id": partner_id, "event_types": [], "fields": [], "facts": ["low_income_started"]},
    )
    await service.handled("notification")
    token = service.token("partner", "civil-affairs", partner_id=partner_id)
    refused = await service.report(token, "death", certificate.id_number, date(2025, 6, 1))
    assert refused.status_code == 403
    for facts in (["low_income_started", "death"], ["death"]):
        await service.publish(
            "notification",
            "PartnerPolicyChanged",
            {
                "partner_id": partner_id,
                "policy_version": 2 if "low_income_started" in facts else 3,
                "event_types": [],
                "fields": [],
                "facts": facts,
                "legal_basis": "《残疾人保障法》",
                "purpose": "死亡信息核查",
            },
        )
    await service.handled("notification")
    narrowed = await service.report(token, "low_income_started", certificate.id_number, date(2025, 6, 1))
    assert narrowed.status_code == 403, "the newest version no longer grants it"
    granted = await service.report(token, "death", certificate.id_number, date(2025, 6, 1))
    assert granted.status_code == 202, granted.text
