"""What a person (or their agent) asks for: an application for any matter, a loss report, and
what they do with an application afterwards (withdraw, correct, dispute the result)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from dcert_shared.envelope import CommandContext
from dcert_shared.ids import IdentityNumber
from dcert_shared.uow import Idempotency, UnitOfWork

from ..domain.application import Agent, Applicant, Application, Grade, Matter, MatterKind
from .service import CertificateService


@dataclass(frozen=True)
class NewApplication:
    applicant: Applicant
    agent: Agent | None
    declared_category: str
    home_visit: bool
    documents: list[dict[str, str]] = field(default_factory=list)
    card_delivery: str = "mail"


@dataclass(frozen=True)
class MatterRequest:
    """A matter on an existing certificate, asked by its holder or a recorded agent."""

    kind: MatterKind
    certificate_number: str
    requester_ref: str
    reason: str | None = None
    to_region: str | None = None
    declared_category: str | None = None
    declared_level: int | None = None
    residence_region: str | None = None
    home_visit: bool = False
    documents: list[dict[str, str]] = field(default_factory=list)
    card_delivery: str = "mail"

    @property
    def declared_grade(self) -> Grade | None:
        if self.declared_category is None or self.declared_level is None:
            return None
        return Grade(self.declared_category, self.declared_level)


class SubmissionCommands:
    """申请 and the applicant's own later steps."""

    def __init__(self, service: CertificateService) -> None:
        self.service = service

    async def submit_new(
        self, context: CommandContext, once: Idempotency, application: NewApplication
    ) -> tuple[dict[str, Any], bool]:
        """新办. By the person (or an agent already verified for them): refused when the person
        may not apply now. By an agent not verified for the person: the answer is the same
        whatever the person's state (that state is the person's, not the caller's to learn); the
        reviewer sees why it cannot be approved, if it cannot (docs/agents.md)."""
        service = self.service

        async def decide(uow: UnitOfWork) -> dict[str, Any]:
            application_id = str(uuid.uuid4())
            today = service.today()
            person = await service.person(uow, application.applicant.person_ref)
            agent = application.agent
            claimed = agent is not None and not person.claim_agent(
                agent.agent_ref, agent.relationship, application_id, application.applicant.household_region
            )
            refusal = person.new_application_refusal(today) if claimed else None
            if not claimed:
                person.open_new_application(application_id, today)
            applicant = application.applicant
            if refusal == "person_erased":  # nothing of theirs is kept again, nor assessed
                applicant = replace(
                    applicant, id_number=None, name=None, phone=None, address=None, birth_date=date.min
                )
            submitted = Application.submit(
                application_id,
                applicant,
                agent,
                Matter(
                    kind=MatterKind.NEW,
                    declared_category=application.declared_category,
                    home_visit=application.home_visit,
                    documents=application.documents,
                    card_delivery=application.card_delivery,
                    needs_assessment=refusal != "person_erased",
                ),
                today,
                service.deadlines,
                verified_agents=person.verified_agents,
                agent_claimed=claimed,
                person_state=refusal,
            )
            uow.track(submitted)
            return {"id": application_id, "status": submitted.status.value, "matter": MatterKind.NEW.value}

        return await service.es.execute_idempotent(context, once.principal, once.key, once.request, decide)

    async def submit_matter(
        self, context: CommandContext, once: Idempotency, request: MatterRequest
    ) -> tuple[dict[str, Any], bool]:
        service = self.service

        async def decide(uow: UnitOfWork) -> dict[str, Any]:
            application_id = str(uuid.uuid4())
            certificate = await service.holders_certificate(
                uow, request.certificate_number, request.requester_ref
            )
            person = await service.person(uow, certificate.person_ref)
            today = service.today()
            loss_first = certificate.check_matter(
                request.kind,
                today,
                service.renewal_rule,
                reason=request.reason,
                declared=request.declared_grade,
                to_region=request.to_region,
            )
            if loss_first:
                await service.report_lost(uow, certificate)
            certificate.open_matter_for(application_id, request.kind)
            id_number = certificate.holder_id_number
            submitted = Application.submit(
                application_id,
                Applicant(
                    id_number=id_number,
                    name=certificate.holder_name,
                    phone=None,
                    address=certificate.mail_address,
                    household_region=certificate.household_region,
                    residence_region=request.residence_region or certificate.residence_region,
                    birth_date=IdentityNumber.parse(id_number).birth_date,
                    person_ref=certificate.person_ref,
                ),
                None,
                Matter(
                    kind=request.kind,
                    declared_category=request.declared_category or certificate.category,
                    home_visit=request.home_visit,
                    certificate_number=certificate.id,
                    current_grade=certificate.grade,
                    reason=request.reason,
                    to_region=request.to_region,
                    declared_level=request.declared_level,
                    accepting_region=request.residence_region or certificate.household_region,
                    needs_assessment=request.kind.needs_assessment(
                        service.settings.renewal_requires_assessment
                    ),
                    documents=request.documents,
                    card_delivery=request.card_delivery,
                    agent_ref=None
                    if request.requester_ref == certificate.person_ref
                    else request.requester_ref,
                ),
                today,
                service.deadlines,
                verified_agents=person.verified_agents,
            )
            uow.track(submitted)
            return {"id": application_id, "status": submitted.status.value, "matter": request.kind.value}

        return await service.es.execute_idempotent(context, once.principal, once.key, once.request, decide)

    async def report_loss(self, context: CommandContext, number: str, requester_ref: str) -> None:
        """挂失 on its own: the card and the codes stop at once; the replacement may come later."""

        async def run(uow: UnitOfWork) -> None:
            certificate = await self.service.holders_certificate(uow, number, requester_ref)
            await self.service.report_lost(uow, certificate)

        await self.service.es.execute(context, run)

    async def withdraw(self, context: CommandContext, application_id: str) -> None:
        async def run(uow: UnitOfWork) -> None:
            application = await self.service.application(uow, application_id)
            application.withdraw()
            await self.service.close_for_person(uow, application)

        await self.service.es.execute(context, run)

    async def resubmit(
        self, context: CommandContext, application_id: str, corrections: dict[str, object]
    ) -> None:
        async def run(uow: UnitOfWork) -> None:
            application = await self.service.application(uow, application_id)
            application.resubmit(corrections, self.service.today(), self.service.deadlines)

        await self.service.es.execute(context, run)

    async def dispute(self, context: CommandContext, application_id: str, reason: str) -> None:
        async def run(uow: UnitOfWork) -> None:
            application = await self.service.application(uow, application_id)
            person = await self.service.person(uow, application.person_ref)
            application.dispute(reason, self.service.today(), person.verified_agents)

        await self.service.es.execute(context, run)
