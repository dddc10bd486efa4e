"""Other services' events as the certificate service reads them: only the fields it uses, typed
(the publisher's later fields are ignored; a payload that does not fit parks the event)."""

from __future__ import annotations

from datetime import date
from typing import Any

from dcert_shared.consumer import InboundEvent


class AssessmentScheduled(InboundEvent):
    """assessment.AssessmentScheduled: a doctor is assigned to the application's assessment."""

    application_id: str
    assessment_id: str
    doctor_id: str


class GradeRecorded(InboundEvent):
    """assessment.GradeRecorded: the doctor's result (the findings stay sealed in that service)."""

    application_id: str
    assessment_id: str
    category: str
    level: int
    components: list[dict[str, Any]] | None = None
    override_reason_given: bool | None = None


class DeathReported(InboundEvent):
    """benefits.DeathReported: a partner's death fact about a person, within its jurisdiction."""

    person_ref: str
    fact_id: str
    effective_date: date
    partner_id: str | None = None


class DeathCorrected(InboundEvent):
    """benefits.DeathCorrected: a partner's correction of a death it reported."""

    person_ref: str
    fact_id: str
    certificate_number: str | None = None


class GuardianshipReported(InboundEvent):
    """benefits.GuardianshipReported: the household register names a guardian of the person."""

    person_ref: str
    guardian_ref: str
    relationship: str | None = None
    until: date | None = None
    jurisdiction: list[str] | None = None
