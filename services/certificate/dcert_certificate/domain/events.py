"""Events of the certificate context. Published data is listed in docs/events.md."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from dcert_shared.envelope import DomainEvent, EventRegistry

from .card import register_events

_PERSONAL = frozenset(
    {
        "applicant_id_number",
        "applicant_name",
        "applicant_phone",
        "applicant_address",
        "agent_id_number",
        "agent_name",
        "agent_relationship",
        "agent_ref",
        "person_ref",
        "birth_date",
    }
)


class ApplicationSubmitted(DomainEvent):
    private_fields: ClassVar[frozenset[str]] = _PERSONAL
    application_id: str
    matter: str
    household_region: str
    residence_region: str
    declared_category: str
    home_visit: bool
    is_minor: bool
    has_agent: bool
    person_ref: str
    agent_ref: str | None
    birth_date: date
    applicant_id_number: str
    applicant_name: str
    applicant_phone: str
    applicant_address: str
    agent_id_number: str | None
    agent_name: str | None
    agent_relationship: str | None


class AssessmentRequested(DomainEvent):
    application_id: str
    person_ref: str
    age_years: int
    declared_category: str
    residence_region: str
    household_region: str
    home_visit: bool


class AssessmentAssigned(DomainEvent):
    """The assessment service scheduled the assessment: the application is being assessed."""

    public: ClassVar[bool] = False
    application_id: str
    assessment_id: str
    doctor_id: str


class AssessmentResultReceived(DomainEvent):
    public: ClassVar[bool] = False
    application_id: str
    assessment_id: str
    category: str
    level: int
    components: list[dict[str, object]]
    override_reason_given: bool


class PublicNoticeStarted(DomainEvent):
    application_id: str
    notice_until: date


class PublicNoticeEnded(DomainEvent):
    application_id: str


class ApplicationApproved(DomainEvent):
    application_id: str
    household_region: str
    certificate_number: str


class ApplicationRejected(DomainEvent):
    application_id: str
    reason: str


class ApplicationReturned(DomainEvent):
    application_id: str
    reason: str


class OpenApplicationRecorded(DomainEvent):
    """The person now has an open application of this matter (one `new` at a time)."""

    public: ClassVar[bool] = False
    application_id: str
    matter: str


class OpenApplicationClosed(DomainEvent):
    public: ClassVar[bool] = False
    application_id: str


class LiveCertificateRecorded(DomainEvent):
    public: ClassVar[bool] = False
    certificate_number: str


class CertificateIssued(DomainEvent):
    private_fields: ClassVar[frozenset[str]] = frozenset({"holder_name_masked", "serial"})
    certificate_number: str
    application_id: str
    person_ref: str
    agent_refs: list[str]
    category: str
    level: int
    issued_on: date
    expires_on: date
    household_region: str
    residence_region: str
    age_years: int
    holder_name_masked: str
    serial: str


class CertificateCancelled(DomainEvent):
    """注销: the certificate is closed; its codes stop verifying at once."""

    certificate_number: str
    person_ref: str
    reason: str
    effective_date: date


class LiveCertificateClosed(DomainEvent):
    public: ClassVar[bool] = False
    certificate_number: str


def registry() -> EventRegistry:
    events = EventRegistry()
    events.register(
        ApplicationSubmitted,
        AssessmentRequested,
        AssessmentAssigned,
        AssessmentResultReceived,
        PublicNoticeStarted,
        PublicNoticeEnded,
        ApplicationApproved,
        ApplicationRejected,
        ApplicationReturned,
        OpenApplicationRecorded,
        OpenApplicationClosed,
        LiveCertificateRecorded,
        CertificateIssued,
        CertificateCancelled,
        LiveCertificateClosed,
    )
    register_events(events)
    return events
