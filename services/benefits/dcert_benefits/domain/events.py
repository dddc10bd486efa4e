"""Events of the benefits context. Published data is listed in docs/events.md.

Decisions (`BenefitActivated`, `BenefitNotEligible`, `BenefitTerminated`) and `DeathReported`
are published; they carry the reason code and the policy version that decided them. The copy of
the certificate and the partners' facts stay inside the service: a fact's `details` are kept in
the stored event (`private_fields`) and never published.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

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


class FactRecorded(DomainEvent):
    """A fact reported by a partner agency (civil affairs, public security, ...)."""

    public: ClassVar[bool] = False
    private_fields: ClassVar[frozenset[str]] = frozenset({"details"})
    fact_id: str
    partner_id: str
    fact_type: str
    effective_date: date
    details: dict[str, Any]


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


class DeathReported(DomainEvent):
    """A partner reported the holder's death; the certificate service cancels the certificate."""

    person_ref: str
    effective_date: date
    fact_id: str


class RunLine(BaseModel):
    """One month's entitlement of one benefit of one certificate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    certificate_number: str
    person_ref: str
    benefit: str
    household_region: str
    amount_fen: int
    policy_version: str


class MonthlyRunCompleted(DomainEvent):
    """The entitlements of one month in one region, produced once and only once."""

    public: ClassVar[bool] = False
    run_id: str
    month: str
    region: str
    lines: list[RunLine]
    total_fen: int


def registry() -> EventRegistry:
    events = EventRegistry()
    events.register(
        CertificateRecorded,
        FactRecorded,
        BenefitActivated,
        BenefitNotEligible,
        BenefitTerminated,
        DeathReported,
        MonthlyRunCompleted,
    )
    return events
