"""The policy catalogue: the most local rule wins, rules start on their dates, files are checked at load."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from dcert_benefits.adapters.policy_files import PolicyCatalogueInvalid, default_policies_dir, load_catalogue

NATIONAL_FRAME: dict[str, Any] = {
    "id": "national-2016",
    "region": "000000",
    "effective_from": "2016-01-01",
    "monthly_amount_fen": None,
    "activation": "month_of_issue",
    "levels": [1, 2],
    "intellectual_mental_grade_3_4": False,
    "requires_low_income": False,
    "excluded_when": [],
}


def a_catalogue(tmp_path: Path, *rules: dict[str, Any], code: str = "nursing_subsidy") -> Path:
    """A policy folder with the shipped schema and one policy file of these rules."""
    shutil.copy(default_policies_dir() / "policy.schema.json", tmp_path / "policy.schema.json")
    document = {
        "code": code,
        "version": 7,
        "name": {"zh-CN": "重度残疾人护理补贴", "en": "Nursing subsidy"},
        "basis": "国发〔2015〕52号",
        "rules": list(rules),
    }
    (tmp_path / f"{code}.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return tmp_path


def test_the_shipped_catalogue_pays_huzhou_and_the_other_city_their_own_amounts() -> None:
    catalogue = load_catalogue()
    on = date(2025, 5, 1)
    assert catalogue.codes == [
        "child_rehabilitation",
        "free_psychiatric_medication",
        "free_transit_blind",
        "living_subsidy",
        "nursing_subsidy",
        "pension_contribution_severe",
    ]
    huzhou_living = catalogue.resolve("living_subsidy", "330502", on)
    assert huzhou_living is not None
    assert huzhou_living.monthly_amount_fen == 26200
    assert huzhou_living.version == "living_subsidy/v1/huzhou-2024"
    other_city = "340104"
    assert catalogue.resolve("living_subsidy", other_city, on).monthly_amount_fen == 18100  # type: ignore[union-attr]
    assert catalogue.resolve("nursing_subsidy", other_city, on).monthly_amount_fen == 24300  # type: ignore[union-attr]
    # Elsewhere the national frame applies, and it leaves the amount to the region.
    elsewhere = catalogue.resolve("nursing_subsidy", "110101", on)
    assert elsewhere is not None
    assert elsewhere.monthly_amount_fen is None


def test_the_most_local_rule_wins_county_over_city_over_province_over_national(tmp_path: Path) -> None:
    catalogue = load_catalogue(
        a_catalogue(
            tmp_path,
            NATIONAL_FRAME,
            {
                "id": "zhejiang",
                "region": "330000",
                "effective_from": "2020-01-01",
                "monthly_amount_fen": 10000,
            },
            {"id": "huzhou", "region": "330500", "effective_from": "2020-01-01", "monthly_amount_fen": 20000},
            {"id": "wuxing", "region": "330502", "effective_from": "2020-01-01", "monthly_amount_fen": 30000},
        )
    )
    on = date(2025, 1, 1)

    def amount(region: str) -> int | None:
        policy = catalogue.resolve("nursing_subsidy", region, on)
        assert policy is not None
        return policy.monthly_amount_fen

    assert amount("330502") == 30000  # the county's own rule
    assert amount("330503") == 20000  # another county of the city: the city's
    assert amount("330102") == 10000  # another city of the province: the province's
    assert amount("110101") is None  # elsewhere: the national frame
    assert catalogue.resolve("nursing_subsidy", "330502", on).version == "nursing_subsidy/v7/wuxing"  # type: ignore[union-attr]


def test_a_local_rule_changes_only_what_it_names(tmp_path: Path) -> None:
    catalogue = load_catalogue(
        a_catalogue(
            tmp_path,
            NATIONAL_FRAME,
            {
                "id": "huzhou",
                "region": "330500",
                "effective_from": "2020-01-01",
                "intellectual_mental_grade_3_4": True,
            },
            {"id": "wuxing", "region": "330502", "effective_from": "2020-01-01", "monthly_amount_fen": 30000},
        )
    )
    policy = catalogue.resolve("nursing_subsidy", "330502", date(2024, 6, 1))
    assert policy is not None
    assert policy.monthly_amount_fen == 30000
    assert policy.intellectual_mental_grade_3_4 is True
    assert policy.levels == frozenset({1, 2})


def test_rules_apply_from_their_effective_date(tmp_path: Path) -> None:
    catalogue = load_catalogue(
        a_catalogue(
            tmp_path,
            NATIONAL_FRAME,
            {
                "id": "huzhou-2024",
                "region": "330500",
                "effective_from": "2024-01-01",
                "monthly_amount_fen": 24000,
            },
            {
                "id": "huzhou-2025",
                "region": "330500",
                "effective_from": "2025-01-01",
                "monthly_amount_fen": 26200,
            },
            {
                "id": "wuxing-2025-07",
                "region": "330502",
                "effective_from": "2025-07-01",
                "monthly_amount_fen": 28000,
            },
        )
    )

    def amount(on: date) -> int | None:
        policy = catalogue.resolve("nursing_subsidy", "330502", on)
        assert policy is not None
        return policy.monthly_amount_fen

    assert amount(date(2023, 12, 31)) is None
    assert amount(date(2024, 12, 31)) == 24000
    assert amount(date(2025, 1, 1)) == 26200
    assert amount(date(2025, 6, 30)) == 26200
    assert amount(date(2025, 7, 1)) == 28000
    before_the_national_frame = date(2015, 12, 31)
    assert catalogue.resolve("nursing_subsidy", "330502", before_the_national_frame) is None


@pytest.mark.parametrize(
    ("rules", "complaint"),
    [
        (
            [
                NATIONAL_FRAME,
                {
                    "id": "huzhou",
                    "region": "330500",
                    "effective_from": "2024-01-01",
                    "monthly_amount_fen": 262.5,
                },
            ],
            "262.5",
        ),
        (
            [NATIONAL_FRAME, {"id": "huzhou", "region": "3305", "effective_from": "2024-01-01"}],
            "rules/1/region",
        ),
        (
            [NATIONAL_FRAME, {"id": "huzhou", "region": "330500", "effective_from": "2024-02-30"}],
            "effective_from",
        ),
        ([{**NATIONAL_FRAME, "levels": None}], "rules/0/levels"),
        ([{k: v for k, v in NATIONAL_FRAME.items() if k != "activation"}], "activation"),
        ([{**NATIONAL_FRAME, "region": "330000"}], "no national frame"),
        ([NATIONAL_FRAME, {**NATIONAL_FRAME, "id": "again"}], "start on"),
    ],
)
def test_a_policy_file_that_breaks_the_schema_stops_the_load(
    tmp_path: Path, rules: list[dict[str, Any]], complaint: str
) -> None:
    with pytest.raises(PolicyCatalogueInvalid) as refused:
        load_catalogue(a_catalogue(tmp_path, *rules))
    assert "nursing_subsidy.json" in str(refused.value)
    assert complaint in str(refused.value)
