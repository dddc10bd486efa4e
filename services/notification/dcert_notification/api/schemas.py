"""Request and response models of the notification API (docs/api.md). Responses list what they show."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema

from dcert_shared.api import IsoDateTime, stripped_text_needs_content
from dcert_shared.ids import REGION_CODE_JSON_SCHEMA

from ..domain.catalogue import FACT_TYPES, KNOWN_EVENT_TYPES
from ..domain.partner import FIELD_NAME_PATTERN

# The names `DataSharingPolicy.checked` accepts, as the OpenAPI document states them.
EventTypeName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    WithJsonSchema({"type": "string", "enum": sorted(KNOWN_EVENT_TYPES)}),
]
FieldName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    WithJsonSchema({"type": "string", "pattern": FIELD_NAME_PATTERN}),
]
FactType = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    WithJsonSchema({"type": "string", "enum": sorted(FACT_TYPES)}),
]
DeliveryStatusName = Literal["pending", "delivered", "dead", "withdrawn"]


class Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra=stripped_text_needs_content
    )


# 000000 (the whole country) or a real region code: `_jurisdiction` of domain/partner.py.
JURISDICTION_PATTERN = f"^000000$|{REGION_CODE_JSON_SCHEMA['pattern']}"


RegionCode = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{6}$"),
    WithJsonSchema({"type": "string", "pattern": JURISDICTION_PATTERN}),
]


# What `WebhookTarget.parse` checks in the URL itself: the scheme, no white space, control
# characters or backslashes, no credentials, a host.
WEBHOOK_URL_PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s\\@/?#\x00-\x1f]+([/?#][^\s\\\x00-\x1f]*)?$"


class PolicyIn(Strict):
    event_types: list[EventTypeName] = Field(max_length=100)
    fields: list[FieldName] = Field(max_length=200)
    facts: list[FactType] = Field(default_factory=list, max_length=20)
    regions: list[RegionCode] | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="管辖范围: province, city or county codes; 000000 the whole country. Absent when"
        " registering: the whole country (API v1 had no regions); absent in a change: unchanged.",
    )


class Contact(Strict):
    name: str = Field(min_length=1, max_length=100)
    role: str | None = Field(None, max_length=100, description="e.g. data protection officer")
    email: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=30)


class PartnerCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    policy: PolicyIn
    legal_basis: str = Field("", max_length=2000, description="法律依据, for the impact assessment record")
    purpose: str = Field("", max_length=2000, description="处理目的: what the partner uses the data for")
    contacts: list[Contact] = Field(default_factory=list, max_length=10)


class PolicyChange(Strict):
    policy: PolicyIn
    legal_basis: str | None = Field(None, max_length=2000, description="unchanged when absent")
    purpose: str | None = Field(None, max_length=2000, description="unchanged when absent")


class PolicyPublic(BaseModel):
    event_types: list[str]
    fields: list[str]
    facts: list[str]
    regions: list[str] = Field(description="the jurisdiction: events and facts of these regions only")
    version: int | None = Field(None, description="the policy's version: raised by every change")
    legal_basis: str | None = None
    purpose: str | None = None


class PartnerPublic(BaseModel):
    id: str
    name: str
    policy: PolicyPublic


class PolicyVersionPublic(PolicyPublic):
    recorded_at: datetime


class PolicyVersionList(BaseModel):
    items: list[PolicyVersionPublic]


class PartnerList(BaseModel):
    items: list[PartnerPublic]


class SubscriptionCreate(Strict):
    url: str = Field(
        min_length=1,
        max_length=2000,
        description="http or https, no user or password; an address it stands for may be refused"
        " (webhook_url_refused: metadata, link-local, multicast, internal)",
        json_schema_extra={"pattern": WEBHOOK_URL_PATTERN},
    )
    event_types: list[EventTypeName] = Field(min_length=1, max_length=100)
    regions: list[RegionCode] | None = Field(
        None,
        min_length=1,
        max_length=50,
        description="only events of these regions (and under them), each within the policy's"
        " jurisdiction; absent: the whole jurisdiction",
    )


class SubscriptionPublic(BaseModel):
    """A subscription as listed: the secret is shown once, when it is created."""

    id: str
    url: str
    event_types: list[str]
    regions: list[str] = Field(
        [], description="the subscription's own narrowing; empty: the policy's whole jurisdiction"
    )
    created_at: datetime | None = None


class SubscriptionCreated(BaseModel):
    id: str
    url: str
    event_types: list[str]
    regions: list[str] = []
    secret: str = Field(description="Standard Webhooks signing secret (whsec_...), shown only here")


class SecretRotated(BaseModel):
    id: str
    secret: str = Field(description="the new signing secret (whsec_...), shown only here")
    previous_valid_until: datetime = Field(description="until then both secrets sign every delivery")


class ReplayRequest(Strict):
    # At least one condition (replay_too_broad otherwise): no replay of every dead letter by mistake.
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": [name], "properties": {name: {"not": {"type": "null"}}}}
                for name in ("ids", "partner_id", "subscription_id", "event_type", "since", "until")
            ]
        }
    )

    ids: list[str] | None = Field(None, max_length=1000, description="these deliveries (webhook-ids)")
    partner_id: str | None = None
    subscription_id: str | None = None
    event_type: str | None = None
    since: IsoDateTime | None = Field(None, description="queued at or after")
    until: IsoDateTime | None = Field(None, description="queued before")


class PartnerReplayRequest(Strict):
    since: IsoDateTime = Field(description="every delivery queued at or after this time is sent again")
    subscription_id: str | None = None


class Replayed(BaseModel):
    replayed: int = Field(description="deliveries made pending again (same webhook-id, original order)")


class SubscriptionList(BaseModel):
    items: list[SubscriptionPublic]


class DeliveryPublic(BaseModel):
    id: str = Field(description="the webhook-id the partner receives")
    subscription_id: str
    partner_id: str
    event_type: str
    status: DeliveryStatusName
    attempts: int
    last_status_code: int | None
    last_error: str | None = Field(description="timeout, http_status, target_refused, ConnectError, ...")
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryList(BaseModel):
    items: list[DeliveryPublic]
