"""Use cases of the certificate service: load, decide, save. Reactions to other services too.

Every matter that changes which certificate is live touches the person's stream in the same
transaction as the certificate's, so no moment exists with two live certificates or none.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from dcert_shared.envelope import SYSTEM, CommandContext, EventEnvelope
from dcert_shared.ids import IdentityNumber, china_today, keyed_hash
from dcert_shared.regions import NATIONAL
from dcert_shared.runtime import ServiceRuntime
from dcert_shared.uow import EventSourcing, Idempotency, UnitOfWork

from ..adapters import queries
from ..domain.application import Agent, Applicant, Application, Deadlines, Grade, Matter, Status, age_on
from ..domain.card import Card
from ..domain.certificate import (
    Certificate,
    CertificateStatus,
    Holder,
    RenewalRule,
    base_number,
)
from ..domain.errors import (
    AlreadyReportedLost,
    ApplicationNotFound,
    CertificateNotFound,
    GradeUnchanged,
    LiveCertificateExists,
    PersonErasedError,
    ReapplicationBarredError,
    SameGrade,
    SameRegion,
)
from ..domain.person import Person
from ..settings import CertificateSettings

CATEGORY_CODES = {
    "visual": 1,
    "hearing": 2,
    "speech": 3,
    "physical": 4,
    "intellectual": 5,
    "mental": 6,
    "multiple": 7,
}


ACTIVE, LOST, EXPIRED = CertificateStatus.ACTIVE, CertificateStatus.LOST, CertificateStatus.EXPIRED
APPROVABLE: dict[str, tuple[CertificateStatus, ...]] = {
    "renewal": (ACTIVE, EXPIRED),
    "replacement": (ACTIVE, LOST),
    "grade_change": (ACTIVE,),
    "transfer": (ACTIVE,),
    "cancellation": (ACTIVE, LOST),
}

# 监护人: who acts for a minor by law; approving the child's application confirms them (they are
# verified until the day before the child's 18th birthday).
GUARDIANS = frozenset({"parent", "guardian"})
REFUSALS: dict[str, type[Exception]] = {
    "person_erased": PersonErasedError,
    "reapplication_barred": ReapplicationBarredError,
    "live_certificate_exists": LiveCertificateExists,
}


def last_day_as_minor(birth_date: date) -> date:
    """The day before the 18th birthday (29 February birthdays come of age on 1 March)."""
    try:
        birthday = birth_date.replace(year=birth_date.year + 18)
    except ValueError:
        birthday = date(birth_date.year + 18, 3, 1)
    return birthday - timedelta(days=1)


MOOT_REASON = "残疾人证已注销，此事项不再办理 / The certificate was cancelled; this matter ends"
DECEASED_REASON = "申请人已身故，申请终止 / The applicant has died; the application ends"


def compose_number(id_number: str, grade: Grade) -> str:
    """Identity number + category digit + grade digit (DOMAIN.md)."""
    return f"{id_number}{CATEGORY_CODES[grade.category]}{grade.level}"


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

    kind: str
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


class CertificateCommands:
    """The certificate service's commands over its event store."""

    def __init__(
        self, runtime: ServiceRuntime, settings: CertificateSettings, today: Callable[[], date] = china_today
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.today = today
        self.calendar = settings.working_calendar()
        self.deadlines = Deadlines(
            self.calendar.add_working_days,
            public_notice=settings.public_notice_working_days,
            review=settings.review_working_days,
            dispute=settings.dispute_working_days,
        )
        self.renewal_rule = RenewalRule(settings.renewal_window_months, settings.renewal_reminder_days)

    @property
    def es(self) -> EventSourcing:
        return self.runtime.es

    def person_ref(self, id_number: str) -> str:
        return keyed_hash(self.settings.identity_hash_key_bytes, id_number)

    # -- submissions --------------------------------------------------------------------------
    async def submit_new(
        self, context: CommandContext, once: Idempotency, application: NewApplication
    ) -> tuple[dict[str, Any], bool]:
        """新办. By the person (or an agent already verified for them): refused when the person
        may not apply now. By an agent not verified for the person: the answer is the same
        whatever the person's state (that state is the person's, not the caller's to learn); the
        reviewer sees why it cannot be approved, if it cannot (docs/agents.md)."""

        async def decide(uow: UnitOfWork) -> dict[str, Any]:
            application_id = str(uuid.uuid4())
            today = self.today()
            person = await self._person(uow, application.applicant.person_ref)
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
                    kind="new",
                    declared_category=application.declared_category,
                    home_visit=application.home_visit,
                    documents=application.documents,
                    card_delivery=application.card_delivery,
                    needs_assessment=refusal != "person_erased",
                ),
                today,
                self.deadlines,
                verified_agents=person.verified_agents,
                agent_claimed=claimed,
                person_state=refusal,
            )
            uow.track(submitted)
            return {"id": application_id, "status": submitted.status.value, "matter": "new"}

        return await self.es.execute_idempotent(context, once.principal, once.key, once.request, decide)

    async def submit_matter(
        self, context: CommandContext, once: Idempotency, request: MatterRequest
    ) -> tuple[dict[str, Any], bool]:
        async def decide(uow: UnitOfWork) -> dict[str, Any]:
            application_id = str(uuid.uuid4())
            certificate = await self._holders_certificate(
                uow, request.certificate_number, request.requester_ref
            )
            person = await self._person(uow, certificate.person_ref)
            today = self.today()
            await self._check_matter(uow, certificate, request, today)
            certificate.open_matter_for(application_id, request.kind)
            id_number = base_number(certificate.id)[:18]
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
                    current_grade=Grade(certificate.category, certificate.level),
                    reason=request.reason,
                    to_region=request.to_region,
                    declared_level=request.declared_level,
                    accepting_region=request.residence_region or certificate.household_region,
                    needs_assessment=self._needs_assessment(request.kind),
                    documents=request.documents,
                    card_delivery=request.card_delivery,
                    agent_ref=None
                    if request.requester_ref == certificate.person_ref
                    else request.requester_ref,
                ),
                today,
                self.deadlines,
                verified_agents=person.verified_agents,
            )
            uow.track(submitted)
            return {"id": application_id, "status": submitted.status.value, "matter": request.kind}

        return await self.es.execute_idempotent(context, once.principal, once.key, once.request, decide)

    def _needs_assessment(self, matter: str) -> bool:
        return matter == "grade_change" or (matter == "renewal" and self.settings.renewal_requires_assessment)

    async def _check_matter(
        self, uow: UnitOfWork, certificate: Certificate, request: MatterRequest, today: date
    ) -> None:
        """Each matter's own rules on the certificate's state (DOMAIN.md "Matters")."""
        active = CertificateStatus.ACTIVE
        match request.kind:
            case "renewal":
                certificate.require_renewable(today, self.renewal_rule)
            case "replacement" if request.reason == "lost":
                if certificate.status is CertificateStatus.LOST and certificate.open_matter is not None:
                    raise AlreadyReportedLost()
                if certificate.status is not CertificateStatus.LOST:
                    await self._report_lost(uow, certificate, today)
            case "replacement":
                certificate.require_status(active)
            case "grade_change":
                certificate.require_status(active)
                if (
                    request.declared_category == certificate.category
                    and request.declared_level == certificate.level
                ):
                    raise SameGrade()
            case "transfer":
                certificate.require_status(active)
                if request.to_region == certificate.household_region:
                    raise SameRegion()
            case "cancellation":
                certificate.require_status(active, CertificateStatus.LOST)

    async def report_loss(self, context: CommandContext, number: str, requester_ref: str) -> None:
        """挂失 on its own: the card and the codes stop at once; the replacement may come later."""

        async def run(uow: UnitOfWork) -> None:
            certificate = await self._holders_certificate(uow, number, requester_ref)
            await self._report_lost(uow, certificate, self.today())

        await self.es.execute(context, run)

    async def _report_lost(self, uow: UnitOfWork, certificate: Certificate, today: date) -> None:
        certificate.report_lost(today)
        for card in await self._cards_of(uow, certificate.id):
            card.report_lost()

    # -- erasure (crypto-shredding, ADR 0005) -------------------------------------------------
    async def erase_person(self, context: CommandContext, person_ref: str, legal_basis: str) -> bool:
        """Record the erasure and destroy the person's data key, in one transaction; False when
        the person was erased before (nothing changes)."""

        async def run(uow: UnitOfWork) -> bool:
            person = await self._person(uow, person_ref)
            if not person.erase(legal_basis, self.today()):
                return False
            await self.runtime.vault.erase(uow.conn, person_ref)
            return True

        return await self.es.execute(context, run)

    async def reapply_erasure(self, person_ref: str) -> None:
        """After a restore from an older backup: the erasure the broker remembers is recorded
        again, so that the read models forget the person too."""

        async def run(uow: UnitOfWork) -> None:
            person = await self._person(uow, person_ref)
            person.erase("restored_backup", self.today(), reapplied=True)

        await self.es.execute(CommandContext(actor=SYSTEM), run)

    # -- the applicant's own actions ---------------------------------------------------------
    async def withdraw(self, context: CommandContext, application_id: str) -> None:
        async def run(uow: UnitOfWork) -> None:
            application = await self._application(uow, application_id)
            application.withdraw()
            await self._close_for_person(uow, application)

        await self.es.execute(context, run)

    async def resubmit(
        self, context: CommandContext, application_id: str, corrections: dict[str, object]
    ) -> None:
        async def run(uow: UnitOfWork) -> None:
            application = await self._application(uow, application_id)
            application.resubmit(corrections, self.today(), self.deadlines)

        await self.es.execute(context, run)

    async def dispute(self, context: CommandContext, application_id: str, reason: str) -> None:
        async def run(uow: UnitOfWork) -> None:
            application = await self._application(uow, application_id)
            person = await self._person(uow, application.person_ref)
            application.dispute(reason, self.today(), person.verified_agents)

        await self.es.execute(context, run)

    # -- review -------------------------------------------------------------------------------
    async def decide(
        self,
        context: CommandContext,
        application_id: str,
        decision: str,
        reason: str,
        agent_decision: str | None = None,
    ) -> None:
        """审核, and with it the agent who applied: confirmed or refused on the evidence checked
        (`agent_decision`); approving a minor's application made by a parent or guardian confirms
        them unless refused."""

        async def run(uow: UnitOfWork) -> None:
            application = await self._application(uow, application_id)
            await self._decide_agent(uow, application, agent_decision, decision == "approve")
            if decision == "approve":
                await self._approve(uow, application)
            elif decision == "reject":
                application.reject(reason)
                await self._close_for_person(uow, application)
            else:
                application.return_for_correction(reason)

        await self.es.execute(context, run)

    async def decide_agent(self, context: CommandContext, application_id: str, agent_decision: str) -> None:
        """The reviewer confirms or refuses the agent who applied, on the evidence, whenever it
        is checked (before the decision on the matter, or with it)."""

        async def run(uow: UnitOfWork) -> None:
            application = await self._application(uow, application_id)
            await self._decide_agent(uow, application, agent_decision, approving=False)

        await self.es.execute(context, run)

    async def _decide_agent(
        self, uow: UnitOfWork, application: Application, agent_decision: str | None, approving: bool
    ) -> None:
        agent_ref = application.agent_ref
        if agent_ref is None or agent_ref == application.person_ref:
            return
        person = await self._person(uow, application.person_ref)
        guardian_of_minor = application.is_minor and application.agent_relationship in GUARDIANS
        if agent_decision == "refused":
            if not person.refuse_agent(agent_ref, "refused by the reviewer"):
                person.end_agency(agent_ref, "revoked_by_reviewer")
        elif agent_decision == "confirmed" or (approving and guardian_of_minor and agent_decision is None):
            until = last_day_as_minor(application.birth_date) if guardian_of_minor else None
            person.verify_agent(agent_ref, "reviewer", until)

    async def _approve(self, uow: UnitOfWork, application: Application) -> None:
        # First: an application still being assessed has no grade to make a number from.
        application.require_decidable()
        if application.matter == "new":
            await self._issue_new(uow, application)
            return
        assert application.subject_certificate is not None
        certificate = await uow.load(Certificate, application.subject_certificate)
        assert certificate is not None
        # The certificate may have changed since the submission (a death reported, an expiry).
        certificate.require_status(*APPROVABLE[application.matter])
        match application.matter:
            case "renewal":
                await self._renew(uow, application, certificate)
            case "replacement":
                await self._replace(uow, application, certificate)
            case "grade_change":
                await self._change_grade(uow, application, certificate)
            case "transfer":
                await self._transfer(uow, application, certificate)
            case "cancellation":
                await self._cancel(uow, application, certificate)

    async def _issue_new(self, uow: UnitOfWork, application: Application) -> None:
        assert application.grade is not None
        person = await self._person(uow, application.person_ref)
        if application.agent_claimed:  # never opened for the person: their state is checked now
            refused = REFUSALS.get(person.new_application_refusal(self.today()) or "")
            if refused is not None:
                raise refused()
        number = compose_number(application.applicant_id_number, application.grade)
        application.approve(number)
        person.certificate_issued(application.id, number)
        certificate = await self._certificate_slot(uow, number)
        certificate.issue(
            application_id=application.id,
            holder=self._holder(application, person.verified_agents),
            category=application.grade.category,
            level=application.grade.level,
            household_region=application.household_region,
            residence_region=application.residence_region,
            today=self.today(),
            applied_on=application.submitted_on,
        )
        await self._order_card(uow, certificate, application)

    async def _renew(self, uow: UnitOfWork, application: Application, certificate: Certificate) -> None:
        """换领: same number when the grade is unchanged; a re-assessed new grade changes it."""
        if application.grade is not None and application.grade != Grade(
            certificate.category, certificate.level
        ):
            await self._supersede(uow, application, certificate, application.grade, "grade_change")
            return
        if certificate.status is CertificateStatus.EXPIRED:
            person = await self._person(uow, certificate.person_ref)
            person.record_live(certificate.id)
        certificate.renew(application.id, self.today())
        await self._replace_card(uow, certificate, application, "renewed")
        certificate.close_matter(application.id)
        application.approve(certificate.id)

    async def _replace(self, uow: UnitOfWork, application: Application, certificate: Certificate) -> None:
        await self._supersede(
            uow, application, certificate, Grade(certificate.category, certificate.level), "replacement"
        )

    async def _change_grade(
        self, uow: UnitOfWork, application: Application, certificate: Certificate
    ) -> None:
        assert application.grade is not None
        if application.grade == Grade(certificate.category, certificate.level):
            raise GradeUnchanged()
        await self._supersede(uow, application, certificate, application.grade, "grade_change")

    async def _supersede(
        self, uow: UnitOfWork, application: Application, old: Certificate, grade: Grade, how: str
    ) -> None:
        """The old number closes and the new one opens in the same transaction."""
        id_number = base_number(old.id)[:18]
        if how == "replacement":
            new_number, count = old.next_replacement_number(), old.replacement_count + 1
            old.replaced_by(new_number, application.reason or "damaged", application.id)
            expires_on: date | None = old.expires_on
        else:
            new_number, count = compose_number(id_number, grade), 0
            old.grade_changed(new_number, grade.category, grade.level, application.id)
            expires_on = None
        person = await self._person(uow, old.person_ref)
        person.certificate_superseded(old.id, new_number)
        for card in await self._cards_of(uow, old.id):
            card.invalidate("replaced")
        new = await self._certificate_slot(uow, new_number)
        new.issue(
            application_id=application.id,
            holder=Holder(
                old.person_ref, old.agent_refs, old.holder_name, old.mail_address, self._age(id_number)
            ),
            category=grade.category,
            level=grade.level,
            household_region=old.household_region,
            residence_region=old.residence_region,
            today=self.today(),
            expires_on=expires_on,
            previous_number=old.id,
            replacement_count=count,
            applied_on=application.submitted_on,
        )
        old.close_matter(application.id)
        application.approve(new_number)
        await self._order_card(uow, new, application)

    async def _transfer(self, uow: UnitOfWork, application: Application, certificate: Certificate) -> None:
        """迁移: the old region issues the migration certificate; the new region takes the record."""
        if application.status is Status.SUBMITTED:
            migration_number = f"QY{self.today():%Y%m%d}{uuid.uuid4().hex[:8].upper()}"
            application.issue_migration_certificate(migration_number, self.today(), self.deadlines)
            return
        application.require_decidable()
        assert application.to_region is not None and application.migration_number is not None
        certificate.transfer(application.to_region, application.migration_number, application.id)
        await self._replace_card(uow, certificate, application, "transferred")
        certificate.close_matter(application.id)
        application.approve(certificate.id)

    async def _cancel(self, uow: UnitOfWork, application: Application, certificate: Certificate) -> None:
        reason = application.reason or "voluntary"
        await self._close_certificate(uow, certificate, reason, application.id)
        certificate.close_matter(application.id)
        application.approve(certificate.id)

    async def cancel_on_fact(self, context: CommandContext, number: str, reason: str, region: str) -> None:
        """A reviewer records a fact that ends the certificate (fraud, no longer eligible, ...)."""

        async def run(uow: UnitOfWork) -> None:
            certificate = await uow.load(Certificate, number)
            if certificate is None or certificate.household_region != region:
                raise CertificateNotFound()
            certificate.require_status(CertificateStatus.ACTIVE, CertificateStatus.LOST)
            await self._close_certificate(uow, certificate, reason, None)

        await self.es.execute(context, run)

    async def _close_certificate(
        self,
        uow: UnitOfWork,
        certificate: Certificate,
        reason: str,
        application_id: str | None,
        effective_date: date | None = None,
    ) -> None:
        """注销 with everything that hangs on it: the person, the cards, another open matter."""
        today = self.today()
        if not certificate.cancel(reason, effective_date or today, application_id):
            return
        person = await self._person(uow, certificate.person_ref)
        person.certificate_closed(certificate.id)
        if reason == "voluntary":
            person.bar_reapplication(today + timedelta(days=self.settings.reapplication_bar_days))
        for card in await self._cards_of(uow, certificate.id):
            card.invalidate("cancelled")
        other = certificate.open_matter
        if other is not None and other != application_id:
            pending = await uow.load(Application, other)
            if pending is not None and pending.is_open:
                pending.end_as_moot(MOOT_REASON)
            certificate.close_matter(other)

    async def _close_for_person(self, uow: UnitOfWork, application: Application) -> None:
        if application.matter == "new":
            person = await uow.load(Person, application.person_ref)
            if person is not None:
                person.close_application(application.id)
        elif application.subject_certificate is not None:
            certificate = await uow.load(Certificate, application.subject_certificate)
            if certificate is not None:
                certificate.close_matter(application.id)

    # -- agents -------------------------------------------------------------------------------
    async def end_agency(self, context: CommandContext, person_ref: str, agent_ref: str, reason: str) -> bool:
        """The person (or a reviewer) ends an agency; False when it was not in force."""

        async def run(uow: UnitOfWork) -> bool:
            person = await uow.load(Person, person_ref)
            return person is not None and person.end_agency(agent_ref, reason)

        return await self.es.execute(context, run)

    async def confirm_agency(
        self, context: CommandContext, person_ref: str, agent_ref: str, basis: str
    ) -> bool:
        """A reviewer confirms (or renews: a guardian of an adult without capacity) an agency on
        the evidence checked; without an end."""

        async def run(uow: UnitOfWork) -> bool:
            person = await uow.load(Person, person_ref)
            return person is not None and person.verify_agent(agent_ref, basis, None)

        return await self.es.execute(context, run)

    async def end_agencies_run_out(self, context: CommandContext) -> int:
        """A guardian's rights end when the child comes of age (unless renewed meanwhile)."""
        ended = 0
        for due in await queries.people_with_agencies_run_out(self.es.pool, self.today()):

            async def run(uow: UnitOfWork, person_ref: str = due) -> int:
                person = await uow.load(Person, person_ref)
                if person is None:
                    return 0
                run_out = person.agencies_run_out(self.today())
                for agent_ref in run_out:
                    person.end_agency(agent_ref, "came_of_age")
                return len(run_out)

            ended += await self.es.execute(context, run)
        return ended

    async def on_guardianship_reported(self, uow: UnitOfWork, envelope: EventEnvelope) -> None:
        """The household register (a partner's fact through the benefits service) names a
        guardian of the person: their claim is verified by it, now or when they make it."""
        data = envelope.payload
        person = await self._person(uow, str(data["person_ref"]))
        until = date.fromisoformat(data["until"]) if data.get("until") else None
        person.guardian_recorded(
            str(data["guardian_ref"]),
            str(data.get("relationship") or "guardian"),
            until,
            data.get("jurisdiction") or [NATIONAL],
        )

    # -- the clock ----------------------------------------------------------------------------
    async def end_due_public_notices(self, context: CommandContext) -> int:
        """公示期满: move every application whose notice period has passed to the review queue."""
        ended = 0
        for due in await queries.applications_past_public_notice(self.es.pool, self.today()):

            async def run(uow: UnitOfWork, application_id: str = due) -> bool:
                application = await uow.load(Application, application_id)
                return application is not None and application.end_public_notice(self.today(), self.deadlines)

            ended += await self.es.execute(context, run)
        return ended

    async def run_expiry(self, context: CommandContext) -> dict[str, int]:
        """到期: record `CertificateExpired` after the last valid day and remind before the renewal
        window opens. Each certificate decides on its own state, so a second run changes nothing."""
        today = self.today()
        reminder_horizon = today + timedelta(
            days=self.settings.renewal_reminder_days + 31 * self.settings.renewal_window_months
        )
        expiring = await queries.certificates_past_expiry(self.es.pool, today)
        reminding = await queries.certificates_to_remind(self.es.pool, reminder_horizon)
        expired = 0
        for due in expiring:

            async def expire(uow: UnitOfWork, number: str = due) -> bool:
                certificate = await uow.load(Certificate, number)
                if certificate is None or not certificate.expire(today):
                    return False
                person = await self._person(uow, certificate.person_ref)
                person.certificate_closed(certificate.id)
                for card in await self._cards_of(uow, certificate.id):
                    card.invalidate("expired")
                return True

            expired += await self.es.execute(context, expire)
        reminded = 0
        for due in reminding:

            async def remind(uow: UnitOfWork, number: str = due) -> bool:
                certificate = await uow.load(Certificate, number)
                return certificate is not None and certificate.remind_renewal(today, self.renewal_rule)

            reminded += await self.es.execute(context, remind)
        return {"expired": expired, "reminded": reminded}

    # -- reactions to other services ----------------------------------------------------------
    async def on_assessment_scheduled(self, uow: UnitOfWork, envelope: EventEnvelope) -> None:
        data = envelope.payload
        application = await uow.load(Application, data["application_id"])
        if application is not None:
            application.assessment_assigned(data["assessment_id"], data["doctor_id"])

    async def on_grade_recorded(self, uow: UnitOfWork, envelope: EventEnvelope) -> None:
        data = envelope.payload
        application = await uow.load(Application, data["application_id"])
        if application is None:
            return
        application.result_received(
            assessment_id=data["assessment_id"],
            grade=Grade(data["category"], int(data["level"])),
            components=list(data.get("components") or []),
            override_reason_given=bool(data.get("override_reason_given")),
            today=self.today(),
            deadlines=self.deadlines,
        )

    # -- loading ------------------------------------------------------------------------------
    async def _application(self, uow: UnitOfWork, application_id: str) -> Application:
        application = await uow.load(Application, application_id)
        if application is None:
            raise ApplicationNotFound()
        return application

    async def _person(self, uow: UnitOfWork, person_ref: str) -> Person:
        person = await uow.load(Person, person_ref)
        if person is None:
            person = Person(person_ref)
            uow.track(person)
        return person

    async def _certificate_slot(self, uow: UnitOfWork, number: str) -> Certificate:
        """The stream of this number: new, or a closed one that lives again."""
        certificate = await uow.load(Certificate, number)
        if certificate is None:
            certificate = Certificate(number)
            uow.track(certificate)
        return certificate

    async def _holders_certificate(self, uow: UnitOfWork, number: str, requester_ref: str) -> Certificate:
        """The certificate, if the requester holds it or is verified to act for its holder;
        absent otherwise (its existence is the holder's to know)."""
        certificate = await uow.load(Certificate, number)
        if certificate is None:
            raise CertificateNotFound()
        if requester_ref != certificate.person_ref:
            person = await uow.load(Person, certificate.person_ref)
            if person is None or not person.acts_for(requester_ref):
                raise CertificateNotFound()
        return certificate

    async def _cards_of(self, uow: UnitOfWork, number: str) -> list[Card]:
        """The certificate's cards that still count (neither lost nor invalidated)."""
        card_ids = await queries.counting_cards(uow.conn, number)
        cards = [await uow.load(Card, card_id) for card_id in card_ids]
        return [card for card in cards if card is not None]

    async def _order_card(self, uow: UnitOfWork, certificate: Certificate, application: Application) -> None:
        uow.track(
            Card.order(
                uuid.uuid4().hex,
                certificate_number=certificate.id,
                application_id=application.id,
                region=certificate.household_region,
                serial=certificate.serial,
                person_ref=certificate.person_ref,
                holder_name=certificate.holder_name,
                mail_address=application.applicant_address or certificate.mail_address,
                delivery=application.card_delivery,
                today=self.today(),
            )
        )

    async def _replace_card(
        self, uow: UnitOfWork, certificate: Certificate, application: Application, reason: str
    ) -> None:
        for card in await self._cards_of(uow, certificate.id):
            card.invalidate(reason)
        await self._order_card(uow, certificate, application)

    def _holder(self, application: Application, agent_refs: list[str]) -> Holder:
        return Holder(
            person_ref=application.person_ref,
            agent_refs=agent_refs,
            name=application.applicant_name,
            mail_address=application.applicant_address,
            age_years=age_on(application.birth_date, self.today()),
        )

    def _age(self, id_number: str) -> int:
        return age_on(IdentityNumber.parse(id_number).birth_date, self.today())
