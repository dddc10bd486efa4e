"""The monthly run: each month's entitlements of a region, produced once and only once."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import BenefitsService, Certificate


def this_month() -> str:
    return date.today().strftime("%Y-%m")


async def three_holders(service: BenefitsService) -> tuple[Certificate, Certificate, Certificate]:
    """Two in Huzhou (one with the living subsidy too) and one in the other city."""
    nursing_only = await service.issue_certificate(level=1)
    both = await service.issue_certificate(level=2, region=service.regions.huzhou_other_county)
    elsewhere = await service.issue_certificate(level=1, region=service.regions.other_city_county)
    civil_affairs = await service.register_partner(("low_income_started",))
    answer = await service.report(civil_affairs, "low_income_started", both.id_number, date.today())
    assert answer.status_code == 202
    return nursing_only, both, elsewhere


async def test_a_monthly_run_pays_each_active_benefit_of_the_region_once(service: BenefitsService) -> None:
    nursing_only, both, _ = await three_holders(service)
    answer = await service.call(
        "POST", "/v1/runs", service.admin, {"month": this_month(), "region": "330500"}
    )
    assert answer.status_code == 201, answer.text
    run = answer.json()
    assert run["status"] == "completed"
    assert sorted(
        (line["certificate_number"], line["benefit"], line["amount_fen"]) for line in run["lines"]
    ) == sorted(
        [
            (nursing_only.number, "nursing_subsidy", 27500),
            (both.number, "nursing_subsidy", 27500),
            (both.number, "living_subsidy", 26200),
        ]
    )
    assert run["total_fen"] == 27500 * 2 + 26200
    fetched = await service.call("GET", f"/v1/runs/{run['id']}", service.admin)
    assert fetched.status_code == 200
    assert fetched.json() == run


async def test_a_second_run_of_the_same_month_and_region_returns_the_first_and_adds_no_line(
    service: BenefitsService,
) -> None:
    await three_holders(service)
    body = {"month": this_month(), "region": "330500"}
    first = await service.call("POST", "/v1/runs", service.admin, body)
    await service.issue_certificate(level=1)  # a new holder after the run does not change it
    second = await service.call("POST", "/v1/runs", service.admin, body)
    assert second.status_code == 200
    assert second.json() == first.json()
    assert len(await service.fetch("SELECT * FROM run_line")) == 3
    other_region = await service.call(
        "POST", "/v1/runs", service.admin, {"month": this_month(), "region": "340000"}
    )
    assert other_region.status_code == 201
    assert [line["amount_fen"] for line in other_region.json()["lines"]] == [24300]


async def test_two_runs_started_at_once_make_one_run(service: BenefitsService) -> None:
    await three_holders(service)
    body = {"month": this_month(), "region": "330000"}
    answers = await asyncio.gather(*(service.call("POST", "/v1/runs", service.admin, body) for _ in range(3)))
    assert sorted(answer.status_code for answer in answers) == [200, 200, 201]
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert len(await service.fetch("SELECT * FROM run_view")) == 1
    assert len(await service.fetch("SELECT * FROM run_line")) == 3


async def test_runs_are_for_admins_and_months_that_have_begun(service: BenefitsService) -> None:
    body = {"month": this_month(), "region": "330500"}
    reviewer = service.reviewer("330502")
    assert (await service.call("POST", "/v1/runs", reviewer, body)).status_code == 403
    next_year = f"{date.today().year + 1}-01"
    future = await service.call("POST", "/v1/runs", service.admin, {"month": next_year, "region": "330500"})
    assert future.status_code == 422
    malformed = await service.call(
        "POST", "/v1/runs", service.admin, {"month": "2025-13", "region": "330500"}
    )
    assert malformed.status_code == 422
    missing = await service.call("GET", "/v1/runs/00000000-0000-0000-0000-000000000000", service.admin)
    assert missing.status_code == 404
    assert await service.fetch("SELECT * FROM run_view") == []


async def test_a_benefit_ended_before_the_month_is_not_paid_in_it(service: BenefitsService) -> None:
    certificate = await service.issue_certificate(level=1, issued_on=date(2025, 1, 10))
    public_security = await service.register_partner(("death",))
    await service.report(public_security, "death", certificate.id_number, date(2025, 3, 5))
    paid = await service.call("POST", "/v1/runs", service.admin, {"month": "2025-03", "region": "330502"})
    not_paid = await service.call("POST", "/v1/runs", service.admin, {"month": "2025-04", "region": "330502"})
    assert [line["benefit"] for line in paid.json()["lines"]] == ["nursing_subsidy"]
    assert not_paid.json()["lines"] == [] and not_paid.json()["total_fen"] == 0
