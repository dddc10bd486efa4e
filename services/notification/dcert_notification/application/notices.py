"""Notices to people: queued by the consumers of the other services' events (reactions.py), sent
by a worker, through the channels this deployment has.

The sender claims due SMS and e-mail notices (reminders wait for their time), opens the address
with the recipient's data key, renders the text in the recipient's language and records each
try: queued, sent, retried (a try failed, another is due), failed. Logs and spans carry notice
ids, kinds and channels only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

from opentelemetry import metrics

from dcert_shared.runtime import ServiceRuntime, Worker
from dcert_shared.telemetry import tracer

from ..adapters import people, queries
from ..adapters.channels import Channel, ChannelError, SmsChannel, SmtpChannel
from ..domain.delivery import RetrySchedule
from ..domain.notices import NoticeKind, render
from ..settings import NotificationSettings

log = logging.getLogger(__name__)
_sent = metrics.get_meter("dcert").create_counter(
    "dcert.notices", description="Notice tries by channel and outcome"
)


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
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), self.poll_seconds)
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
