"""Policies as data: versions recorded as events, a new version deciding its holders again when it
takes effect, stale and broken versions refused, and what-if simulations that change nothing."""

from __future__ import annotations

import copy
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conftest import BenefitsService


async def current_document(service: BenefitsService, code: str) -> dict[str, Any]:
    answer = await service.call("GET", f"/v1/policies/{code}", service.admin)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def with_huzhou_nursing(document: dict[str, Any], amount_fen: int, effective_from: str) -> dict[str, Any]:
    """The next version: Huzhou's rule restated at a new amount from `effective_from` (a later
    rule of a region takes the place of the earlier one)."""
    draft = copy.deepcopy(document)
    draft["version"] += 1
    huzhou = max(
        (rule for rule in draft["rules"] if rule["region"] == "330500"),
        key=lambda rule: rule["effective_from"],
    )
    draft["rules"].append(
        {
            **huzhou,
            "id": f"huzhou-{effective_from}",
            "effective_from": effective_from,
            "monthly_amount_fen": amount_fen,
        }
    )
    return draft


async def test_the_catalogue_lists_the_shipped_versions_and_their_documents(service: BenefitsService) -> None:
    listed = await service.call("GET", "/v1/policies", service.reviewer("330502"))
    assert listed.status_code == 200
    by_code = {policy["code"]: policy for policy in listed.json()}
    assert set(by_code) >= {
        "living_subsidy",
        "nursing_subsidy",
        "free_transit_blind",
        "pension_contribution_severe",
        "child_rehabilitation",
        "free_psychiatric_medication",
    }
    assert by_code["free_transit_blind"]["kind"] == "in_kind"
    assert by_code["nursing_subsidy"]["name"]["zh-CN"] == "重度残疾人护理补贴"
    versions = await service.call("GET", "/v1/policies/nursing_subsidy/versions", service.admin)
    assert [(v["version"], v["source"]) for v in versions.json()] == [(1, "file")]
    assert "national-2016" in versions.json()[0]["changed_rules"]
    assert (await service.call("GET", "/v1/policies/parking_relief", service.admin)).status_code == 404


async def test_a_new_version_decides_its_holders_again_from_the_month_it_takes_effect(
    service: BenefitsService,
) -> None:
    holder = await service.issue_certificate(level=1, issued_on=date(2024, 5, 20))
    elsewhere = await service.issue_certificate(level=1, region=service.regions.other_city_county)
    draft = with_huzhou_nursing(await current_document(service, "nursing_subsidy"), 30000, "2025-01-01")
    answer = await service.call("POST", "/v1/policies/nursing_subsidy/versions", service.admin, draft)
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"code": "nursing_subsidy", "version": 2, "changed_rules": ["huzhou-2025-01-01"]}
    applied = await service.call("POST", "/v1/jobs/policy-effects", service.admin)
    assert applied.status_code == 200
    assert applied.json()["rules"] == 1
    nursing = (await service.benefits_of(holder.number))["nursing_subsidy"]
    assert (nursing["monthly_amount_fen"], nursing["active_from"], nursing["policy_version"]) == (
        30000,
        "2025-01-01",
        "nursing_subsidy/v2/huzhou-2025-01-01",
    )
    periods = await service.fetch(
        "SELECT monthly_amount_fen, active_from, active_to FROM benefit_period"
        " WHERE person_ref = $1 AND benefit = 'nursing_subsidy' ORDER BY active_from",
        holder.person_ref,
    )
    assert [(p["monthly_amount_fen"], p["active_from"], p["active_to"]) for p in periods] == [
        (27500, date(2024, 5, 1), date(2024, 12, 31)),
        (30000, date(2025, 1, 1), None),
    ]
    # The other city's holder is not touched, and the job applies each change once.
    assert (await service.benefits_of(elsewhere.number))["nursing_subsidy"]["monthly_amount_fen"] == 24300
    again = await service.call("POST", "/v1/jobs/policy-effects", service.admin)
    assert again.json()["rules"] == 0


async def test_a_version_that_takes_effect_later_is_decided_now_and_paid_from_its_day(
    service: BenefitsService,
) -> None:
    holder = await service.issue_certificate(level=1)
    draft = with_huzhou_nursing(await current_document(service, "nursing_subsidy"), 31000, "2099-01-01")
    assert (
        await service.call("POST", "/v1/policies/nursing_subsidy/versions", service.admin, draft)
    ).status_code == 201
    assert (await service.call("POST", "/v1/jobs/policy-effects", service.admin)).json()["rules"] == 1
    # Holders decided before and after the version: paid today's amount, and told of the next.
    newcomer = await service.issue_certificate(level=1)
    for certificate in (holder, newcomer):
        nursing = (await service.benefits_of(certificate.number))["nursing_subsidy"]
        assert (nursing["status"], nursing["monthly_amount_fen"], nursing["active_to"]) == (
            "active",
            27500,
            "2098-12-31",
        )
        assert nursing["upcoming"] == {
            "monthly_amount_fen": 31000,
            "active_from": "2099-01-01",
            "active_to": None,
        }
    month = date.today().strftime("%Y-%m")
    run = await service.call("POST", "/v1/runs", service.admin, {"month": month, "region": "330500"})
    assert {line["amount_fen"] for line in run.json()["lines"] if line["benefit"] == "nursing_subsidy"} == {
        27500
    }


async def test_stale_broken_or_unauthorised_versions_are_refused_and_change_nothing(
    service: BenefitsService,
) -> None:
    document = await current_document(service, "nursing_subsidy")
    draft = with_huzhou_nursing(document, 30000, "2025-01-01")
    first = await service.call("POST", "/v1/policies/nursing_subsidy/versions", service.admin, draft)
    assert first.status_code == 201
    events_before = await service.fetch("SELECT count(*) AS n FROM events")
    stale = await service.call("POST", "/v1/policies/nursing_subsidy/versions", service.admin, draft)
    assert stale.status_code == 409
    assert stale.json()["code"] == "policy_version_stale"
    negative = copy.deepcopy(draft)
    negative["version"] = 3
    negative["rules"][-1]["monthly_amount_fen"] = -1
    refused = await service.call("POST", "/v1/policies/nursing_subsidy/versions", service.admin, negative)
    assert refused.status_code == 422
    assert refused.json()["code"] == "policy_invalid"
    assert "monthly_amount_fen" in refused.json()["detail"]
    overlapping = copy.deepcopy(draft)
    overlapping["version"] = 3
    overlapping["rules"][-1]["effective_to"] = "2025-12-31"
    overlapping["rules"].append({"id": "huzhou-mid", "region": "330500", "effective_from": "2025-06-01"})
    refused = await service.call("POST", "/v1/policies/nursing_subsidy/versions", service.admin, overlapping)
    assert refused.status_code == 422
    assert "overlap" in refused.json()["detail"]
    other_code = await service.call(
        "POST", "/v1/policies/living_subsidy/versions", service.admin, {**draft, "version": 3}
    )
    assert other_code.status_code == 422
    reviewer = await service.call(
        "POST", "/v1/policies/nursing_subsidy/versions", service.reviewer("330502"), {**draft, "version": 3}
    )
    assert reviewer.status_code == 403
    assert await service.fetch("SELECT count(*) AS n FROM events") == events_before
    versions = await service.call("GET", "/v1/policies/nursing_subsidy/versions", service.admin)
    assert [v["version"] for v in versions.json()] == [1, 2]


async def test_a_simulation_counts_who_gains_loses_or_changes_and_the_cost_and_records_nothing(
    service: BenefitsService,
) -> None:
    await service.issue_certificate(level=1)
    await service.issue_certificate(level=2, region=service.regions.huzhou_other_county)
    await service.issue_certificate(level=3, category="mental")  # Huzhou's local extension
    await service.issue_certificate(level=1, region=service.regions.other_city_county)
    document = await current_document(service, "nursing_subsidy")
    events_before = await service.fetch("SELECT count(*) AS n FROM events")
    month = date.today().strftime("%Y-%m")

    raised = with_huzhou_nursing(document, 30000, "2025-01-01")
    answer = await service.call(
        "POST", "/v1/simulations", service.admin, {"policy": raised, "month": month, "region": "330500"}
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["holders"], result["gain"], result["lose"], result["change"]) == (3, 0, 0, 3)
    assert result["monthly_cost_fen"] == 3 * 27500
    assert result["difference_fen"] == 3 * (30000 - 27500)

    narrowed = copy.deepcopy(document)
    narrowed["version"] += 1
    narrowed["rules"].append(
        {
            "id": "huzhou-narrow",
            "region": "330500",
            "effective_from": "2025-01-01",
            "levels": [1],
            "intellectual_mental_grade_3_4": False,
            "monthly_amount_fen": 27500,
        }
    )
    answer = await service.call(
        "POST", "/v1/simulations", service.admin, {"policy": narrowed, "month": month}
    )
    result = answer.json()
    assert (result["holders"], result["gain"], result["lose"], result["change"]) == (4, 0, 2, 0)
    assert result["reasons_lost"] == {"grade_not_covered": 2}
    assert result["difference_fen"] == -2 * 27500

    assert await service.fetch("SELECT count(*) AS n FROM events") == events_before
    bad_month = await service.call(
        "POST", "/v1/simulations", service.admin, {"policy": raised, "month": "2025-13"}
    )
    assert bad_month.status_code == 422
    assert (
        await service.call("POST", "/v1/simulations", service.reviewer("330502"), {"policy": raised})
    ).status_code == 403
