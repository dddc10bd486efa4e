"""The policy catalogue: each benefit's national frame and local rules, versioned by effective date.

Amounts and some conditions are local (docs/domain.md): a rule applies to its region and everything
under it from its `effective_from` on. For one holder, at one date, the rules in effect along the
region's ancestry (national, province, city, county) are laid over each other, least local
first, so the most local rule wins field by field and a local rule only names what it changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from .calendar import NATIONAL, ancestry


class Activation(StrEnum):
    """The first month a benefit is paid for (local)."""

    MONTH_OF_APPLICATION = "month_of_application"  # of the certificate application (docs/domain.md)
    MONTH_OF_ISSUE = "month_of_issue"
    MONTH_AFTER_ISSUE = "month_after_issue"
    MONTH_OF_FACT = "month_of_fact"  # of the qualifying fact, e.g. the start of 低保


class Kind(StrEnum):
    """What the benefit gives: money each month, or a service or exemption (amount 0)."""

    CASH = "cash"
    IN_KIND = "in_kind"


class Support(StrEnum):
    """Other support that excludes a benefit where a rule says so."""

    ORPHAN_BASIC_LIVING_SUPPORT = "orphan_basic_living_support"  # 孤儿基本生活保障
    EXTREME_POVERTY_SUPPORT = "extreme_poverty_support"  # 特困人员救助供养
    WORK_INJURY_NURSING_ALLOWANCE = "work_injury_nursing_allowance"  # 工伤保险生活护理费


# Every field a rule may set, with the value it has when no rule along the ancestry sets it
# (None: the national frame must set it).
RULE_FIELDS: dict[str, Any] = {
    "monthly_amount_fen": None,
    "activation": None,
    "levels": None,
    "intellectual_mental_grade_3_4": None,
    "requires_low_income": None,
    "excluded_when": None,
    "kind": Kind.CASH.value,
    "categories": None,  # None: every category
    "min_age": None,
    "max_age": None,
    "requires_long_term_care": False,
    "requires_residence_in_region": False,
}


@dataclass(frozen=True)
class PolicyRule:
    """One entry of a policy file: a region, a start date and the fields it sets."""

    rule_id: str
    region: str
    effective_from: date
    fields: Mapping[str, Any]
    effective_to: date | None = None  # the last day it applies; None: until a later rule of its region

    def in_effect(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)


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
    kind: Kind = Kind.CASH
    categories: frozenset[str] | None = None  # None: every category
    min_age: int | None = None  # whole years on the first day of a month paid
    max_age: int | None = None
    requires_long_term_care: bool = False
    requires_residence_in_region: bool = False
    region: str = NATIONAL  # the most local region whose rule applies

    @property
    def has_age_limits(self) -> bool:
        return bool(self.min_age) or self.max_age is not None


@dataclass(frozen=True)
class BenefitPolicy:
    """A benefit's rules, as one versioned policy file holds them."""

    code: str
    version: int
    name_zh: str
    name_en: str
    basis: str
    rules: tuple[PolicyRule, ...]
    document: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)  # as written

    def name(self, language: str) -> str:
        return self.name_en if language == "en" else self.name_zh

    def changes_after(self, region: str, after: date) -> list[date]:
        """The days after `after` on which a rule reaching `region` starts or stops applying."""
        days: set[date] = set()
        areas = set(ancestry(region))
        for rule in self.rules:
            if rule.region in areas:
                days.add(rule.effective_from)
                if rule.effective_to is not None:
                    days.add(rule.effective_to + timedelta(days=1))
        return sorted(day for day in days if day > after)

    def kind_on(self, on: date) -> str:
        """What the benefit gives, as its national frame says on `on`."""
        national = self.resolve(NATIONAL, on)
        return national.kind.value if national is not None else Kind.CASH.value

    def rule_in_effect(self, region: str, on: date) -> PolicyRule | None:
        """The latest rule of exactly this region in effect on `on`."""
        started = [rule for rule in self.rules if rule.region == region and rule.in_effect(on)]
        return max(started, key=lambda rule: rule.effective_from, default=None)

    def resolve(self, region: str, on: date) -> ResolvedPolicy | None:
        """The policy for a holder of `region` on `on`; None before the national frame applies."""
        applied = [rule for area in ancestry(region) if (rule := self.rule_in_effect(area, on)) is not None]
        if not applied or applied[0].region != NATIONAL:
            return None
        merged: dict[str, Any] = dict(RULE_FIELDS)
        for rule in applied:
            merged.update(rule.fields)
        categories = merged["categories"]
        return ResolvedPolicy(
            benefit=self.code,
            version=f"{self.code}/v{self.version}/{applied[-1].rule_id}",
            monthly_amount_fen=merged["monthly_amount_fen"],
            activation=Activation(merged["activation"]),
            levels=frozenset(merged["levels"]),
            intellectual_mental_grade_3_4=merged["intellectual_mental_grade_3_4"],
            requires_low_income=merged["requires_low_income"],
            excluded_when=frozenset(Support(flag) for flag in merged["excluded_when"]),
            kind=Kind(merged["kind"]),
            categories=None if categories is None else frozenset(categories),
            min_age=merged["min_age"],
            max_age=merged["max_age"],
            requires_long_term_care=merged["requires_long_term_care"],
            requires_residence_in_region=merged["requires_residence_in_region"],
            region=applied[-1].region,
        )


class Catalogue:
    """Every benefit the service decides, by code: the version in force of each.

    One instance is shared by everything in the service that decides; a newly recorded version
    replaces its benefit's entry in place (`put`), so every decision after it uses the new one."""

    def __init__(self, policies: Iterable[BenefitPolicy]) -> None:
        self._policies = {policy.code: policy for policy in policies}

    def put(self, policy: BenefitPolicy) -> None:
        self._policies[policy.code] = policy

    @property
    def codes(self) -> list[str]:
        return sorted(self._policies)

    def policy(self, code: str) -> BenefitPolicy:
        return self._policies[code]

    def __contains__(self, code: object) -> bool:
        return code in self._policies

    def resolve(self, code: str, region: str, on: date) -> ResolvedPolicy | None:
        return self._policies[code].resolve(region, on)
