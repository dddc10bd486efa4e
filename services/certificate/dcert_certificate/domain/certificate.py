"""The certificate (残疾人证): number, validity, card order and the e-certificate serial."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

from dcert_shared.aggregate import Aggregate
from dcert_shared.envelope import DomainEvent

from .events import CertificateCancelled, CertificateIssued

VALIDITY_YEARS = 10


class CertificateStatus(StrEnum):
    ACTIVE = "active"
    LOST = "lost"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


def years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def mask_name(name: str) -> str:
    """王小明 -> 王*明, 王明 -> 王*: enough for a gate keeper, not enough to identify."""
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


class Certificate(Aggregate):
    stream_type = "certificate"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.status = CertificateStatus.ACTIVE
        self.category = ""
        self.level = 0
        self.issued_on = date.min
        self.expires_on = date.min
        self.serial = ""
        self.card_status = ""
        self.person_ref = ""

    @classmethod
    def issue(
        cls,
        number: str,
        *,
        application_id: str,
        person_ref: str,
        agent_refs: list[str],
        category: str,
        level: int,
        household_region: str,
        residence_region: str,
        age_years: int,
        holder_name: str,
        today: date,
    ) -> Certificate:
        certificate = cls(number)
        certificate.trigger(
            CertificateIssued(
                certificate_number=number,
                application_id=application_id,
                person_ref=person_ref,
                agent_refs=agent_refs,
                category=category,
                level=level,
                issued_on=today,
                expires_on=years_later(today, VALIDITY_YEARS),
                household_region=household_region,
                residence_region=residence_region,
                age_years=age_years,
                holder_name_masked=mask_name(holder_name),
                serial=uuid.uuid4().hex,
            )
        )
        return certificate

    def cancel(self, reason: str, effective_date: date) -> bool:
        """注销: close a live certificate; a certificate already closed stays as it is."""
        if self.status is not CertificateStatus.ACTIVE:
            return False
        self.trigger(
            CertificateCancelled(
                certificate_number=self.id,
                person_ref=self.person_ref,
                reason=reason,
                effective_date=effective_date,
            )
        )
        return True

    def apply(self, event: DomainEvent) -> None:
        match event:
            case CertificateCancelled():
                self.status = CertificateStatus.CANCELLED
            case CertificateIssued():
                self.person_ref = event.person_ref
                self.category = event.category
                self.level = event.level
                self.issued_on = event.issued_on
                self.expires_on = event.expires_on
                self.serial = event.serial
