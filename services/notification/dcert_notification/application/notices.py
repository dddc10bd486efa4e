"""Notices to people: queued by the consumers of the other services' events, sent by a worker.

The consumer (one durable consumer per source context, apart from the partners' deliveries)
links applications and certificates to the person and agents they are about, and queues each
planned notice once per recipient and channel in the inbox's transaction: the in-app inbox
always, SMS and e-mail where the recipient gave a number or an address and the deployment has
the channel. The sender claims due SMS and e-mail notices (reminders wait for their time),
opens the address with the recipient's data key, renders the text in the recipient's language
and records each try: queued, sent, retried (a try failed, another is due), failed. Logs and
spans carry notice ids, kinds and channels only.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from typing import Any

from opentelemetry import metrics

from dcert_shared import agencies
from dcert_shared.consumer import Subscription as EventSubscription
from dcert_shared.envelope import EventEnvelope
from dcert_shared.runtime import ServiceRuntime, Worker
from dcert_shared.telemetry import tracer
from dcert_shared.uow import UnitOfWork
from dcert_shared.vault import Vault

from ..adapters import people, queries
from ..adapters.channels import Channel, ChannelError, SmsChannel, SmtpChannel
from ..adapters.people import hashed
from ..adapters.queries import Recipients
from ..domain.delivery import RetrySchedule
from ..domain.notices import NoticeKind, NoticeRules, render
from ..settings import NotificationSettings

log = logging.getLogger(__name__)
_sent = metrics.get_meter("dcert").create_counter(
    "dcert.notices", description="Notice tries by channel and outcome"
)

NOTICE_EVENTS: Mapping[str, list[str]] = {
    "certificate": [
        "ApplicationSubmitted",
        "AssessmentRequested",
        "ApplicationReturned",
        "ApplicationApproved",
        "ApplicationRejected",
        "CertificateIssued",
        "CardOrdered",
        "CardProduced",
        "CardDispatched",
        "RenewalReminderDue",
        "CertificateCancelled",
        # 代办: the person is told when someone names themself their agent; who acts for whom.
        "AgentClaimed",
        *agencies.HANDLERS,
        # 暂停: a reported death, and its end either way.
        "CertificatePutOnHold",
        "CertificateHoldLifted",
        "CertificateReinstated",
    ],
    "assessment": ["AppointmentBooked", "GradeRecorded"],
    "benefits": ["BenefitActivated", "BenefitTerminated"],
}


class RecipientNotKnownYet(Exception):
    """An event about a person this service cannot name yet; retried by the consumer."""


def channels_of(settings: NotificationSettings) -> dict[str, Channel]:
    """The outbound channels this deployment has (the inbox needs none)."""
    channels: dict[str, Channel] = {}
    if settings.smtp_host:
        channels["email"] = SmtpChannel(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_sender,
            settings.smtp_username,
            settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            settings.smtp_starttls,
        )
    if settings.sms_provider_url:
        key = settings.sms_api_key.get_secret_value() if settings.sms_api_key else ""
        channels["sms"] = SmsChannel(settings.sms_provider_url, key, settings.sms_sign_name)
    return channels


def _keys(data: Mapping[str, Any]) -> list[str]:
    """The hashed keys of the application and certificate an event is about."""
    keys = []
    if isinstance(application_id := data.get("application_id"), str) and application_id:
        keys.append(hashed("application", application_id))
    if isinstance(number := data.get("certificate_number"), str) and number:
        keys.append(hashed("certificate", number))
    return keys


def notice_subscriptions(rules: NoticeRules, vault: Vault, outbound: list[str]) -> list[EventSubscription]:
    async def queue_notices(uow: UnitOfWork, envelope: EventEnvelope) -> None:
        data = envelope.payload
        if envelope.event_type in agencies.HANDLERS:
            await agencies.HANDLERS[envelope.event_type](uow, envelope)
            return
        keys = _keys(data)
        person_ref = data.get("person_ref")
        # Linked to the application: who made it for the person (told of its steps, verified or not).
        submitter = data.get("agent_ref") if envelope.event_type == "ApplicationSubmitted" else None
        agents = [submitter] if isinstance(submitter, str) and submitter else []
        if isinstance(person_ref, str) and person_ref and keys:
            await people.remember(uow.conn, keys, person_ref, agents)
        if envelope.event_type == "CardOrdered" and keys:
            await people.remember_card_delivery(uow.conn, keys[-1], str(data.get("delivery")))
        who = await queries.recipients(uow.conn, keys) if keys else None
        if isinstance(person_ref, str) and person_ref and (who is None or who.person_ref != person_ref):
            who = Recipients(person_ref, tuple(agents))
        if who is None:
            if rules.plan(envelope):
                # About an application this service has not linked to a person yet (its
                # ApplicationSubmitted comes on another stream): the consumer tries again shortly.
                raise RecipientNotKnownYet()
            return
        subject = keys[0] if keys else hashed("person", who.person_ref)
        # The person, the agents verified for them now, and (on an application's steps) whoever made it.
        about_application = isinstance(data.get("application_id"), str)
        agents_told = await queries.verified_agents(uow.conn, who.person_ref) + (
            list(who.agent_refs) if about_application else []
        )
        for planned in rules.plan(envelope, who.card_delivery):
            if planned.replaces is not None:
                await people.withdraw_pending(uow.conn, subject, planned.replaces, envelope.event_id)
            told = [who.person_ref] if planned.to_person_only else [who.person_ref, *agents_told]
            for recipient in dict.fromkeys(told):
                if await vault.is_erased(uow.conn, recipient):
                    continue  # erased on a legal request: told nothing more (their agents still are)
                contact = await queries.contact(uow.conn, recipient)
                wanted = ["inbox"]
                if contact is not None:
                    wanted += [c for c in contact.channels if c in outbound and contact.sealed_address(c)]
                sealed = await vault.seal(uow.conn, recipient, planned.params)
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

    return [
        EventSubscription(f"people-notices-{context}", context, event_types, queue_notices)
        for context, event_types in NOTICE_EVENTS.items()
    ]


class NoticeSender:
    """Sends due SMS and e-mail notices, each in its own task, up to a bound."""

    def __init__(
        self, runtime: ServiceRuntime, settings: NotificationSettings, channels: dict[str, Channel]
    ) -> None:
        self.pool = runtime.pool
        self.vault = runtime.vault
        self.channels = channels
        self.schedule = RetrySchedule(tuple(settings.notice_retry_schedule_seconds))
        self.poll_seconds = settings.delivery_poll_seconds
        self.concurrency = settings.delivery_concurrency

    async def run(self, stopping: asyncio.Event) -> None:
        try:
            while not stopping.is_set():
                claimed = await people.claim(self.pool, self.concurrency, lease_seconds=120)
                if claimed:
                    await asyncio.gather(*(self.send(notice) for notice in claimed))
                    continue
                try:
                    await asyncio.wait_for(stopping.wait(), self.poll_seconds)
                except TimeoutError:
                    pass
        finally:
            for channel in self.channels.values():
                if isinstance(channel, SmsChannel):
                    await channel.close()

    async def send(self, notice: people.ClaimedNotice) -> None:
        with tracer().start_as_current_span(
            "send notice", attributes={"dcert.notice_id": notice.id, "dcert.channel": notice.channel}
        ):
            error = await self._try(notice)
            retry_in = (
                None if error is None else self.schedule.delay_after(notice.attempts + 1, random.random())
            )
            if error in ("no_address", "channel_not_configured"):
                retry_in = None  # nothing to retry with
            await people.record_outcome(self.pool, notice.seq, error, retry_in)
            outcome = "sent" if error is None else ("retried" if retry_in is not None else "failed")
            _sent.add(1, {"channel": notice.channel, "outcome": outcome})
            if error is not None:
                log.warning(
                    "notice %s (%s by %s) %s: %s", notice.id, notice.kind, notice.channel, outcome, error
                )

    async def _try(self, notice: people.ClaimedNotice) -> str | None:
        channel = self.channels.get(notice.channel)
        if channel is None:
            return "channel_not_configured"
        async with self.pool.acquire() as conn:
            contact = await queries.contact(conn, notice.recipient_ref)
            sealed = contact.sealed_address(notice.channel) if contact else None
            address = await self.vault.open(conn, notice.recipient_ref, sealed) if sealed else None
            params = await self.vault.open(conn, notice.recipient_ref, notice.sealed_params)
        if not address or params is None:
            return "no_address"
        language = contact.language if contact else "zh-CN"
        title, text = render(NoticeKind(notice.kind), language, params)
        try:
            await channel.send(str(address), title, text, notice.kind, dict(params))
        except ChannelError as error:
            return error.reason
        return None


def notice_sender(channels: dict[str, Channel]) -> Worker:
    async def send_notices(runtime: ServiceRuntime, stopping: asyncio.Event) -> None:
        settings = runtime.settings
        assert isinstance(settings, NotificationSettings)
        await NoticeSender(runtime, settings, channels).run(stopping)

    return send_notices
