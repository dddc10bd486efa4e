"""A holder's benefits follow every later change: facts in any order, care, renewal, a move."""

from __future__ import annotations

from datetime import date
from typing import Any

from dcert_benefits.adapters.policy_files import load_catalogue
from dcert_benefits.application.reactions import handoff_deadlines
from dcert_benefits.domain.events import (
    BenefitActivated,
    BenefitHandoffOpened,
    BenefitHandoffStepCompleted,
    BenefitTerminated,
)
from dcert_benefits.domain.holding import CertificateOnFile, Fact, Holding
from dcert_shared.working_days import WorkingCalendar

CATALOGUE = load_catalogue()
HUZHOU_COUNTY = "330502"
HEFEI_COUNTY = "340104"  # another province


def a_holding(level: int = 1, region: str = HUZHOU_COUNTY, issued_on: date = date(2025, 5, 20)) -> Holding:
    holding = Holding("person-ref-1")
    certificate = CertificateOnFile(
        number=f"33050219800301123X4{level}",
        category="physical",
        level=level,
        issued_on=issued_on,
        expires_on=issued_on.replace(year=issued_on.year + 10),
        household_region=region,
        residence_region=region,
        birth_date=date(1980, 3, 1),
    )
    holding.record_certificate(certificate, CATALOGUE)
    holding.mark_saved()
    return holding


def a_fact(fact_type: str, on: date, fact_id: str, **details: Any) -> Fact:
    return Fact(fact_id, "civil-affairs", fact_type, on, details)


def decisions(holding: Holding, benefit: str) -> list[tuple[str, date]]:
    """(event, from or to) of one benefit's decisions not yet saved."""
    found: list[tuple[str, date]] = []
    for event in holding.pending_events:
        if isinstance(event, BenefitActivated) and event.benefit == benefit:
            found.append(("activated", event.active_from))
        elif isinstance(event, BenefitTerminated) and event.benefit == benefit:
            found.append(("terminated", event.active_to))
    return found


def test_an_end_that_arrives_before_its_start_pays_the_stretch_between_them_once() -> None:
    holding = a_holding()
    holding.record_fact(a_fact("low_income_ended", date(2025, 9, 15), "end"), CATALOGUE)
    assert holding.benefits["living_subsidy"].reason_code == "low_income_ended"
    holding.record_fact(a_fact("low_income_started", date(2025, 6, 3), "start"), CATALOGUE)
    assert decisions(holding, "living_subsidy") == [
        ("activated", date(2025, 6, 1)),
        ("terminated", date(2025, 9, 30)),
    ]
    holding.mark_saved()
    holding.record_fact(a_fact("low_income_started", date(2025, 6, 3), "start"), CATALOGUE)
    holding.record_fact(a_fact("low_income_ended", date(2025, 4, 1), "older-end"), CATALOGUE)
    assert decisions(holding, "living_subsidy") == [], "a repeat or an older fact is history"


def test_facts_in_order_of_arrival_but_not_of_date_leave_the_newest_standing() -> None:
    holding = a_holding()
    holding.record_fact(a_fact("low_income_started", date(2025, 8, 1), "second-start"), CATALOGUE)
    holding.record_fact(a_fact("low_income_started", date(2025, 6, 1), "first-start"), CATALOGUE)
    living = holding.benefits["living_subsidy"]
    assert (living.status, living.active_from) == ("active", date(2025, 8, 1))


def test_care_no_longer_needed_ends_the_nursing_subsidy_after_its_month_and_care_again_resumes_it() -> None:
    holding = a_holding(level=1)
    assert holding.benefits["nursing_subsidy"].status == "active", "care is presumed for grade 1"
    holding.record_fact(a_fact("long_term_care_ended", date(2025, 10, 8), "care-end"), CATALOGUE)
    holding.record_fact(a_fact("long_term_care_started", date(2026, 1, 5), "care-again"), CATALOGUE)
    assert decisions(holding, "nursing_subsidy") == [
        ("terminated", date(2025, 10, 31)),
        ("activated", date(2026, 1, 1)),
    ]


def test_a_renewal_after_expiry_pays_again_from_its_month_and_never_the_months_between() -> None:
    holding = a_holding(issued_on=date(2015, 5, 20))
    holding.certificate_closed("33050219800301123X41", "certificate_expired", date(2025, 5, 19))
    holding.renewed("33050219800301123X41", date(2025, 7, 2), date(2035, 7, 2), CATALOGUE)
    assert decisions(holding, "nursing_subsidy") == [
        ("terminated", date(2025, 5, 31)),
        ("activated", date(2025, 7, 1)),
    ]
    holding.mark_saved()
    holding.renewed("33050219800301123X41", date(2025, 7, 2), date(2035, 7, 2), CATALOGUE)
    assert holding.pending_events == []


def test_a_move_across_provinces_pays_the_old_region_through_its_month_and_opens_a_tracked_handoff() -> None:
    holding = a_holding(level=1)
    calendar = WorkingCalendar()
    moved_on = date(2025, 9, 29)  # a Monday before the National Day holiday
    deadlines = handoff_deadlines(calendar, moved_on)
    holding.transferred("33050219800301123X41", HEFEI_COUNTY, moved_on, CATALOGUE, ("h-1", deadlines))
    assert decisions(holding, "nursing_subsidy") == [
        ("terminated", date(2025, 9, 30)),
        ("activated", date(2025, 10, 1)),
    ]
    activated = [event for event in holding.pending_events if isinstance(event, BenefitActivated)]
    assert (activated[0].household_region, activated[0].monthly_amount_fen) == (HEFEI_COUNTY, 24300)
    [opened] = [event for event in holding.pending_events if isinstance(event, BenefitHandoffOpened)]
    # 3 working days skip 1-8 October (国庆); Saturday 11 October is worked in lieu (调休).
    assert (opened.pass_on_by, opened.decide_by, opened.notify_by) == (
        date(2025, 10, 10),
        date(2025, 10, 23),
        date(2025, 10, 28),
    )
    steps = [
        (e.step, e.on_time) for e in holding.pending_events if isinstance(e, BenefitHandoffStepCompleted)
    ]
    assert steps == [("passed_on", True), ("decided", True)]
    holding.mark_saved()
    assert holding.complete_handoff_step("h-1", "notified", date(2025, 11, 3))
    [late] = holding.pending_events
    assert isinstance(late, BenefitHandoffStepCompleted)
    assert not late.on_time
    assert not holding.complete_handoff_step("h-1", "notified", date(2025, 11, 4)), "done once"


def test_a_move_within_the_province_needs_no_handoff() -> None:
    holding = a_holding(level=1)
    holding.transferred("33050219800301123X41", "330503", date(2025, 9, 10), CATALOGUE, ("h-2", None))  # type: ignore[arg-type]
    assert not [event for event in holding.pending_events if isinstance(event, BenefitHandoffOpened)]
