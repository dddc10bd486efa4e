"""The monthly run: each month's entitlements of a region, produced once and only once."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conftest import BenefitsService, Certificate


def this_month() -> str:
    return date.today().strftime("%Y-%m")


async def three_holders(service: BenefitsService) -> tuple[Certificate, Certificate, Certificate]:
    """Two in Huzhou (one with the living subsidy too) and one in the other city; all born in 1980,
    so each grade 1-2 holder also has the pension contributions paid."""
    nursing_only = await service.issue_certificate(level=1)
    both = await service.issue_certificate(level=2, region=service.regions.huzhou_other_county)
    elsewhere = await service.issue_certificate(level=1, region=service.regions.other_city_county)
    civil_affairs = await service.register_partner(("low_income_started",))
    answer = await service.report(civil_affairs, "low_income_started", both.id_number, date.today())
    assert answer.status_code == 202
    return nursing_only, both, elsewhere


async def run(service: BenefitsService, month: str, region: str) -> Any:
    answer = await service.call("POST", "/v1/runs", service.admin, {"month": month, "region": region})
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def paid(run_answer: dict[str, Any]) -> list[tuple[str, str, str, int, str]]:
    return sorted(
        (line["certificate_number"], line["benefit"], line["for_month"], line["amount_fen"], line["kind"])
        for line in run_answer["lines"]
    )


async def test_a_monthly_run_pays_each_active_cash_benefit_of_the_region_once(
    service: BenefitsService,
) -> None:
    nursing_only, both, _ = await three_holders(service)
    blind = await service.issue_certificate(level=3, category="visual")  # free transit: in kind, no line
    month = this_month()
    answer = await service.call("POST", "/v1/runs", service.admin, {"month": month, "region": "330500"})
    assert answer.status_code == 201, answer.text
    result = answer.json()
    assert result["status"] == "completed"
    assert paid(result) == sorted(
        [
            (nursing_only.number, "nursing_subsidy", month, 27500, "regular"),
            (nursing_only.number, "pension_contribution_severe", month, 2500, "regular"),
            (both.number, "nursing_subsidy", month, 27500, "regular"),
            (both.number, "living_subsidy", month, 26200, "regular"),
            (both.number, "pension_contribution_severe", month, 2500, "regular"),
        ]
    )
    assert blind.number not in {line["certificate_number"] for line in result["lines"]}
    assert (
        result["total_fen"]
        == 27500 * 2 + 26200 + 2500 * 2
        == sum(line["amount_fen"] for line in result["lines"])
    )
    assert (result["line_count"], result["arrears_count"], result["lines_truncated"]) == (5, 0, False)
    fetched = await service.call("GET", f"/v1/runs/{result['id']}", service.admin)
    assert fetched.status_code == 200 and fetched.json() == result


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
    assert len(await service.fetch("SELECT * FROM entitlement_line")) == 5
    other_region = await service.call(
        "POST", "/v1/runs", service.admin, {"month": this_month(), "region": "340000"}
    )
    assert other_region.status_code == 201
    assert sorted(line["amount_fen"] for line in other_region.json()["lines"]) == [1667, 24300]
    # A province run over the same month pays nobody twice: Huzhou's lines exist already.
    province = await run(service, this_month(), "330000")
    assert province["line_count"] == 2  # only the holder issued after the city's run
    lines = await service.fetch("SELECT person_ref, benefit, for_month FROM entitlement_line")
    assert (
        len(lines) == len({(line["person_ref"], line["benefit"], line["for_month"]) for line in lines}) == 9
    )


async def test_two_runs_started_at_once_make_one_run(service: BenefitsService) -> None:
    await three_holders(service)
    body = {"month": this_month(), "region": "330000"}
    answers = await asyncio.gather(*(service.call("POST", "/v1/runs", service.admin, body) for _ in range(3)))
    assert sorted(answer.status_code for answer in answers) == [200, 200, 201]
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert {answer.json()["status"] for answer in answers} == {"completed"}
    assert len(await service.fetch("SELECT * FROM monthly_run")) == 1
    assert len(await service.fetch("SELECT * FROM entitlement_line")) == 5


async def test_runs_are_for_admins_and_months_that_have_begun_and_are_open(service: BenefitsService) -> None:
    body = {"month": this_month(), "region": "330500"}
    reviewer = service.reviewer("330502")
    assert (await service.call("POST", "/v1/runs", reviewer, body)).status_code == 403
    next_year = f"{date.today().year + 1}-01"
    future = await service.call("POST", "/v1/runs", service.admin, {"month": next_year, "region": "330500"})
    assert future.status_code == 409 and future.json()["code"] == "month_not_begun"
    malformed = await service.call(
        "POST", "/v1/runs", service.admin, {"month": "2025-13", "region": "330500"}
    )
    assert malformed.status_code == 422
    missing = await service.call("GET", "/v1/runs/00000000-0000-0000-0000-000000000000", service.admin)
    assert missing.status_code == 404
    assert await service.fetch("SELECT * FROM monthly_run") == []

    await service.issue_certificate(level=1, issued_on=date(2025, 1, 10))
    march = await run(service, "2025-03", "330502")
    closed = await service.call("POST", f"/v1/runs/{march['id']}/close", service.admin)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    for region in ("330502", "330500"):  # the county itself, and the city over it
        again = await service.call("POST", "/v1/runs", service.admin, {"month": "2025-03", "region": region})
        assert again.status_code == 409 and again.json()["code"] == "month_closed"
    assert (await run(service, "2025-04", "330502"))["line_count"] == 2
    assert len(await service.fetch("SELECT * FROM entitlement_line")) == 4


async def test_a_benefit_ended_before_the_month_is_not_paid_in_it(service: BenefitsService) -> None:
    certificate = await service.issue_certificate(level=1, issued_on=date(2025, 1, 10))
    public_security = await service.register_partner(("death",))
    await service.report(public_security, "death", certificate.id_number, date(2025, 3, 5))
    march = await run(service, "2025-03", "330502")
    april = await run(service, "2025-04", "330502")
    assert sorted(line["benefit"] for line in march["lines"]) == [
        "nursing_subsidy",
        "pension_contribution_severe",
    ]
    assert april["lines"] == [] and april["total_fen"] == 0


async def test_late_decisions_and_months_never_run_are_paid_as_arrears_once(service: BenefitsService) -> None:
    early = await service.issue_certificate(level=1, issued_on=date(2025, 1, 10))
    march = await run(service, "2025-03", "330502")  # the county's first run: its go-live month
    assert paid(march) == [
        (early.number, "nursing_subsidy", "2025-03", 27500, "regular"),
        (early.number, "pension_contribution_severe", "2025-03", 2500, "regular"),
    ]
    # After the March run: a certificate issued in February is recorded late, and civil affairs
    # reports that the first holder's family has had 低保 since March.
    late = await service.issue_certificate(level=2, issued_on=date(2025, 2, 5))
    civil_affairs = await service.register_partner(("low_income_started",))
    await service.report(civil_affairs, "low_income_started", early.id_number, date(2025, 3, 1))

    april = await run(service, "2025-04", "330502")
    arrears = [line for line in paid(april) if line[4] == "arrears"]
    assert arrears == sorted(
        [
            (early.number, "living_subsidy", "2025-03", 26200, "arrears"),
            (late.number, "nursing_subsidy", "2025-03", 27500, "arrears"),
            (late.number, "pension_contribution_severe", "2025-03", 2500, "arrears"),
        ]
    )  # February is before the county's first run here: not paid by this platform
    assert april["arrears_count"] == 3 and april["line_count"] == 3 + 5
    assert april["total_fen"] == sum(line["amount_fen"] for line in april["lines"])

    may = await run(service, "2025-05", "330502")
    assert {line["kind"] for line in may["lines"]} == {"regular"} and may["line_count"] == 5
    july = await run(service, "2025-07", "330502")  # June was never run: paid in July
    assert sorted({line["for_month"] for line in july["lines"]}) == ["2025-06", "2025-07"]
    assert july["arrears_count"] == 5
    lines = await service.fetch("SELECT person_ref, benefit, for_month FROM entitlement_line")
    assert len(lines) == len({tuple(line.values()) for line in lines})


async def test_the_lines_export_as_csv_for_the_paying_agency_and_page_in_order(
    service: BenefitsService,
) -> None:
    await three_holders(service)
    result = await run(service, this_month(), "330000")
    exported = await service.call("GET", f"/v1/runs/{result['id']}/lines.csv", service.admin)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == result["line_count"] == 5
    assert sum(int(row["amount_fen"]) for row in rows) == result["total_fen"]
    nursing = next(row for row in rows if row["benefit"] == "nursing_subsidy")
    assert (nursing["amount_fen"], nursing["amount_yuan"], nursing["kind"]) == ("27500", "275.00", "regular")
    first = await service.call("GET", f"/v1/runs/{result['id']}/lines?limit=2", service.admin)
    rest = await service.call(
        "GET", f"/v1/runs/{result['id']}/lines?after={first.json()[-1]['id']}", service.admin
    )
    assert [line["id"] for line in first.json() + rest.json()] == [line["id"] for line in result["lines"]]
    reviewer = service.reviewer("330502")
    assert (await service.call("GET", f"/v1/runs/{result['id']}/lines.csv", reviewer)).status_code == 403
