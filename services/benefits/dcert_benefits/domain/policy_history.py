"""The PolicyHistory aggregate: every version of one benefit's policy, only ever added to.

A version is recorded whole (the document as written) with the rules it changes against the
version before: a rule added, a rule whose region, dates or fields differ, a rule removed. Two
admins sending a version on the same base race on the stream; the second is stale.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from dcert_shared.aggregate import Aggregate
from dcert_shared.envelope import DomainEvent
from dcert_shared.problems import Bilingual

from .errors import PolicyVersionStale
from .events import PolicyVersionRecorded
from .policies import BenefitPolicy, PolicyRule


@dataclass(frozen=True)
class RuleEffect:
    """A day from which a changed rule decides its region's holders again."""

    key: str  # the rule id, or "<rule id>@end" for the day after its last day
    region: str
    takes_effect: date


class PolicyHistory(Aggregate):
    stream_type = "policy"

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.current = 0
        self.document: Mapping[str, Any] | None = None

    def record(self, policy: BenefitPolicy, previous: BenefitPolicy | None, source: str) -> bool:
        """Record `policy` as the next version; False when a file brings nothing newer."""
        if policy.version <= self.current:
            if source == "file":
                return False  # the store is ahead (an admin's version) or already has it
            raise PolicyVersionStale(
                detail=Bilingual(
                    f"版本 {policy.version} 不高于现行版本 {self.current}",
                    f"version {policy.version} is not after {self.current}",
                )
            )
        self.trigger(
            PolicyVersionRecorded(
                code=policy.code,
                version=policy.version,
                document=dict(policy.document),
                source=source,
                changed_rules=sorted({effect.key.split("@")[0] for effect in rule_effects(previous, policy)}),
            )
        )
        return True

    def apply(self, event: DomainEvent) -> None:
        match event:
            case PolicyVersionRecorded():
                self.current = event.version
                self.document = event.document


def _shape(rule: PolicyRule) -> tuple[Any, ...]:
    return (rule.region, rule.effective_from, rule.effective_to, sorted(rule.fields.items()))


def rule_effects(previous: BenefitPolicy | None, policy: BenefitPolicy) -> list[RuleEffect]:
    """The days from which the rules `policy` adds, changes or removes (against `previous`) decide
    their holders again: a rule's start, and the day after its last day where it has one."""
    before = {rule.rule_id: rule for rule in previous.rules} if previous is not None else {}
    after = {rule.rule_id: rule for rule in policy.rules}
    changed = [
        rule
        for rule_id, rule in after.items()
        if rule_id not in before or _shape(before[rule_id]) != _shape(rule)
    ]
    removed = [rule for rule_id, rule in before.items() if rule_id not in after]
    effects: list[RuleEffect] = []
    for rule in [*changed, *removed]:
        effects.append(RuleEffect(rule.rule_id, rule.region, rule.effective_from))
        if rule.effective_to is not None:
            effects.append(
                RuleEffect(f"{rule.rule_id}@end", rule.region, rule.effective_to + timedelta(days=1))
            )
    # A changed rule that used to end, and no longer does (or ends elsewhere), changes from that day too.
    for rule_id, rule in after.items():
        old = before.get(rule_id)
        if old is not None and old.effective_to is not None and old.effective_to != rule.effective_to:
            effects.append(
                RuleEffect(f"{rule_id}@former-end", rule.region, old.effective_to + timedelta(days=1))
            )
    return sorted(set(effects), key=lambda effect: (effect.takes_effect, effect.key))
