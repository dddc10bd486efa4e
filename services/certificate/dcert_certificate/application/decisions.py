"""审核: the reviewer's decisions on an application and on the agent who made it, the approval
of each matter, and a cancellation on a fact."""

from __future__ import annotations

import uuid

from dcert_shared.envelope import CommandContext
from dcert_shared.uow import UnitOfWork

from ..domain.application import AgentDecision, Application, Decision, MatterKind, Status
from ..domain.certificate import Certificate, CertificateStatus, Holder, Successor, compose_number
from ..domain.errors import CertificateNotFound
from ..domain.person import GUARDIANS, last_day_as_minor
from .service import CertificateService


class DecisionCommands:
    """The reviewer's use cases."""

    def __init__(self, service: CertificateService) -> None:
        self.service = service

    async def decide(
        self,
        context: CommandContext,
        application_id: str,
        decision: Decision,
        reason: str,
        agent_decision: AgentDecision | None = None,
    ) -> None:
        """审核, and with it the agent who applied: confirmed or refused on the evidence checked
        (`agent_decision`); approving a minor's application made by a parent or guardian confirms
        them unless refused."""

        async def run(uow: UnitOfWork) -> None:
            application = await self.service.application(uow, application_id)
            approving = decision == Decision.APPROVE
            await self._decide_agent(uow, application, agent_decision, approving)
            match decision:
                case Decision.APPROVE:
                    await self._approve(uow, application)
                case Decision.REJECT:
                    application.reject(reason)
                    await self.service.close_for_person(uow, application)
                case Decision.RETURN:
                    application.return_for_correction(reason)

        await self.service.es.execute(context, run)

    async def decide_agent(
        self, context: CommandContext, application_id: str, agent_decision: AgentDecision
    ) -> None:
        """The reviewer confirms or refuses the agent who applied, on the evidence, whenever it
        is checked (before the decision on the matter, or with it)."""

        async def run(uow: UnitOfWork) -> None:
            application = await self.service.application(uow, application_id)
            await self._decide_agent(uow, application, agent_decision, approving=False)

        await self.service.es.execute(context, run)

    async def cancel_on_fact(self, context: CommandContext, number: str, reason: str, region: str) -> None:
        """A reviewer records a fact that ends the certificate (fraud, no longer eligible, ...)."""

        async def run(uow: UnitOfWork) -> None:
            certificate = await uow.load(Certificate, number)
            if certificate is None or certificate.household_region != region:
                raise CertificateNotFound()
            certificate.require_status(CertificateStatus.ACTIVE, CertificateStatus.LOST)
            await self.service.close_certificate(uow, certificate, reason, None)

        await self.service.es.execute(context, run)

    async def _decide_agent(
        self, uow: UnitOfWork, application: Application, agent_decision: AgentDecision | None, approving: bool
    ) -> None:
        agent_ref = application.agent_ref
        if agent_ref is None or agent_ref == application.person_ref:
            return
        person = await self.service.person(uow, application.person_ref)
        guardian_of_minor = application.is_minor and application.agent_relationship in GUARDIANS
        if agent_decision == AgentDecision.REFUSED:
            if not person.refuse_agent(agent_ref, "refused by the reviewer"):
                person.end_agency(agent_ref, "revoked_by_reviewer")
        elif agent_decision == AgentDecision.CONFIRMED or (
            approving and guardian_of_minor and agent_decision is None
        ):
            until = last_day_as_minor(application.birth_date) if guardian_of_minor else None
            person.verify_agent(agent_ref, "reviewer", until)

    # -- approvals, one per matter ------------------------------------------------------------
    async def _approve(self, uow: UnitOfWork, application: Application) -> None:
        # First: an application still being assessed has no grade to make a number from.
        application.require_decidable()
        if application.matter is MatterKind.NEW:
            await self._issue_new(uow, application)
            return
        assert application.subject_certificate is not None
        certificate = await uow.load(Certificate, application.subject_certificate)
        assert certificate is not None
        certificate.require_approvable(application.matter)
        match application.matter:
            case MatterKind.RENEWAL:
                await self._renew(uow, application, certificate)
            case MatterKind.REPLACEMENT:
                successor = certificate.supersede_by_replacement(
                    application.reason or "damaged", application.id
                )
                await self._open_successor(uow, application, certificate, successor)
            case MatterKind.GRADE_CHANGE:
                assert application.grade is not None
                successor = certificate.supersede_by_grade(application.grade, application.id)
                await self._open_successor(uow, application, certificate, successor)
            case MatterKind.TRANSFER:
                await self._transfer(uow, application, certificate)
            case MatterKind.CANCELLATION:
                await self._cancel(uow, application, certificate)

    async def _issue_new(self, uow: UnitOfWork, application: Application) -> None:
        service = self.service
        assert application.grade is not None
        person = await service.person(uow, application.person_ref)
        if application.agent_claimed:  # never opened for the person: their state is checked now
            person.require_issuable_on_claim(service.today())
        number = compose_number(application.applicant_id_number, application.grade)
        application.approve(number)
        person.certificate_issued(application.id, number)
        certificate = await service.certificate_slot(uow, number)
        certificate.issue(
            application_id=application.id,
            holder=service.holder(application, person.verified_agents),
            category=application.grade.category,
            level=application.grade.level,
            household_region=application.household_region,
            residence_region=application.residence_region,
            today=service.today(),
            applied_on=application.submitted_on,
        )
        service.order_card_for(uow, certificate, application)

    async def _renew(self, uow: UnitOfWork, application: Application, certificate: Certificate) -> None:
        """换领: same number when the grade is unchanged; a re-assessed new grade changes it."""
        if application.grade is not None and application.grade != certificate.grade:
            successor = certificate.supersede_by_grade(application.grade, application.id)
            await self._open_successor(uow, application, certificate, successor)
            return
        if certificate.status is CertificateStatus.EXPIRED:
            person = await self.service.person(uow, certificate.person_ref)
            person.record_live(certificate.id)
        certificate.renew(application.id, self.service.today())
        await self.service.replace_card(uow, certificate, application, "renewed")
        certificate.close_matter(application.id)
        application.approve(certificate.id)

    async def _open_successor(
        self, uow: UnitOfWork, application: Application, old: Certificate, successor: Successor
    ) -> None:
        """The old number closed: the new one opens in the same transaction."""
        service = self.service
        person = await service.person(uow, old.person_ref)
        person.certificate_superseded(old.id, successor.number)
        for card in await service.counting_cards(uow, old.id):
            card.invalidate("replaced")
        new = await service.certificate_slot(uow, successor.number)
        new.issue(
            application_id=application.id,
            holder=Holder(
                old.person_ref,
                old.agent_refs,
                old.holder_name,
                old.mail_address,
                service.age(old.holder_id_number),
            ),
            category=successor.grade.category,
            level=successor.grade.level,
            household_region=old.household_region,
            residence_region=old.residence_region,
            today=service.today(),
            expires_on=successor.expires_on,
            previous_number=old.id,
            replacement_count=successor.replacement_count,
            applied_on=application.submitted_on,
        )
        old.close_matter(application.id)
        application.approve(successor.number)
        service.order_card_for(uow, new, application)

    async def _transfer(self, uow: UnitOfWork, application: Application, certificate: Certificate) -> None:
        """迁移: the old region issues the migration certificate; the new region takes the record."""
        today = self.service.today()
        if application.status is Status.SUBMITTED:
            migration_number = f"QY{today:%Y%m%d}{uuid.uuid4().hex[:8].upper()}"
            application.issue_migration_certificate(migration_number, today, self.service.deadlines)
            return
        application.require_decidable()
        assert application.to_region is not None
        assert application.migration_number is not None
        certificate.transfer(application.to_region, application.migration_number, application.id)
        await self.service.replace_card(uow, certificate, application, "transferred")
        certificate.close_matter(application.id)
        application.approve(certificate.id)

    async def _cancel(self, uow: UnitOfWork, application: Application, certificate: Certificate) -> None:
        await self.service.close_certificate(
            uow, certificate, application.reason or "voluntary", application.id
        )
        certificate.close_matter(application.id)
        application.approve(certificate.id)
