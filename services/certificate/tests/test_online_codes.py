"""The e-certificate's online code: beside the offline code, a code made at the moment it is asked
for that `/v1/verify` takes only while it is fresh; the offline code keeps working as before.

Codes of another age are made with the service's own signer (what the clock would do to a code
asked for earlier); everything else goes through the API."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from dcert_certificate.adapters.ecert import (
    CodeContent,
    ECertificateSigner,
    InvalidCode,
    OnlineCode,
    online_code_refusal,
)
from dcert_certificate.offline_verify import verify_offline
from dcert_certificate.settings import CertificateSettings

from .conftest import CertificateService

CONTENT = CodeContent(
    serial="S-0001", category=4, level=2, expires_on=datetime(2036, 11, 20).date(), holder_masked="李*华"
)
NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def test_an_online_code_is_fresh_for_its_life_and_not_after() -> None:
    signer = ECertificateSigner.from_seed(bytes(range(32)))
    code = signer.verify_online(signer.sign_online(CONTENT, NOW))
    assert code == OnlineCode(CONTENT, NOW)
    assert online_code_refusal(code, NOW + timedelta(seconds=90), 90) is None
    assert online_code_refusal(code, NOW + timedelta(seconds=91), 90) == "online_code_expired"
    assert online_code_refusal(code, NOW - timedelta(seconds=5), 90) is None  # another replica's clock
    assert online_code_refusal(code, NOW - timedelta(seconds=60), 90) == "online_code_not_yet_valid"


def test_neither_kind_of_code_passes_for_the_other_and_the_time_cannot_be_moved() -> None:
    signer = ECertificateSigner.from_seed(bytes(range(32)))
    online, offline = signer.sign_online(CONTENT, NOW), signer.sign(CONTENT)
    with pytest.raises(InvalidCode):
        signer.verify(online)
    with pytest.raises(InvalidCode):
        signer.verify_online(offline)
    with pytest.raises(InvalidCode):  # the offline signature under the online prefix
        signer.verify_online("DC1T." + offline.split(".", 1)[1])
    prefix, key_id, payload, signature = online.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    later = base64.urlsafe_b64encode(json.dumps({**data, "t": data["t"] + 3600}).encode()).rstrip(b"=")
    with pytest.raises(InvalidCode) as refused:
        signer.verify_online(f"{prefix}.{key_id}.{later.decode()}.{signature}")
    assert refused.value.reason == "signature_invalid"


def test_offline_an_online_code_is_said_to_be_for_online_checks() -> None:
    signer = ECertificateSigner.from_seed(bytes(range(32)))
    result = verify_offline(signer.sign_online(CONTENT, NOW), signer.public_keys(), NOW.date())
    assert (result.valid, result.reason) == (False, "online_only")


async def test_the_e_certificate_gives_an_online_code_that_verifies_while_fresh(
    certificate: CertificateService,
) -> None:
    _, holder, number = await certificate.holder_with_certificate()
    answer = await certificate.call("GET", f"/v1/certificates/{number}/e-certificate", holder)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    issued = datetime.fromisoformat(body["online_code_issued_at"])
    until = datetime.fromisoformat(body["online_code_valid_until"])
    assert abs((datetime.now(UTC) - issued).total_seconds()) < 5
    assert until - issued == timedelta(seconds=90)
    assert body["online_code"].startswith("DC1T.")
    assert body["code"].startswith("DC1.")

    online = await certificate.verify(body["online_code"])
    assert online["valid"] is True
    assert online["code_type"] == "online"
    assert online["status"] == "active"
    assert online["category"] == "physical"
    assert online["level"] == 2
    assert datetime.fromisoformat(online["online_code_valid_until"]) == until
    offline = await certificate.verify(body["code"])
    assert offline["valid"] is True
    assert offline["code_type"] == "offline"
    assert offline["online_code_issued_at"] is None


async def test_an_online_code_asked_for_earlier_than_its_life_is_refused(
    certificate: CertificateService,
) -> None:
    _, holder, number = await certificate.holder_with_certificate()
    body = (await certificate.call("GET", f"/v1/certificates/{number}/e-certificate", holder)).json()
    signer: ECertificateSigner = certificate.app.state.signer
    content = signer.verify_online(body["online_code"]).content
    two_minutes_ago = signer.sign_online(content, datetime.now(UTC) - timedelta(seconds=120))
    stale = await certificate.verify(two_minutes_ago)
    assert stale["valid"] is False
    assert stale["reason_code"] == "online_code_expired"
    assert stale["code_type"] == "online"
    assert stale["holder"] is None
    from_the_future = signer.sign_online(content, datetime.now(UTC) + timedelta(hours=1))
    assert (await certificate.verify(from_the_future))["reason_code"] == "online_code_not_yet_valid"


async def test_a_fresh_online_code_of_a_lost_certificate_fails_at_once(
    certificate: CertificateService,
) -> None:
    _, holder, number = await certificate.holder_with_certificate()
    body = (await certificate.call("GET", f"/v1/certificates/{number}/e-certificate", holder)).json()
    lost = await certificate.call("POST", f"/v1/certificates/{number}/loss-report", holder)
    assert lost.status_code == 200, lost.text
    verified = await certificate.verify(body["online_code"])
    assert verified["valid"] is False
    assert verified["reason_code"] == "certificate_lost"


def test_production_keeps_online_codes_long_enough_to_scan() -> None:
    with pytest.raises(ValidationError, match="DCERT_ECERT_ONLINE_CODE_SECONDS"):
        CertificateSettings(
            database_url="postgresql://x/y",
            nats_url="tls://x:1",
            environment="production",
            auth_oidc_issuer="https://id.example.cn",
            identity_hash_key="k" * 40,
            master_key="A" * 43 + "=",
            ecert_signing_seed=base64.b64encode(bytes(32)).decode(),
            ecert_online_code_seconds=10,
        )
