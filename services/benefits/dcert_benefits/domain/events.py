"""Events of the benefits context. Published data is listed in docs/events.md.

Decisions (`BenefitActivated`, `BenefitNotEligible`, `BenefitSuspended`, `BenefitTerminated`)
and what partners report for the certificate service (`DeathReported`, `DeathCorrected`,
`GuardianshipReported`) are published; decisions carry the reason code and the policy version
that decided them. The copy of the certificate and the partners' facts stay inside the service:
a fact's `details` are kept in the stored event (`private_fields`, identity numbers only as
keyed hashes) and never published; a refused fact keeps not even those.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from dcert_shared.envelope import DomainEvent, EventRegistry


class CertificateRecorded(DomainEvent):
    """The certificate a person's benefits hang on, as `CertificateIssued` announced it."""

    public: ClassVar[bool] = False
    person_ref: str
    certificate_number: str
    agent_refs: list[str]
    category: str
    level: int
    issued_on: date
    expires_on: date
    household_region: str
    residence_region: str | None = None
    birth_date: date | None = None  # from the identity number in the certificate number
    applied_on: date | None = None


class CertificateRenewalRecorded(DomainEvent):
    """换领: the same number valid ten more years; benefits ended by its expiry start again."""

    public: ClassVar[bool] = False
    certificate_number: str
    issued_on: date
    expires_on: date


class CertificateClosedRecorded(DomainEvent):
    """The certificate was cancelled or expired: it counts through `last_day`."""

    public: ClassVar[bool] = False
    certificate_number: str
    reason_code: str
    last_day: date


class CertificateTransferRecorded(DomainEvent):
    """迁移: the household region moved; benefits follow from the next month."""

    public: ClassVar[bool] = False
    certificate_number: str
    from_region: str
    to_region: str
    transferred_on: date


class CircumstancesNoted(DomainEvent):
    """What the rules now see of the holder, after a certificate or a fact changed it: the
    reports (entitled but not receiving) and the what-if simulations read this snapshot."""

    public: ClassVar[bool] = False
    person_ref: str
    category: str
    level: int
    issued_on: date
    household_region: str
    residence_region: str | None
    birth_date: date | None
    low_income_since: date | None
    low_income_ended_on: date | None
    long_term_care: bool
    supports: list[str]
    deceased_on: date | None
    applied_on: date | None = None
    certificate_live: bool = True


class BenefitHandoffOpened(DomainEvent):
    """A move across provinces: the old region passes the benefits on within 3 working days, the
    new one decides within 10, and the person is told within 3 (docs/domain.md)."""

    handoff_id: str
    person_ref: str
    certificate_number: str
    from_region: str
    to_region: str
    opened_on: date
    pass_on_by: date
    decide_by: date
    notify_by: date


class BenefitHandoffStepCompleted(DomainEvent):
    """One step of a handoff done: `passed_on`, `decided` or `notified`."""

    handoff_id: str
    person_ref: str
    step: str
    completed_on: date
    on_time: bool


class FactRecorded(DomainEvent):
    """A fact reported by a partner agency (civil affairs, public security, ...), within its
    jurisdiction (or about a person with no certificate yet: kept until one is issued).

    v2: a death is a report, held until a reviewer confirms it (the certificate service); a v1
    death took effect at once (`immediate`)."""

    public: ClassVar[bool] = False
    schema_version: ClassVar[int] = 2
    private_fields: ClassVar[frozenset[str]] = frozenset({"details"})
    fact_id: str
    partner_id: str
    fact_type: str
    effective_date: date
    details: dict[str, Any]
    immediate: bool = False


class BenefitActivated(DomainEvent):
    certificate_number: str
    person_ref: str
    benefit: str
    monthly_amount_fen: int
    active_from: date
    reason_code: str
    policy_version: str
    activation_rule: str
    household_region: str
    active_to: date | None = None  # a last day known now (the holder ages out), else open
    ends_because: str | None = None  # the reason code of that last day


class BenefitNotEligible(DomainEvent):
    certificate_number: str
    person_ref: str
    benefit: str
    reason_code: str
    policy_version: str | None


class BenefitTerminated(DomainEvent):
    """Paid up to and including `active_to` (the last day of the month of the ending fact)."""

    certificate_number: str
    person_ref: str
    benefit: str
    active_to: date
    reason_code: str
    policy_version: str | None


class PolicyVersionRecorded(DomainEvent):
    """A new version of a benefit's policy (from the shipped files or the admin API); versions are
    only ever added. `changed_rules` names the rules it adds, changes or removes: only those
    decide their holders again when they take effect."""

    public: ClassVar[bool] = False
    code: str
    version: int
    document: dict[str, Any]
    source: str  # "file" or "admin"
    changed_rules: list[str]


class DeathReported(DomainEvent):
    """A partner reported the holder's death, within its jurisdiction: the certificate service
    puts the live certificate on hold until a reviewer confirms it (or it is corrected)."""

    person_ref: str
    effective_date: date
    fact_id: str
    partner_id: str | None = None  # None in events before jurisdictions
    certificate_number: str | None = None  # the certificate this service knows of the person
    household_region: str | None = None


class FactRefused(DomainEvent):
    """A partner's fact about someone outside its jurisdiction: answered like any other, kept for
    audit (who, which fact, when; its details only as a digest, to know a repeat), no effect."""

    public: ClassVar[bool] = False
    fact_id: str
    partner_id: str
    fact_type: str
    effective_date: date
    reason: str  # outside_jurisdiction
    details_digest: str


class BenefitSuspended(DomainEvent):
    """暂停发放: nothing is paid from `suspended_from` while the certificate is on hold (a death
    reported, not yet confirmed); lifted, the months are paid as arrears."""

    certificate_number: str
    person_ref: str
    benefit: str
    suspended_from: date
    reason_code: str
    policy_version: str | None


class CertificateHoldRecorded(DomainEvent):
    """The certificate is on hold (`CertificatePutOnHold`): every benefit paid is suspended."""

    public: ClassVar[bool] = False
    certificate_number: str
    reason_code: str
    suspended_from: date


class CertificateHoldLiftRecorded(DomainEvent):
    """The hold is lifted (a reviewer rejected the death, or a partner corrected it)."""

    public: ClassVar[bool] = False
    certificate_number: str
    reason_code: str


class CertificateReinstatementRecorded(DomainEvent):
    """A certificate cancelled for a death that was a mistake lives again: its benefits carry on
    from `resumes_from`, the months since paid as arrears."""

    public: ClassVar[bool] = False
    certificate_number: str
    reason_code: str
    resumes_from: date


class DeathCorrected(DomainEvent):
    """A partner corrected a death reported by mistake: the certificate service lifts the hold,
    or reinstates a certificate cancelled for that death."""

    person_ref: str
    fact_id: str
    effective_date: date
    partner_id: str
    certificate_number: str | None = None


class GuardianshipReported(DomainEvent):
    """监护: a partner reported who is the person's parent or guardian (until a day, or open).

    `guardian_ref` is the keyed hash of the guardian's identity number; no identity number is
    published. Reported only for a person whose certificate lies in the partner's jurisdiction
    (`jurisdiction`, its regions): about someone with no certificate yet, when one is issued
    there. `household_region` is the certificate's (nullable for a later, wider use)."""

    person_ref: str
    guardian_ref: str
    relationship: str  # parent | guardian
    effective_date: date
    until: date | None
    partner_id: str
    fact_id: str
    household_region: str | None
    jurisdiction: list[str]


class MonthlyRunStarted(DomainEvent):
    """月度发放 of one month in one region began; its lines are in `entitlement_line`."""

    public: ClassVar[bool] = False
    run_id: str
    month: str
    region: str


class MonthlyRunCompleted(DomainEvent):
    """Every line of the run is written: counts and the total in fen (the sum of its lines)."""

    public: ClassVar[bool] = False
    schema_version: ClassVar[int] = 2
    run_id: str
    month: str
    region: str
    line_count: int
    arrears_count: int
    total_fen: int


class MonthlyRunClosed(DomainEvent):
    """The month is closed for the region: no run of it any more; late decisions are arrears."""

    public: ClassVar[bool] = False
    run_id: str
    month: str
    region: str


def registry() -> EventRegistry:
    events = EventRegistry()
    events.register(
        CertificateRecorded,
        CertificateRenewalRecorded,
        CertificateTransferRecorded,
        CertificateClosedRecorded,
        CircumstancesNoted,
        BenefitHandoffOpened,
        BenefitHandoffStepCompleted,
        FactRecorded,
        BenefitActivated,
        BenefitNotEligible,
        BenefitTerminated,
        DeathReported,
        PolicyVersionRecorded,
        FactRefused,
        BenefitSuspended,
        CertificateHoldRecorded,
        CertificateHoldLiftRecorded,
        CertificateReinstatementRecorded,
        DeathCorrected,
        GuardianshipReported,
        MonthlyRunStarted,
        MonthlyRunCompleted,
        MonthlyRunClosed,
    )

    @events.upcaster("MonthlyRunCompleted", 1)
    def _lines_left_the_event(payload: dict[str, Any]) -> dict[str, Any]:
        """v1 carried its lines; v2 counts them (the lines went to the ledger: application/runs.py)."""
        lines = payload.pop("lines", [])
        return {**payload, "line_count": len(lines), "arrears_count": 0}

    @events.upcaster("FactRecorded", 1)
    def _a_death_took_effect_at_once(payload: dict[str, Any]) -> dict[str, Any]:
        """v1: a reported death ended the benefits at once; v2 holds it for a reviewer."""
        return {**payload, "immediate": True}

    return events
