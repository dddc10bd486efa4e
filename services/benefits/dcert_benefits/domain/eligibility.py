"""Eligibility: what one benefit's policy says about one holder's circumstances, from which month.

Pure functions over the catalogue; the Holding aggregate turns their answers into events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .calendar import covers, month_end, month_start, next_month_start
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
    active_to: date | None = None  # a known last day, e.g. the month the holder ages out
    ends_because: str | None = None  # the reason code of that end


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
    if policy.activation is Activation.MONTH_OF_APPLICATION and holder.applied_on is not None:
        start = max(min(start, month_start(holder.applied_on)), month_start(not_before))
    active_from = _active_from(policy, holder, start)
    if active_from != start:  # the amount and conditions in effect in the first month paid
        policy = catalogue.resolve(code, holder.household_region, active_from) or policy
    refusal = _refusal(policy, holder, active_from)
    if refusal is not None:
        return NotEligible(code, refusal, policy.version, policy.requires_low_income)
    assert policy.monthly_amount_fen is not None
    last_month_of_age = _last_month_of_age(policy, holder)
    return Eligible(
        benefit=code,
        monthly_amount_fen=policy.monthly_amount_fen,
        active_from=active_from,
        reason_code=_ground(policy, holder),
        policy_version=policy.version,
        activation_rule=policy.activation,
        household_region=holder.household_region,
        needs_low_income=policy.requires_low_income,
        active_to=last_month_of_age,
        ends_because=None if last_month_of_age is None else "age_limit_reached",
    )


def age_on(birth_date: date, day: date) -> int:
    """Whole years of age on `day`."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def _birthday(birth_date: date, age: int) -> date:
    """The day `age` is reached (29 February counts from 1 March in other years)."""
    try:
        return birth_date.replace(year=birth_date.year + age)
    except ValueError:
        return date(birth_date.year + age, 3, 1)


def _first_month_of_age(policy: ResolvedPolicy, holder: Circumstances) -> date | None:
    """The first month whose first day finds the holder at `min_age`; None when no lower limit."""
    if not policy.min_age or holder.birth_date is None:
        return None
    return next_month_start(_birthday(holder.birth_date, policy.min_age) - timedelta(days=1))


def _last_month_of_age(policy: ResolvedPolicy, holder: Circumstances) -> date | None:
    """The last day of the last month whose first day finds the holder at most `max_age`."""
    if policy.max_age is None or holder.birth_date is None:
        return None
    return month_end(_birthday(holder.birth_date, policy.max_age + 1) - timedelta(days=1))


def _active_from(policy: ResolvedPolicy, holder: Circumstances, start: date) -> date:
    active_from = start
    if policy.activation is Activation.MONTH_AFTER_ISSUE:
        active_from = max(start, next_month_start(holder.issued_on))
    elif policy.activation is Activation.MONTH_OF_FACT and holder.low_income_since is not None:
        active_from = max(start, month_start(holder.low_income_since))
    of_age = _first_month_of_age(policy, holder)
    return active_from if of_age is None else max(active_from, of_age)


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
    if policy.categories is not None and holder.category not in policy.categories:
        return "category_not_covered"
    if policy.has_age_limits:
        if holder.birth_date is None:
            return "age_unknown"
        last = _last_month_of_age(policy, holder)
        if last is not None and active_from > last:
            return "age_not_covered"
    if policy.requires_residence_in_region and not covers(
        policy.region, holder.residence_region or holder.household_region
    ):
        return "residence_not_covered"
    if policy.requires_low_income and holder.low_income_since is None:
        return "low_income_ended" if holder.low_income_ended_on is not None else "no_low_income_fact"
    if not _covers_grade(policy, holder):
        return "grade_not_covered"
    if policy.requires_long_term_care and not holder.long_term_care:
        return "no_long_term_care"
    if policy.monthly_amount_fen is None:
        return "no_local_amount"
    return None


def _ground(policy: ResolvedPolicy, holder: Circumstances) -> str:
    """The reason code of an activation: what the holder qualifies by."""
    if policy.requires_low_income:
        return "low_income_family"
    if policy.categories is not None and len(policy.categories) == 1:
        return f"category_{holder.category}"
    if policy.has_age_limits and policy.levels == frozenset({1, 2, 3, 4}):
        return "age_covered"
    if holder.level in policy.levels:
        return "severe_disability" if holder.level <= 2 else "grade_covered"
    return "local_extension_intellectual_mental"
