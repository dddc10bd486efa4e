"""The Holding aggregate on its own: each decision an event, with its reason and policy version."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from dcert_benefits.adapters.policy_files import load_catalogue
from dcert_benefits.domain.events import (
    BenefitActivated,
    BenefitNotEligible,
    BenefitTerminated,
    DeathReported,
    registry,
)
from dcert_benefits.domain.holding import CertificateOnFile, Fact, Holding
from dcert_shared.envelope import EventEnvelope

CATALOGUE = load_catalogue()
HUZHOU_COUNTY = "330502"
OTHER_CITY = "340104"


def a_holding(level: int = 1, category: str = "physical", region: str = HUZHOU_COUNTY) -> Holding:
    holding = Holding("person-ref-1")
    certificate = CertificateOnFile(
        number=f"33050220160417123X4{level}",
        category=category,
        level=level,
        issued_on=date(2025, 5, 20),
        expires_on=date(2035, 5, 20),
        household_region=region,
    )
    holding.record_certificate(certificate, CATALOGUE)
    holding.mark_saved()
    return holding


def a_fact(fact_type: str, on: date, fact_id: str = "f-1", **details: Any) -> Fact:
    return Fact(fact_id, "civil-affairs", fact_type, on, details)


def test_a_grade_1_holder_gets_nursing_from_the_month_of_issue_and_no_living_subsidy_yet() -> None:
    holding = Holding("person-ref-1")
    holding.record_certificate(a_holding().certificate, CATALOGUE)  # type: ignore[arg-type]
    decisions = {event.benefit: event for event in holding.pending_events if hasattr(event, "benefit")}
    nursing = decisions["nursing_subsidy"]
    assert isinstance(nursing, BenefitActivated)
    assert (nursing.monthly_amount_fen, nursing.active_from) == (27500, date(2025, 5, 1))
    assert nursing.activation_rule == "month_of_application"  # applied in the month of issue
    assert nursing.policy_version == "nursing_subsidy/v1/huzhou-2024"
    living = decisions["living_subsidy"]
    assert isinstance(living, BenefitNotEligible)
    assert living.reason_code == "no_low_income_fact"


def test_grade_3_is_covered_only_where_the_local_extension_reaches_intellectual_and_mental() -> None:
    assert a_holding(level=3).benefits["nursing_subsidy"].reason_code == "grade_not_covered"
    extended = a_holding(level=3, category="intellectual").benefits["nursing_subsidy"]
    assert (extended.status, extended.reason_code) == ("active", "local_extension_intellectual_mental")
    elsewhere = a_holding(level=3, category="intellectual", region=OTHER_CITY).benefits["nursing_subsidy"]
    assert (elsewhere.status, elsewhere.reason_code) == ("not_eligible", "grade_not_covered")


def test_low_income_starts_the_living_subsidy_in_its_month_and_its_end_stops_it_after_that_month() -> None:
    holding = a_holding()
    assert holding.record_fact(a_fact("low_income_started", date(2025, 6, 10)), CATALOGUE) == "applied"
    living = holding.benefits["living_subsidy"]
    assert (living.status, living.monthly_amount_fen, living.active_from) == (
        "active",
        26200,
        date(2025, 6, 1),
    )
    assert holding.benefits["nursing_subsidy"].status == "active"  # untouched
    holding.record_fact(a_fact("low_income_ended", date(2025, 9, 3), fact_id="f-2"), CATALOGUE)
    living = holding.benefits["living_subsidy"]
    assert (living.status, living.active_to, living.reason_code) == (
        "terminated",
        date(2025, 9, 30),
        "low_income_ended",
    )


def test_extreme_poverty_support_excludes_the_living_subsidy_where_the_province_says_so() -> None:
    supported = a_holding()
    supported.record_fact(
        a_fact("low_income_started", date(2025, 6, 1), extreme_poverty_support=True), CATALOGUE
    )
    assert supported.benefits["living_subsidy"].reason_code == "excluded_extreme_poverty_support"
    other_city = a_holding(region=OTHER_CITY)
    other_city.record_fact(
        a_fact("low_income_started", date(2025, 6, 1), extreme_poverty_support=True), CATALOGUE
    )
    assert other_city.benefits["living_subsidy"].status == "active"


def test_a_reported_death_is_reported_once_per_fact_and_changes_no_benefit_by_itself() -> None:
    holding = a_holding()
    holding.record_fact(a_fact("death", date(2025, 7, 15)), CATALOGUE)
    holding.record_fact(a_fact("death", date(2025, 7, 15)), CATALOGUE)  # the same fact again
    assert sum(isinstance(event, DeathReported) for event in holding.pending_events) == 1
    assert holding.benefits["nursing_subsidy"].status == "active"
    assert holding.deceased_on is None


def test_a_confirmed_death_ends_every_benefit_after_its_month() -> None:
    holding = a_holding()
    assert holding.certificate is not None
    holding.certificate_closed(holding.certificate.number, "certificate_death", date(2025, 7, 15))
    assert {
        code: (state.status, state.active_to)
        for code, state in holding.benefits.items()
        if state.status != "not_eligible"
    } == {  # the living subsidy was never paid (no 低保): it stays not eligible
        "nursing_subsidy": ("terminated", date(2025, 7, 31)),
    }
    assert holding.deceased_on == date(2025, 7, 15)


def test_a_household_move_pays_the_old_region_to_the_month_end_and_the_new_one_from_the_next() -> None:
    holding = a_holding()
    holding.record_fact(a_fact("household_moved", date(2025, 8, 12), to_region=OTHER_CITY), CATALOGUE)
    ended, started = [
        event
        for event in holding.pending_events
        if isinstance(event, BenefitTerminated | BenefitActivated) and event.benefit == "nursing_subsidy"
    ]
    assert isinstance(ended, BenefitTerminated)
    assert ended.active_to == date(2025, 8, 31)
    assert isinstance(started, BenefitActivated)
    assert (started.active_from, started.monthly_amount_fen, started.household_region) == (
        date(2025, 9, 1),
        24300,
        OTHER_CITY,
    )


def test_a_fact_before_the_certificate_is_kept_and_applied_when_it_is_issued() -> None:
    holding = Holding("person-ref-1")
    assert holding.record_fact(a_fact("low_income_started", date(2024, 11, 2)), CATALOGUE) == "pending"
    holding.record_certificate(a_holding().certificate, CATALOGUE)  # type: ignore[arg-type]
    living = holding.benefits["living_subsidy"]
    assert (living.status, living.active_from) == ("active", date(2025, 5, 1))  # not before the issue month


def test_replaying_the_events_rebuilds_the_same_holding() -> None:
    holding = Holding("person-ref-1")
    holding.record_certificate(a_holding().certificate, CATALOGUE)  # type: ignore[arg-type]
    holding.record_fact(a_fact("low_income_started", date(2025, 6, 10)), CATALOGUE)
    holding.record_fact(
        a_fact("household_moved", date(2025, 8, 12), fact_id="f-2", to_region=OTHER_CITY), CATALOGUE
    )
    replayed = Holding.rehydrate("person-ref-1", holding.pending_events)
    assert replayed.benefits == holding.benefits
    assert replayed.certificate == holding.certificate


def test_a_new_certificate_out_of_eligibility_ends_the_nursing_subsidy_after_its_month() -> None:
    holding = a_holding(level=1)
    regraded = CertificateOnFile(
        number="33050220160417123X43",
        category="physical",
        level=3,
        issued_on=date(2026, 2, 3),
        expires_on=date(2036, 2, 3),
        household_region=HUZHOU_COUNTY,
    )
    holding.record_certificate(regraded, CATALOGUE)
    holding.record_certificate(regraded, CATALOGUE)  # the same certificate again changes nothing
    nursing = holding.benefits["nursing_subsidy"]
    assert (nursing.status, nursing.active_to, nursing.reason_code) == (
        "terminated",
        date(2026, 2, 28),
        "grade_not_covered",
    )
    # the certificate, the termination and the holder's new circumstances
    assert [type(event).__name__ for event in holding.pending_events] == [
        "CertificateRecorded",
        "BenefitTerminated",
        "CircumstancesNoted",
    ]


def test_a_hold_suspends_and_its_lifting_carries_on_and_both_replay_to_the_same_holding() -> None:
    holding = Holding("person-ref-1")
    holding.record_certificate(a_holding().certificate, CATALOGUE)  # type: ignore[arg-type]
    number = holding.certificate.number  # type: ignore[union-attr]
    holding.hold(number, "death_reported", date(2025, 8, 1))
    holding.hold(number, "death_reported", date(2025, 9, 1))  # held once
    nursing = holding.benefits["nursing_subsidy"]
    assert (nursing.status, nursing.suspended_from) == ("suspended", date(2025, 8, 1))
    replayed = Holding.rehydrate("person-ref-1", holding.pending_events)
    assert (replayed.benefits, replayed.held_from) == (holding.benefits, date(2025, 8, 1))

    holding.lift_hold(number, "death_rejected", CATALOGUE)
    nursing = holding.benefits["nursing_subsidy"]
    assert (nursing.status, nursing.active_from, nursing.suspended_from) == ("active", date(2025, 8, 1), None)
    replayed = Holding.rehydrate("person-ref-1", holding.pending_events)
    assert (replayed.benefits, replayed.held_from) == (holding.benefits, None)


def test_a_death_recorded_before_holds_existed_still_counts_when_replayed() -> None:
    holding = a_holding()
    stored = {
        "fact_id": "old-1",
        "partner_id": "civil-affairs",
        "fact_type": "death",
        "effective_date": "2025-07-15",
        "details": {},
    }
    envelope = EventEnvelope(
        event_id=uuid.uuid4(),
        event_type="FactRecorded",
        schema_version=1,
        stream_id="holding-person-ref-1",
        stream_version=9,
        payload=stored,
        source="/dcert/benefits",
        occurred_at=datetime.now(UTC),
        correlation_id=uuid.uuid4(),
    )
    holding.apply(registry().decode(envelope))
    assert holding.deceased_on == date(2025, 7, 15)
