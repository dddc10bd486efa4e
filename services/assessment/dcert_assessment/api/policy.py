"""Who may do what on which record of the assessment service: every rule of the service is here.

- An admin registers institutions and doctors, suspends and reinstates doctors, runs the
  accreditation check and reads the override report; it lists every assessment and reads its
  grade, never its findings or measurements (medical findings are for those below only).
- A doctor works only on the assessments assigned to them: the worklist, the findings, the
  appointment and the result.
- The person assessed and the agents verified for them (the keyed hash of the token's identity
  number against `person_ref` and the certificate service's verified agencies: `agencies`) read
  the assessment with its findings and book its time; an agent who applied without being
  verified books the time (`agent_refs`) and reads nothing.
- A reviewer whose area (a county, city or province code: `dcert_shared.regions.covers`) holds
  the case's household region reads the findings it reviews.

Answers: 403 both for a role that may never do something and for an assessment that exists but
is not the caller's (`not_the_assigned_doctor` to a doctor, `not_your_assessment` to anyone
else): an assessment's id is opaque and says nothing about the person, and a doctor whose case
went to another doctor learns why. An id that names no assessment is 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from dcert_shared.auth import Principal, Role
from dcert_shared.problems import Bilingual, Forbidden
from dcert_shared.regions import covers

from ..adapters.queries import AssessmentRecord
from ..domain.errors import AssessmentNotFound, NotTheAssignedDoctor, NotYourAssessment

View = Literal["grade", "findings"]


def _require_role(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        raise Forbidden.needing(roles)


def _foreign(principal: Principal) -> Forbidden:
    return NotTheAssignedDoctor() if principal.role == "doctor" else NotYourAssessment()


class AssessmentPolicy:
    """The rules, given how an identity number becomes the keyed hash records are filed under."""

    def __init__(self, person_ref: Callable[[str], str]) -> None:
        self._person_ref = person_ref

    def is_the_person_or_agent(self, principal: Principal, found: AssessmentRecord) -> bool:
        """The person, or an agent verified for them now."""
        if principal.role != "applicant" or not principal.id_number:
            return False
        ref = self._person_ref(principal.id_number)
        return ref == found.view.person_ref or ref in found.verified_agents

    def may_book(self, principal: Principal, found: AssessmentRecord) -> bool:
        """The person, a verified agent, or whoever the request named to book (who applied)."""
        if self.is_the_person_or_agent(principal, found):
            return True
        if principal.role != "applicant" or not principal.id_number:
            return False
        return self._person_ref(principal.id_number) in (found.view.agent_refs or [])

    @staticmethod
    def is_the_assigned_doctor(principal: Principal, found: AssessmentRecord) -> bool:
        doctor_id = found.view.doctor_id
        return principal.role == "doctor" and bool(doctor_id) and doctor_id == principal.doctor_id

    @staticmethod
    def reviews_the_case(principal: Principal, found: AssessmentRecord) -> bool:
        household_region = found.view.household_region
        return (
            principal.role == "reviewer"
            and principal.region is not None
            and bool(household_region)
            and covers(principal.region, household_region)
        )

    @staticmethod
    def worklist_doctor(principal: Principal, assigned: str | None) -> str | None:
        """Whose assessments a list shows: a doctor's own; an admin's every one (None)."""
        if principal.role == "admin":
            if assigned == "me":
                raise Forbidden(
                    detail=Bilingual("assigned=me 仅供评定医生使用", "assigned=me is for doctors")
                )
            return None
        _require_role(principal, "doctor")
        return principal.doctor_id

    def readable(self, principal: Principal, found: AssessmentRecord | None) -> tuple[AssessmentRecord, View]:
        """The assessment and what of it the caller reads: the grade (admin) or the findings too."""
        _require_role(principal, "applicant", "doctor", "reviewer", "admin")
        if found is None:
            raise AssessmentNotFound()
        if principal.role == "admin":
            return found, "grade"
        if (
            self.is_the_assigned_doctor(principal, found)
            or self.reviews_the_case(principal, found)
            or self.is_the_person_or_agent(principal, found)
        ):
            return found, "findings"
        raise _foreign(principal)

    def require_booker(self, principal: Principal, found: AssessmentRecord | None) -> AssessmentRecord:
        """预约: the person, their agent, or the assigned doctor picks the time."""
        _require_role(principal, "applicant", "doctor")
        if found is None:
            raise AssessmentNotFound()
        if not (self.is_the_assigned_doctor(principal, found) or self.may_book(principal, found)):
            raise _foreign(principal)
        return found

    def require_assigned_doctor(
        self, principal: Principal, found: AssessmentRecord | None
    ) -> AssessmentRecord:
        """The result: the doctor assigned now (the command checks again on the assessment itself)."""
        _require_role(principal, "doctor")
        if found is None:
            raise AssessmentNotFound()
        if not self.is_the_assigned_doctor(principal, found):
            raise NotTheAssignedDoctor()
        return found
