"""Attack: any partner can end anyone (issue 18, finding 4).

A partner whose policy granted `death` reported a death for any identity number in the country:
the certificate was cancelled at once and every benefit ended, and the answer (`applied` or
`pending`) told the partner whether the person held a certificate. Now a fact counts only for a
person in the partner's jurisdiction, every fact is answered alike, and a death only holds the
certificate until the reviewer of the household area decides; a mistake is corrected with
everything restored.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from ..system import System, new_person, wait_for
from .holders import benefit_status, fact, holder_in, partner_with

ZHEJIANG, GUANGDONG = "330000", "440000"
pytestmark = pytest.mark.usefixtures("doctor")  # the session's doctor grades the holders of 330502


def report(system: System, token: str, body: dict[str, Any]) -> httpx.Response:
    """A fact, once the benefits service has learnt the new partner's policy (from its event)."""

    def answered() -> httpx.Response | None:
        answer = system.call("benefits", "POST", "/v1/facts", body, token)
        return None if answer.status_code == 403 else answer

    return wait_for(answered, timeout=30)


def certificate_status(system: System, token: str, number: str) -> str:
    return str(system.call("certificate", "GET", f"/v1/certificates/{number}", token=token).json()["status"])


def benefits(system: System, token: str, number: str) -> dict[str, Any]:
    answer = system.call("benefits", "GET", f"/v1/certificates/{number}/benefits", token=token)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def reported(system: System, reviewer: str, number: str) -> dict[str, Any] | None:
    items = system.call("certificate", "GET", "/v1/death-reports", token=reviewer).json()["items"]
    return next((item for item in items if item["certificate_number"] == number), None)


def decide(system: System, reviewer: str, number: str, decision: str) -> httpx.Response:
    body = {"decision": decision, "reason": "已向公安机关核实 / checked with the police"}
    return system.call("certificate", "POST", f"/v1/certificates/{number}/death-confirmation", body, reviewer)


def test_a_partners_death_report_neither_ends_the_certificate_nor_tells_who_holds_one(
    system: System, admin: str, reviewer: str
) -> None:
    holder = holder_in(system, admin, "330502")
    _, partner = partner_with(system, admin, ["death"], None)  # registered as in API v1
    today = date.today().isoformat()
    holders = report(system, partner, fact("death", holder.id_number, today))
    strangers = report(system, partner, fact("death", new_person("330502"), today))
    assert (holders.status_code, strangers.status_code) == (202, 202)
    assert {**holders.json(), "fact_id": None} == {**strangers.json(), "fact_id": None}, "an oracle"
    wait_for(lambda: reported(system, reviewer, holder.number))
    assert certificate_status(system, holder.token, holder.number) == "on_hold", "ended by a partner alone"
    assert decide(system, reviewer, holder.number, "reject").status_code == 200


def test_a_partner_outside_the_jurisdiction_ends_nobody_and_learns_nothing(
    system: System, admin: str, reviewer: str
) -> None:
    holder = holder_in(system, admin, "330502")
    _, guangdong = partner_with(system, admin, ["death", "low_income_started"], [GUANGDONG])
    today = date.today().isoformat()
    answers = [
        report(system, guangdong, fact("death", holder.id_number, today)),
        report(system, guangdong, fact("death", new_person("330502"), today)),  # holds no certificate
        report(system, guangdong, fact("low_income_started", holder.id_number, today)),
        report(system, guangdong, fact("death", new_person("440305"), today)),  # of its own province
    ]
    assert {answer.status_code for answer in answers} == {202}
    assert [{**answer.json(), "fact_id": None} for answer in answers] == [
        {"fact_id": None, "status": "received"}
    ] * 4

    # A partner of the household's province reports the same death after it: only that one holds.
    zhejiang_id, zhejiang = partner_with(system, admin, ["death"], [ZHEJIANG])
    assert report(system, zhejiang, fact("death", holder.id_number, today)).status_code == 202
    held = wait_for(lambda: reported(system, reviewer, holder.number))
    assert held["partner_id"] == zhejiang_id, "the death from outside the jurisdiction held the certificate"
    assert certificate_status(system, holder.token, holder.number) == "on_hold"
    assert benefit_status(benefits(system, holder.token, holder.number), "living_subsidy") != "active"
    assert decide(system, reviewer, holder.number, "reject").status_code == 200


def test_a_reported_death_only_holds_the_certificate_until_the_reviewer_of_the_area_decides(
    system: System, admin: str, reviewer: str
) -> None:
    holder = holder_in(system, admin, "330502")
    assert benefit_status(benefits(system, holder.token, holder.number), "nursing_subsidy") == "active"
    code = system.call(
        "certificate", "GET", f"/v1/certificates/{holder.number}/e-certificate", token=holder.token
    )
    _, zhejiang = partner_with(system, admin, ["death"], [ZHEJIANG])
    assert (
        report(system, zhejiang, fact("death", holder.id_number, date.today().isoformat())).status_code == 202
    )

    wait_for(lambda: certificate_status(system, holder.token, holder.number) == "on_hold")
    verified = system.call("certificate", "GET", "/v1/verify?code=" + quote(code.json()["code"])).json()
    assert (verified["valid"], verified["status"]) == (False, "on_hold")
    wait_for(
        lambda: (
            benefit_status(benefits(system, holder.token, holder.number), "nursing_subsidy") == "suspended"
        )
    )
    far = system.token("reviewer", "attack-far-reviewer", region="440305")
    assert decide(system, far, holder.number, "confirm").status_code == 404
    assert decide(system, holder.token, holder.number, "confirm").status_code == 403

    rejected = decide(system, reviewer, holder.number, "reject")
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "active"
    wait_for(
        lambda: benefit_status(benefits(system, holder.token, holder.number), "nursing_subsidy") == "active"
    )
    verified = system.call("certificate", "GET", "/v1/verify?code=" + quote(code.json()["code"])).json()
    assert verified["valid"] is True


def test_a_mistaken_death_is_corrected_after_its_confirmation_with_everything_restored(
    system: System, admin: str, reviewer: str
) -> None:
    holder = holder_in(system, admin, "330502")
    _, public_security = partner_with(system, admin, ["death", "death_corrected"], ["330500"])
    today = date.today()
    assert (
        report(system, public_security, fact("death", holder.id_number, today.isoformat())).status_code == 202
    )
    wait_for(lambda: reported(system, reviewer, holder.number))
    assert decide(system, reviewer, holder.number, "confirm").json()["status"] == "cancelled"
    wait_for(
        lambda: (
            benefit_status(benefits(system, holder.token, holder.number), "nursing_subsidy") == "terminated"
        )
    )

    correction = fact("death_corrected", holder.id_number, today.isoformat())
    assert report(system, public_security, correction).json()["status"] == "received"
    wait_for(lambda: certificate_status(system, holder.token, holder.number) == "active")

    def nursing() -> dict[str, Any] | None:
        items = benefits(system, holder.token, holder.number)["items"]
        item = next(item for item in items if item["code"] == "nursing_subsidy")
        return item if item["status"] == "active" else None

    resumed = wait_for(nursing)
    next_month = date(today.year + today.month // 12, today.month % 12 + 1, 1)
    # Paid through the month the death was said to end it in, and on from the next: no month is
    # lost (months already past go out as arrears with the next monthly run).
    assert resumed["active_to"] == (next_month - timedelta(days=1)).isoformat()
    assert resumed["upcoming"]["active_from"] == next_month.isoformat()
    card = system.call("certificate", "GET", f"/v1/certificates/{holder.number}", token=holder.token).json()[
        "card"
    ]
    assert card["status"] == "ordered", "the card invalidated with the cancellation is made again"
