"""The Holding aggregate: one person's benefits, the certificate they hang on and the facts that move them.

A holding is keyed by the person (`person_ref`, the keyed hash of the identity number), not by
the certificate number: partners' facts name the person and may arrive before any certificate
(they are kept and applied when it is issued), and a person holds at most one live certificate,
whose number changes on replacement or grade change while the benefits carry on.

A partner's fact counts only within its jurisdiction: the household region of the certificate
(for a fact kept before it, checked when it is issued); outside, it is kept as refused, with no
effect. A death a partner reports is only reported: the certificate service holds the
certificate until a reviewer confirms it, and this holding suspends what it pays meanwhile
(`hold`); a confirmed death closes the certificate, a rejected or corrected one lifts the hold
and what was not paid is paid as arrears.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from typing import Any

from dcert_shared.aggregate import Aggregate
from dcert_shared.envelope import DomainEvent

from .calendar import month_end, month_start, next_month_start
from .eligibility import Circumstances, Decision, Eligible, decide
from .errors import FactIdReused
from .events import (
    BenefitActivated,
    BenefitHandoffOpened,
    BenefitHandoffStepCompleted,
    BenefitNotEligible,
    BenefitSuspended,
    BenefitTerminated,
    CertificateClosedRecorded,
    CertificateHoldLiftRecorded,
    CertificateHoldRecorded,
    CertificateRecorded,
    CertificateReinstatementRecorded,
    CertificateRenewalRecorded,
    CertificateTransferRecorded,
    CircumstancesNoted,
    DeathCorrected,
    DeathReported,
    FactRecorded,
    FactRefused,
    GuardianshipReported,
)
from .jurisdiction import NATIONWIDE, NOWHERE, Jurisdiction
from .policies import Catalogue, Support

HANDOFF_STEPS = ("passed_on", "decided", "notified")


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
    residence_region: str | None = None
    birth_date: date | None = None
    applied_on: date | None = None


@dataclass(frozen=True)
class HandoffDeadlines:
    """跨省转移: passed on within 3 working days, decided within 10, the person told within 3."""

    pass_on_by: date
    decide_by: date
    notify_by: date

    def of(self, step: str) -> date:
        return {"passed_on": self.pass_on_by, "decided": self.decide_by, "notified": self.notify_by}[step]


@dataclass(frozen=True)
class Handoff:
    handoff_id: str
    deadlines: HandoffDeadlines
    done: frozenset[str] = frozenset()


@dataclass(frozen=True)
class LowIncomeFact:
    """低保 started or ended on a day; the arrival order breaks ties of one day."""

    effective_date: date
    arrival: int
    started: bool


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
    suspended_from: date | None = None  # status "suspended": nothing paid from this day


def details_digest(details: Mapping[str, Any]) -> str:
    """What a fact said, as a digest: enough to know a repeat, nothing to read."""
    text = json.dumps(dict(details), sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class Holding(Aggregate):
    """A person's benefits: every decision is an event carrying its reason code and policy version."""

    stream_type = "holding"

    @property
    def partition_key(self) -> str:
        """The person: every event about them is kept in order by consumers, whatever its stream."""
        return self.id

    def __init__(self, person_ref: str) -> None:
        super().__init__(person_ref)
        self.certificate: CertificateOnFile | None = None
        # (partner, fact id) -> what the fact said: a repeat is the same fact, not a new one
        self.facts: dict[tuple[str, str], tuple[str, date, str]] = {}
        self.waiting: list[FactRecorded] = []  # facts kept before any certificate, in order
        self.refused: set[tuple[str, str]] = set()  # facts outside their partner's jurisdiction
        self.low_income_facts: list[LowIncomeFact] = []  # in order of effective date
        self.long_term_care: bool | None = None  # None: no fact, presumed (see circumstances)
        self.supports: frozenset[Support] = frozenset()
        self.handoffs: dict[str, Handoff] = {}
        self.noted: CircumstancesNoted | None = None
        self.closed_on: date | None = None  # the last day of a cancelled or expired certificate
        self.closed_reason: str | None = None
        self.deceased_on: date | None = None  # a death confirmed (or, before holds, reported)
        self.held_from: date | None = None  # the certificate is on hold: suspended from this day
        self.benefits: dict[str, BenefitState] = {}

    @property
    def person_ref(self) -> str:
        return self.id

    # --- rules -------------------------------------------------------------------------------

    def record_certificate(
        self,
        certificate: CertificateOnFile,
        catalogue: Catalogue,
        jurisdictions: Mapping[str, Jurisdiction] | None = None,
        paid_from: date | None = None,
    ) -> None:
        """A certificate was issued: decide every benefit, with the facts already on file that
        lie in their partner's jurisdiction (`jurisdictions`, by partner; None: every partner's
        is the whole country). A death among them is reported now. `paid_from`: no month before
        it is paid (an imported certificate issued years ago: from the import's month)."""
        if self.certificate is not None and self.certificate.number == certificate.number:
            return
        accepted = self._place_waiting_facts(certificate.household_region, jurisdictions)
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
                residence_region=certificate.residence_region,
                birth_date=certificate.birth_date,
                applied_on=certificate.applied_on,
            )
        )
        if self.held_from is None:
            first_day = max(certificate.issued_on, paid_from or certificate.issued_on)
            self._decide_all(catalogue, month_start(first_day), first_day, "certificate_changed")
        if self.deceased_on is not None:
            self._terminate_all("death", month_end(self.deceased_on))
        self._report_waiting_facts(accepted, jurisdictions)
        self._note_circumstances()

    def _place_waiting_facts(
        self, household_region: str, jurisdictions: Mapping[str, Jurisdiction] | None
    ) -> list[FactRecorded]:
        """The facts kept before the certificate that lie in their partner's jurisdiction; the
        others are refused now (and so never count)."""
        accepted = []
        for fact in self.waiting:
            jurisdiction = (
                NATIONWIDE if jurisdictions is None else jurisdictions.get(fact.partner_id, NOWHERE)
            )
            if jurisdiction.covers(household_region):
                accepted.append(fact)
            else:
                self.trigger(
                    FactRefused(
                        fact_id=fact.fact_id,
                        partner_id=fact.partner_id,
                        fact_type=fact.fact_type,
                        effective_date=fact.effective_date,
                        reason="outside_jurisdiction",
                        details_digest=details_digest(fact.details),
                    )
                )
        return accepted

    def _report_waiting_facts(
        self, accepted: list[FactRecorded], jurisdictions: Mapping[str, Jurisdiction] | None
    ) -> None:
        """What the facts kept before the certificate report, now that they count: a death (not
        corrected since), each guardian."""
        death: FactRecorded | None = None
        for fact in accepted:
            if fact.fact_type == "death" and not fact.immediate:
                death = death or fact
            elif fact.fact_type == "death_corrected":
                death = None
            elif fact.fact_type == "guardianship":
                jurisdiction = NATIONWIDE if jurisdictions is None else jurisdictions[fact.partner_id]
                self._report_guardianship(_fact_of(fact), jurisdiction)
        if death is not None and self.deceased_on is None:
            self._report_death(_fact_of(death))

    def certificate_closed(self, number: str, reason_code: str, last_day: date) -> None:
        """The certificate was cancelled or expired: every benefit ends after `last_day`'s month
        (one suspended by a hold, at its suspension). A death closes it once a reviewer confirmed it."""
        if self.certificate is None or self.certificate.number != number or self.closed_on is not None:
            return
        self.trigger(
            CertificateClosedRecorded(certificate_number=number, reason_code=reason_code, last_day=last_day)
        )
        self._terminate_all(reason_code, month_end(last_day))
        self._note_circumstances()

    def hold(self, number: str, reason_code: str, suspended_from: date) -> None:
        """停发: the certificate is on hold; nothing is paid from `suspended_from` until it lifts."""
        if self.certificate is None or self.certificate.number != number or self.closed_on is not None:
            return
        if self.held_from is not None:
            return
        self.trigger(
            CertificateHoldRecorded(
                certificate_number=number, reason_code=reason_code, suspended_from=suspended_from
            )
        )
        for code, state in sorted(self.benefits.items()):
            if state.status == "active" and (state.active_to is None or state.active_to >= suspended_from):
                self.trigger(
                    BenefitSuspended(
                        certificate_number=number,
                        person_ref=self.person_ref,
                        benefit=code,
                        suspended_from=suspended_from,
                        reason_code=reason_code,
                        policy_version=state.policy_version,
                    )
                )

    def lift_hold(self, number: str, reason_code: str, catalogue: Catalogue) -> None:
        """The hold lifted: every benefit is decided again from the suspension, so the months
        not paid meanwhile are paid as arrears."""
        held_from = self.held_from
        if self.certificate is None or self.certificate.number != number or held_from is None:
            return
        self.trigger(CertificateHoldLiftRecorded(certificate_number=number, reason_code=reason_code))
        if self.closed_on is None and self.deceased_on is None:
            self._decide_all(catalogue, held_from, held_from - timedelta(days=1), reason_code)
        self._note_circumstances()

    def reinstated(self, number: str, reason_code: str, catalogue: Catalogue) -> None:
        """A certificate cancelled for a death that was a mistake lives again: the benefits carry
        on from the day after the last one paid, the months since paid as arrears."""
        closed_on = self.closed_on
        if self.certificate is None or self.certificate.number != number or closed_on is None:
            return
        resumes_from = closed_on + timedelta(days=1)
        self.trigger(
            CertificateReinstatementRecorded(
                certificate_number=number, reason_code=reason_code, resumes_from=resumes_from
            )
        )
        self._decide_all(catalogue, resumes_from, closed_on, reason_code)
        self._note_circumstances()

    def renewed(self, number: str, issued_on: date, expires_on: date, catalogue: Catalogue) -> None:
        """换领: ten more years; what the expiry ended is paid again from the renewal's month."""
        if self.certificate is None or self.certificate.number != number:
            return
        if self.certificate.expires_on == expires_on:
            return
        self.trigger(
            CertificateRenewalRecorded(certificate_number=number, issued_on=issued_on, expires_on=expires_on)
        )
        if (self.deceased_on, self.held_from) == (None, None) and any(
            state.reason_code == "certificate_expired" for state in self.benefits.values()
        ):
            self._decide_all(catalogue, month_start(issued_on), issued_on, "certificate_renewed")
        self._note_circumstances()

    def transferred(
        self,
        number: str,
        to_region: str,
        on: date,
        catalogue: Catalogue,
        handoff: tuple[str, HandoffDeadlines] | None = None,
    ) -> None:
        """迁移: paid by the old region through this month, by the new one from the next.

        Across provinces a handoff is opened with its deadlines (`handoff`); the record moving
        with this event passes it on, and the decisions made here decide it."""
        if self.certificate is None or self.certificate.number != number:
            return
        from_region = self.certificate.household_region
        if from_region == to_region:
            return
        self.trigger(
            CertificateTransferRecorded(
                certificate_number=number, from_region=from_region, to_region=to_region, transferred_on=on
            )
        )
        if (self.deceased_on, self.held_from) == (None, None):
            self._decide_all(catalogue, next_month_start(on), on, "transferred")
        if handoff is not None and from_region[:2] != to_region[:2]:
            handoff_id, deadlines = handoff
            self.trigger(
                BenefitHandoffOpened(
                    handoff_id=handoff_id,
                    person_ref=self.person_ref,
                    certificate_number=number,
                    from_region=from_region,
                    to_region=to_region,
                    opened_on=on,
                    pass_on_by=deadlines.pass_on_by,
                    decide_by=deadlines.decide_by,
                    notify_by=deadlines.notify_by,
                )
            )
            self.complete_handoff_step(handoff_id, "passed_on", on)
            self.complete_handoff_step(handoff_id, "decided", on)
        self._note_circumstances()

    def complete_handoff_step(self, handoff_id: str, step: str, on: date) -> bool:
        """Record a step of a handoff once; False when it was already done (or is unknown)."""
        handoff = self.handoffs.get(handoff_id)
        if handoff is None or step in handoff.done:
            return False
        self.trigger(
            BenefitHandoffStepCompleted(
                handoff_id=handoff_id,
                person_ref=self.person_ref,
                step=step,
                completed_on=on,
                on_time=on <= handoff.deadlines.of(step),
            )
        )
        return True

    def reconsider(self, catalogue: Catalogue, effective_from: date) -> None:
        """A policy rule took effect (or ended the day before): decide every benefit again from
        its month; one it no longer grants is paid through the month before."""
        if self.certificate is None or self.closed_on is not None or self.deceased_on is not None:
            return
        if self.held_from is not None:  # decided again when the hold lifts
            return
        self._decide_all(
            catalogue, month_start(effective_from), effective_from - timedelta(days=1), "policy_changed"
        )
        self._note_circumstances()

    def record_fact(self, fact: Fact, catalogue: Catalogue, jurisdiction: Jurisdiction = NATIONWIDE) -> str:
        """Keep a partner's fact and apply it: "applied", "pending" while the person has no
        certificate, "refused" when the certificate lies outside the partner's jurisdiction (the
        caller answers the partner the same way in every case)."""
        key, digest = (fact.partner_id, fact.fact_id), details_digest(fact.details)
        known = self.facts.get(key)
        if known is not None:
            if known != (fact.fact_type, fact.effective_date, digest):
                raise FactIdReused()
            return self._outcome(key)
        if self.certificate is not None and not jurisdiction.covers(self.certificate.household_region):
            self.trigger(
                FactRefused(
                    fact_id=fact.fact_id,
                    partner_id=fact.partner_id,
                    fact_type=fact.fact_type,
                    effective_date=fact.effective_date,
                    reason="outside_jurisdiction",
                    details_digest=digest,
                )
            )
            return "refused"
        deciding = self.certificate is not None and self.deceased_on is None and self.held_from is None
        self.trigger(
            FactRecorded(
                fact_id=fact.fact_id,
                partner_id=fact.partner_id,
                fact_type=fact.fact_type,
                effective_date=fact.effective_date,
                details=dict(fact.details),
            )
        )
        if self.certificate is None:
            if fact.fact_type == "guardianship":
                # The register names a guardian before any certificate: the certificate service
                # verifies their claim on an application only where this jurisdiction covers it.
                self._report_guardianship(fact, jurisdiction)
            return "pending"
        match fact.fact_type:
            case "death" if self.deceased_on is None:
                self._report_death(fact)
            case "death_corrected":
                self._report_correction(fact)
            case "guardianship":
                self._report_guardianship(fact, jurisdiction)
        if deciding:
            self._apply(fact, catalogue)
        self._note_circumstances()
        return "applied"

    def _outcome(self, key: tuple[str, str]) -> str:
        if key in self.refused:
            return "refused"
        return "pending" if any((f.partner_id, f.fact_id) == key for f in self.waiting) else "applied"

    def _report_death(self, fact: Fact) -> None:
        assert self.certificate is not None
        self.trigger(
            DeathReported(
                person_ref=self.person_ref,
                effective_date=fact.effective_date,
                fact_id=fact.fact_id,
                partner_id=fact.partner_id,
                certificate_number=self.certificate.number,
                household_region=self.certificate.household_region,
            )
        )

    def _report_correction(self, fact: Fact) -> None:
        assert self.certificate is not None
        self.trigger(
            DeathCorrected(
                person_ref=self.person_ref,
                fact_id=fact.fact_id,
                effective_date=fact.effective_date,
                partner_id=fact.partner_id,
                certificate_number=self.certificate.number,
            )
        )

    def _report_guardianship(self, fact: Fact, jurisdiction: Jurisdiction) -> None:
        details = fact.details
        until = details.get("until")
        self.trigger(
            GuardianshipReported(
                person_ref=self.person_ref,
                guardian_ref=str(details["guardian_ref"]),
                relationship=str(details["relationship"]),
                effective_date=fact.effective_date,
                until=date.fromisoformat(until) if isinstance(until, str) else None,
                partner_id=fact.partner_id,
                fact_id=fact.fact_id,
                household_region=None if self.certificate is None else self.certificate.household_region,
                jurisdiction=list(jurisdiction.regions),
            )
        )

    def _apply(self, fact: Fact, catalogue: Catalogue) -> None:
        day = fact.effective_date
        match fact.fact_type:
            case "low_income_started" | "low_income_ended":
                self._apply_low_income(catalogue)
            case "household_moved":
                self._decide_all(catalogue, next_month_start(day), day, "household_moved")
            case "long_term_care_started":
                self._decide_all(catalogue, month_start(day), day, "long_term_care_started")
            case "long_term_care_ended":
                self._decide_all(catalogue, next_month_start(day), day, "long_term_care_ended")

    def _apply_low_income(self, catalogue: Catalogue) -> None:
        """Facts count in the order of their dates, whatever order they arrive in.

        The newest by date moves the benefit as usual. An older start that opens a stretch a
        later end already closed (the end arrived first) pays that stretch: from the start's
        month through the end's. Any other older fact changes nothing: it is history."""
        arrived = max(self.low_income_facts, key=lambda fact: fact.arrival)
        position = self.low_income_facts.index(arrived)
        day = arrived.effective_date
        if position == len(self.low_income_facts) - 1:
            if arrived.started:
                self._decide_all(catalogue, month_start(day), day, "low_income_started", low_income_only=True)
            else:
                self._decide_all(
                    catalogue, next_month_start(day), day, "low_income_ended", low_income_only=True
                )
            return
        before = self.low_income_facts[position - 1] if position > 0 else None
        after = self.low_income_facts[position + 1]
        if not arrived.started or after.started or (before is not None and before.started):
            return
        stretch = replace(self.circumstances(), low_income_since=day, low_income_ended_on=None)
        self._decide_all(
            catalogue, month_start(day), day, "low_income_started", low_income_only=True, holder=stretch
        )
        end = after.effective_date
        self._decide_all(catalogue, next_month_start(end), end, "low_income_ended", low_income_only=True)

    def _low_income(self) -> tuple[date | None, date | None]:
        """(since, ended on) as the latest fact by date says."""
        if not self.low_income_facts:
            return None, None
        latest = self.low_income_facts[-1]
        return (latest.effective_date, None) if latest.started else (None, latest.effective_date)

    def circumstances(self) -> Circumstances:
        """What the rules look at. Long-term care (长期照护) is presumed until a fact says otherwise:
        the grade the assessment gave is what the nursing subsidy rests on."""
        assert self.certificate is not None
        since, ended_on = self._low_income()
        return Circumstances(
            category=self.certificate.category,
            level=self.certificate.level,
            issued_on=self.certificate.issued_on,
            household_region=self.certificate.household_region,
            low_income_since=since,
            low_income_ended_on=ended_on,
            supports=self.supports,
            deceased_on=self.deceased_on,
            birth_date=self.certificate.birth_date,
            residence_region=self.certificate.residence_region,
            long_term_care=self.long_term_care is not False,
            applied_on=self.certificate.applied_on,
        )

    def _note_circumstances(self) -> None:
        """Keep the snapshot the reports and simulations read, when it changed."""
        now = self.circumstances()
        noted = CircumstancesNoted(
            **{**asdict(now), "supports": sorted(now.supports)},
            person_ref=self.person_ref,
            certificate_live=self.closed_on is None,
        )
        if noted != self.noted:
            self.trigger(noted)

    def _decide_all(
        self,
        catalogue: Catalogue,
        not_before: date,
        ends_on: date,
        change_reason: str,
        low_income_only: bool = False,
        holder: Circumstances | None = None,
    ) -> None:
        """Decide each benefit again; a change pays from `not_before`, an end after `ends_on`'s month.

        A decision reaching back in time is followed through every rule change since (a local
        amount set later, a rule that ended), as each would have decided it on its day."""
        holder = holder or self.circumstances()
        for code in catalogue.codes:
            decision = decide(catalogue, code, holder, not_before)
            if low_income_only and not decision.needs_low_income:
                continue
            self._reconcile(code, decision, ends_on, change_reason)
            for day in catalogue.policy(code).changes_after(holder.household_region, not_before):
                later = decide(catalogue, code, holder, day)
                self._reconcile(code, later, day - timedelta(days=1), "policy_changed")

    def _reconcile(self, code: str, decision: Decision, ends_on: date, change_reason: str) -> None:
        """Record the events that take the benefit from its current state to `decision`."""
        assert self.certificate is not None
        current = self.benefits.get(code)
        who = {"certificate_number": self.certificate.number, "person_ref": self.person_ref, "benefit": code}
        if isinstance(decision, Eligible):
            if (
                current is not None
                and current.status == "terminated"
                and current.active_to is not None
                and decision.active_from <= current.active_to
            ):
                # Paid again after an end: from the month after the last one paid, never twice.
                decision = replace(decision, active_from=current.active_to + timedelta(days=1))
            if decision.active_to is not None and decision.active_to < decision.active_from:
                return  # nothing left to pay
            if current is not None and current.status == "active":
                if (current.monthly_amount_fen, current.household_region, current.active_to) == (
                    decision.monthly_amount_fen,
                    decision.household_region,
                    decision.active_to,
                ):
                    return
                if current.active_to is None or current.active_to >= decision.active_from:
                    # Another amount, region or end from the decision's month on: no gap, no overlap.
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
                    active_to=decision.active_to,
                    ends_because=decision.ends_because,
                )
            )
            return
        if current is not None and current.status == "active":
            self.trigger(
                BenefitTerminated(
                    **who,
                    active_to=_earlier(current.active_to, month_end(ends_on)),
                    reason_code=decision.reason_code,
                    policy_version=decision.policy_version,
                )
            )
        elif current is not None and current.status == "suspended":
            assert current.suspended_from is not None  # ends where it stopped being paid
            self.trigger(
                BenefitTerminated(
                    **who,
                    active_to=_earlier(current.active_to, current.suspended_from - timedelta(days=1)),
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
            if state.status not in ("active", "suspended"):  # what was never paid has nothing to end
                continue
            last_day = _earlier(state.active_to, active_to)
            if state.suspended_from is not None:  # not paid since its suspension
                last_day = min(last_day, state.suspended_from - timedelta(days=1))
            self.trigger(
                BenefitTerminated(
                    certificate_number=self.certificate.number,
                    person_ref=self.person_ref,
                    benefit=code,
                    active_to=last_day,
                    reason_code=reason_code,
                    policy_version=state.policy_version,
                )
            )

    # --- state -------------------------------------------------------------------------------

    def _certificate_recorded(self, event: CertificateRecorded) -> None:
        # Facts kept until now count from here (noted before the certificate is on file,
        # as they always were: a move before it does not move it).
        for waiting in self.waiting:
            self._note_fact(waiting)
        self.waiting = []
        self.closed_on = self.closed_reason = None
        self.certificate = CertificateOnFile(
            number=event.certificate_number,
            category=event.category,
            level=event.level,
            issued_on=event.issued_on,
            expires_on=event.expires_on,
            household_region=event.household_region,
            agent_refs=tuple(event.agent_refs),
            residence_region=event.residence_region,
            birth_date=event.birth_date,
            applied_on=event.applied_on,
        )

    def _fact_recorded(self, event: FactRecorded) -> None:
        self.facts[(event.partner_id, event.fact_id)] = (
            event.fact_type,
            event.effective_date,
            details_digest(event.details),
        )
        if self.certificate is None:
            self.waiting.append(event)  # counts once a certificate is on file
        else:
            self._note_fact(event)

    def apply(self, event: DomainEvent) -> None:  # noqa: C901 (one flat case per event type)
        match event:
            case CertificateRecorded():
                self._certificate_recorded(event)
            case CertificateRenewalRecorded():
                assert self.certificate is not None
                self.closed_on = None
                self.certificate = replace(
                    self.certificate, issued_on=event.issued_on, expires_on=event.expires_on
                )
            case CertificateTransferRecorded():
                assert self.certificate is not None
                self.certificate = replace(self.certificate, household_region=event.to_region)
            case CircumstancesNoted():
                self.noted = event
            case CertificateClosedRecorded():
                self.closed_on, self.closed_reason, self.held_from = event.last_day, event.reason_code, None
                if event.reason_code == "certificate_death":  # confirmed by a reviewer
                    self.deceased_on = self.deceased_on or event.last_day
            case CertificateHoldRecorded():
                self.held_from = event.suspended_from
            case CertificateHoldLiftRecorded():
                self.held_from = None
            case CertificateReinstatementRecorded():
                self.closed_on = self.closed_reason = self.deceased_on = None
            case FactRefused():
                key = (event.partner_id, event.fact_id)
                self.facts[key] = (event.fact_type, event.effective_date, event.details_digest)
                self.refused.add(key)
                self.waiting = [fact for fact in self.waiting if (fact.partner_id, fact.fact_id) != key]
            case BenefitHandoffOpened():
                deadlines = HandoffDeadlines(event.pass_on_by, event.decide_by, event.notify_by)
                self.handoffs[event.handoff_id] = Handoff(event.handoff_id, deadlines)
            case BenefitHandoffStepCompleted():
                handoff = self.handoffs[event.handoff_id]
                self.handoffs[event.handoff_id] = replace(handoff, done=handoff.done | {event.step})
            case FactRecorded():
                self._fact_recorded(event)
            case BenefitActivated():
                self.benefits[event.benefit] = BenefitState(
                    status="active",
                    reason_code=event.reason_code,
                    policy_version=event.policy_version,
                    monthly_amount_fen=event.monthly_amount_fen,
                    active_from=event.active_from,
                    household_region=event.household_region,
                    active_to=event.active_to,
                )
            case BenefitNotEligible():
                self.benefits[event.benefit] = BenefitState(
                    status="not_eligible", reason_code=event.reason_code, policy_version=event.policy_version
                )
            case BenefitTerminated():
                before = self.benefits.get(event.benefit) or BenefitState("terminated", "", None)
                self.benefits[event.benefit] = replace(
                    before,
                    status="terminated",
                    reason_code=event.reason_code,
                    active_to=event.active_to,
                    suspended_from=None,
                )
            case BenefitSuspended():
                self.benefits[event.benefit] = replace(
                    self.benefits[event.benefit],
                    status="suspended",
                    reason_code=event.reason_code,
                    suspended_from=event.suspended_from,
                )
            case DeathReported() | DeathCorrected() | GuardianshipReported():
                pass

    def _note_fact(self, event: FactRecorded) -> None:
        supports = set(self.supports)
        for support in Support:
            if support.value in event.details:
                (supports.add if event.details[support.value] is True else supports.discard)(support)
        self.supports = frozenset(supports)
        match event.fact_type:
            case "low_income_started" | "low_income_ended":
                fact = LowIncomeFact(
                    event.effective_date, len(self.low_income_facts), event.fact_type == "low_income_started"
                )
                self.low_income_facts = sorted(
                    [*self.low_income_facts, fact], key=lambda known: (known.effective_date, known.arrival)
                )
            case "long_term_care_started" | "long_term_care_ended":
                self.long_term_care = event.fact_type == "long_term_care_started"
            case "death" if event.immediate:  # before holds, a report was taken as the death
                self.deceased_on = self.deceased_on or event.effective_date
            case "household_moved":
                region = event.details.get("to_region")
                if self.certificate is not None and isinstance(region, str):
                    self.certificate = replace(self.certificate, household_region=region)


def _fact_of(recorded: FactRecorded) -> Fact:
    return Fact(
        recorded.fact_id, recorded.partner_id, recorded.fact_type, recorded.effective_date, recorded.details
    )


def _earlier(planned: date | None, day: date) -> date:
    """An end never later than one already known."""
    return day if planned is None else min(planned, day)


def circumstances_of(noted: CircumstancesNoted) -> Circumstances:
    """The holder as the snapshot event (and its read model) keeps them."""
    fields = noted.model_dump(exclude={"person_ref", "certificate_live", "supports"})
    return Circumstances(**fields, supports=frozenset(Support(support) for support in noted.supports))
