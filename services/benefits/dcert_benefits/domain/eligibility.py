"""Eligibility: what one benefit's policy says about one holder's circumstances, from which month.

Pure functions over the catalogue; the Holding aggregate turns their answers into events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .calendar import month_end, month_start, next_month_start
from .policies import Activation, Catalogue, ResolvedPolicy, Support

INTELLECTUAL_OR_MENTAL = frozenset({"intellectual", "mental"})


@dataclass(frozen=True)
class Circumstances:
    """What the rules look at: the certificate, the low-income status and other support."""

    category: str
    level: int
    issued_on: date
    household_region: str
    low_income_since: date | None = None
    low_income_ended_on: date | None = None
    supports: frozenset[Support] = frozenset()
    deceased_on: date | None = None
    birth_date: date | None = None
    long_term_care: bool = False
    residence_region: str | None = None
    applied_on: date | None = None  # the certificate application's submission


@dataclass(frozen=True)
class Eligible:
    benefit: str
    monthly_amount_fen: int
    active_from: date
    reason_code: str
    policy_version: str
    activation_rule: Activation
    household_region: str
    needs_low_income: bool


@dataclass(frozen=True)
class NotEligible:
    benefit: str
    reason_code: str
    policy_version: str | None
    needs_low_income: bool


Decision = Eligible | NotEligible


def decide(catalogue: Catalogue, code: str, holder: Circumstances, not_before: date) -> Decision:
    """The decision on benefit `code` for `holder`, paying no month before `not_before`."""
    start = max(month_start(holder.issued_on), month_start(not_before))
    policy = catalogue.resolve(code, holder.household_region, start)
    if policy is None:
        return NotEligible(code, "no_policy_in_effect", None, False)
    active_from = _active_from(policy.activation, holder, start)
    if active_from != start:  # the amount and conditions in effect in the first month paid
        policy = catalogue.resolve(code, holder.household_region, active_from) or policy
    refusal = _refusal(policy, holder, active_from)
    if refusal is not None:
        return NotEligible(code, refusal, policy.version, policy.requires_low_income)
    assert policy.monthly_amount_fen is not None
    return Eligible(
        benefit=code,
        monthly_amount_fen=policy.monthly_amount_fen,
        active_from=active_from,
        reason_code=_ground(policy, holder),
        policy_version=policy.version,
        activation_rule=policy.activation,
        household_region=holder.household_region,
        needs_low_income=policy.requires_low_income,
    )


def _active_from(activation: Activation, holder: Circumstances, start: date) -> date:
    if activation is Activation.MONTH_AFTER_ISSUE:
        return max(start, next_month_start(holder.issued_on))
    if activation is Activation.MONTH_OF_FACT and holder.low_income_since is not None:
        return max(start, month_start(holder.low_income_since))
    return start


def _covers_grade(policy: ResolvedPolicy, holder: Circumstances) -> bool:
    if holder.level in policy.levels:
        return True
    return (
        policy.intellectual_mental_grade_3_4
        and holder.category in INTELLECTUAL_OR_MENTAL
        and holder.level in (3, 4)
    )


def _refusal(policy: ResolvedPolicy, holder: Circumstances, active_from: date) -> str | None:
    """The reason code of a refusal, or None when the holder qualifies."""
    if holder.deceased_on is not None and active_from > month_end(holder.deceased_on):
        return "holder_deceased"
    excluded = sorted(policy.excluded_when & holder.supports)
    if excluded:
        return f"excluded_{excluded[0]}"
    if policy.requires_low_income and holder.low_income_since is None:
        return "low_income_ended" if holder.low_income_ended_on is not None else "no_low_income_fact"
    if not _covers_grade(policy, holder):
        return "grade_not_covered"
    if policy.monthly_amount_fen is None:
        return "no_local_amount"
    return None


def _ground(policy: ResolvedPolicy, holder: Circumstances) -> str:
    """The reason code of an activation: what the holder qualifies by."""
    if policy.requires_low_income:
        return "low_income_family"
    if holder.level in policy.levels:
        return "severe_disability" if holder.level <= 2 else "grade_covered"
    return "local_extension_intellectual_mental"
