"""Events of the certificate context. Published data is listed in docs/events.md."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import ClassVar

from dcert_shared.envelope import DomainEvent, EventRegistry
from dcert_shared.regions import NATIONAL

from .card import register_events
from .holds import register_hold_events

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
        "documents",
    }
)


class ApplicationSubmitted(DomainEvent):
    # The person's and agent's keyed hashes are published (the notification service tells them
    # of every step); their identity numbers, names and contact details are not, and are stored
    # only sealed with their own data keys (None once erased).
    private_fields: ClassVar[frozenset[str]] = (_PERSONAL - {"person_ref", "agent_ref"}) | {"person_state"}
    sealed_fields: ClassVar[Mapping[str, frozenset[str]]] = {
        "person_ref": frozenset(
            {"applicant_id_number", "applicant_name", "applicant_phone", "applicant_address"}
        ),
        "agent_ref": frozenset({"agent_id_number", "agent_name"}),
    }
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
    applicant_id_number: str | None
    applicant_name: str | None
    applicant_phone: str | None
    applicant_address: str | None
    agent_id_number: str | None
    agent_name: str | None
    agent_relationship: str | None
    # Matters on an existing certificate (all but `new`), with their own fields.
    certificate_number: str | None = None
    accepting_region: str | None = None
    needs_assessment: bool = True
    reason: str | None = None
    to_region: str | None = None
    declared_level: int | None = None
    documents: list[dict[str, str]] = []
    card_delivery: str = "mail"
    submitted_on: date | None = None  # benefits start from the month of application (local rule)
    # Made by an agent not verified for the person: not the person's open application, and its
    # agent sees only its status until a reviewer confirms them (docs/agents.md).
    agent_claimed: bool = False
    # Why the person may not get a new certificate now, when a claimed agent applied anyway
    # (live_certificate_exists, reapplication_barred, person_erased): for the reviewer.
    person_state: str | None = None


class AssessmentRequested(DomainEvent):
    application_id: str
    matter: str = "new"
    round: int = 0
    agent_refs: list[str] = []  # keyed hashes of the verified agents, who may book and read for the person
    # Who submitted it as an agent not yet verified: may book the time, reads nothing.
    booker_refs: list[str] = []
    current_category: str | None = None
    current_level: int | None = None
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
    dispute_until: date | None = None


class PublicNoticeStarted(DomainEvent):
    application_id: str
    notice_until: date


class PublicNoticeEnded(DomainEvent):
    application_id: str


class ApplicationApproved(DomainEvent):
    application_id: str
    household_region: str
    certificate_number: str
    matter: str = "new"


class ApplicationRejected(DomainEvent):
    application_id: str
    reason: str


class ApplicationReturned(DomainEvent):
    """退回补正: the applicant corrects and resubmits without starting over."""

    application_id: str
    reason: str
    returned_from: str = "assessed"


class ApplicationResubmitted(DomainEvent):
    private_fields: ClassVar[frozenset[str]] = frozenset({"corrections", "person_ref"})
    sealed_fields: ClassVar[Mapping[str, frozenset[str]]] = {"person_ref": frozenset({"corrections"})}
    application_id: str
    corrected: list[str]
    corrections: dict[str, object] | None
    person_ref: str | None = None  # whose key seals the corrections (None: stored before sealing)


class ApplicationWithdrawn(DomainEvent):
    """撤回: the applicant or agent withdrew before a decision."""

    application_id: str
    matter: str


class AssessmentDisputed(DomainEvent):
    """复核 / 申诉: the applicant asks for another assessment (round 1: the city federation's
    re-assessment; round 2: the provincial expert committee, final)."""

    application_id: str
    round: int
    reason: str


class ReviewOpened(DomainEvent):
    """The application reached a reviewer's queue, due within the review period (working days)."""

    public: ClassVar[bool] = False
    application_id: str
    region: str
    due_on: date


class MigrationCertificateIssued(DomainEvent):
    """迁移证明: the old region let the record go; the new region's federation takes it up."""

    application_id: str
    certificate_number: str
    from_region: str
    to_region: str
    migration_number: str


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
    private_fields: ClassVar[frozenset[str]] = frozenset(
        {"holder_name_masked", "serial", "holder_name", "mail_address"}
    )
    sealed_fields: ClassVar[Mapping[str, frozenset[str]]] = {
        "person_ref": frozenset({"holder_name_masked", "holder_name", "mail_address"})
    }
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
    holder_name_masked: str | None
    serial: str
    holder_name: str | None = None
    mail_address: str | None = None
    previous_number: str | None = None
    replacement_count: int = 0
    applied_on: date | None = None  # the application's submission (ApplicationSubmitted.submitted_on)


class CertificateImported(DomainEvent):
    """存量导入: a holder of the national certificate system brought in as they are (docs/import.md).

    A certificate like an issued one, under its original number and dates, without an
    application; a type of its own so that partners and people are not told of a million
    issues, and benefits are paid from `benefits_from` (the import's month) rather than the
    original issue. `card_generation`: 2 (no QR code) gets a third-generation card at the
    next renewal or replacement."""

    private_fields: ClassVar[frozenset[str]] = frozenset(
        {
            "holder_name_masked",
            "serial",
            "holder_name",
            "mail_address",
            "holder_phone",
            "guardian_ref",
            "guardian_relationship",
            "guardian_id_number",
            "guardian_name",
        }
    )
    sealed_fields: ClassVar[Mapping[str, frozenset[str]]] = {
        "person_ref": frozenset({"holder_name_masked", "holder_name", "mail_address", "holder_phone"}),
        "guardian_ref": frozenset({"guardian_id_number", "guardian_name"}),
    }
    certificate_number: str
    person_ref: str
    agent_refs: list[str] = []
    category: str
    level: int
    issued_on: date
    expires_on: date
    household_region: str
    residence_region: str
    age_years: int
    replacement_count: int = 0
    card_generation: int
    card_status: str
    benefits_from: date
    serial: str
    holder_name_masked: str | None
    holder_name: str | None
    mail_address: str | None
    holder_phone: str | None
    guardian_ref: str | None = None
    guardian_relationship: str | None = None
    guardian_id_number: str | None = None
    guardian_name: str | None = None


class CertificateCancelled(DomainEvent):
    """注销: the certificate is closed; its codes stop verifying at once."""

    certificate_number: str
    person_ref: str
    reason: str
    effective_date: date
    application_id: str | None = None


class CertificateRenewed(DomainEvent):
    """换领: a new card and a new ten-year validity under the same number."""

    private_fields: ClassVar[frozenset[str]] = frozenset({"serial"})
    certificate_number: str
    person_ref: str
    application_id: str
    issued_on: date
    expires_on: date
    serial: str


class CertificateReportedLost(DomainEvent):
    """挂失: the card and every code of this certificate stop verifying at once."""

    certificate_number: str
    person_ref: str
    reported_on: date


class CertificateReplaced(DomainEvent):
    """补领: the old number is closed; the replacement carries B<n>."""

    certificate_number: str
    person_ref: str
    replaced_by: str
    reason: str
    application_id: str


class CertificateGradeChanged(DomainEvent):
    """等级/类别变更: the old number is closed, the new one carries the new category and grade."""

    certificate_number: str
    person_ref: str
    new_number: str
    previous_category: str
    previous_level: int
    category: str
    level: int
    application_id: str


class CertificateTransferred(DomainEvent):
    """迁移: the record moves to the new household region; the number stays, the card is new."""

    private_fields: ClassVar[frozenset[str]] = frozenset({"serial"})
    certificate_number: str
    person_ref: str
    from_region: str
    to_region: str
    migration_number: str
    application_id: str
    serial: str


class CertificateExpired(DomainEvent):
    certificate_number: str
    person_ref: str
    expired_on: date


class RenewalReminderDue(DomainEvent):
    """The renewal window opens soon: the holder is told before the certificate expires."""

    certificate_number: str
    person_ref: str
    window_opens_on: date
    expires_on: date


class MatterOpened(DomainEvent):
    """One matter at a time on a certificate: this application holds it."""

    public: ClassVar[bool] = False
    certificate_number: str
    application_id: str
    matter: str


class MatterClosed(DomainEvent):
    public: ClassVar[bool] = False
    certificate_number: str
    application_id: str


class ReapplicationBarred(DomainEvent):
    """After a voluntary cancellation no new application for a year (docs/domain.md, matters)."""

    public: ClassVar[bool] = False
    until: date


class LiveCertificateClosed(DomainEvent):
    public: ClassVar[bool] = False
    certificate_number: str


class AgentClaimed(DomainEvent):
    """代办申请: someone applied naming themself the person's agent; not verified yet, they see
    only the status of what they submitted."""

    private_fields: ClassVar[frozenset[str]] = frozenset({"relationship"})
    person_ref: str
    agent_ref: str
    relationship: str
    application_id: str
    # The application's household region: a guardian the household register names verifies the
    # claim only where the reporting partner's jurisdiction covers it (None: claimed before).
    household_region: str | None = None


class AgentVerified(DomainEvent):
    """代办核验: the agent may act for the person, as the evidence a reviewer checked (a household
    register, a guardianship document, a power of attorney) or a household-register fact says,
    until `until` (a minor's guardian: the day before the 18th birthday)."""

    private_fields: ClassVar[frozenset[str]] = frozenset({"relationship"})
    person_ref: str
    agent_ref: str
    relationship: str
    basis: str
    until: date | None = None


class AgentRefused(DomainEvent):
    """A reviewer refused a claimed agent: they never act for the person."""

    person_ref: str
    agent_ref: str
    reason: str


class AgentEnded(DomainEvent):
    """The agency ended: the child came of age, the person revoked it, or a reviewer did."""

    person_ref: str
    agent_ref: str
    reason: str


class GuardianRecorded(DomainEvent):
    """The household register (a partner's fact) names this guardian of the person: their
    claim, now or later, is verified by it."""

    public: ClassVar[bool] = False
    guardian_ref: str
    relationship: str
    until: date | None = None
    # The regions of the partner that reported it: its word counts there only.
    jurisdiction: list[str] = [NATIONAL]


class PersonErased(DomainEvent):
    """删除个人信息: on a legal request an admin erased the person's data (PIPL art. 47).

    Their data key is destroyed in the same transaction: every sealed value of theirs, in any
    stream and any service, reads as None from now on. `reapplied`: recorded again after a
    restore from a backup older than the erasure."""

    person_ref: str
    legal_basis: str
    erased_on: date
    reapplied: bool = False


def registry() -> EventRegistry:
    events = EventRegistry()
    events.register(
        PersonErased,
        ApplicationSubmitted,
        AssessmentRequested,
        AssessmentAssigned,
        AssessmentResultReceived,
        PublicNoticeStarted,
        PublicNoticeEnded,
        ApplicationApproved,
        ApplicationRejected,
        ApplicationReturned,
        ApplicationResubmitted,
        ApplicationWithdrawn,
        ReviewOpened,
        AssessmentDisputed,
        MigrationCertificateIssued,
        OpenApplicationRecorded,
        OpenApplicationClosed,
        LiveCertificateRecorded,
        CertificateIssued,
        CertificateImported,
        CertificateCancelled,
        LiveCertificateClosed,
        CertificateRenewed,
        CertificateReportedLost,
        CertificateReplaced,
        CertificateGradeChanged,
        CertificateTransferred,
        CertificateExpired,
        RenewalReminderDue,
        MatterOpened,
        MatterClosed,
        ReapplicationBarred,
        AgentClaimed,
        AgentVerified,
        AgentRefused,
        AgentEnded,
        GuardianRecorded,
    )
    register_events(events)
    register_hold_events(events)
    return events
