"""The application (申请): one matter of a person's certificate, from submission to decision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from dcert_shared.aggregate import Aggregate
from dcert_shared.envelope import DomainEvent

from .errors import ApplicationNotInReviewableState
from .events import (
    ApplicationApproved,
    ApplicationRejected,
    ApplicationReturned,
    ApplicationSubmitted,
    AssessmentAssigned,
    AssessmentRequested,
    AssessmentResultReceived,
    PublicNoticeEnded,
    PublicNoticeStarted,
)
from .working_days import add_working_days

ADULT_AGE = 18


class Status(StrEnum):
    SUBMITTED = "submitted"
    ASSESSING = "assessing"
    PUBLIC_NOTICE = "public_notice"
    ASSESSED = "assessed"
    ISSUED = "issued"
    REJECTED = "rejected"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"


OPEN_STATUSES = frozenset(
    {Status.SUBMITTED, Status.ASSESSING, Status.PUBLIC_NOTICE, Status.ASSESSED, Status.RETURNED}
)


@dataclass(frozen=True)
class Applicant:
    id_number: str
    name: str
    phone: str
    address: str
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


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


class Application(Aggregate):
    stream_type = "application"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.status = Status.SUBMITTED
        self.matter = ""
        self.household_region = ""
        self.residence_region = ""
        self.declared_category = ""
        self.is_minor = False
        self.person_ref = ""
        self.agent_ref: str | None = None
        self.birth_date = date.min
        self.applicant_name = ""
        self.applicant_id_number = ""
        self.grade: Grade | None = None
        self.notice_until: date | None = None
        self.certificate_number: str | None = None

    @classmethod
    def submit_new(
        cls,
        application_id: str,
        applicant: Applicant,
        agent: Agent | None,
        declared_category: str,
        home_visit: bool,
        today: date,
    ) -> Application:
        """新办: record the submission and ask the assessment service for an assessment."""
        application = cls(application_id)
        age = age_on(applicant.birth_date, today)
        application.trigger(
            ApplicationSubmitted(
                application_id=application_id,
                matter="new",
                household_region=applicant.household_region,
                residence_region=applicant.residence_region,
                declared_category=declared_category,
                home_visit=home_visit,
                is_minor=age < ADULT_AGE,
                has_agent=agent is not None,
                person_ref=applicant.person_ref,
                agent_ref=agent.agent_ref if agent else None,
                birth_date=applicant.birth_date,
                applicant_id_number=applicant.id_number,
                applicant_name=applicant.name,
                applicant_phone=applicant.phone,
                applicant_address=applicant.address,
                agent_id_number=agent.id_number if agent else None,
                agent_name=agent.name if agent else None,
                agent_relationship=agent.relationship if agent else None,
            )
        )
        application.trigger(
            AssessmentRequested(
                application_id=application_id,
                person_ref=applicant.person_ref,
                age_years=age,
                declared_category=declared_category,
                residence_region=applicant.residence_region,
                household_region=applicant.household_region,
                home_visit=home_visit,
            )
        )
        return application

    def assessment_assigned(self, assessment_id: str, doctor_id: str) -> None:
        if self.status is Status.SUBMITTED:
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
        notice_working_days: int,
        holidays: frozenset[date],
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
            )
        )
        if not self.is_minor:
            notice_until = add_working_days(today, notice_working_days, holidays)
            self.trigger(PublicNoticeStarted(application_id=self.id, notice_until=notice_until))

    def end_public_notice(self, today: date) -> bool:
        if self.status is not Status.PUBLIC_NOTICE or self.notice_until is None or today < self.notice_until:
            return False
        self.trigger(PublicNoticeEnded(application_id=self.id))
        return True

    def approve(self, certificate_number: str) -> None:
        self._require(Status.ASSESSED)
        self.trigger(
            ApplicationApproved(
                application_id=self.id,
                household_region=self.household_region,
                certificate_number=certificate_number,
            )
        )

    def reject(self, reason: str) -> None:
        self._require(Status.ASSESSED)
        self.trigger(ApplicationRejected(application_id=self.id, reason=reason))

    def return_for_correction(self, reason: str) -> None:
        self._require(Status.ASSESSED, Status.SUBMITTED)
        self.trigger(ApplicationReturned(application_id=self.id, reason=reason))

    def _require(self, *statuses: Status) -> None:
        if self.status not in statuses:
            raise ApplicationNotInReviewableState(detail=f"status: {self.status.value}")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def apply(self, event: DomainEvent) -> None:
        match event:
            case ApplicationSubmitted():
                self.matter = event.matter
                self.household_region = event.household_region
                self.residence_region = event.residence_region
                self.declared_category = event.declared_category
                self.is_minor = event.is_minor
                self.person_ref = event.person_ref
                self.agent_ref = event.agent_ref
                self.birth_date = event.birth_date
                self.applicant_name = event.applicant_name
                self.applicant_id_number = event.applicant_id_number
            case AssessmentAssigned():
                self.status = Status.ASSESSING
            case AssessmentResultReceived(category=category, level=level):
                self.grade = Grade(category, level)
                self.status = Status.ASSESSED
            case PublicNoticeStarted(notice_until=notice_until):
                self.status = Status.PUBLIC_NOTICE
                self.notice_until = notice_until
            case PublicNoticeEnded():
                self.status = Status.ASSESSED
            case ApplicationApproved(certificate_number=number):
                self.status = Status.ISSUED
                self.certificate_number = number
            case ApplicationRejected():
                self.status = Status.REJECTED
            case ApplicationReturned():
                self.status = Status.RETURNED
