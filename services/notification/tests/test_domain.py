"""The notification model on its own: policies, webhook targets, deliveries, retries (no I/O)."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr
from standardwebhooks import Webhook

from dcert_notification.domain.delivery import RetrySchedule, partner_event, webhook_id
from dcert_notification.domain.errors import EventTypesOutsidePolicy, PolicyInvalid, WebhookUrlRefused
from dcert_notification.domain.partner import DataSharingPolicy, Partner
from dcert_notification.domain.subscription import Subscription, new_webhook_secret
from dcert_notification.domain.webhook_target import WebhookTarget
from dcert_notification.settings import NotificationSettings
from dcert_shared.envelope import Actor, EventEnvelope


def test_a_policy_shares_only_its_fields_and_leaves_missing_ones_out() -> None:
    policy = DataSharingPolicy.of(["CertificateIssued"], ["certificate_number", "level", "card_id"], [])
    data = {"certificate_number": "33050220160417123441", "level": 1, "name": "王小明", "person_ref": "ab"}
    assert policy.share(data) == {"certificate_number": "33050220160417123441", "level": 1}


def test_a_policy_with_unknown_event_types_fields_or_facts_is_refused_naming_each() -> None:
    with pytest.raises(PolicyInvalid) as refused:
        DataSharingPolicy.of(
            ["CertificateIssued", "CertificateStolen", "GradeRecorded"], ["level", "a b"], ["rumour"]
        )
    fields = [(error.field, error.as_dict("en")["message"]) for error in refused.value.errors or []]
    assert fields == [
        ("policy.event_types", "unknown event type: CertificateStolen"),
        # assessment's findings never go to partners
        ("policy.event_types", "unknown event type: GradeRecorded"),
        ("policy.fields", "not a field name: a b"),
        ("policy.facts", "unknown fact type: rumour"),
    ]
    in_chinese = [error.as_dict("zh-CN")["message"] for error in refused.value.errors or []]
    assert in_chinese[0] == "未知的事件类型：CertificateStolen"


def test_the_webhook_id_is_stable_per_event_and_subscription() -> None:
    event, first, second = uuid.uuid4(), str(uuid.uuid4()), str(uuid.uuid4())
    assert webhook_id(first, event) == webhook_id(first, event)
    assert webhook_id(first, event) != webhook_id(second, event)
    assert webhook_id(first, event).startswith("msg_")


def test_a_partner_event_carries_no_internal_or_personal_attribute() -> None:
    envelope = EventEnvelope(
        event_id=uuid.uuid4(),
        event_type="CertificateIssued",
        schema_version=1,
        stream_id="certificate-33050220160417123441",
        stream_version=1,
        payload={"certificate_number": "33050220160417123441", "level": 1, "person_ref": "ab"},
        source="/dcert/certificate",
        occurred_at=datetime.now(UTC),
        correlation_id=uuid.uuid4(),
        causation_id=uuid.uuid4(),
        actor=Actor("applicant", "citizen-1"),
        traceparent="00-aa-bb-01",
    )
    event = partner_event(envelope, DataSharingPolicy(("CertificateIssued",), ("level",), ()))
    assert set(event) == {
        "specversion",
        "id",
        "source",
        "type",
        "time",
        "datacontenttype",
        "dataschemaversion",
        "data",
    }
    assert event["data"] == {"level": 1}
    assert "33050220160417123441" not in str(event)


def test_retries_follow_the_schedule_with_jitter_then_give_up() -> None:
    schedule = RetrySchedule((5, 30, 120), jitter=0.2)
    assert schedule.max_attempts == 4
    assert schedule.delay_after(1, 0.0) == pytest.approx(4.0)
    assert schedule.delay_after(2, 0.999) == pytest.approx(36.0, abs=0.1)
    assert schedule.delay_after(3, 0.5) == pytest.approx(120.0)
    assert schedule.delay_after(4, 0.5) is None


def test_the_default_schedule_keeps_trying_for_more_than_a_day() -> None:
    settings = NotificationSettings(
        database_url="postgresql://x/y", nats_url="nats://x:1", environment="test"
    )
    assert sum(settings.webhook_retry_schedule_seconds) > 24 * 3600


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://partner.example/hook", "scheme_not_allowed"),
        ("https:///hook", "host_missing"),
        ("https://user:pw@partner.example/hook", "credentials_not_allowed"),
        ("http://169.254.169.254/latest/meta-data/", "metadata_address"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata_address"),
        ("http://100.100.100.200/latest/meta-data/", "metadata_address"),
        ("http://169.254.10.1/", "link_local_address"),
        ("http://[fe80::1]/hook", "link_local_address"),
        ("http://[::ffff:169.254.169.254]/", "metadata_address"),
    ],
)
def test_webhook_urls_that_could_reach_inside_are_always_refused(url: str, code: str) -> None:
    with pytest.raises(WebhookUrlRefused) as refused:
        WebhookTarget.parse(url, allow_private=True)
    [error] = refused.value.errors or []
    assert (error.field, error.code) == ("url", code)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9000/hook", "http://localhost/hook", "http://10.1.2.3/", "http://[::1]:8080/"]
)
def test_loopback_and_private_targets_depend_on_the_deployment(url: str) -> None:
    assert WebhookTarget.parse(url, allow_private=True).url == url
    with pytest.raises(WebhookUrlRefused):
        WebhookTarget.parse(url, allow_private=False)


def test_a_public_https_target_is_accepted_everywhere() -> None:
    target = WebhookTarget.parse("https://hooks.partner.example:8443/dcert", allow_private=False)
    assert (target.scheme, target.host, target.port, target.host_is_address) == (
        "https",
        "hooks.partner.example",
        8443,
        False,
    )


def test_private_targets_are_refused_by_default_only_in_production() -> None:
    servers: dict[str, Any] = {"database_url": "postgresql://x/y", "nats_url": "tls://x:1"}
    assert NotificationSettings(**servers, environment="test").allow_private_targets is True
    production = NotificationSettings(
        **servers,
        environment="production",
        auth_jwks_url="https://idp.example/jwks",
        auth_issuer="https://idp.example",
        identity_hash_key=SecretStr("k" * 32),
        master_key=SecretStr("A" * 43 + "="),
    )
    assert production.allow_private_targets is False


def test_a_subscription_is_limited_to_the_event_types_its_partner_is_granted() -> None:
    partner = Partner.register("p-1", "交通局", DataSharingPolicy(("CertificateIssued",), ("level",), ()))
    target = WebhookTarget.parse("https://hooks.partner.example/", allow_private=False)
    with pytest.raises(EventTypesOutsidePolicy):
        Subscription.create("s-1", partner, target, ["CertificateIssued", "CertificateCancelled"], "whsec_x")
    subscription = Subscription.create("s-1", partner, target, ["CertificateIssued"], "whsec_x")
    assert subscription.event_types == ("CertificateIssued",)


def test_a_new_secret_is_a_standard_webhooks_secret_of_24_random_bytes() -> None:
    secret = new_webhook_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    assert secret != new_webhook_secret()
    Webhook(secret)  # accepted by the reference library
