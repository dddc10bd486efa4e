"""Settings of the assessment service."""

from __future__ import annotations

from dcert_shared.settings import ServiceSettings


class AssessmentSettings(ServiceSettings):
    service_name: str = "assessment"
    accreditation_check_seconds: float = 3600.0
    assessment_working_days: int = 10  # from scheduling to the result (local)
