"""The webhook sender: a runtime worker that delivers due deliveries, retries, and gives up.

Bounded concurrency: up to `delivery_concurrency` tries in flight, each of a different
subscription (only a subscription's oldest pending delivery is ever claimed), so a slow or failing
partner holds one slot and delays nobody else. New deliveries wake the worker through
LISTEN/NOTIFY; `delivery_poll_seconds` bounds the wait for retries that fall due.
Log lines carry ids, event types and status codes only, never a body or a URL.
"""

from __future__ import annotations

import asyncio
import logging
import random

from opentelemetry import metrics, trace

from dcert_shared.runtime import ServiceRuntime
from dcert_shared.telemetry import tracer

from ..adapters import deliveries
from ..adapters.deliveries import ClaimedDelivery
from ..adapters.webhook_client import Attempt, WebhookClient
from ..domain.delivery import RetrySchedule, narrowed_body
from ..domain.partner import DataSharingPolicy
from ..settings import NotificationSettings

log = logging.getLogger(__name__)

_meter = metrics.get_meter("dcert")
_outcomes = _meter.create_counter("dcert.webhook.attempts", description="Webhook tries by outcome")


class DeliveryWorker:
    """Claims due deliveries and sends them, each in its own task, up to a concurrency bound."""

    def __init__(self, runtime: ServiceRuntime, settings: NotificationSettings) -> None:
        self.pool = runtime.pool
        self.vault = runtime.vault
        self.schedule = RetrySchedule(tuple(settings.webhook_retry_schedule_seconds))
        self.concurrency = settings.delivery_concurrency
        self.poll_seconds = settings.delivery_poll_seconds
        # Long enough for the request to time out and the outcome to be recorded.
        self.lease_seconds = 2 * settings.webhook_timeout_seconds + 30
        # In flight at once: `concurrency`; kept alive: one or more per partner host, many more
        # hosts than tries in flight (a pool as small as the concurrency reconnects every time).
        self.client = WebhookClient(
            settings.webhook_timeout_seconds, settings.allow_private_targets, max_connections=256
        )
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()

    async def run(self, stopping: asyncio.Event) -> None:
        try:
            async with deliveries.new_deliveries_wake(self.pool, self._wake.set):
                while not stopping.is_set():
                    await self.claim_and_send()
                    await self._wait(stopping)
        finally:
            if self._in_flight:  # let tries in flight finish and be recorded
                await asyncio.wait(self._in_flight)
            await self.client.close()

    async def _wait(self, stopping: asyncio.Event) -> None:
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stopping.wait())]
        await asyncio.wait(waiters, timeout=self.poll_seconds, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()

    async def claim_and_send(self) -> None:
        self._wake.clear()
        free = self.concurrency - len(self._in_flight)
        if free <= 0:
            return
        try:
            claimed = await deliveries.claim(self.pool, self.vault, free, self.lease_seconds)
        except deliveries.QUEUE_UNAVAILABLE as error:
            log.warning("delivery queue unavailable: %s", type(error).__name__)
            return
        for delivery in claimed:
            task = asyncio.create_task(self.send(delivery), name=f"webhook {delivery.id}")
            self._in_flight.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._wake.set()  # a slot is free, and the subscription's next delivery may be due
        if not task.cancelled() and task.exception() is not None:
            log.error("webhook task failed: %s", type(task.exception()).__name__)

    async def send(self, delivery: ClaimedDelivery) -> None:
        with tracer().start_as_current_span(
            "deliver webhook",
            kind=trace.SpanKind.CLIENT,
            attributes={
                "dcert.delivery_id": delivery.id,
                "dcert.subscription_id": delivery.subscription_id,
                "dcert.event_type": delivery.event_type,
                "dcert.attempt": delivery.attempts + 1,
            },
        ) as span:
            body = await self.under_current_policy(delivery)
            if body is None:
                return
            secrets = [delivery.secret, *([delivery.previous_secret] if delivery.previous_secret else [])]
            attempt = await self.client.post(delivery.url, secrets, delivery.id, body)
            if attempt.status_code is not None:
                span.set_attribute("http.response.status_code", attempt.status_code)
            await self.record(delivery, attempt)

    async def under_current_policy(self, delivery: ClaimedDelivery) -> str | None:
        """The body to send now: queued under an older policy, it loses the fields the partner is
        no longer granted (and is withdrawn, None, if the event type is no longer granted or its
        region no longer lies in the partner's jurisdiction)."""
        if delivery.policy_version == delivery.current_policy_version:
            return delivery.body
        policy = DataSharingPolicy(
            tuple(delivery.event_types), tuple(delivery.fields), regions=delivery.regions
        )
        body = narrowed_body(delivery.body, policy) if policy.covers(delivery.region) else None
        await deliveries.record_narrowed(self.pool, delivery.seq, body, delivery.current_policy_version)
        if body is None:
            _outcomes.add(1, {"outcome": "withdrawn"})
            log.info(
                "webhook %s (%s) withdrawn: no longer in the partner's policy",
                delivery.id,
                delivery.event_type,
            )
        return body

    async def record(self, delivery: ClaimedDelivery, attempt: Attempt) -> None:
        attempts = delivery.attempts + 1
        if attempt.delivered:
            assert attempt.status_code is not None
            await deliveries.record_delivered(self.pool, delivery.seq, attempt.status_code)
            _outcomes.add(1, {"outcome": "delivered"})
            log.info(
                "webhook %s (subscription %s, %s) delivered: %d, try %d",
                delivery.id,
                delivery.subscription_id,
                delivery.event_type,
                attempt.status_code,
                attempts,
            )
            return
        retry_in = self.schedule.delay_after(attempts, random.random())
        error = attempt.error or "http_status"
        await deliveries.record_failed(self.pool, delivery.seq, attempt.status_code, error, retry_in)
        outcome = "dead" if retry_in is None else "retry"
        _outcomes.add(1, {"outcome": outcome})
        log.warning(
            "webhook %s (subscription %s, %s) failed: %s %s, try %d/%d, %s",
            delivery.id,
            delivery.subscription_id,
            delivery.event_type,
            attempt.status_code,
            error,
            attempts,
            self.schedule.max_attempts,
            "dead" if retry_in is None else f"next in {retry_in:.1f} s",
        )


async def deliver_webhooks(runtime: ServiceRuntime, stopping: asyncio.Event) -> None:
    """The runtime worker: one sender per process (replicas share the queue through the claims)."""
    settings = runtime.settings
    assert isinstance(settings, NotificationSettings)
    await DeliveryWorker(runtime, settings).run(stopping)
