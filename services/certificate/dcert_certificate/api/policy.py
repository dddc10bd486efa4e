"""Who may do what on which record of the certificate service: every rule of the service is here.

- A person acts on their own records only: the holder, or an agent verified for them (a
  reviewer checked the evidence, or the household register named them: `agency_view`), matched
  by the keyed hash of the token's identity number. Applying, they act for themself or name
  themself as the agent; an agent whose claim is not verified reads only the status of what they
  submitted, and may withdraw or correct it, nothing of the person's record (docs/agents.md).
  The person sees every application made in their name and may withdraw any of them.
- A reviewer reads the records of the area its `region` claim covers (a county, a city or a
  province: `dcert_shared.regions.covers`): an application of its household, accepting
  (residence), acting or destination region, a certificate of its household or residence region
  (跨省通办: the residence region accepts, the household region reviews). It decides only the
  step that is its area's (`queue_region`) and cancels only certificates of its household area;
  the same reviewer confirms or rejects a death reported for them (死亡核实), and lists those of
  its area.
- A card centre acts for the province of its `region` claim (required in its token).
- An admin reads applications and certificates (no medical findings live here), lists every
  card, runs the jobs and rotates the e-certificate keys.

Answers: a role that may never do something gets 403 (`forbidden`); a record that exists but is
someone else's (another person's, another area's) is answered 404 as if it did not exist, since
its existence is personal data too; a region named in a query that the caller does not cover is
403 (no record is involved).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from dcert_shared.auth import Principal, Role
from dcert_shared.problems import Bilingual, Forbidden
from dcert_shared.regions import covers, significant_digits

from ..adapters.queries import ApplicationListScope, ApplicationRecord
from ..adapters.read_models import CertificateView
from ..domain.errors import (
    ApplicationNotFound,
    CertificateNotFound,
    NotYourApplication,
    NotYourPart,
)


def _require_role(principal: Principal, *roles: Role) -> None:
    """403 for a role that may never do this."""
    if principal.role not in roles:
        raise Forbidden.needing(roles)


def reviewer_covers(principal: Principal, regions: Iterable[str | None]) -> bool:
    """A reviewer whose area holds one of these regions."""
    return (
        principal.role == "reviewer"
        and principal.region is not None
        and any(region is not None and covers(principal.region, region) for region in regions)
    )


class CertificatePolicy:
    """The rules, given how an identity number becomes the keyed hash records are filed under."""

    def __init__(self, person_ref: Callable[[str], str]) -> None:
        self._person_ref = person_ref

    def caller_ref(self, principal: Principal) -> str | None:
        """The keyed hash of a person's identity number; None for staff."""
        if principal.role != "applicant" or principal.id_number is None:
            return None
        return self._person_ref(principal.id_number)

    def is_own(self, principal: Principal, people: Iterable[str | None]) -> bool:
        """The person themself or a recorded agent."""
        ref = self.caller_ref(principal)
        return ref is not None and ref in set(people)

    # -- applying ---------------------------------------------------------------------------------
    def require_applicant(self, principal: Principal) -> str:
        """Only people apply; the answer is the caller's own keyed hash."""
        _require_role(principal, "applicant")
        ref = self.caller_ref(principal)
        assert ref is not None  # an applicant's token always carries its identity number
        return ref

    def require_applying_for(self, principal: Principal, applicant_id: str, agent_id: str | None) -> None:
        """A new application is for the caller themself, or names the caller as the agent."""
        for_self = agent_id is None and principal.id_number == applicant_id
        as_agent = agent_id is not None and principal.id_number == agent_id
        if not (for_self or as_agent):
            raise NotYourApplication()

    def require_agent_is_caller(self, principal: Principal, agent_id: str | None) -> None:
        """A matter on a certificate names no agent but the caller."""
        if agent_id is not None and agent_id != principal.id_number:
            raise NotYourApplication()

    # -- applications -----------------------------------------------------------------------------
    def application_view(self, principal: Principal, application: ApplicationRecord) -> str | None:
        """What of an application the caller reads: `full`, `status` (an agent whose claim is not
        verified, of what they submitted), or nothing (None)."""
        row = application.view
        regions = (row.household_region, row.accepting_region, row.queue_region, row.to_region)
        if principal.role == "admin" or reviewer_covers(principal, regions):
            return "full"
        ref = self.caller_ref(principal)
        if ref is None:
            return None
        if ref == row.person_ref or ref in application.verified_agents:
            return "full"
        return "status" if ref == row.agent_ref else None

    def require_readable_application(
        self, principal: Principal, application: ApplicationRecord | None
    ) -> ApplicationRecord:
        """The whole application: staff of its area, the person, their verified agents."""
        return self.require_application_view(principal, application, "full")[0]

    def require_application_view(
        self, principal: Principal, application: ApplicationRecord | None, wanted: str = "status"
    ) -> tuple[ApplicationRecord, str]:
        _require_role(principal, "applicant", "reviewer", "admin")
        view = self.application_view(principal, application) if application is not None else None
        if application is None or view is None or (wanted == "full" and view != "full"):
            raise ApplicationNotFound()
        return application, view

    def require_own_application(
        self, principal: Principal, application: ApplicationRecord | None, submitter_too: bool = False
    ) -> ApplicationRecord:
        """Withdrawal, correction, dispute: the person or a verified agent; with `submitter_too`,
        also the agent who submitted it, verified or not (their own submission)."""
        _require_role(principal, "applicant")
        ref = self.caller_ref(principal)
        if application is None or ref is None:
            raise ApplicationNotFound()
        own = ref == application.view.person_ref or ref in application.verified_agents
        if not (own or (submitter_too and ref == application.view.agent_ref)):
            raise ApplicationNotFound()
        return application

    def require_decider(
        self, principal: Principal, application: ApplicationRecord | None
    ) -> ApplicationRecord:
        """审核: a reviewer of the area whose step it is now."""
        _require_role(principal, "reviewer")
        application = self.require_readable_application(principal, application)
        region = application.view.queue_region
        if not reviewer_covers(principal, (region,)):
            raise NotYourPart(detail=Bilingual(f"当前办理地区：{region}", f"acting region: {region}"))
        return application

    def application_list_scope(self, principal: Principal) -> ApplicationListScope:
        """Which applications a list shows: a reviewer's area queue; a person's own ones, those
        of the people they are verified to act for, and those they submitted as an agent."""
        if principal.role == "reviewer" and principal.region is not None:
            return ApplicationListScope("queue_region", significant_digits(principal.region))
        if principal.role == "applicant":
            return ApplicationListScope("person", self.require_applicant(principal))
        raise Forbidden.needing(("applicant", "reviewer"))

    # -- agents -------------------------------------------------------------------------------------
    def require_agent_reviewer(
        self, principal: Principal, application: ApplicationRecord | None
    ) -> ApplicationRecord:
        """Confirming or refusing the agent who applied: a reviewer of the application's household
        area (the person's own federation checks the evidence)."""
        _require_role(principal, "reviewer")
        application = self.require_readable_application(principal, application)
        region = application.view.household_region
        if not reviewer_covers(principal, (region,)):
            raise NotYourPart(detail=Bilingual(f"户籍地：{region}", f"household region: {region}"))
        return application

    def require_agency_reviewer(
        self, principal: Principal, certificate: CertificateView | None
    ) -> CertificateView:
        """Confirming or ending an agent of a certificate's holder: a reviewer of its household
        area (a certificate elsewhere, or none, is not found)."""
        return self.require_canceller(principal, certificate)

    # -- certificates -----------------------------------------------------------------------------
    def require_readable_certificate(
        self, principal: Principal, certificate: CertificateView | None
    ) -> CertificateView:
        _require_role(principal, "applicant", "reviewer", "admin")
        if certificate is None or not (
            principal.role == "admin"
            or reviewer_covers(principal, (certificate.household_region, certificate.residence_region))
            or self.is_own(principal, (certificate.person_ref, *certificate.agent_refs))
        ):
            raise CertificateNotFound()
        return certificate

    def require_holders_certificate(
        self, principal: Principal, certificate: CertificateView | None
    ) -> CertificateView:
        """The e-certificate, a loss report, a matter: the holder or their agent only."""
        _require_role(principal, "applicant")
        if certificate is None or not self.is_own(
            principal, (certificate.person_ref, *certificate.agent_refs)
        ):
            raise CertificateNotFound()
        return certificate

    def require_canceller(self, principal: Principal, certificate: CertificateView | None) -> CertificateView:
        """注销 on a fact: a reviewer of the certificate's household area."""
        _require_role(principal, "reviewer")
        if certificate is None or not reviewer_covers(principal, (certificate.household_region,)):
            raise CertificateNotFound()
        return certificate

    def death_report_scope(self, principal: Principal) -> str:
        """死亡核实: the reported deaths a list shows: a reviewer's area (the prefix of its region),
        an admin's every one (""). Deciding one is `require_canceller`'s."""
        _require_role(principal, "reviewer", "admin")
        if principal.role == "reviewer":
            assert principal.region is not None  # required in a reviewer's token
            return significant_digits(principal.region)
        return ""

    def require_report_reader(self, principal: Principal, region: str) -> None:
        """A region's figures: an admin, or a reviewer whose area holds the region."""
        _require_role(principal, "reviewer", "admin")
        if principal.role == "reviewer" and not reviewer_covers(principal, (region,)):
            raise Forbidden(detail=Bilingual("不是您所辖的地区", "this region is not yours"))

    def require_admin(self, principal: Principal) -> None:
        _require_role(principal, "admin")

    # -- what an answer shows ---------------------------------------------------------------------
    def shows_numbers(self, principal: Principal) -> bool:
        """Certificate (and so identity) numbers in full: to the holder and their agent, to the
        reviewers who review and cancel by them and the card centres who print them; an admin
        supervises without them (3305**********123441). Names are masked for everyone."""
        return principal.role != "admin"

    # -- cards ------------------------------------------------------------------------------------
    def card_centre_province(self, principal: Principal) -> str:
        """The region prefix a card centre acts for: the province of its region."""
        _require_role(principal, "card_centre")
        assert principal.region is not None  # required in a card centre's token (auth.REQUIRED_CLAIM)
        return principal.region[:2]

    def card_list_scope(self, principal: Principal) -> str:
        """Who lists cards: a card centre (its province), a reviewer (its area), an admin (all: "")."""
        _require_role(principal, "card_centre", "reviewer", "admin")
        if principal.role == "card_centre":
            return self.card_centre_province(principal)
        if principal.role == "reviewer":
            assert principal.region is not None
            return significant_digits(principal.region)
        return ""
