"""What a partner's endpoint receives, declared as the OpenAPI `webhooks` of this service.

Nothing here is served: the routes describe the request the delivery worker sends
(adapters/webhook_client.py signs it, domain/delivery.py builds its body), so that a partner can
build its receiver from the OpenAPI document alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel, Field

from ..domain.delivery import CONTENT_TYPE


class PartnerEvent(BaseModel):
    """One event, as CloudEvents 1.0 structured JSON; `data` holds only the fields the partner's
    data-sharing policy grants, and no attribute of ours beyond these."""

    specversion: Literal["1.0"]
    id: UUID = Field(description="The event id, the same in every subscription that receives it")
    source: str = Field(examples=["/dcert/certificate"])
    type: str = Field(description="The event type, e.g. CertificateIssued (docs/asyncapi.yaml)")
    time: datetime
    datacontenttype: Literal["application/json"]
    dataschemaversion: int = Field(ge=1, description="The version of `data`'s schema")
    data: dict[str, Any] = Field(description="The event's fields that the partner's policy grants")


webhooks = APIRouter()


@webhooks.post(
    "partner-event",
    operation_id="partnerEvent",
    summary="An event a partner's subscription asked for",
    response_class=Response,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {CONTENT_TYPE: {"schema": PartnerEvent.model_json_schema()}},
        }
    },
    responses={
        200: {"description": "Any 2xx acknowledges the delivery; the answer's body is not read beyond 8 KiB"},
        "default": {
            "description": "Anything else, a timeout (10 s) or a redirect is a failed try: the same request "
            "(same body, same `webhook-id`, a new timestamp and signature) comes again after 5 s, 30 s, "
            "2 min, 10 min, 30 min, then 1 h to 24 h apart, about two days in all; then the delivery is "
            "dead until the partner or an admin replays it"
        },
    },
)
def partner_event(
    webhook_id: Annotated[
        str,
        Header(
            description="Standard Webhooks message id, stable for one event to one subscription: "
            "drop a repeat you already have"
        ),
    ],
    webhook_timestamp: Annotated[int, Header(description="Unix seconds of this try; refuse an old one")],
    webhook_signature: Annotated[
        str,
        Header(
            description="`v1,<base64 HMAC-SHA256>` of `<webhook-id>.<webhook-timestamp>.<body>` under the "
            "subscription's secret (`whsec_` + base64 key) per Standard Webhooks; while a rotated secret "
            "overlaps, one signature per secret, space-separated, newest first"
        ),
    ],
) -> None:
    """Deliveries are POSTs, at least once, each subscription's events about one certificate (or
    person) in the order they happened. Verify the signature over the exact bytes received."""
