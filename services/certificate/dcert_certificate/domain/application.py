"""The application (申请): one matter of a person's certificate, from submission to decision.

Every matter uses this one resource. `new` and `grade_change` (and `renewal` where a region
requires it) go through an assessment; the others reach the reviewer at once. A transfer is
reviewed twice: the old region issues the migration certificate, the new region takes the
record. Deadlines are computed on working days by the caller's calendar and recorded in events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from dcert_shared.aggregate import Aggregate
from dcert_shared.envelope import DomainEvent
from dcert_shared.problems import Bilingual

from .errors import (
    ApplicationNotInReviewableState,
    DisputeFinal,
    DisputeWindowClosed,
    NotDisputable,
    NotReturned,
    NotWithdrawable,
)
from .events import (
    ApplicationApproved,
    ApplicationRejected,
    ApplicationResubmitted,
    ApplicationReturned,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    AssessmentAssigned,
    AssessmentDisputed,
    AssessmentRequested,
    AssessmentResultReceived,
    MigrationCertificateIssued,
    PublicNoticeEnded,
    PublicNoticeStarted,
    ReviewOpened,
)

ADULT_AGE = 18
FINAL_ROUND = 2  # the provincial expert committee's answer


class MatterKind(StrEnum):
    """What an application asks for (docs/domain.md, matters)."""

    NEW = "new"
    RENEWAL = "renewal"
    REPLACEMENT = "replacement"
    GRADE_CHANGE = "grade_change"
    TRANSFER = "transfer"
    CANCELLATION = "cancellation"

    def needs_assessment(self, renewal_requires_assessment: bool) -> bool:
        """A matter on a certificate that a doctor assesses first (a new one always is)."""
        return self is MatterKind.GRADE_CHANGE or (self is MatterKind.RENEWAL and renewal_requires_assessment)


class Decision(StrEnum):
    """审核: the reviewer's decision on an application."""

    APPROVE = "approve"
    REJECT = "reject"
    RETURN = "return"


class AgentDecision(StrEnum):
    """代办核验: the reviewer's decision on the agent who applied, on the evidence checked."""

    CONFIRMED = "confirmed"
    REFUSED = "refused"


MOOT_REASON = "残疾人证已注销，此事项不再办理 / The certificate was cancelled; this matter ends"
DECEASED_REASON = "申请人已身故，申请终止 / The applicant has died; the application ends"


class Status(StrEnum):
    SUBMITTED = "submitted"
    ASSESSING = "assessing"
    PUBLIC_NOTICE = "public_notice"
    ASSESSED = "assessed"
    MIGRATING = "migrating"
    RETURNED = "returned"
    ISSUED = "issued"
    COMPLETED = "completed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


OPEN_STATUSES = frozenset(
    {
        Status.SUBMITTED,
        Status.ASSESSING,
        Status.PUBLIC_NOTICE,
        Status.ASSESSED,
        Status.MIGRATING,
        Status.RETURNED,
    }
)


@dataclass(frozen=True)
class Applicant:
    id_number: str | None  # None: an erased person's, never kept again
    name: str | None
    phone: str | None
    address: str | None
    household_region: str
    residence_region: str
    birth_date: date
    person_ref: str


@dataclass(frozen=True)
class Agent:
    """代办人: a guardian or entrusted person acting for the applicant."""

    id_number: str
    name: str
    relationship: str
    agent_ref: str


@dataclass(frozen=True)
class Grade:
    category: str
    level: int


@dataclass(frozen=True)
class Matter:
    """What is asked: the matter and its own fields (docs/domain.md, matters)."""

    kind: MatterKind
    declared_category: str = ""
    home_visit: bool = False
    certificate_number: str | None = None
    current_grade: Grade | None = None
    reason: str | None = None
    to_region: str | None = None
    declared_level: int | None = None
    accepting_region: str | None = None
    needs_assessment: bool = True
    documents: list[dict[str, str]] = field(default_factory=list)
    card_delivery: str = "mail"
    agent_ref: str | None = None  # a recorded agent asking for the holder


@dataclass(frozen=True)
class Deadlines:
    """Working-day periods (local) and the calendar that counts them."""

    add_working_days: Callable[[date, int], date]
    public_notice: int = 5
    review: int = 10
    dispute: int = 10


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


class Application(Aggregate):
    stream_type = "application"

    @property
    def partition_key(self) -> str:
        """The person: every event about them is kept in order by consumers, whatever its stream."""
        return self.person_ref or self.stream_id

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.status = Status.SUBMITTED
        self.matter = MatterKind.NEW
        self.submitted_on: date | None = None
        self.household_region = ""
        self.residence_region = ""
        self.accepting_region = ""
        self.to_region: str | None = None
        self.declared_category = ""
        self.declared_level: int | None = None
        self.reason: str | None = None
        self.is_minor = False
        self.needs_assessment = True
        self.person_ref = ""
        self.agent_ref: str | None = None
        self.agent_relationship: str | None = None
        self.agent_claimed = False
        self.birth_date = date.min
        self.applicant_name = ""
        self.applicant_id_number = ""
        self.applicant_address = ""
        self.subject_certificate: str | None = None
        self.grade: Grade | None = None
        self.notice_until: date | None = None
        self.returned_from: Status | None = None
        self.migration_number: str | None = None
        self.certificate_number: str | None = None
        self.card_delivery = "mail"
        self.doctor_id: str | None = None
        self.home_visit = False
        self.dispute_until: date | None = None
        self.dispute_round = 0

    @classmethod
    def submit(
        cls,
        application_id: str,
        applicant: Applicant,
        agent: Agent | None,
        matter: Matter,
        today: date,
        deadlines: Deadlines,
        *,
        verified_agents: Sequence[str] = (),
        agent_claimed: bool = False,
        person_state: str | None = None,
    ) -> Application:
        """Record the submission; ask for an assessment, or put it straight in the reviewer's queue.

        `verified_agents` may read and book for the person; an agent whose claim is not verified
        (`agent_claimed`) may book the assessment's time, nothing more."""
        application = cls(application_id)
        agent_ref = agent.agent_ref if agent else matter.agent_ref
        age = age_on(applicant.birth_date, today)
        application.trigger(
            ApplicationSubmitted(
                application_id=application_id,
                matter=matter.kind,
                household_region=applicant.household_region,
                residence_region=applicant.residence_region,
                declared_category=matter.declared_category,
                home_visit=matter.home_visit,
                is_minor=age < ADULT_AGE,
                has_agent=agent is not None or matter.agent_ref is not None,
                person_ref=applicant.person_ref,
                agent_ref=agent.agent_ref if agent else matter.agent_ref,
                birth_date=applicant.birth_date,
                applicant_id_number=applicant.id_number,
                applicant_name=applicant.name,
                applicant_phone=applicant.phone,
                applicant_address=applicant.address,
                agent_id_number=agent.id_number if agent else None,
                agent_name=agent.name if agent else None,
                agent_relationship=agent.relationship if agent else None,
                certificate_number=matter.certificate_number,
                accepting_region=matter.accepting_region or applicant.residence_region,
                needs_assessment=matter.needs_assessment,
                reason=matter.reason,
                to_region=matter.to_region,
                declared_level=matter.declared_level,
                documents=matter.documents,
                card_delivery=matter.card_delivery,
                submitted_on=today,
                agent_claimed=agent_claimed,
                person_state=person_state,
            )
        )
        if matter.needs_assessment:
            application.trigger(
                AssessmentRequested(
                    application_id=application_id,
                    person_ref=applicant.person_ref,
                    age_years=age,
                    declared_category=matter.declared_category,
                    residence_region=applicant.residence_region,
                    household_region=applicant.household_region,
                    home_visit=matter.home_visit,
                    matter=matter.kind,
                    current_category=matter.current_grade.category if matter.current_grade else None,
                    current_level=matter.current_grade.level if matter.current_grade else None,
                    agent_refs=list(verified_agents),
                    booker_refs=[agent_ref] if agent_claimed and agent_ref else [],
                )
            )
        else:
            application._open_review(applicant.household_region, today, deadlines)
        return application

    # -- assessment ---------------------------------------------------------------------------
    def assessment_assigned(self, assessment_id: str, doctor_id: str) -> None:
        """Scheduled, or scheduled again with another doctor (the first one was suspended)."""
        waiting = self.status in (Status.SUBMITTED, Status.ASSESSING) and self.needs_assessment
        if waiting and doctor_id != self.doctor_id:
            self.trigger(
                AssessmentAssigned(application_id=self.id, assessment_id=assessment_id, doctor_id=doctor_id)
            )

    def result_received(
        self,
        assessment_id: str,
        grade: Grade,
        components: list[dict[str, object]],
        override_reason_given: bool,
        today: date,
        deadlines: Deadlines,
    ) -> None:
        """公示: an adult's result is posted for the notice period; a minor's is not posted."""
        if self.status not in (Status.SUBMITTED, Status.ASSESSING):
            return
        self.trigger(
            AssessmentResultReceived(
                application_id=self.id,
                assessment_id=assessment_id,
                category=grade.category,
                level=grade.level,
                components=components,
                override_reason_given=override_reason_given,
                dispute_until=deadlines.add_working_days(today, deadlines.dispute),
            )
        )
        if self.is_minor:
            self._open_review(self.household_region, today, deadlines)
        else:
            notice_until = deadlines.add_working_days(today, deadlines.public_notice)
            self.trigger(PublicNoticeStarted(application_id=self.id, notice_until=notice_until))

    def end_public_notice(self, today: date, deadlines: Deadlines) -> bool:
        if self.status is not Status.PUBLIC_NOTICE or self.notice_until is None or today < self.notice_until:
            return False
        self.trigger(PublicNoticeEnded(application_id=self.id))
        self._open_review(self.household_region, today, deadlines)
        return True

    def dispute(self, reason: str, today: date, verified_agents: Sequence[str] = ()) -> None:
        """复核 within the dispute window of the latest result; the second time, the appeal to the
        provincial expert committee, whose answer is final."""
        if self.status not in (Status.PUBLIC_NOTICE, Status.ASSESSED) or self.grade is None:
            raise NotDisputable(detail=Bilingual.status(self.status.value))
        if self.dispute_round >= FINAL_ROUND:
            raise DisputeFinal()
        if self.dispute_until is None or today > self.dispute_until:
            raise DisputeWindowClosed(detail=Bilingual.until(str(self.dispute_until)))
        next_round = self.dispute_round + 1
        self.trigger(AssessmentDisputed(application_id=self.id, round=next_round, reason=reason))
        self.trigger(
            AssessmentRequested(
                application_id=self.id,
                person_ref=self.person_ref,
                age_years=age_on(self.birth_date, today),
                declared_category=self.declared_category,
                residence_region=self.residence_region,
                household_region=self.household_region,
                home_visit=self.home_visit,
                matter=self.matter,
                round=next_round,
                agent_refs=list(verified_agents),
            )
        )

    # -- review -------------------------------------------------------------------------------
    @property
    def reviewing_region(self) -> str:
        """Whose reviewers decide now: the household region; the new region for a transfer's intake."""
        if self.status is Status.MIGRATING and self.to_region:
            return self.to_region
        return self.household_region

    def require_decidable(self) -> None:
        decidable = (Status.ASSESSED,) if self.needs_assessment else (Status.SUBMITTED, Status.MIGRATING)
        if self.status not in decidable:
            raise ApplicationNotInReviewableState(detail=Bilingual.status(self.status.value))

    def approve(self, certificate_number: str) -> None:
        self.require_decidable()
        self.trigger(
            ApplicationApproved(
                application_id=self.id,
                household_region=self.reviewing_region,
                certificate_number=certificate_number,
                matter=self.matter,
            )
        )

    def issue_migration_certificate(self, migration_number: str, today: date, deadlines: Deadlines) -> None:
        """迁移证明: the old region's approval; the new region's reviewers take it from here."""
        if (
            self.status is not Status.SUBMITTED
            or self.matter is not MatterKind.TRANSFER
            or self.to_region is None
        ):
            raise ApplicationNotInReviewableState(detail=Bilingual.status(self.status.value))
        assert self.subject_certificate is not None
        self.trigger(
            MigrationCertificateIssued(
                application_id=self.id,
                certificate_number=self.subject_certificate,
                from_region=self.household_region,
                to_region=self.to_region,
                migration_number=migration_number,
            )
        )
        self._open_review(self.to_region, today, deadlines)

    def reject(self, reason: str) -> None:
        self.require_decidable()
        self.trigger(ApplicationRejected(application_id=self.id, reason=reason))

    def end_as_moot(self, reason: str) -> None:
        """The certificate this matter is about was closed meanwhile: the matter ends, refused."""
        if self.is_open:
            self.trigger(ApplicationRejected(application_id=self.id, reason=reason))

    def return_for_correction(self, reason: str) -> None:
        self.require_decidable()
        self.trigger(
            ApplicationReturned(application_id=self.id, reason=reason, returned_from=self.status.value)
        )

    def resubmit(self, corrections: dict[str, object], today: date, deadlines: Deadlines) -> None:
        """补正: back to the reviewer where it left, with a fresh review period."""
        if self.status is not Status.RETURNED or self.returned_from is None:
            raise NotReturned(detail=Bilingual.status(self.status.value))
        self.trigger(
            ApplicationResubmitted(
                application_id=self.id,
                corrected=sorted(corrections),
                corrections=corrections,
                person_ref=self.person_ref,
            )
        )
        self._open_review(self.reviewing_region, today, deadlines)

    def withdraw(self) -> None:
        if not self.is_open:
            raise NotWithdrawable(detail=Bilingual.status(self.status.value))
        self.trigger(ApplicationWithdrawn(application_id=self.id, matter=self.matter))

    def _open_review(self, region: str, today: date, deadlines: Deadlines) -> None:
        self.trigger(
            ReviewOpened(
                application_id=self.id,
                region=region,
                due_on=deadlines.add_working_days(today, deadlines.review),
            )
        )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def apply(self, event: DomainEvent) -> None:
        match event:
            case ApplicationSubmitted():
                self.submitted_on = event.submitted_on
                self.matter = MatterKind(event.matter)
                self.household_region = event.household_region
                self.residence_region = event.residence_region
                self.accepting_region = event.accepting_region or event.residence_region
                self.to_region = event.to_region
                self.declared_category = event.declared_category
                self.declared_level = event.declared_level
                self.reason = event.reason
                self.is_minor = event.is_minor
                self.needs_assessment = event.needs_assessment
                self.person_ref = event.person_ref
                self.agent_ref = event.agent_ref
                self.agent_relationship = event.agent_relationship
                self.agent_claimed = event.agent_claimed
                self.birth_date = event.birth_date
                self.applicant_name = event.applicant_name or ""
                self.applicant_id_number = event.applicant_id_number or ""
                self.applicant_address = event.applicant_address or ""
                self.subject_certificate = event.certificate_number
                self.card_delivery = event.card_delivery
                self.home_visit = event.home_visit
            case AssessmentAssigned(doctor_id=doctor_id):
                self.status = Status.ASSESSING
                self.doctor_id = doctor_id
            case AssessmentResultReceived(category=category, level=level):
                self.grade = Grade(category, level)
                self.status = Status.ASSESSED
                self.dispute_until = event.dispute_until
            case AssessmentDisputed(round=dispute_round):
                self.status = Status.ASSESSING
                self.dispute_round = dispute_round
            case PublicNoticeStarted(notice_until=notice_until):
                self.status = Status.PUBLIC_NOTICE
                self.notice_until = notice_until
            case PublicNoticeEnded():
                self.status = Status.ASSESSED
            case MigrationCertificateIssued(migration_number=migration_number):
                self.status = Status.MIGRATING
                self.migration_number = migration_number
            case ApplicationApproved(certificate_number=number):
                self.status = Status.ISSUED if self.matter is MatterKind.NEW else Status.COMPLETED
                self.certificate_number = number
            case ApplicationRejected():
                self.status = Status.REJECTED
            case ApplicationReturned(returned_from=returned_from):
                self.returned_from = Status(returned_from)
                self.status = Status.RETURNED
            case ApplicationResubmitted(corrections=corrections):
                assert self.returned_from is not None
                self.status = self.returned_from
                self.returned_from = None
                if corrections is not None and isinstance(corrections.get("address"), str):
                    self.applicant_address = str(corrections["address"])
            case ApplicationWithdrawn():
                self.status = Status.WITHDRAWN
            case ReviewOpened() | AssessmentRequested():
                pass
