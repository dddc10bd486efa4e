"""Events of the notification context. Published data is listed in docs/events.md.

A partner's name, a subscription's URL and its signing secret are kept in the stored events
(`private_fields`) so the read models can be rebuilt, and are never published. The signing
secret is kept only sealed (dcert_shared.vault, a data key per subscription), in the events and
the read model alike; the delivery worker opens it to sign.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from dcert_shared.envelope import DomainEvent, EventRegistry
from dcert_shared.regions import NATIONAL

# The jurisdiction of a policy recorded before jurisdictions were: every event, nationwide, as
# such a partner then received (docs/events.md).
BEFORE_JURISDICTIONS = [NATIONAL]


class PartnerRegistered(DomainEvent):
    """合作单位: an agency and its data-sharing policy; the benefits service reads `facts`."""

    private_fields: ClassVar[frozenset[str]] = frozenset({"name", "contacts"})
    partner_id: str
    event_types: list[str]
    fields: list[str]
    facts: list[str]
    name: str
    policy_version: int = 1
    regions: list[str] = BEFORE_JURISDICTIONS  # 管辖范围: `000000` is the whole country
    legal_basis: str = ""  # for the personal information impact assessment (PIPL Art. 55-56)
    purpose: str = ""
    contacts: list[dict[str, Any]] = []


class PartnerPolicyChanged(DomainEvent):
    """A new version of a partner's data-sharing policy: it applies to every delivery not yet
    made, including those already queued (a field taken away is never sent after the change)."""

    partner_id: str
    policy_version: int
    event_types: list[str]
    fields: list[str]
    facts: list[str]
    legal_basis: str
    purpose: str
    regions: list[str] = BEFORE_JURISDICTIONS


class SubscriptionCreated(DomainEvent):
    """A partner's webhook endpoint for some of the event types its policy grants."""

    private_fields: ClassVar[frozenset[str]] = frozenset({"url", "secret"})
    subscription_id: str
    partner_id: str
    event_types: list[str]
    url: str
    secret: str
    # Only events of these regions (and those under them), each within the policy's; empty: the
    # policy's whole jurisdiction, as it stands at each delivery.
    regions: list[str] = []


class SubscriptionSecretRotated(DomainEvent):
    """A new signing secret; the previous one still signs until `previous_valid_until`."""

    public: ClassVar[bool] = False
    private_fields: ClassVar[frozenset[str]] = frozenset({"secret", "previous_secret"})
    subscription_id: str
    partner_id: str
    secret: str
    previous_secret: str
    previous_valid_until: datetime


def registry() -> EventRegistry:
    events = EventRegistry()
    events.register(PartnerRegistered, PartnerPolicyChanged, SubscriptionCreated, SubscriptionSecretRotated)
    return events
