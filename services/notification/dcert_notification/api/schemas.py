"""Request and response models of the notification API (API.md). Responses list what they show."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

EventTypeName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
FieldName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
FactType = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
DeliveryStatusName = Literal["pending", "delivered", "dead"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PolicyIn(Strict):
    event_types: list[EventTypeName] = Field(max_length=100)
    fields: list[FieldName] = Field(max_length=200)
    facts: list[FactType] = Field(default_factory=list, max_length=20)


class PartnerCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    policy: PolicyIn


class PolicyPublic(BaseModel):
    event_types: list[str]
    fields: list[str]
    facts: list[str]


class PartnerPublic(BaseModel):
    id: str
    name: str
    policy: PolicyPublic


class PartnerList(BaseModel):
    items: list[PartnerPublic]


class SubscriptionCreate(Strict):
    url: str = Field(min_length=1, max_length=2000)
    event_types: list[EventTypeName] = Field(min_length=1, max_length=100)


class SubscriptionPublic(BaseModel):
    """A subscription as listed: the secret is shown once, when it is created."""

    id: str
    url: str
    event_types: list[str]
    created_at: datetime | None = None


class SubscriptionCreated(BaseModel):
    id: str
    url: str
    event_types: list[str]
    secret: str = Field(description="Standard Webhooks signing secret (whsec_...), shown only here")


class SubscriptionList(BaseModel):
    items: list[SubscriptionPublic]


class DeliveryPublic(BaseModel):
    id: str = Field(description="the webhook-id the partner receives")
    subscription_id: str
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
