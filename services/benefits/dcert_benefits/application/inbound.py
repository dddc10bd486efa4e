"""Other services' events as the benefits service reads them: only the fields it uses, typed.

A payload that does not fit its model fails the handler, so the event is parked in its lane and
tried again (then a dead letter), never dropped (dcert_shared.consumer).
"""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import ConfigDict, Field

from dcert_shared.consumer import InboundEvent
from dcert_shared.ids import IdentityNumber
from dcert_shared.regions import NATIONAL

from ..domain.calendar import next_month_start


class CertificateIssued(InboundEvent):
    """The part of `certificate.CertificateIssued` the benefits depend on."""

    certificate_number: str = Field(min_length=20)
    person_ref: str = Field(min_length=16)
    agent_refs: list[str] = []
    category: str
    level: int = Field(ge=1, le=4)
    issued_on: date
    expires_on: date
    household_region: str = Field(pattern=r"^[0-9]{6}$")
    residence_region: str | None = Field(default=None, pattern=r"^[0-9]{6}$")
    applied_on: date | None = None

    @property
    def birth_date(self) -> date | None:
        """From the identity number the certificate number begins with."""
        try:
            return IdentityNumber.parse(self.certificate_number[:18]).birth_date
        except ValueError:
            return None


class CertificateImported(CertificateIssued):
    """`certificate.CertificateImported`: a holder of the national system, under their original
    issue date; benefits are paid from `benefits_from` (the import's month unless the operator
    asked for arrears), never for the years before it."""

    benefits_from: date


class CertificateRenewed(InboundEvent):
    """`certificate.CertificateRenewed`: the same certificate, new dates."""

    certificate_number: str = Field(min_length=20)
    person_ref: str = Field(min_length=16)
    issued_on: date
    expires_on: date


class CertificateTransferred(InboundEvent):
    """`certificate.CertificateTransferred`: the household moved to another province."""

    certificate_number: str = Field(min_length=20)
    person_ref: str = Field(min_length=16)
    to_region: str = Field(pattern=r"^[0-9]{6}$")


class CertificateClosed(InboundEvent):
    """`CertificateCancelled` (with `effective_date`) or `CertificateExpired` (with `expired_on`)."""

    certificate_number: str = Field(min_length=20)
    person_ref: str = Field(min_length=16)
    reason: str = "expired"
    effective_date: date | None = None
    expired_on: date | None = None

    @property
    def last_day(self) -> date:
        """The last day the certificate counted."""
        if self.effective_date is not None:
            return self.effective_date
        assert self.expired_on is not None
        return self.expired_on - timedelta(days=1)


class CertificateHeld(InboundEvent):
    """`CertificatePutOnHold`: a death reported on `effective_date` waits for a reviewer."""

    certificate_number: str = Field(min_length=20)
    person_ref: str = Field(min_length=16)
    reason_code: str
    effective_date: date

    @property
    def suspended_from(self) -> date:
        """Paid through the month of the reported death, as a confirmed one would be."""
        return next_month_start(self.effective_date)


class CertificateChanged(InboundEvent):
    """`CertificateHoldLifted` and `CertificateReinstated`: which certificate, and why."""

    certificate_number: str = Field(min_length=20)
    person_ref: str = Field(min_length=16)
    reason_code: str


class PartnerRegistered(InboundEvent):
    """`notification.PartnerRegistered` and `PartnerPolicyChanged`: the partner's fact types and
    its jurisdiction (absent in events from before jurisdictions: the whole country, as those
    partners then had)."""

    partner_id: str = Field(min_length=1)
    facts: list[str] = []
    policy_version: int = 1
    regions: list[str] = Field(default_factory=lambda: [NATIONAL])


class PartnerFact(InboundEvent):
    """A fact a partner published on `partners.events.<partner id>.<fact type>`: its data is the
    body of `POST /v1/facts`, kept whole so that it is checked exactly as that body is (unknown
    fields refused: application/facts.py, `checked_report`)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id_number: object = None  # checked with the rest; here it names the lane

    def body(self, fact_type: str) -> dict[str, object]:
        """The fact as `POST /v1/facts` takes it, its type from the subject."""
        return {**self.model_dump(exclude_unset=True), "type": fact_type}
