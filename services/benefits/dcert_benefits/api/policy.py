"""Who may do what on which record of the benefits service: every rule of the service is here.

- A certificate's benefits: the holder, an agent verified for them (the keyed hash of the token's
  identity number against the holding's `person_ref` and the verified agencies: `agencies`), a
  reviewer whose area (a county, city or province code: `covers`) holds the household region,
  or an admin.
- Facts: a partner, of the types its policy grants (checked with the fact against the partner's
  policy: application/facts.py, 403 `fact_type_outside_policy`), about people in its
  jurisdiction: a fact about anyone else is answered alike (202 `received`) and has no effect, so
  that the answer says nothing of the person.
- Handoffs and the entitlement report: a reviewer reads its own area or a part of it, an admin
  any region; a handoff's last step (the person told) is the destination area's to record.
- Policies are read by anyone signed in; a new version, simulations, monthly runs and jobs are
  an admin's.

Answers: 403 for a role that may never do something, and for a region asked for that the caller
does not cover; 404 for a certificate or a handoff that exists but is not the caller's, as if it
did not exist (its existence is personal data too).
"""

from __future__ import annotations

from collections.abc import Callable

from dcert_shared.auth import Principal, Role
from dcert_shared.problems import Forbidden

from ..adapters.queries import HolderOnFile
from ..adapters.read_models import HandoffView
from ..domain.calendar import covers
from ..domain.errors import CertificateNotFound, HandoffNotFound


def _require_role(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        # The title says it in the caller's language; the roles that may are named for programs.
        raise Forbidden(required_roles=sorted(roles))


def _reviewer_covers(principal: Principal, region: str | None) -> bool:
    return (
        principal.role == "reviewer"
        and principal.region is not None
        and region is not None
        and covers(principal.region, region)
    )


def staff_region(principal: Principal, requested: str | None) -> str | None:
    """The region a staff request reads: a reviewer its own area (or a part of it), an admin any
    (None: every region)."""
    _require_role(principal, "reviewer", "admin")
    if principal.role == "admin":
        return requested
    own = str(principal.region or "")
    if not own or (requested is not None and not covers(own, requested)):
        raise Forbidden(region=requested)
    return requested or own


def shows_numbers(principal: Principal) -> bool:
    """Certificate numbers in full in lists of people: to reviewers, who act on them; an admin
    supervising reads them masked (the monthly run's lines, which pay people, stay in full)."""
    return principal.role != "admin"


def require_partner(principal: Principal) -> str:
    """A partner agency's id; the types of fact it may report are its policy's."""
    _require_role(principal, "partner")
    if not principal.partner_id:
        raise Forbidden()
    return principal.partner_id


def require_handoff_notifier(principal: Principal, handoff: HandoffView | None) -> HandoffView:
    """The handoff's last step: an admin, or a reviewer of the destination area."""
    _require_role(principal, "reviewer", "admin")
    if handoff is None or not (principal.role == "admin" or _reviewer_covers(principal, handoff.to_region)):
        raise HandoffNotFound()
    return handoff


class BenefitsPolicy:
    """The rules that need a person's keyed hash, given how an identity number becomes one."""

    def __init__(self, person_ref: Callable[[str], str]) -> None:
        self._person_ref = person_ref

    def require_benefits_reader(
        self, principal: Principal, number: str, holder: HolderOnFile | None
    ) -> HolderOnFile:
        """两项补贴 of a certificate: the holder, their agent, a reviewer of the area, an admin."""
        _require_role(principal, "applicant", "reviewer", "admin")
        if holder is None or not (
            principal.role == "admin"
            or _reviewer_covers(principal, holder.household_region)
            or self._is_holder_or_agent(principal, number, holder)
        ):
            raise CertificateNotFound()
        return holder

    def _is_holder_or_agent(self, principal: Principal, number: str, holder: HolderOnFile) -> bool:
        if principal.role != "applicant" or not principal.id_number:
            return False
        # The number starts with the holder's identity number (docs/domain.md, certificate number).
        if principal.id_number.upper() == number[:18].upper():
            return True
        return self._person_ref(principal.id_number.upper()) in {holder.person_ref, *holder.agent_refs}
