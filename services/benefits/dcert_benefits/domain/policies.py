"""The policy catalogue: each benefit's national frame and local rules, versioned by effective date.

Amounts and some conditions are local (DOMAIN.md): a rule applies to its region and everything
under it from its `effective_from` on. For one holder, at one date, the rules in effect along the
region's ancestry (national, province, city, county) are laid over each other, least local
first, so the most local rule wins field by field and a local rule only names what it changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from .calendar import NATIONAL, ancestry


class Activation(StrEnum):
    """The first month a benefit is paid for (local)."""

    MONTH_OF_ISSUE = "month_of_issue"
    MONTH_AFTER_ISSUE = "month_after_issue"
    MONTH_OF_FACT = "month_of_fact"  # of the qualifying fact, e.g. the start of 低保


class Support(StrEnum):
    """Other support that excludes a benefit where a rule says so."""

    ORPHAN_BASIC_LIVING_SUPPORT = "orphan_basic_living_support"  # 孤儿基本生活保障
    EXTREME_POVERTY_SUPPORT = "extreme_poverty_support"  # 特困人员救助供养
    WORK_INJURY_NURSING_ALLOWANCE = "work_injury_nursing_allowance"  # 工伤保险生活护理费


RULE_FIELDS = (
    "monthly_amount_fen",
    "activation",
    "levels",
    "intellectual_mental_grade_3_4",
    "requires_low_income",
    "excluded_when",
)


@dataclass(frozen=True)
class PolicyRule:
    """One entry of a policy file: a region, a start date and the fields it sets."""

    rule_id: str
    region: str
    effective_from: date
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class ResolvedPolicy:
    """What applies to one region at one date, and the version that says so."""

    benefit: str
    version: str  # "<benefit>/v<file version>/<most local rule id>", recorded with each decision
    monthly_amount_fen: int | None
    activation: Activation
    levels: frozenset[int]
    intellectual_mental_grade_3_4: bool
    requires_low_income: bool
    excluded_when: frozenset[Support]


@dataclass(frozen=True)
class BenefitPolicy:
    """A benefit's rules, as one versioned policy file holds them."""

    code: str
    version: int
    name_zh: str
    name_en: str
    basis: str
    rules: tuple[PolicyRule, ...]

    def name(self, language: str) -> str:
        return self.name_en if language == "en" else self.name_zh

    def rule_in_effect(self, region: str, on: date) -> PolicyRule | None:
        """The latest rule of exactly this region that has started by `on`."""
        started = [rule for rule in self.rules if rule.region == region and rule.effective_from <= on]
        return max(started, key=lambda rule: rule.effective_from, default=None)

    def resolve(self, region: str, on: date) -> ResolvedPolicy | None:
        """The policy for a holder of `region` on `on`; None before the national frame applies."""
        applied = [rule for area in ancestry(region) if (rule := self.rule_in_effect(area, on)) is not None]
        if not applied or applied[0].region != NATIONAL:
            return None
        merged: dict[str, Any] = {}
        for rule in applied:
            merged.update(rule.fields)
        return ResolvedPolicy(
            benefit=self.code,
            version=f"{self.code}/v{self.version}/{applied[-1].rule_id}",
            monthly_amount_fen=merged["monthly_amount_fen"],
            activation=Activation(merged["activation"]),
            levels=frozenset(merged["levels"]),
            intellectual_mental_grade_3_4=merged["intellectual_mental_grade_3_4"],
            requires_low_income=merged["requires_low_income"],
            excluded_when=frozenset(Support(flag) for flag in merged["excluded_when"]),
        )


class Catalogue:
    """Every benefit the service decides, by code."""

    def __init__(self, policies: Iterable[BenefitPolicy]) -> None:
        self._policies = {policy.code: policy for policy in policies}

    @property
    def codes(self) -> list[str]:
        return sorted(self._policies)

    def policy(self, code: str) -> BenefitPolicy:
        return self._policies[code]

    def __contains__(self, code: object) -> bool:
        return code in self._policies

    def resolve(self, code: str, region: str, on: date) -> ResolvedPolicy | None:
        return self._policies[code].resolve(region, on)
