"""What-if: a draft version of one benefit's policy against today's holders, changing nothing.

Every holder is decided for the month under the current catalogue and under the catalogue with
the draft in place of the benefit's current version; people gain, lose or change, and the
month's cost moves by the difference of the amounts (integer fen).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .calendar import Month
from .eligibility import Circumstances, Decision, Eligible, decide
from .policies import BenefitPolicy, Catalogue


@dataclass
class SimulationResult:
    benefit: str
    month: str
    holders: int = 0
    gain: int = 0  # not entitled now, entitled under the draft
    lose: int = 0  # entitled now, not under the draft
    change: int = 0  # entitled under both, at another amount
    monthly_cost_fen: int = 0  # the month's amounts as the catalogue stands
    draft_monthly_cost_fen: int = 0
    reasons_lost: dict[str, int] = field(default_factory=dict)  # why people would lose it

    @property
    def difference_fen(self) -> int:
        return self.draft_monthly_cost_fen - self.monthly_cost_fen


def with_draft(catalogue: Catalogue, draft: BenefitPolicy) -> Catalogue:
    """The catalogue as it would be with the draft in place of its benefit's current version."""
    others = [catalogue.policy(code) for code in catalogue.codes if code != draft.code]
    return Catalogue([*others, draft])


def simulate(
    catalogue: Catalogue, draft: BenefitPolicy, holders: Iterable[Circumstances], month: Month
) -> SimulationResult:
    drafted = with_draft(catalogue, draft)
    result = SimulationResult(benefit=draft.code, month=str(month))
    for holder in holders:
        result.holders += 1
        now = _paid(catalogue, draft.code, holder, month) if draft.code in catalogue else None
        then = _paid(drafted, draft.code, holder, month)
        now_amount = _amount(now, month)
        then_amount = _amount(then, month)
        result.monthly_cost_fen += now_amount or 0
        result.draft_monthly_cost_fen += then_amount or 0
        if now_amount is None and then_amount is not None:
            result.gain += 1
        elif now_amount is not None and then_amount is None:
            result.lose += 1
            reason = then.reason_code if then is not None else "no_policy_in_effect"
            result.reasons_lost[reason] = result.reasons_lost.get(reason, 0) + 1
        elif now_amount != then_amount:
            result.change += 1
    return result


def _paid(catalogue: Catalogue, code: str, holder: Circumstances, month: Month) -> Decision:
    return decide(catalogue, code, holder, month.first_day)


def _amount(decision: Decision | None, month: Month) -> int | None:
    """The month's amount of an entitlement that covers the month; None when not entitled."""
    if not isinstance(decision, Eligible) or decision.active_from > month.last_day:
        return None
    return decision.monthly_amount_fen
