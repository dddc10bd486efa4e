"""A partner's webhook subscription: where to deliver, which event types, and the signing secret."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable
from datetime import datetime

from dcert_shared.aggregate import Aggregate
from dcert_shared.envelope import DomainEvent
from dcert_shared.problems import Bilingual, FieldError

from .errors import EventTypesOutsidePolicy, RegionsOutsidePolicy
from .events import SubscriptionCreated, SubscriptionSecretRotated
from .partner import Partner
from .webhook_target import WebhookTarget

SECRET_PREFIX = "whsec_"


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and the base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


class Subscription(Aggregate):
    """订阅: deliveries of the listed event types, each within the partner's policy, to one URL."""

    stream_type = "subscription"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.partner_id = ""
        self.url = ""
        self.event_types: tuple[str, ...] = ()
        self.regions: tuple[str, ...] = ()  # none: the policy's whole jurisdiction
        self.secret = ""

    @classmethod
    def create(
        cls,
        subscription_id: str,
        partner: Partner,
        target: WebhookTarget,
        event_types: Iterable[str],
        secret: str,
        regions: Iterable[str] = (),
    ) -> Subscription:
        """`regions` narrow the partner's jurisdiction (none: all of it); a region outside it is
        refused, so that a partner cannot reach beyond what the admin granted."""
        wanted = tuple(dict.fromkeys(event_types))
        outside = [event_type for event_type in wanted if not partner.policy.grants(event_type)]
        if outside:
            raise EventTypesOutsidePolicy(
                detail=Bilingual(
                    f"数据共享协议不含：{'、'.join(outside)}", f"not in the policy: {', '.join(outside)}"
                ),
                errors=[
                    FieldError(
                        field="event_types",
                        code="outside_policy",
                        message=Bilingual(
                            f"数据共享协议不含：{event_type}", f"not in the policy: {event_type}"
                        ),
                    )
                    for event_type in outside
                ],
            )
        areas = list(dict.fromkeys(regions))
        beyond = partner.policy.outside(areas)
        if beyond:
            raise RegionsOutsidePolicy(
                errors=[
                    FieldError(
                        field="regions",
                        code="outside_policy",
                        message=Bilingual(f"不在管辖范围内：{region}", f"outside the jurisdiction: {region}"),
                    )
                    for region in beyond
                ],
            )
        subscription = cls(subscription_id)
        subscription.trigger(
            SubscriptionCreated(
                subscription_id=subscription_id,
                partner_id=partner.id,
                event_types=list(wanted),
                url=target.url,
                secret=secret,
                regions=areas,
            )
        )
        return subscription

    def rotate_secret(self, secret: str, previous_valid_until: datetime) -> None:
        """A new secret signs from now; the current one goes on signing beside it until
        `previous_valid_until`, so the partner can switch without losing a delivery."""
        self.trigger(
            SubscriptionSecretRotated(
                subscription_id=self.id,
                partner_id=self.partner_id,
                secret=secret,
                previous_secret=self.secret,
                previous_valid_until=previous_valid_until,
            )
        )

    def apply(self, event: DomainEvent) -> None:
        match event:
            case SubscriptionCreated():
                self.partner_id = event.partner_id
                self.url = event.url
                self.event_types = tuple(event.event_types)
                self.regions = tuple(event.regions)
                self.secret = event.secret
            case SubscriptionSecretRotated():
                self.secret = event.secret
