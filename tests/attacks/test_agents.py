"""Self-declared agents: naming oneself someone's agent gives nothing of their record.

Before: anyone signed in could apply for another person's identity number, name themself
agent, and at once read that application and its timeline, the person's access log and the
agent's notices, and after the approval the certificate, the e-certificate, the benefits and the
findings; their application also blocked the person's own. Now an agent is claimed until a
reviewer verifies them (or the household register names them): a claimed agent reads only the
status of what they submitted; the person sees every application made in their name, is told of
it, may withdraw it, and is never blocked by it.
"""

from __future__ import annotations

from datetime import date

from ..system import System, application, new_person, wait_for
from ..test_main_flow import apply, approved, decide, graded

STATUS_ONLY = {"id", "matter", "status", "agent_status", "assessment_id", "submitted_at", "updated_at"}


def _get(system: System, service: str, path: str, token: str) -> int:
    return system.call(service, "GET", path, token=token).status_code


def test_a_stranger_naming_themself_agent_sees_only_the_status_and_the_person_takes_it_back(
    system: System,
) -> None:
    person, stranger = new_person(), new_person()
    person_token = system.token("applicant", "attack-person", id_number=person)
    stranger_token = system.token("applicant", "attack-stranger", id_number=stranger)
    claimed = apply(system, stranger_token, application(person, agent=stranger))
    assert claimed.status_code == 201, claimed.text
    claimed_id = claimed.json()["id"]

    seen = system.call("certificate", "GET", f"/v1/applications/{claimed_id}", token=stranger_token).json()
    assert set(seen) == STATUS_ONLY
    assert seen["agent_status"] == "claimed"
    assert _get(system, "certificate", f"/v1/applications/{claimed_id}/timeline", stranger_token) == 404
    assert (
        _get(system, "certificate", f"/v1/me/access-log?application_id={claimed_id}", stranger_token) == 404
    )

    # The person is not blocked by it, sees it with who made it, is told, and withdraws it.
    own = apply(system, person_token, application(person))
    assert own.status_code == 201, own.text
    mine = {
        item["id"]: item
        for item in system.call("certificate", "GET", "/v1/me/applications", token=person_token).json()[
            "items"
        ]
    }
    assert mine[claimed_id]["made_by"]["who"] == "agent"
    assert mine[claimed_id]["made_by"]["agent_status"] == "claimed"
    assert mine[claimed_id]["withdrawable"]
    assert mine[own.json()["id"]]["made_by"]["who"] == "self"
    told = wait_for(
        lambda: [
            item
            for item in system.call("notification", "GET", "/v1/inbox", token=person_token).json()["items"]
            if item["kind"] == "applied_in_your_name"
        ]
    )
    assert told
    assert "代办人" in told[0]["title"]
    withdrawn = system.call(
        "certificate", "POST", f"/v1/applications/{claimed_id}/withdrawal", token=person_token
    )
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"


def test_a_claimed_agent_reads_nothing_of_the_persons_certificate_findings_or_benefits(
    system: System, doctor: str, reviewer: str
) -> None:
    person, stranger = new_person(), new_person()
    person_token = system.token("applicant", "attack-holder", id_number=person)
    stranger_token = system.token("applicant", "attack-claimer", id_number=stranger)
    own = apply(system, person_token, application(person)).json()["id"]
    number = approved(system, doctor, reviewer, own)
    assessment = system.call("certificate", "GET", f"/v1/applications/{own}", token=person_token).json()[
        "assessment"
    ]
    # Now the stranger names themself agent of the holder on an application of their own.
    assert apply(system, stranger_token, application(person, agent=stranger)).status_code == 201
    for service, path in (
        ("certificate", f"/v1/certificates/{number}"),
        ("certificate", f"/v1/certificates/{number}/e-certificate"),
        ("certificate", f"/v1/applications/{own}"),
        ("certificate", f"/v1/me/access-log?application_id={own}"),
        ("benefits", f"/v1/certificates/{number}/benefits"),
    ):
        assert _get(system, service, path, stranger_token) == 404, path
    assert _get(system, "assessment", f"/v1/assessments/{assessment['assessment_id']}", stranger_token) == 403
    renewal = {"matter": "renewal", "certificate_number": number, "consent": True}
    assert system.call("certificate", "POST", "/v1/applications", renewal, stranger_token).status_code == 404


def test_a_parent_is_verified_by_the_approval_and_a_refused_agent_never(
    system: System, doctor: str, reviewer: str
) -> None:
    child, parent = new_person(birth=date(2017, 6, 6)), new_person()
    parent_token = system.token("applicant", "attack-parent", id_number=parent)
    verified = apply(system, parent_token, application(child, agent=parent)).json()["id"]
    number = approved(system, doctor, reviewer, verified)
    assert _get(system, "certificate", f"/v1/certificates/{number}", parent_token) == 200
    wait_for(lambda: _get(system, "benefits", f"/v1/certificates/{number}/benefits", parent_token) == 200)

    other_child, claimer = new_person(birth=date(2016, 1, 1)), new_person()
    claimer_token = system.token("applicant", "attack-refused", id_number=claimer)
    refused_id = apply(system, claimer_token, application(other_child, agent=claimer)).json()["id"]
    graded(system, doctor, refused_id)
    wait_for(
        lambda: (
            system.call("certificate", "GET", f"/v1/applications/{refused_id}", token=reviewer).json()[
                "status"
            ]
            == "assessed"
        )
    )
    body = {"decision": "approve", "agent": "refused"}
    decided = system.call("certificate", "POST", f"/v1/applications/{refused_id}/decision", body, reviewer)
    assert decided.status_code == 200, decided.text
    refused_number = decided.json()["certificate_number"]
    assert decided.json()["agent"]["status"] == "refused"
    assert _get(system, "certificate", f"/v1/certificates/{refused_number}", claimer_token) == 404
    assert _get(system, "benefits", f"/v1/certificates/{refused_number}/benefits", claimer_token) == 404
    assert decide  # the reviewer's decision helper stays the one of the main flow
