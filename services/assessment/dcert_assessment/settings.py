"""Settings of the assessment service."""

from __future__ import annotations

from dcert_shared.settings import ServiceSettings


class AssessmentSettings(ServiceSettings):
    service_name: str = "assessment"
    accreditation_check_seconds: float = 3600.0
    assessment_working_days: int = 10  # from scheduling to the result (local)
    # 预约: the hours offered on each working day, and how many working days ahead (local).
    appointment_hours: list[str] = ["09:00", "10:00", "11:00", "14:00", "15:00", "16:00"]
    appointment_working_days: int = 10
