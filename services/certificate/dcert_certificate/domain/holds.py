"""暂停 (a hold): a death a partner agency reported stops the certificate until a reviewer of the
household region confirms it (注销, reason death) or rejects it; a partner's correction of a
mistaken death lifts the hold, or makes a certificate cancelled for that death live again.

A partner's report alone never ends a certificate: the benefits service passes on only the
deaths reported within the partner's jurisdiction (`DeathReported`), and the hold keeps the
person's benefits suspended, not ended, until a person has looked at the evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import ClassVar

from dcert_shared.envelope import DomainEvent, EventRegistry
from dcert_shared.problems import Conflict

DEATH_REPORTED = "death_reported"
DEATH_REJECTED = "death_rejected"  # the reviewer found it was not so
DEATH_CORRECTED = "death_corrected"  # the reporting side corrected it


class DeathDecision(StrEnum):
    """死亡核实: the reviewer confirms the reported death (注销) or rejects it (the hold lifts)."""

    CONFIRM = "confirm"
    REJECT = "reject"


@dataclass(frozen=True)
class DeathHold:
    """The report a hold waits on, and the status the certificate had before it."""

    fact_id: str
    partner_id: str | None
    died_on: date
    held_on: date
    previous_status: str


# -- events -----------------------------------------------------------------------------------
class CertificatePutOnHold(DomainEvent):
    """暂停: a partner reported the holder's death on `effective_date`; the certificate's codes stop
    verifying and the benefits are suspended until the reviewer of `household_region` decides."""

    certificate_number: str
    person_ref: str
    household_region: str
    reason_code: str  # death_reported
    effective_date: date
    fact_id: str
    partner_id: str | None
    held_on: date
    previous_status: str


class DeathConfirmed(DomainEvent):
    """The reviewer confirmed the reported death: `CertificateCancelled` (reason death) follows."""

    public: ClassVar[bool] = False
    private_fields: ClassVar[frozenset[str]] = frozenset({"reason"})
    certificate_number: str
    fact_id: str
    reason: str


class CertificateHoldLifted(DomainEvent):
    """The hold is lifted (`death_rejected` by the reviewer, `death_corrected` by the reporting
    side): the certificate is as it was (`restored_status`); benefits carry on with arrears."""

    private_fields: ClassVar[frozenset[str]] = frozenset({"reason"})
    certificate_number: str
    person_ref: str
    household_region: str
    reason_code: str
    fact_id: str
    restored_status: str
    lifted_on: date
    reason: str = ""  # the reviewer's words, kept here only


class CertificateReinstated(DomainEvent):
    """恢复: a certificate cancelled for a death that was a mistake (`death_corrected`) lives again
    as it was; a new card is ordered, the benefits carry on with arrears."""

    certificate_number: str
    person_ref: str
    household_region: str
    reason_code: str
    fact_id: str
    reinstated_on: date


def register_hold_events(events: EventRegistry) -> None:
    events.register(CertificatePutOnHold, DeathConfirmed, CertificateHoldLifted, CertificateReinstated)


# -- errors -----------------------------------------------------------------------------------
class NoDeathReportPending(Conflict):
    code = "no_death_report_pending"
    title_zh = "该残疾人证没有待核实的死亡报告"
    title_en = "No reported death waits for confirmation on this certificate"
