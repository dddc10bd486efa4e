"""The "X" of 1+X: categories, ages, residence, long-term care, in-kind benefits, rule ends, and
the month of application, as the shipped catalogue and the holders' events decide them."""

from __future__ import annotations

import itertools
import json
import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from dcert_benefits.adapters.policy_files import PolicyCatalogueInvalid, default_policies_dir, load_catalogue
from dcert_benefits.domain.eligibility import Circumstances, Eligible, NotEligible, decide
from dcert_benefits.domain.events import BenefitActivated, BenefitNotEligible, BenefitTerminated
from dcert_benefits.domain.holding import CertificateOnFile, Holding
from dcert_benefits.domain.policies import Catalogue
from dcert_benefits.domain.reasons import reason_text

CATALOGUE = load_catalogue()
HUZHOU_COUNTY = "330502"
HEFEI_COUNTY = "340104"


def holder(**overrides: Any) -> Circumstances:
    base = Circumstances(
        category="physical",
        level=1,
        issued_on=date(2025, 5, 20),
        household_region=HUZHOU_COUNTY,
        birth_date=date(1980, 3, 1),
        long_term_care=True,
    )
    return replace(base, **overrides)


def a_grade_1_holding(
    catalogue: Catalogue, issued_on: date = date(2025, 5, 20), birth_date: date | None = None
) -> Holding:
    """A grade 1 physical holder in Huzhou, their certificate just recorded (ten years valid)."""
    holding = Holding("person-ref-1")
    holding.record_certificate(
        CertificateOnFile(
            number="33050219800301123X41",
            category="physical",
            level=1,
            issued_on=issued_on,
            expires_on=issued_on.replace(year=issued_on.year + 10),
            household_region=HUZHOU_COUNTY,
            birth_date=birth_date,
        ),
        catalogue,
    )
    return holding


def decided(code: str, who: Circumstances, on: date = date(2025, 5, 20)) -> Eligible | NotEligible:
    return decide(CATALOGUE, code, who, on)


def test_blind_holders_ride_free_and_others_are_told_why_not() -> None:
    blind = decided("free_transit_blind", holder(category="visual", level=3))
    assert isinstance(blind, Eligible)
    assert (blind.monthly_amount_fen, blind.reason_code) == (0, "category_visual")
    assert CATALOGUE.policy("free_transit_blind").kind_on(date(2025, 5, 1)) == "in_kind"
    physical = decided("free_transit_blind", holder())
    assert isinstance(physical, NotEligible)
    assert physical.reason_code == "category_not_covered"


def test_pension_contributions_are_paid_from_16_through_the_month_before_the_60th_birthday() -> None:
    adult = decided("pension_contribution_severe", holder(birth_date=date(1966, 8, 15)))
    assert isinstance(adult, Eligible)
    assert (adult.monthly_amount_fen, adult.active_from) == (2500, date(2025, 5, 1))
    # 1 August 2026 finds them 59; 1 September 60: August is the last month.
    assert (adult.active_to, adult.ends_because) == (date(2026, 8, 31), "age_limit_reached")
    teenager = decided("pension_contribution_severe", holder(birth_date=date(2010, 9, 3)))
    assert isinstance(teenager, Eligible)
    assert (teenager.active_from, teenager.active_to) == (date(2026, 10, 1), date(2070, 9, 30))
    too_old = decided("pension_contribution_severe", holder(birth_date=date(1950, 1, 1)))
    assert isinstance(too_old, NotEligible)
    assert too_old.reason_code == "age_not_covered"
    unknown = decided("pension_contribution_severe", holder(birth_date=None))
    assert isinstance(unknown, NotEligible)
    assert unknown.reason_code == "age_unknown"
    moderate = decided("pension_contribution_severe", holder(level=3))
    assert isinstance(moderate, NotEligible)
    assert moderate.reason_code == "grade_not_covered"


def test_child_rehabilitation_to_6_nationally_and_to_17_for_children_living_in_zhejiang() -> None:
    child = holder(level=3, birth_date=date(2019, 6, 10))
    in_hefei = decided("child_rehabilitation", replace(child, household_region=HEFEI_COUNTY))
    assert isinstance(in_hefei, Eligible)
    assert in_hefei.active_to == date(2026, 6, 30)
    older = replace(child, birth_date=date(2015, 6, 10))
    assert decided("child_rehabilitation", replace(older, household_region=HEFEI_COUNTY)).reason_code == (
        "age_not_covered"
    )
    in_huzhou = decided("child_rehabilitation", older)
    assert isinstance(in_huzhou, Eligible)
    assert in_huzhou.active_to == date(2033, 6, 30)
    living_elsewhere = decided("child_rehabilitation", replace(older, residence_region=HEFEI_COUNTY))
    assert isinstance(living_elsewhere, NotEligible)
    assert living_elsewhere.reason_code == "residence_not_covered"


def test_free_psychiatric_medication_is_for_mental_disability_of_any_grade() -> None:
    assert isinstance(decided("free_psychiatric_medication", holder(category="mental", level=4)), Eligible)
    assert decided("free_psychiatric_medication", holder()).reason_code == "category_not_covered"


def test_the_nursing_subsidy_needs_long_term_care_and_starts_in_the_month_of_application() -> None:
    no_care = decided("nursing_subsidy", holder(long_term_care=False))
    assert isinstance(no_care, NotEligible)
    assert no_care.reason_code == "no_long_term_care"
    applied_in_march = decided("nursing_subsidy", holder(applied_on=date(2025, 3, 28)), date(2025, 3, 28))
    assert isinstance(applied_in_march, Eligible)
    assert applied_in_march.active_from == date(2025, 3, 1)


def test_an_aged_out_benefit_ends_in_the_holders_benefits_and_death_before_it_brings_the_end_forward() -> (
    None
):
    holding = a_grade_1_holding(CATALOGUE, birth_date=date(1966, 8, 15))
    [pension] = [
        event
        for event in holding.pending_events
        if isinstance(event, BenefitActivated) and event.benefit == "pension_contribution_severe"
    ]
    assert (pension.active_to, pension.ends_because) == (date(2026, 8, 31), "age_limit_reached")
    assert holding.benefits["pension_contribution_severe"].status == "active"
    holding.mark_saved()
    assert holding.certificate is not None  # a death confirmed by the reviewer closes the certificate
    holding.certificate_closed(holding.certificate.number, "certificate_death", date(2026, 2, 3))
    ends = {
        event.benefit: event.active_to
        for event in holding.pending_events
        if isinstance(event, BenefitTerminated)
    }
    assert ends["pension_contribution_severe"] == date(2026, 2, 28)
    assert ends["nursing_subsidy"] == date(2026, 2, 28)


def a_policy_folder(tmp_path: Path, rules: list[dict[str, Any]], **document: Any) -> Path:
    shutil.copy(default_policies_dir() / "policy.schema.json", tmp_path / "policy.schema.json")
    body = {
        "code": "nursing_subsidy",
        "version": 3,
        "name": {"zh-CN": "重度残疾人护理补贴", "en": "Nursing subsidy"},
        "basis": "国发〔2015〕52号",
        "rules": rules,
        **document,
    }
    (tmp_path / "nursing_subsidy.json").write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    return tmp_path


NATIONAL: dict[str, Any] = {
    "id": "national",
    "region": "000000",
    "effective_from": "2016-01-01",
    "monthly_amount_fen": None,
    "activation": "month_of_issue",
    "levels": [1, 2],
    "intellectual_mental_grade_3_4": False,
    "requires_low_income": False,
    "excluded_when": [],
}


def test_a_local_rule_that_ends_stops_payment_after_its_last_month(tmp_path: Path) -> None:
    catalogue = load_catalogue(
        a_policy_folder(
            tmp_path,
            [
                NATIONAL,
                {
                    "id": "huzhou-2025",
                    "region": "330500",
                    "effective_from": "2025-01-01",
                    "effective_to": "2025-12-31",
                    "monthly_amount_fen": 30000,
                },
            ],
        )
    )
    holding = a_grade_1_holding(catalogue)
    assert [
        (type(event).__name__, getattr(event, "active_from", None) or getattr(event, "active_to", None))
        for event in holding.pending_events
        if isinstance(event, BenefitActivated | BenefitTerminated)
    ] == [("BenefitActivated", date(2025, 5, 1)), ("BenefitTerminated", date(2025, 12, 31))]
    assert holding.benefits["nursing_subsidy"].reason_code == "no_local_amount"


def test_a_certificate_from_before_a_local_amount_is_paid_from_the_month_the_amount_took_effect() -> None:
    holding = a_grade_1_holding(CATALOGUE, issued_on=date(2016, 7, 1))
    nursing = [
        event
        for event in holding.pending_events
        if isinstance(event, BenefitActivated | BenefitNotEligible) and event.benefit == "nursing_subsidy"
    ]
    assert [(type(event).__name__, event.reason_code) for event in nursing] == [
        ("BenefitNotEligible", "no_local_amount"),
        ("BenefitActivated", "severe_disability"),
    ]
    assert holding.benefits["nursing_subsidy"].active_from == date(2024, 1, 1)


@pytest.mark.parametrize(
    ("rules", "complaint"),
    [
        (
            [
                NATIONAL,
                {"id": "a", "region": "330500", "effective_from": "2024-01-01", "effective_to": "2025-06-30"},
                {"id": "b", "region": "330500", "effective_from": "2025-01-01"},
            ],
            "rules 'a' and 'b' of region 330500 overlap",
        ),
        (
            [
                NATIONAL,
                {"id": "a", "region": "330500", "effective_from": "2024-01-01", "monthly_amount_fen": -100},
            ],
            "rules/1/monthly_amount_fen",
        ),
        (
            [
                NATIONAL,
                {"id": "a", "region": "330500", "effective_from": "2024-01-01", "monthly_amount_fen": 99.5},
            ],
            "rules/1/monthly_amount_fen",
        ),
        (
            [
                NATIONAL,
                {"id": "a", "region": "330500", "effective_from": "2024-01-01", "effective_to": "2023-01-01"},
            ],
            "ends before it starts",
        ),
        ([{**NATIONAL, "kind": "in_kind", "monthly_amount_fen": 500}], "rules/0/monthly_amount_fen"),
        ([{**NATIONAL, "min_age": -1}], "rules/0/min_age"),
        ([{**NATIONAL, "categories": ["blind"]}], "rules/0/categories/0"),
    ],
)
def test_a_policy_file_with_overlapping_rules_or_a_bad_amount_is_refused_at_load(
    tmp_path: Path, rules: list[dict[str, Any]], complaint: str
) -> None:
    with pytest.raises(PolicyCatalogueInvalid) as refused:
        load_catalogue(a_policy_folder(tmp_path, rules))
    assert "nursing_subsidy.json" in str(refused.value)
    assert complaint in str(refused.value)


def test_every_reason_a_decision_can_give_has_a_chinese_and_an_english_text() -> None:
    categories = ("visual", "hearing", "speech", "physical", "intellectual", "mental", "multiple")
    holders = [
        holder(
            category=category,
            level=level,
            birth_date=born,
            household_region=region,
            residence_region=residence,
            long_term_care=care,
            low_income_since=low_income,
        )
        for category, level, born, region, residence, care, low_income in itertools.product(
            categories,
            (1, 2, 3, 4),
            (date(2020, 1, 1), date(2012, 1, 1), date(1980, 1, 1), date(1940, 1, 1), None),
            (HUZHOU_COUNTY, HEFEI_COUNTY, "110101"),
            (None, HEFEI_COUNTY),
            (True, False),
            (None, date(2025, 1, 1)),
        )
    ]
    codes = {decided(code, who).reason_code for code in CATALOGUE.codes for who in holders}
    assert {"category_not_covered", "age_not_covered", "age_unknown", "no_long_term_care"} <= codes
    for code in codes:
        assert reason_text(code, "zh-CN") != code, code
        assert reason_text(code, "en") != code, code
