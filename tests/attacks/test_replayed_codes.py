"""A replayed e-certificate: a screenshot of the holder's QR code, or a photo of their screen,
sent to someone else to pass a gate as them. The code the phone shows is made anew every
minute or so; once its life is over `/v1/verify` refuses it, and nobody can make it younger.

The session's services make online codes that live 5 s (tests/conftest.py), so that a test can
wait a code out; production keeps them 90 s (at least 30)."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from ..system import System, application, new_person
from ..test_main_flow import apply, approved


@pytest.fixture(scope="module")
def holders_codes(system: System, doctor: str, reviewer: str) -> dict[str, Any]:
    """A live certificate's e-certificate answer, as the holder's phone receives it."""
    person = new_person()
    holder = system.token("applicant", f"replay-{person[-6:]}", id_number=person)
    created = apply(system, holder, application(person), key=f"replayed-codes-{person}")
    assert created.status_code == 201, created.text
    number = approved(system, doctor, reviewer, created.json()["id"])
    answer = system.call("certificate", "GET", f"/v1/certificates/{number}/e-certificate", token=holder)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def verified(system: System, code: str) -> dict[str, Any]:
    """As a gate's scanner asks: the code in the body, out of any URL that gets logged."""
    answer = system.call("certificate", "POST", "/v1/verify", {"code": code})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_screenshot_of_the_online_code_stops_verifying_when_its_life_is_over(
    system: System, holders_codes: dict[str, Any]
) -> None:
    online = holders_codes["online_code"]
    fresh = verified(system, online)
    assert fresh["valid"] is True
    assert fresh["code_type"] == "online"
    assert fresh["status"] == "active"

    until = datetime.fromisoformat(holders_codes["online_code_valid_until"])
    time.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 1.5)
    replayed = verified(system, online)
    assert replayed["valid"] is False
    assert replayed["reason_code"] == "online_code_expired"
    assert replayed["holder"] is None, "a stale code shows nothing more"
    assert replayed["status"] is None, "a stale code shows nothing more"
    in_the_query = system.client.get(system.url("certificate", "/v1/verify"), params={"code": online})
    assert in_the_query.json()["reason_code"] == "online_code_expired"


def test_the_time_in_an_online_code_cannot_be_moved(system: System, holders_codes: dict[str, Any]) -> None:
    prefix, key_id, payload, signature = holders_codes["online_code"].split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    for moved in (int(time.time()), data["t"] + 3600):
        younger = base64.urlsafe_b64encode(json.dumps({**data, "t": moved}).encode()).rstrip(b"=").decode()
        answer = verified(system, f"{prefix}.{key_id}.{younger}.{signature}")
        assert answer["valid"] is False
        assert answer["reason_code"] == "signature_invalid"


def test_the_offline_code_cannot_be_passed_off_as_an_online_one(
    system: System, holders_codes: dict[str, Any]
) -> None:
    offline = holders_codes["code"]
    disguised = verified(system, "DC1T." + offline.split(".", 1)[1])
    assert disguised["valid"] is False
    assert disguised["reason_code"] == "signature_invalid"
    # The offline code itself still verifies, and says what it is: a gate that needs the
    # person present takes only `code_type: "online"`.
    as_is = verified(system, offline)
    assert as_is["valid"] is True
    assert as_is["code_type"] == "offline"
