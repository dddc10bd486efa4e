"""What every use case of the certificate service shares: the event store, the clock, the
working-day deadlines, and the steps several use cases take inside one unit of work.

Every matter that changes which certificate is live touches the person's stream in the same
transaction as the certificate's, so no moment exists with two live certificates or none.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta

from dcert_shared.ids import IdentityNumber, china_today, keyed_hash
from dcert_shared.runtime import ServiceRuntime
from dcert_shared.uow import EventSourcing, UnitOfWork

from ..adapters import queries
from ..domain.application import MOOT_REASON, Application, Deadlines, MatterKind, age_on
from ..domain.card import Card
from ..domain.certificate import Certificate, Holder, RenewalRule
from ..domain.errors import ApplicationNotFound, CertificateNotFound
from ..domain.person import Person
from ..settings import CertificateSettings


class CertificateService:
    """The certificate service's event store and rules of time, and its shared steps."""

    def __init__(
        self, runtime: ServiceRuntime, settings: CertificateSettings, today: Callable[[], date] = china_today
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.today = today
        self.deadlines = Deadlines(
            settings.working_calendar().add_working_days,
            public_notice=settings.public_notice_working_days,
            review=settings.review_working_days,
            dispute=settings.dispute_working_days,
        )
        self.renewal_rule = RenewalRule(settings.renewal_window_months, settings.renewal_reminder_days)

    @property
    def es(self) -> EventSourcing:
        return self.runtime.es

    def person_ref(self, id_number: str) -> str:
        """The keyed hash records of a person are filed under."""
        return keyed_hash(self.settings.identity_hash_key_bytes, id_number)

    def age(self, id_number: str) -> int:
        return age_on(IdentityNumber.parse(id_number).birth_date, self.today())

    # -- loading ------------------------------------------------------------------------------
    async def application(self, uow: UnitOfWork, application_id: str) -> Application:
        application = await uow.load(Application, application_id)
        if application is None:
            raise ApplicationNotFound()
        return application

    async def person(self, uow: UnitOfWork, person_ref: str) -> Person:
        """The person's stream, begun if this is the first of their records."""
        person = await uow.load(Person, person_ref)
        if person is None:
            person = uow.track(Person(person_ref))
        return person

    async def live_certificate(self, uow: UnitOfWork, person_ref: str) -> Certificate | None:
        person = await uow.load(Person, person_ref)
        if person is None or person.live_certificate is None:
            return None
        return await uow.load(Certificate, person.live_certificate)

    async def certificate_slot(self, uow: UnitOfWork, number: str) -> Certificate:
        """The stream of this number: new, or a closed one that lives again."""
        certificate = await uow.load(Certificate, number)
        if certificate is None:
            certificate = uow.track(Certificate(number))
        return certificate

    async def holders_certificate(self, uow: UnitOfWork, number: str, requester_ref: str) -> Certificate:
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

    async def counting_cards(self, uow: UnitOfWork, number: str) -> list[Card]:
        """The certificate's cards that still count (neither lost nor invalidated)."""
        cards = [await uow.load(Card, card_id) for card_id in await queries.counting_cards(uow.conn, number)]
        return [card for card in cards if card is not None]

    # -- steps of several use cases -----------------------------------------------------------
    def order_card(
        self,
        uow: UnitOfWork,
        certificate: Certificate,
        application_id: str,
        mail_address: str,
        delivery: str = "mail",
    ) -> None:
        uow.track(
            Card.order(
                uuid.uuid4().hex,
                certificate_number=certificate.id,
                application_id=application_id,
                region=certificate.household_region,
                serial=certificate.serial,
                person_ref=certificate.person_ref,
                holder_name=certificate.holder_name,
                mail_address=mail_address,
                delivery=delivery,
                today=self.today(),
            )
        )

    def order_card_for(self, uow: UnitOfWork, certificate: Certificate, application: Application) -> None:
        """The card of an approved application, posted to the applicant's address (or collected)."""
        self.order_card(
            uow,
            certificate,
            application.id,
            application.applicant_address or certificate.mail_address,
            application.card_delivery,
        )

    async def replace_card(
        self, uow: UnitOfWork, certificate: Certificate, application: Application, reason: str
    ) -> None:
        for card in await self.counting_cards(uow, certificate.id):
            card.invalidate(reason)
        self.order_card_for(uow, certificate, application)

    async def report_lost(self, uow: UnitOfWork, certificate: Certificate) -> None:
        """挂失: the certificate and its cards, at once."""
        certificate.report_lost(self.today())
        for card in await self.counting_cards(uow, certificate.id):
            card.report_lost()

    async def close_certificate(
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
        person = await self.person(uow, certificate.person_ref)
        person.certificate_closed(certificate.id)
        if reason == "voluntary":
            person.bar_reapplication(today + timedelta(days=self.settings.reapplication_bar_days))
        for card in await self.counting_cards(uow, certificate.id):
            card.invalidate("cancelled")
        other = certificate.open_matter
        if other is not None and other != application_id:
            pending = await uow.load(Application, other)
            if pending is not None and pending.is_open:
                pending.end_as_moot(MOOT_REASON)
            certificate.close_matter(other)

    async def close_for_person(self, uow: UnitOfWork, application: Application) -> None:
        """An application ends: the person (a new one) or the certificate (a matter) is free again."""
        if application.matter is MatterKind.NEW:
            person = await uow.load(Person, application.person_ref)
            if person is not None:
                person.close_application(application.id)
        elif application.subject_certificate is not None:
            certificate = await uow.load(Certificate, application.subject_certificate)
            if certificate is not None:
                certificate.close_matter(application.id)

    def holder(self, application: Application, agent_refs: list[str]) -> Holder:
        return Holder(
            person_ref=application.person_ref,
            agent_refs=agent_refs,
            name=application.applicant_name,
            mail_address=application.applicant_address,
            age_years=age_on(application.birth_date, self.today()),
        )
