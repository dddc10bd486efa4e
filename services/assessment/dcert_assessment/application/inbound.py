"""Other services' events as the assessment service reads them: only the fields it uses."""

from __future__ import annotations

from dcert_shared.consumer import InboundEvent


class AssessmentRequested(InboundEvent):
    """certificate.AssessmentRequested: a new application's assessment, or another round of it."""

    application_id: str
    person_ref: str
    age_years: int
    declared_category: str
    residence_region: str
    household_region: str
    home_visit: bool
    round: int | None = None  # 0 or absent: the first assessment; 1 re-assessment (复核); 2 appeal
    agent_refs: list[str] | None = None  # the agents verified when it was requested
    booker_refs: list[str] | None = None  # who applied as an agent not yet verified: books, reads nothing


class ApplicationEnded(InboundEvent):
    """certificate.ApplicationWithdrawn or ApplicationRejected: the application will not be decided on."""

    application_id: str
