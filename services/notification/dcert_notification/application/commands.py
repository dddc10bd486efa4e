"""Use cases of the notification service over HTTP: load, decide, save."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from dcert_shared.envelope import CommandContext
from dcert_shared.runtime import ServiceRuntime
from dcert_shared.uow import Idempotency, UnitOfWork

from ..adapters.deliveries import secret_owner
from ..adapters.webhook_client import resolve
from ..domain.errors import PartnerNotFound, PartnerNotRegistered, SubscriptionNotFound
from ..domain.partner import DataSharingPolicy, Onboarding, Partner
from ..domain.subscription import Subscription, new_webhook_secret
from ..domain.webhook_target import WebhookTarget

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewPartner:
    name: str
    event_types: list[str]
    fields: list[str]
    facts: list[str]
    onboarding: Onboarding = Onboarding()
    regions: list[str] | None = None  # none: the whole country (a body of API v1)


@dataclass(frozen=True)
class NewSubscription:
    partner_id: str
    url: str
    event_types: list[str]
    regions: list[str] = field(default_factory=list)


class NotificationCommands:
    """The notification service's commands over its event store."""

    def __init__(self, runtime: ServiceRuntime, allow_private_targets: bool) -> None:
        self.runtime = runtime
        self.allow_private_targets = allow_private_targets

    async def register_partner(
        self, context: CommandContext, once: Idempotency, new: NewPartner
    ) -> tuple[dict[str, Any], bool]:
        policy = DataSharingPolicy.of(new.event_types, new.fields, new.facts, new.regions)

        async def decide(uow: UnitOfWork) -> dict[str, Any]:
            partner = uow.track(Partner.register(str(uuid.uuid4()), new.name, policy, new.onboarding))
            onboarding = new.onboarding
            return {
                "id": partner.id,
                "name": new.name,
                "policy": {
                    **policy.as_dict(),
                    "version": partner.policy_version,
                    "legal_basis": onboarding.legal_basis,
                    "purpose": onboarding.purpose,
                },
            }

        return await self.runtime.es.execute_idempotent(
            context, once.principal, once.key, once.request, decide
        )

    async def create_subscription(
        self, context: CommandContext, once: Idempotency, new: NewSubscription
    ) -> tuple[dict[str, Any], bool]:
        target = await self.checked_target(new.url)

        async def decide(uow: UnitOfWork) -> dict[str, Any]:
            partner = await uow.load(Partner, new.partner_id)
            if partner is None:
                raise PartnerNotRegistered()
            secret, subscription_id = new_webhook_secret(), str(uuid.uuid4())
            # Stored only sealed (events and read model); shown in the clear this once.
            sealed = await self.runtime.vault.seal(uow.conn, secret_owner(subscription_id), secret)
            subscription = Subscription.create(
                subscription_id, partner, target, new.event_types, sealed, new.regions
            )
            uow.track(subscription)
            return {
                "id": subscription.id,
                "url": subscription.url,
                "event_types": list(subscription.event_types),
                "regions": list(subscription.regions),
                "secret": secret,
            }

        return await self.runtime.es.execute_idempotent(
            context, once.principal, once.key, once.request, decide
        )

    async def change_policy(
        self,
        context: CommandContext,
        partner_id: str,
        policy: DataSharingPolicy,
        legal_basis: str | None,
        purpose: str | None,
        keep_regions: bool = False,
    ) -> int:
        """A new version of the partner's policy (none when nothing changes); its version.
        `keep_regions`: the change names no jurisdiction, so the current one stays."""

        async def decide(uow: UnitOfWork) -> int:
            partner = await uow.load(Partner, partner_id)
            if partner is None:
                raise PartnerNotFound()
            wanted = replace(policy, regions=partner.policy.regions) if keep_regions else policy
            partner.change_policy(wanted, legal_basis, purpose)
            return partner.policy_version

        version: int = await self.runtime.es.execute(context, decide)
        return version

    async def rotate_secret(
        self, context: CommandContext, partner_id: str, subscription_id: str, overlap: timedelta
    ) -> dict[str, Any]:
        """A new signing secret, shown once; the old one goes on signing for `overlap`."""

        async def decide(uow: UnitOfWork) -> dict[str, Any]:
            subscription = await uow.load(Subscription, subscription_id)
            if subscription is None or subscription.partner_id != partner_id:
                raise SubscriptionNotFound()
            secret = new_webhook_secret()
            until = datetime.now(UTC) + overlap
            sealed = await self.runtime.vault.seal(uow.conn, secret_owner(subscription_id), secret)
            subscription.rotate_secret(sealed, until)
            return {"id": subscription_id, "secret": secret, "previous_valid_until": until}

        rotated: dict[str, Any] = await self.runtime.es.execute(context, decide)
        return rotated

    async def checked_target(self, url: str) -> WebhookTarget:
        """The URL's own rules, then every address its host resolves to now (if it resolves yet:
        each delivery checks again, so a name set up later is still guarded)."""
        target = WebhookTarget.parse(url, allow_private=self.allow_private_targets)
        if target.host_is_address:
            return target
        try:
            addresses = await resolve(target.host, target.port)
        except (OSError, TimeoutError, ValueError):
            log.info("webhook host does not resolve yet; checked again at delivery")
            return target
        target.check_addresses(addresses, allow_private=self.allow_private_targets)
        return target
