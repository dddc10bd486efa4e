"""Nothing an operator sees holds personal data: the whole flow runs, then every log line of the
four services and every span and metric they exported is searched for the test's names, phone
numbers, identity numbers, certificate number, address, e-mail and findings."""

from __future__ import annotations

import re
import secrets
import time
from datetime import date
from typing import Any
from urllib.parse import quote

from dcert_shared.ids import IdentityNumber, InvalidIdentityNumber

from .system import System, WebhookReceiver, application, new_person, wait_for
from .test_main_flow import apply, approved, status_of

# An identity number standing alone (not inside a longer run of hex digits, as in a trace id).
IDENTITY_NUMBER = re.compile(rb"(?<![0-9a-fA-F])[0-9]{17}[0-9X](?![0-9a-fA-F])")


def test_logs_spans_and_metrics_of_the_whole_flow_hold_no_personal_data(
    system: System, doctor: str, reviewer: str, partner: tuple[str, dict[str, Any], WebhookReceiver]
) -> None:
    assert system.telemetry is not None
    assert system.log_paths
    mark = secrets.token_hex(3)
    child, parent = new_person(birth=date(2017, 3, 9)), new_person()
    name, agent_name = f"欧阳{mark}", f"欧阳父{mark}"
    phone, address, email = (
        f"139{secrets.randbelow(10**8):08d}",
        f"湖州市吴兴区{mark}路8号",
        f"p{mark}@example.cn",
    )
    findings = f"右下肢缺失{mark}"
    body = application(child, agent=parent)
    body["applicant"] |= {"name": name, "phone": phone, "address": address}
    body["agent"]["name"] = agent_name
    parent_token = system.token("applicant", f"citizen-{mark}", id_number=parent)

    contact = system.call(
        "notification",
        "PUT",
        "/v1/me/contact",
        {"phone": phone, "email": email, "language": "zh-CN", "channels": ["inbox", "sms", "email"]},
        parent_token,
    )
    assert contact.status_code == 200, contact.text
    submitted = apply(system, parent_token, body)
    assert submitted.status_code == 201, submitted.text
    application_id = submitted.json()["id"]
    wait_for(lambda: status_of(system, reviewer, application_id) == "assessing")
    number = approved(system, doctor, reviewer, application_id, findings=findings)
    wait_for(
        lambda: (
            system.call(
                "benefits", "GET", f"/v1/certificates/{number}/benefits", token=parent_token
            ).status_code
            == 200
        )
    )
    for service, path in [
        ("certificate", f"/v1/certificates/{number}"),
        ("certificate", f"/v1/certificates/{number}/e-certificate"),
        ("benefits", f"/v1/certificates/{number}/benefits"),
        ("notification", "/v1/inbox"),
    ]:
        answer = system.call(service, "GET", path, token=parent_token)
        assert answer.status_code == 200, answer.text
    code = system.call("certificate", "GET", f"/v1/certificates/{number}/e-certificate", token=parent_token)
    assert system.call("certificate", "GET", "/v1/verify?code=" + quote(code.json()["code"])).json()["valid"]
    # Bad input naming the person is logged as refused, without the values.
    refused = system.call("certificate", "GET", f"/v1/certificates/{child}99", token=reviewer)
    assert refused.status_code in (403, 404)
    _, _, receiver = partner
    wait_for(lambda: receiver.bodies_with(number))

    time.sleep(2.5)  # spans leave every 200 ms and metrics every second (tests/conftest.py)
    spans = system.telemetry.received("/v1/traces")
    metrics = system.telemetry.received("/v1/metrics")
    logs = b"\n".join(path.read_bytes() for path in system.log_paths)
    assert b"POST /v1/applications" in spans, "no spans were exported"
    assert b"consume " in spans, "no spans were exported"
    assert metrics, "no metrics were exported"
    assert b"started" in logs, "the services' logs were not captured"

    personal = [child, parent, number, name, agent_name, phone, address, email, findings]
    for where, captured in (("logs", logs), ("spans", spans), ("metrics", metrics)):
        for value in personal:
            assert value.encode() not in captured, f"personal data in the {where}"
        for candidate in IDENTITY_NUMBER.findall(captured):
            try:
                IdentityNumber.parse(candidate.decode())
            except InvalidIdentityNumber:
                continue
            raise AssertionError(f"an identity number in the {where}")
