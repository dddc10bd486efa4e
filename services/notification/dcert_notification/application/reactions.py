"""Every reaction of the notification service to other services' published events, in one place.

- **Partners' deliveries.** One durable consumer per context whose events partners may receive,
  taking all of them: each subscription to the event type whose partner's policy grants it gets
  one delivery, holding only the granted fields.
- **Notices to people.** One durable consumer per source context, taking the event types people
  are told of: it links applications and certificates to the person and agents they are about,
  and queues each planned notice once per recipient and channel: the in-app inbox always, SMS
  and e-mail where the recipient gave a number or an address and the deployment has the channel
  (sent later by application/notices.py). It also keeps who acts for whom (dcert_shared.agencies).

Both run in the inbox's transaction: a redelivered event is skipped by the inbox, and the
unique keys of deliveries and notices stop any second row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence

from dcert_shared import agencies
from dcert_shared.consumer import EarlierEventNotHereYet, Handler, typed
from dcert_shared.consumer import Subscription as EventSubscription
from dcert_shared.envelope import EventEnvelope
from dcert_shared.regions import covers
from dcert_shared.uow import UnitOfWork
from dcert_shared.vault import Vault

from ..adapters import people, queries
from ..adapters.deliveries import NewDelivery, enqueue, remember_region
from ..adapters.people import hashed
from ..adapters.queries import Recipients
from ..domain.catalogue import SOURCE_CONTEXTS
from ..domain.delivery import order_key, partner_event, webhook_body, webhook_id
from ..domain.notices import (
    APPLICATION_STEPS,
    NoticeKind,
    NoticeRules,
    PlannedNotice,
    about_benefit,
    about_certificate,
    application_received,
)
from .inbound import (
    AboutPerson,
    ApplicationSubmitted,
    AppointmentBooked,
    BenefitActivated,
    BenefitTerminated,
    CardOrdered,
    CertificateIssued,
    GradeRecorded,
    PublishedEvent,
    RenewalReminderDue,
)

# What an event tells people, once the card's hand-over (`counter` or `mail`) is known.
Plan = Callable[[str | None], list[PlannedNotice]]


def partner_deliveries_consumer(context: str) -> str:
    """The durable consumer of a context's events for partners (its name is state on the broker)."""
    return f"partner-deliveries-{context}"


class RecipientNotKnownYet(EarlierEventNotHereYet):
    """An event about a person this service cannot name yet (the event naming them comes on
    another stream): it waits for that one."""


# Events whose notice names nothing but its kind, or only the certificate (masked).
STEP_NOTICES: Mapping[str, NoticeKind] = {
    "ApplicationReturned": NoticeKind.DOCUMENTS_MISSING,
    "ApplicationRejected": NoticeKind.APPLICATION_REJECTED,
}
CERTIFICATE_NOTICES: Mapping[str, NoticeKind] = {
    "ApplicationApproved": NoticeKind.APPLICATION_APPROVED,
    "CardDispatched": NoticeKind.CARD_DISPATCHED,
    "CertificateCancelled": NoticeKind.CERTIFICATE_CANCELLED,
    "CertificatePutOnHold": NoticeKind.CERTIFICATE_ON_HOLD,
    "CertificateHoldLifted": NoticeKind.CERTIFICATE_RESTORED,
    "CertificateReinstated": NoticeKind.CERTIFICATE_RESTORED,
}


def nothing(card_delivery: str | None) -> list[PlannedNotice]:
    return []


class NotificationReactions:
    """The notification service's consumers: partners' deliveries and people's notices."""

    def __init__(self, rules: NoticeRules, vault: Vault, outbound: Sequence[str]) -> None:
        self.rules = rules
        self.vault = vault
        self.outbound = list(outbound)  # the channels this deployment has besides the inbox

    def subscriptions(self) -> list[EventSubscription]:
        deliveries = [
            EventSubscription(
                partner_deliveries_consumer(context), context, [">"], typed(PublishedEvent, self.on_published)
            )
            for context in SOURCE_CONTEXTS
        ]
        notices = [
            EventSubscription.reacting(f"people-notices-{context}", context, handlers)
            for context, handlers in self.notice_handlers().items()
        ]
        return [*deliveries, *notices]

    def notice_handlers(self) -> dict[str, Mapping[str, Handler]]:
        """Per source context, the event types people are told of (in this order) and how."""
        return {
            "certificate": {
                "ApplicationSubmitted": typed(ApplicationSubmitted, self.on_application_submitted),
                "AssessmentRequested": typed(AboutPerson, self.on_step),
                "ApplicationReturned": typed(AboutPerson, self.on_step),
                "ApplicationApproved": typed(AboutPerson, self.on_certificate_news),
                "ApplicationRejected": typed(AboutPerson, self.on_step),
                "CertificateIssued": typed(CertificateIssued, self.on_certificate_issued),
                "CardOrdered": typed(CardOrdered, self.on_card_ordered),
                "CardProduced": typed(AboutPerson, self.on_card_produced),
                "CardDispatched": typed(AboutPerson, self.on_certificate_news),
                "RenewalReminderDue": typed(RenewalReminderDue, self.on_renewal_reminder_due),
                "CertificateCancelled": typed(AboutPerson, self.on_certificate_news),
                # 代办: the person is told when someone names themself their agent; who acts for whom.
                "AgentClaimed": typed(AboutPerson, self.on_agent_claimed),
                **agencies.HANDLERS,
                # 暂停: a reported death, and its end either way.
                "CertificatePutOnHold": typed(AboutPerson, self.on_certificate_news),
                "CertificateHoldLifted": typed(AboutPerson, self.on_certificate_news),
                "CertificateReinstated": typed(AboutPerson, self.on_certificate_news),
            },
            "assessment": {
                "AppointmentBooked": typed(AppointmentBooked, self.on_appointment_booked),
                "GradeRecorded": typed(GradeRecorded, self.on_grade_recorded),
            },
            "benefits": {
                "BenefitActivated": typed(BenefitActivated, self.on_benefit_activated),
                "BenefitTerminated": typed(BenefitTerminated, self.on_benefit_terminated),
            },
        }

    # --- partners' deliveries ---

    async def on_published(self, uow: UnitOfWork, event: PublishedEvent, envelope: EventEnvelope) -> None:
        """Every subscription to this event type whose partner's policy grants it, within the
        policy's jurisdiction (and within the subscription's regions, if it names any), gets one
        delivery, holding only the granted fields."""
        reaches = await queries.subscribers(uow.conn, envelope.event_type)
        region = await self.event_region(uow, event)
        key = order_key(envelope.stream_id, event.certificate_number, event.person_ref, event.application_id)
        queued = [
            NewDelivery(
                id=webhook_id(reach.subscription_id, envelope.event_id),
                subscription_id=reach.subscription_id,
                partner_id=reach.partner_id,
                event_id=envelope.event_id,
                event_type=envelope.event_type,
                body=webhook_body(partner_event(envelope, reach.policy)),
                order_key=key,
                policy_version=reach.policy_version,
                person_ref=event.person_ref,  # whose access log records the delivery
                region=region,
            )
            for reach in reaches
            if reach.policy.covers(region) and _within(reach.narrowed_to, region)
        ]
        await enqueue(uow.conn, queued)

    async def event_region(self, uow: UnitOfWork, event: PublishedEvent) -> str | None:
        """The household region an event is about: named in it, or remembered from an earlier
        event of the same certificate or person (a cancellation names no region). None: not
        known, and a subscription limited to regions does not get it."""
        about = {
            "certificate_number": event.certificate_number,
            "person_ref": event.person_ref,
            "application_id": event.application_id,
        }
        keys = [_region_key(field, value) for field, value in about.items() if value]
        named = event.named_region
        if named is not None:
            await remember_region(uow.conn, keys, named)
            return named
        if not keys:
            return None
        return await queries.remembered_region(uow.conn, keys)

    # --- notices to people ---

    async def on_step(self, uow: UnitOfWork, event: AboutPerson, envelope: EventEnvelope) -> None:
        """A step of an application: a notice of its kind (none for some steps, which only link)."""
        kind = STEP_NOTICES.get(envelope.event_type)
        notices = [] if kind is None else [PlannedNotice(kind, {})]
        await self.tell(uow, event, envelope, lambda _: notices)

    async def on_certificate_news(self, uow: UnitOfWork, event: AboutPerson, envelope: EventEnvelope) -> None:
        notices = about_certificate(CERTIFICATE_NOTICES[envelope.event_type], event.certificate_number)
        await self.tell(uow, event, envelope, lambda _: notices)

    async def on_agent_claimed(self, uow: UnitOfWork, event: AboutPerson, envelope: EventEnvelope) -> None:
        """Someone named themself the person's agent: the person is told (not the agents)."""
        notices = [PlannedNotice(NoticeKind.APPLIED_IN_YOUR_NAME, {}, to_person_only=True)]
        await self.tell(uow, event, envelope, lambda _: notices)

    async def on_application_submitted(
        self, uow: UnitOfWork, event: ApplicationSubmitted, envelope: EventEnvelope
    ) -> None:
        # Linked to the application: who made it for the person (told of its steps, verified or not).
        submitter = [event.agent_ref] if event.agent_ref else []
        await self.tell(uow, event, envelope, lambda _: application_received(event.matter), submitter)

    async def on_card_ordered(self, uow: UnitOfWork, event: CardOrdered, envelope: EventEnvelope) -> None:
        await self.tell(uow, event, envelope, nothing, card_delivery=str(event.delivery))

    async def on_card_produced(self, uow: UnitOfWork, event: AboutPerson, envelope: EventEnvelope) -> None:
        def plan(card_delivery: str | None) -> list[PlannedNotice]:
            if card_delivery != "counter":
                return []
            return about_certificate(NoticeKind.CARD_READY, event.certificate_number)

        await self.tell(uow, event, envelope, plan)

    async def on_certificate_issued(
        self, uow: UnitOfWork, event: CertificateIssued, envelope: EventEnvelope
    ) -> None:
        notices = about_certificate(
            NoticeKind.CERTIFICATE_ISSUED, event.certificate_number, expires_on=event.expires_on
        )
        await self.tell(uow, event, envelope, lambda _: notices)

    async def on_renewal_reminder_due(
        self, uow: UnitOfWork, event: RenewalReminderDue, envelope: EventEnvelope
    ) -> None:
        notices = about_certificate(
            NoticeKind.RENEWAL_WINDOW,
            event.certificate_number,
            expires_on=event.expires_on,
            window_opens_on=event.window_opens_on,
        )
        await self.tell(uow, event, envelope, lambda _: notices)

    async def on_appointment_booked(
        self, uow: UnitOfWork, event: AppointmentBooked, envelope: EventEnvelope
    ) -> None:
        notices = self.rules.appointment_booked(event.starts_at, event.home_visit)
        await self.tell(uow, event, envelope, lambda _: notices)

    async def on_grade_recorded(self, uow: UnitOfWork, event: GradeRecorded, envelope: EventEnvelope) -> None:
        notices = self.rules.grade_recorded(event.round, envelope.occurred_at)
        await self.tell(uow, event, envelope, lambda _: notices)

    async def on_benefit_activated(
        self, uow: UnitOfWork, event: BenefitActivated, envelope: EventEnvelope
    ) -> None:
        notices = about_benefit(NoticeKind.BENEFIT_GRANTED, event.benefit, active_from=event.active_from)
        await self.tell(uow, event, envelope, lambda _: notices)

    async def on_benefit_terminated(
        self, uow: UnitOfWork, event: BenefitTerminated, envelope: EventEnvelope
    ) -> None:
        notices = about_benefit(NoticeKind.BENEFIT_ENDED, event.benefit, active_to=event.active_to)
        await self.tell(uow, event, envelope, lambda _: notices)

    async def tell(
        self,
        uow: UnitOfWork,
        event: AboutPerson,
        envelope: EventEnvelope,
        plan: Plan,
        submitter: Sequence[str] = (),
        card_delivery: str | None = None,
    ) -> None:
        """Link the event's application and certificate to its person (and `submitter`, the agent
        who made the application; `card_delivery`, how its card is handed over), then queue each
        planned notice once per recipient and channel."""
        keys = _keys(event)
        person_ref = event.person_ref
        if person_ref and keys:
            await people.remember(uow.conn, keys, person_ref, submitter)
        if card_delivery is not None and keys:
            await people.remember_card_delivery(uow.conn, keys[-1], card_delivery)
        who = await queries.recipients(uow.conn, keys) if keys else None
        if person_ref and (who is None or who.person_ref != person_ref):
            who = Recipients(person_ref, tuple(submitter))
        if who is None:
            if plan(None):
                # About an application this service has not linked to a person yet (its
                # ApplicationSubmitted comes on another stream): the consumer waits for it.
                raise RecipientNotKnownYet()
            return
        subject = keys[0] if keys else hashed("person", who.person_ref)
        # The person, the agents verified for them now, and (of an application's steps) whoever made it.
        verified_agents = await queries.verified_agents(uow.conn, who.person_ref)
        for planned in plan(who.card_delivery):
            if planned.replaces is not None:
                await people.withdraw_pending(uow.conn, subject, planned.replaces, envelope.event_id)
            submitters = list(who.agent_refs) if planned.kind in APPLICATION_STEPS else []
            told = (
                [who.person_ref]
                if planned.to_person_only
                else [who.person_ref, *verified_agents, *submitters]
            )
            for recipient in dict.fromkeys(told):
                if await self.vault.is_erased(uow.conn, recipient):
                    continue  # erased on a legal request: told nothing more (their agents still are)
                contact = await queries.contact(uow.conn, recipient)
                wanted = ["inbox"]
                if contact is not None:
                    wanted += [
                        c for c in contact.channels if c in self.outbound and contact.sealed_address(c)
                    ]
                sealed = await self.vault.seal(uow.conn, recipient, planned.params)
                for channel in wanted:
                    await people.queue(
                        uow.conn,
                        people.NewNotice(
                            event_id=envelope.event_id,
                            recipient_ref=recipient,
                            subject_key=subject,
                            kind=planned.kind.value,
                            channel=channel,
                            sealed_params=sealed,
                            due_at=planned.due_at,
                        ),
                    )


def _within(regions: tuple[str, ...], region: str | None) -> bool:
    """A subscription's own narrowing: none names the policy's whole jurisdiction."""
    return not regions or (region is not None and any(covers(area, region) for area in regions))


def _region_key(field: str, value: str) -> str:
    """Certificate numbers hold identity numbers: the table keeps only a hash of them."""
    return hashlib.sha256(f"{field}:{value}".encode()).hexdigest()


def _keys(event: AboutPerson) -> list[str]:
    """The hashed keys of the application and certificate an event is about."""
    keys = []
    if event.application_id:
        keys.append(hashed("application", event.application_id))
    if event.certificate_number:
        keys.append(hashed("certificate", event.certificate_number))
    return keys
