"""The Holding aggregate: one person's benefits, the certificate they hang on and the facts that move them.

A holding is keyed by the person (`person_ref`, the keyed hash of the identity number), not by
the certificate number: partners' facts name the person and may arrive before any certificate
(they are kept and applied when it is issued), and a person holds at most one live certificate,
whose number changes on replacement or grade change while the benefits carry on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from dcert_shared.aggregate import Aggregate
from dcert_shared.envelope import DomainEvent

from .calendar import month_end, month_start, next_month_start
from .eligibility import Circumstances, Decision, Eligible, decide
from .events import (
    BenefitActivated,
    BenefitNotEligible,
    BenefitTerminated,
    CertificateRecorded,
    DeathReported,
    FactRecorded,
)
from .policies import Catalogue, Support

FACT_TYPES = ("low_income_started", "low_income_ended", "death", "household_moved")
STATUSES = ("active", "not_eligible", "terminated", "suspended")


@dataclass(frozen=True)
class CertificateOnFile:
    """残疾人证: what the benefits need to know of the certificate."""

    number: str
    category: str
    level: int
    issued_on: date
    expires_on: date
    household_region: str
    agent_refs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fact:
    """A partner agency's fact about a person: 低保 started or ended, death, household moved."""

    fact_id: str
    partner_id: str
    fact_type: str
    effective_date: date
    details: Mapping[str, Any]


@dataclass(frozen=True)
class BenefitState:
    status: str
    reason_code: str
    policy_version: str | None
    monthly_amount_fen: int | None = None
    active_from: date | None = None
    active_to: date | None = None
    household_region: str | None = None


class Holding(Aggregate):
    """A person's benefits: every decision is an event carrying its reason code and policy version."""

    stream_type = "holding"

    def __init__(self, person_ref: str) -> None:
        super().__init__(person_ref)
        self.certificate: CertificateOnFile | None = None
        self.facts: set[tuple[str, str]] = set()
        self.low_income_since: date | None = None
        self.low_income_ended_on: date | None = None
        self.supports: frozenset[Support] = frozenset()
        self.deceased_on: date | None = None
        self.benefits: dict[str, BenefitState] = {}

    @property
    def person_ref(self) -> str:
        return self.id

    # --- rules -------------------------------------------------------------------------------

    def record_certificate(self, certificate: CertificateOnFile, catalogue: Catalogue) -> None:
        """A certificate was issued: decide every benefit, with the facts already on file."""
        if self.certificate is not None and self.certificate.number == certificate.number:
            return
        self.trigger(
            CertificateRecorded(
                person_ref=self.person_ref,
                certificate_number=certificate.number,
                agent_refs=list(certificate.agent_refs),
                category=certificate.category,
                level=certificate.level,
                issued_on=certificate.issued_on,
                expires_on=certificate.expires_on,
                household_region=certificate.household_region,
            )
        )
        self._decide_all(
            catalogue, month_start(certificate.issued_on), certificate.issued_on, "certificate_changed"
        )
        if self.deceased_on is not None:
            self._terminate_all("death", month_end(self.deceased_on))

    def certificate_closed(self, number: str, reason_code: str, last_day: date) -> None:
        """The certificate was cancelled or expired: every benefit ends after `last_day`'s month."""
        if self.certificate is not None and self.certificate.number == number:
            self._terminate_all(reason_code, month_end(last_day))

    def record_fact(self, fact: Fact, catalogue: Catalogue) -> str:
        """Keep a partner's fact and apply it; "pending" while the person has no certificate."""
        already_known = (fact.partner_id, fact.fact_id) in self.facts
        if not already_known:
            first_death = fact.fact_type == "death" and self.deceased_on is None
            alive_before = self.deceased_on is None
            self.trigger(
                FactRecorded(
                    fact_id=fact.fact_id,
                    partner_id=fact.partner_id,
                    fact_type=fact.fact_type,
                    effective_date=fact.effective_date,
                    details=dict(fact.details),
                )
            )
            if first_death:
                self.trigger(
                    DeathReported(
                        person_ref=self.person_ref, effective_date=fact.effective_date, fact_id=fact.fact_id
                    )
                )
            if self.certificate is not None and alive_before:
                self._apply(fact, catalogue)
        return "applied" if self.certificate is not None else "pending"

    def _apply(self, fact: Fact, catalogue: Catalogue) -> None:
        day = fact.effective_date
        match fact.fact_type:
            case "death":
                self._terminate_all("death", month_end(day))
            case "low_income_started":
                self._decide_all(catalogue, month_start(day), day, "low_income_started", low_income_only=True)
            case "low_income_ended":
                self._decide_all(
                    catalogue, next_month_start(day), day, "low_income_ended", low_income_only=True
                )
            case "household_moved":
                self._decide_all(catalogue, next_month_start(day), day, "household_moved")

    def circumstances(self) -> Circumstances:
        assert self.certificate is not None
        return Circumstances(
            category=self.certificate.category,
            level=self.certificate.level,
            issued_on=self.certificate.issued_on,
            household_region=self.certificate.household_region,
            low_income_since=self.low_income_since,
            low_income_ended_on=self.low_income_ended_on,
            supports=self.supports,
            deceased_on=self.deceased_on,
        )

    def _decide_all(
        self,
        catalogue: Catalogue,
        not_before: date,
        ends_on: date,
        change_reason: str,
        low_income_only: bool = False,
    ) -> None:
        """Decide each benefit again; a change pays from `not_before`, an end after `ends_on`'s month."""
        holder = self.circumstances()
        for code in catalogue.codes:
            decision = decide(catalogue, code, holder, not_before)
            if low_income_only and not decision.needs_low_income:
                continue
            self._reconcile(code, decision, ends_on, change_reason)

    def _reconcile(self, code: str, decision: Decision, ends_on: date, change_reason: str) -> None:
        """Record the events that take the benefit from its current state to `decision`."""
        assert self.certificate is not None
        current = self.benefits.get(code)
        who = {"certificate_number": self.certificate.number, "person_ref": self.person_ref, "benefit": code}
        if isinstance(decision, Eligible):
            if (
                current is not None
                and current.active_to is not None
                and decision.active_from <= current.active_to
            ):
                # Paid again after an end: from the month after the last one paid, never twice.
                decision = replace(decision, active_from=current.active_to + timedelta(days=1))
            if current is not None and current.status == "active":
                if (current.monthly_amount_fen, current.household_region) == (
                    decision.monthly_amount_fen,
                    decision.household_region,
                ):
                    return
                # Another amount or region from the next month on: no gap, no overlap.
                self.trigger(
                    BenefitTerminated(
                        **who,
                        active_to=decision.active_from - timedelta(days=1),
                        reason_code=change_reason,
                        policy_version=current.policy_version,
                    )
                )
            self.trigger(
                BenefitActivated(
                    **who,
                    monthly_amount_fen=decision.monthly_amount_fen,
                    active_from=decision.active_from,
                    reason_code=decision.reason_code,
                    policy_version=decision.policy_version,
                    activation_rule=decision.activation_rule.value,
                    household_region=decision.household_region,
                )
            )
            return
        if current is not None and current.status == "active":
            self.trigger(
                BenefitTerminated(
                    **who,
                    active_to=month_end(ends_on),
                    reason_code=decision.reason_code,
                    policy_version=decision.policy_version,
                )
            )
        elif current is None or (
            current.status == "not_eligible" and current.reason_code != decision.reason_code
        ):
            self.trigger(
                BenefitNotEligible(
                    **who, reason_code=decision.reason_code, policy_version=decision.policy_version
                )
            )

    def _terminate_all(self, reason_code: str, active_to: date) -> None:
        assert self.certificate is not None
        for code, state in sorted(self.benefits.items()):
            if state.status != "terminated":
                self.trigger(
                    BenefitTerminated(
                        certificate_number=self.certificate.number,
                        person_ref=self.person_ref,
                        benefit=code,
                        active_to=active_to,
                        reason_code=reason_code,
                        policy_version=state.policy_version,
                    )
                )

    # --- state -------------------------------------------------------------------------------

    def apply(self, event: DomainEvent) -> None:
        match event:
            case CertificateRecorded():
                self.certificate = CertificateOnFile(
                    number=event.certificate_number,
                    category=event.category,
                    level=event.level,
                    issued_on=event.issued_on,
                    expires_on=event.expires_on,
                    household_region=event.household_region,
                    agent_refs=tuple(event.agent_refs),
                )
            case FactRecorded():
                self.facts.add((event.partner_id, event.fact_id))
                self._note_fact(event)
            case BenefitActivated():
                self.benefits[event.benefit] = BenefitState(
                    status="active",
                    reason_code=event.reason_code,
                    policy_version=event.policy_version,
                    monthly_amount_fen=event.monthly_amount_fen,
                    active_from=event.active_from,
                    household_region=event.household_region,
                )
            case BenefitNotEligible():
                self.benefits[event.benefit] = BenefitState(
                    status="not_eligible", reason_code=event.reason_code, policy_version=event.policy_version
                )
            case BenefitTerminated():
                before = self.benefits.get(event.benefit) or BenefitState("terminated", "", None)
                self.benefits[event.benefit] = replace(
                    before, status="terminated", reason_code=event.reason_code, active_to=event.active_to
                )
            case DeathReported():
                pass

    def _note_fact(self, event: FactRecorded) -> None:
        supports = set(self.supports)
        for support in Support:
            if support.value in event.details:
                (supports.add if event.details[support.value] is True else supports.discard)(support)
        self.supports = frozenset(supports)
        match event.fact_type:
            case "low_income_started":
                self.low_income_since, self.low_income_ended_on = event.effective_date, None
            case "low_income_ended":
                self.low_income_since, self.low_income_ended_on = None, event.effective_date
            case "death":
                self.deceased_on = self.deceased_on or event.effective_date
            case "household_moved":
                region = event.details.get("to_region")
                if self.certificate is not None and isinstance(region, str):
                    self.certificate = replace(self.certificate, household_region=region)
