"""The monthly run: each month's entitlements of a region, produced once and only once."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from dcert_benefits.adapters import tables
from dcert_benefits.domain.calendar import Month
from dcert_benefits.domain.monthly_run import LATE_MARGIN, Reach, RunDone, reaches
from dcert_shared.db import migrate_schema

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
    assert fetched.status_code == 200
    assert fetched.json() == result


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
    assert future.status_code == 409
    assert future.json()["code"] == "month_not_begun"
    for month in ("2025-13", "0000-01"):  # year 0 has no first day: it was a 500 (found by fuzzing)
        malformed = await service.call(
            "POST", "/v1/runs", service.admin, {"month": month, "region": "330500"}
        )
        assert malformed.status_code == 422, month
    missing = await service.call("GET", "/v1/runs/00000000-0000-0000-0000-000000000000", service.admin)
    assert missing.status_code == 404
    assert await service.fetch("SELECT * FROM monthly_run") == []

    await service.issue_certificate(level=1, issued_on=date(2025, 1, 10))
    march = await run(service, "2025-03", "330502")
    closed = await service.call("POST", f"/v1/runs/{march['id']}/close", service.admin)
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    for region in ("330502", "330500"):  # the county itself, and the city over it
        again = await service.call("POST", "/v1/runs", service.admin, {"month": "2025-03", "region": region})
        assert again.status_code == 409
        assert again.json()["code"] == "month_closed"
    assert (await run(service, "2025-04", "330502"))["line_count"] == 2
    assert len(await service.fetch("SELECT * FROM entitlement_line")) == 4


async def test_a_benefit_ended_before_the_month_is_not_paid_in_it(service: BenefitsService) -> None:
    certificate = await service.issue_certificate(level=1, issued_on=date(2025, 1, 10))
    await service.certificate_event(  # a death confirmed by the reviewer
        "CertificateCancelled", certificate, reason="death", effective_date="2025-03-05", application_id=None
    )
    march = await run(service, "2025-03", "330502")
    april = await run(service, "2025-04", "330502")
    assert sorted(line["benefit"] for line in march["lines"]) == [
        "nursing_subsidy",
        "pension_contribution_severe",
    ]
    assert april["lines"] == []
    assert april["total_fen"] == 0


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
    assert april["arrears_count"] == 3
    assert april["line_count"] == 3 + 5
    assert april["total_fen"] == sum(line["amount_fen"] for line in april["lines"])

    may = await run(service, "2025-05", "330502")
    assert {line["kind"] for line in may["lines"]} == {"regular"}
    assert may["line_count"] == 5
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
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
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


async def test_the_csv_for_the_paying_agency_holds_exactly_the_run_s_lines(service: BenefitsService) -> None:
    early = await service.issue_certificate(level=1, issued_on=date(2025, 1, 10))
    await run(service, "2025-03", "330502")
    civil_affairs = await service.register_partner(("low_income_started",))
    await service.report(civil_affairs, "low_income_started", early.id_number, date(2025, 3, 1))
    april = await run(service, "2025-04", "330502")  # regular lines and an arrears line
    exported = await service.call("GET", f"/v1/runs/{april['id']}/lines.csv", service.admin)
    header, *rows = list(csv.reader(io.StringIO(exported.text)))
    assert header == [
        "for_month",
        "paid_in_month",
        "certificate_number",
        "benefit",
        "household_region",
        "amount_fen",
        "amount_yuan",
        "policy_version",
        "kind",
    ]
    paged = (await service.call("GET", f"/v1/runs/{april['id']}/lines?limit=5000", service.admin)).json()
    assert rows == [
        [
            line["for_month"],
            "2025-04",
            line["certificate_number"],
            line["benefit"],
            line["household_region"],
            str(line["amount_fen"]),
            f"{line['amount_fen'] // 100}.{line['amount_fen'] % 100:02d}",
            line["policy_version"],
            line["kind"],
        ]
        for line in paged
    ]
    [arrears] = [row for row in rows if row[8] == "arrears"]
    assert arrears[:7] == ["2025-03", "2025-04", early.number, "living_subsidy", "330502", "26200", "262.00"]
    assert sum(int(row[5]) for row in rows) == april["total_fen"] == 26200 + 27500 + 2500 + 26200


async def test_an_unknown_run_is_404_run_not_found_everywhere(service: BenefitsService) -> None:
    unknown = "/v1/runs/00000000-0000-0000-0000-000000000000"
    for method, path in (
        ("GET", unknown),
        ("GET", f"{unknown}/lines"),
        ("GET", f"{unknown}/lines.csv"),
        ("POST", f"{unknown}/close"),
    ):
        answer = await service.call(method, path, service.admin)
        assert (answer.status_code, answer.json()["code"]) == (404, "run_not_found"), (method, path)


async def test_a_county_run_alone_does_not_count_as_its_city_s_month(service: BenefitsService) -> None:
    """The city runs March, one county runs April alone, the city runs May: the other county's
    April is paid in May as arrears, and the first county's April is not paid again."""
    here = await service.issue_certificate(level=1, issued_on=date(2025, 1, 10))
    there = await service.issue_certificate(
        level=1, region=service.regions.huzhou_other_county, issued_on=date(2025, 1, 10)
    )
    assert (await run(service, "2025-03", "330500"))["line_count"] == 4
    assert (await run(service, "2025-04", "330502"))["line_count"] == 2
    may = await run(service, "2025-05", "330500")
    assert [line for line in paid(may) if line[4] == "arrears"] == sorted(
        [
            (there.number, "nursing_subsidy", "2025-04", 27500, "arrears"),
            (there.number, "pension_contribution_severe", "2025-04", 2500, "arrears"),
        ]
    )
    assert {line[0] for line in paid(may) if line[4] == "regular"} == {here.number, there.number}
    ledger = await service.fetch("SELECT person_ref, benefit, for_month FROM entitlement_line")
    assert len(ledger) == len({tuple(line.values()) for line in ledger}) == 2 * 2 * 3


async def test_runs_of_the_first_version_are_in_the_ledger_and_never_paid_again(
    service: BenefitsService,
) -> None:
    """A run stored before the ledger existed (its lines inside `MonthlyRunCompleted` v1) is
    carried into the ledger at the first start of this version: it answers as before, and a
    later run of the same month over a wider region does not pay its people twice."""
    holder = await service.issue_certificate(level=1, issued_on=date(2025, 1, 10))
    old_run_id = str(uuid.uuid4())
    line = {
        "certificate_number": holder.number,
        "person_ref": holder.person_ref,
        "household_region": "330502",
        "policy_version": "v1",
    }
    await service.fetch(
        "INSERT INTO events (event_id, stream_id, version, event_type, schema_version, payload, metadata)"
        " VALUES ($1, 'run-2025-03-330502', 1, 'MonthlyRunCompleted', 1, $2, $3)",
        uuid.uuid4(),
        {
            "run_id": old_run_id,
            "month": "2025-03",
            "region": "330502",
            "lines": [
                {**line, "benefit": "nursing_subsidy", "amount_fen": 27500},
                {**line, "benefit": "pension_contribution_severe", "amount_fen": 2500},
                {**line, "benefit": "free_transit_blind", "amount_fen": 0},  # in kind: not money
            ],
            "total_fen": 30000,
        },
        {"source": "/dcert/benefits", "correlation_id": str(uuid.uuid4())},
    )
    await service.fetch("DELETE FROM ledger_carry_over")  # as before the upgrade
    await service.fetch("UPDATE alembic_version SET version_num = 'benefits_0001'")
    settings = service.runtime.settings
    for _ in range(2):  # the first start of this version carries the run; the next ones do nothing
        await migrate_schema(settings.database_url, settings.database_schema, tables.HISTORY)

    again = await service.call("POST", "/v1/runs", service.admin, {"month": "2025-03", "region": "330502"})
    assert again.status_code == 200, again.text
    carried = again.json()
    assert (carried["id"], carried["status"], carried["line_count"], carried["total_fen"]) == (
        old_run_id,
        "completed",
        2,
        30000,
    )
    city = await run(service, "2025-03", "330500")
    assert city["line_count"] == 0
    assert city["total_fen"] == 0
    april = await run(service, "2025-04", "330502")
    assert paid(april) == [
        (holder.number, "nursing_subsidy", "2025-04", 27500, "regular"),
        (holder.number, "pension_contribution_severe", "2025-04", 2500, "regular"),
    ]
    closed = await service.call("POST", f"/v1/runs/{old_run_id}/close", service.admin)
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"


# --- how far back a run pays (domain) ----------------------------------------------------------

STARTED = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def test_a_region_s_first_run_pays_only_its_own_month() -> None:
    assert reaches(Month(2025, 3), "3305", []) == [Reach("3305", Month(2025, 3), Month(2025, 3), None)]


def test_months_never_run_and_late_decisions_reach_back_to_the_previous_run_and_the_go_live() -> None:
    done = [
        RunDone("3305", Month(2025, 1), STARTED - timedelta(days=60)),
        RunDone("33", Month(2025, 3), STARTED),  # the province over the city
        RunDone("330502", Month(2025, 3), STARTED + timedelta(hours=2)),  # a county, later that day
    ]
    city, county = reaches(Month(2025, 6), "3305", done)
    # April and May were never run; a period recorded after March's first start is late.
    assert city == Reach("3305", Month(2025, 1), Month(2025, 4), STARTED - LATE_MARGIN)
    assert county == Reach("330502", Month(2025, 1), Month(2025, 4), STARTED - LATE_MARGIN)


def test_a_province_going_live_after_one_county_keeps_that_county_s_history() -> None:
    county_started = STARTED - timedelta(days=30)
    province, county = reaches(Month(2025, 3), "33", [RunDone("330502", Month(2025, 2), county_started)])
    assert province == Reach("33", Month(2025, 3), Month(2025, 3), None)  # the rest goes live now
    assert county == Reach("330502", Month(2025, 2), Month(2025, 3), county_started - LATE_MARGIN)
