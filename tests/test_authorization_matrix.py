"""Who may do what on which record, proved against the four services as real processes.

The matrix (tests/authorization_matrix.py) is called in full: every operation of every service's
OpenAPI document, as every role on the own side and on the foreign side, and without a token. The
records it names are made once for the module over the real flow (tests/authorization_world.py),
as a person, a doctor and a reviewer would make them. Then the bad input of issue 8: an agent who is not registered for the
person, a partner reaching for another partner's things, a reviewer and a card centre of another
province, a doctor reading another doctor's case, an admin asking for findings.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from .authorization_matrix import (
    CALLERS,
    FINDINGS_READERS,
    FOREIGN_STATUS,
    MATRIX,
    OWN_REGION,
    Entry,
    Outcome,
    World,
    missing_entries,
)
from .authorization_world import built_world, ok
from .system import SERVICES, System, application, new_person

DENIED_OR_FOREIGN = (Outcome.ALLOWED_BLIND, Outcome.FOREIGN, Outcome.DENIED, Outcome.UNAUTHENTICATED)


@pytest.fixture(scope="module")
def world(system: System, admin: str, doctor: str, reviewer: str) -> Iterator[World]:
    """The records of tests/authorization_world.py, made once for the module. (`doctor`: the
    session's doctor of 330502, so that A's hearing assessment has one.)"""
    with built_world(system, admin, reviewer) as made:
        yield made


# -- the matrix ----------------------------------------------------------------------------------------
def call(system: System, world: World, entry: Entry, caller: str) -> httpx.Response:
    token = world.tokens.get(caller)
    return system.client.request(
        entry.method,
        system.url(entry.service, entry.url_path(world)),
        json=entry.body(world, caller) if entry.body else None,
        params=entry.query(world) if entry.query else None,
        headers={"Authorization": f"Bearer {token}"} if token else {},
    )


def mismatch(world: World, entry: Entry, caller: str, answer: httpx.Response) -> list[str]:
    """What is wrong with this answer to this caller; nothing when the policy was kept."""
    expected, status, text = entry.expected(caller), answer.status_code, answer.text
    wrong = []
    if status >= 500:
        wrong.append("a server error")
    elif expected in (Outcome.ALLOWED, Outcome.ALLOWED_BLIND) and status in (401, 403, 404):
        wrong.append("refused")
    elif expected is Outcome.FOREIGN and status != FOREIGN_STATUS[entry.service]:
        wrong.append(f"not {FOREIGN_STATUS[entry.service]} for someone else's record")
    elif expected is Outcome.DENIED and status != 403:
        wrong.append("not 403 for a role that may not")
    elif expected is Outcome.UNAUTHENTICATED and status != 401:
        wrong.append("not 401 without a token")
    if 400 <= status < 500 and not answer.headers.get("content-type", "").startswith(
        "application/problem+json"
    ):
        wrong.append("an error that is no problem document")
    if expected in DENIED_OR_FOREIGN:
        wrong.extend(f"shows {name}" for name, marker in world.own_markers.items() if marker in text)
    if caller not in FINDINGS_READERS and world.findings_a in text:
        wrong.append("shows the findings")
    if (
        caller == "admin"
        and entry.service == "assessment"
        and ('"findings"' in text or '"measurements"' in text)
    ):
        wrong.append("shows an admin findings or measurements")
    return [f"{caller}: expected {expected.value}, got {status}: {problem}" for problem in wrong]


@pytest.mark.parametrize("entry", MATRIX, ids=lambda entry: f"{entry.service} {entry.method} {entry.path}")
def test_each_caller_gets_what_the_policy_says(system: System, world: World, entry: Entry) -> None:
    wrong = [
        problem
        for caller in CALLERS
        for problem in mismatch(world, entry, caller, call(system, world, entry, caller))
    ]
    assert not wrong, f"{entry.service} {entry.method} {entry.path}:\n" + "\n".join(wrong)


def test_every_operation_of_every_service_has_an_entry(system: System) -> None:
    documented = {
        (service, method.upper(), path)
        for service in SERVICES
        for path, operations in ok(system.call(service, "GET", "/openapi.json"))["paths"].items()
        for method in operations
    }
    keys = [entry.key for entry in MATRIX]
    assert len(keys) == len(set(keys)), "an operation has two entries: " + ", ".join(
        " ".join(key) for key in sorted({key for key in keys if keys.count(key) > 1})
    )
    missing, stale = missing_entries(documented, MATRIX)
    assert not missing, "operations without an entry in tests/authorization_matrix.py: " + ", ".join(
        f"{service} {method} {path}" for service, method, path in missing
    )
    assert not stale, "entries for operations no service has: " + ", ".join(
        f"{service} {method} {path}" for service, method, path in stale
    )


def test_a_route_without_an_entry_is_named_by_the_coverage_check() -> None:
    documented = {entry.key for entry in MATRIX} | {("benefits", "DELETE", "/v1/benefits/{code}")}
    assert missing_entries(documented, MATRIX) == ([("benefits", "DELETE", "/v1/benefits/{code}")], [])


def test_the_matrix_names_a_refusal_a_leak_and_findings_shown_to_the_wrong_caller(world: World) -> None:
    entry = next(entry for entry in MATRIX if entry.path == "/v1/applications/{application_id}")
    problem = {"content-type": "application/problem+json"}
    leaked = httpx.Response(404, headers=problem, text=f'{{"detail": "{world.application_a}"}}')
    assert mismatch(world, entry, "reviewer_foreign", leaked) == [
        "reviewer_foreign: expected someone else's record, got 404: shows A's application"
    ]
    refused = httpx.Response(403, headers=problem, text="{}")
    assert mismatch(world, entry, "reviewer", refused) == ["reviewer: expected allowed, got 403: refused"]
    findings = httpx.Response(200, text=f'{{"findings": "{world.findings_a}"}}')
    assert mismatch(world, entry, "admin", findings) == [
        "admin: expected allowed, got 200: shows the findings"
    ]
    assert mismatch(world, entry, "reviewer", findings) == []


# -- bad input: each a story of someone reaching for what is not theirs ---------------------------------
def _get(system: System, service: str, path: str, token: str) -> httpx.Response:
    return system.call(service, "GET", path, None, token)


def test_a_person_who_is_not_the_registered_agent_neither_reads_nor_acts_for_the_child(
    system: System, world: World
) -> None:
    stranger_id = new_person()
    stranger = system.token("applicant", "matrix-stranger", id_number=stranger_id)
    child_id, number = world.own_markers["identity number of A"], world.certificate_a
    for service, path in (
        ("certificate", f"/v1/applications/{world.application_a}"),
        ("certificate", f"/v1/applications/{world.application_a}/timeline"),
        ("certificate", f"/v1/certificates/{number}"),
        ("certificate", f"/v1/certificates/{number}/e-certificate"),
        ("benefits", f"/v1/certificates/{number}/benefits"),
    ):
        answer = _get(system, service, path, stranger)
        assert answer.status_code == 404, (service, answer.text)
        assert child_id not in answer.text
    assessment = _get(system, "assessment", f"/v1/assessments/{world.assessment_a}", stranger)
    assert assessment.status_code == 403
    assert assessment.json()["code"] == "not_your_assessment"
    assert world.findings_a not in assessment.text

    as_agent = {"id_number": stranger_id, "name": "陌生人", "relationship": "entrusted"}
    replacement = {
        "matter": "replacement",
        "certificate_number": number,
        "reason": "damaged",
        "consent": True,
    }
    for body in (replacement, {**replacement, "agent": as_agent}):
        answer = system.call("certificate", "POST", "/v1/applications", body, stranger)
        assert answer.status_code == 404, answer.text
    pretending = application(new_person(birth=date(2019, 9, 9)), agent=world.id_numbers["applicant"])
    refused = system.call("certificate", "POST", "/v1/applications", pretending, stranger)
    assert refused.status_code == 403
    assert refused.json()["code"] == "not_your_application"
    lost = system.call("certificate", "POST", f"/v1/certificates/{number}/loss-report", None, stranger)
    assert lost.status_code == 404
    for action, body in (("withdrawal", None), ("dispute", {"reason": "x"}), ("resubmission", {"note": "x"})):
        answer = system.call(
            "certificate", "POST", f"/v1/applications/{world.application_a}/{action}", body, stranger
        )
        assert answer.status_code == 404, (action, answer.text)

    assert ok(_get(system, "certificate", "/v1/applications", stranger))["items"] == []
    holder = system.token("applicant", "matrix-child-a", id_number=child_id)
    for token in (holder, world.tokens["applicant"]):  # the holder themself and the registered agent
        assert ok(_get(system, "certificate", f"/v1/certificates/{number}", token))["status"] == "active"


def test_a_partner_reaches_none_of_another_partners_deliveries_dead_letters_secret_or_policy(
    system: System, world: World
) -> None:
    other = world.tokens["partner_foreign"]
    deliveries = _get(system, "notification", f"/v1/deliveries?subscription_id={world.subscription_a}", other)
    assert deliveries.status_code == 404
    assert deliveries.json()["code"] == "subscription_not_found"
    own_log = ok(_get(system, "notification", "/v1/deliveries", other))["items"]
    assert own_log
    assert {item["partner_id"] for item in own_log} == {own_log[0]["partner_id"]} != {world.partner_a}
    replay = {"since": world.since, "subscription_id": world.subscription_a}
    assert system.call("notification", "POST", "/v1/deliveries/replay", replay, other).status_code == 404
    rotated = system.call(
        "notification", "POST", f"/v1/subscriptions/{world.subscription_a}/secret", None, other
    )
    assert rotated.status_code == 404
    assert "secret" not in rotated.json()
    for method, path, body in (
        ("GET", f"/v1/dead-letters?partner_id={world.partner_a}", None),
        ("POST", "/v1/dead-letters/replay", {"partner_id": world.partner_a}),
        ("GET", f"/v1/partners/{world.partner_a}/policy/versions", None),
        ("GET", f"/v1/partners/{world.partner_a}", None),
        ("PUT", f"/v1/partners/{world.partner_a}/policy", {"policy": world.policy_a}),
    ):
        answer = system.call("notification", method, path, body, other)
        assert answer.status_code == 403, (path, answer.text)
        assert world.partner_a not in answer.text
    facts = {"fact_id": World.unique("matrix-fact"), "type": "low_income_started", "id_number": new_person()}
    granted_elsewhere = system.call(
        "benefits", "POST", "/v1/facts", {**facts, "effective_date": "2026-01-01"}, other
    )
    assert granted_elsewhere.status_code == 403, "a fact type only partner 1's policy grants"
    own = system.call(
        "notification",
        "POST",
        f"/v1/subscriptions/{world.subscription_a}/secret",
        None,
        world.tokens["partner"],
    )
    assert own.status_code == 200, "the subscription is still partner 1's, and only its"


def test_a_reviewer_of_another_province_neither_reads_nor_decides_nor_cancels(
    system: System, world: World
) -> None:
    far = world.tokens["reviewer_foreign"]
    number = world.certificate_a
    for service, path in (
        ("certificate", f"/v1/applications/{world.application_a}"),
        ("certificate", f"/v1/certificates/{number}"),
        ("benefits", f"/v1/certificates/{number}/benefits"),
    ):
        assert _get(system, service, path, far).status_code == 404, path
    assert _get(system, "assessment", f"/v1/assessments/{world.assessment_a}", far).status_code == 403
    for service, path in (
        ("certificate", f"/v1/reports/sla?region={OWN_REGION}"),
        ("benefits", f"/v1/handoffs?region={OWN_REGION}"),
        ("benefits", f"/v1/reports/entitlements?region={OWN_REGION}"),
    ):
        assert _get(system, service, path, far).status_code == 403, path
    decided = system.call(
        "certificate",
        "POST",
        f"/v1/applications/{world.application_a}/decision",
        {"decision": "approve"},
        far,
    )
    assert decided.status_code == 404
    cancelled = system.call(
        "certificate", "POST", f"/v1/certificates/{number}/cancellation", {"reason": "fraud"}, far
    )
    assert cancelled.status_code == 404
    notified = system.call("benefits", "POST", f"/v1/handoffs/{world.handoff_c}/notified", None, far)
    assert notified.status_code == 404
    queue = ok(_get(system, "certificate", "/v1/applications", far))["items"]
    assert world.application_a not in {item["id"] for item in queue}
    assert number not in {
        card["certificate_number"] for card in ok(_get(system, "certificate", "/v1/cards", far))["items"]
    }
    assert (
        ok(_get(system, "certificate", f"/v1/certificates/{number}", world.tokens["applicant"]))["status"]
        == "active"
    )


def test_a_reviewer_of_the_city_or_the_province_sees_the_county_in_it(system: System, world: World) -> None:
    for region in ("330500", "330000"):
        token = system.token("reviewer", f"matrix-reviewer-{region}", region=region)
        assert (
            _get(system, "certificate", f"/v1/applications/{world.application_a}", token).status_code == 200
        )
        assert (
            _get(system, "certificate", f"/v1/certificates/{world.certificate_a}", token).status_code == 200
        )
        assessment = ok(_get(system, "assessment", f"/v1/assessments/{world.assessment_a}", token))
        assert assessment["result"]["findings"] == world.findings_a
        assert _get(system, "certificate", f"/v1/reports/sla?region={OWN_REGION}", token).status_code == 200


def test_a_card_centre_of_another_province_sees_and_changes_no_card_of_this_one(
    system: System, world: World
) -> None:
    far, own = world.tokens["card_centre_foreign"], world.tokens["card_centre"]
    before = ok(_get(system, "certificate", f"/v1/card-batches/{world.batch_a}", own))
    assert _get(system, "certificate", f"/v1/card-batches/{world.batch_a}", far).status_code == 404
    report = {"reports": [{"card_id": world.card_a, "status": "invalidated"}]}
    meddling = system.call("certificate", "POST", f"/v1/card-batches/{world.batch_a}/reports", report, far)
    assert meddling.status_code == 404
    assert (
        ok(_get(system, "certificate", f"/v1/card-batches/{world.batch_a}", own))["cards"] == before["cards"]
    )
    listed = ok(_get(system, "certificate", "/v1/cards", far))["items"]
    assert all(not card["region"].startswith("33") for card in listed)
    taken = ok(system.call("certificate", "POST", "/v1/card-batches", {"limit": 500}, far), 201)["cards"]
    assert all(not card["region"].startswith("33") for card in taken)
    nowhere = system.call(
        "certificate", "POST", "/v1/dev/tokens", {"role": "card_centre", "subject": "centre-x"}
    )
    assert nowhere.status_code == 422, "a card centre acts for its province: no token without a region"
    assert ("claims.region", "claim_required") in {(e["field"], e["code"]) for e in nowhere.json()["errors"]}


def test_a_doctor_neither_reads_nor_records_another_doctors_assessment(system: System, world: World) -> None:
    other = world.tokens["doctor_foreign"]
    seen = _get(system, "assessment", f"/v1/assessments/{world.assessment_a}", other)
    assert seen.status_code == 403
    assert seen.json()["code"] == "not_the_assigned_doctor"
    assert world.findings_a not in seen.text
    assert _get(system, "assessment", f"/v1/assessments/{world.assessment_a}/slots", other).status_code == 403
    result = {"category": "hearing", "level": 4, "findings": "改", "measurements": {"hearing_loss_db": 50}}
    recorded = system.call(
        "assessment", "POST", f"/v1/assessments/{world.assessment_a}/result", result, other
    )
    assert recorded.status_code == 403
    assert recorded.json()["code"] == "not_the_assigned_doctor"
    worklist = ok(_get(system, "assessment", "/v1/assessments?assigned=me", other))["items"]
    assert worklist
    assert world.assessment_a not in {item["id"] for item in worklist}
    assigned = ok(_get(system, "assessment", f"/v1/assessments/{world.assessment_a}", world.tokens["doctor"]))
    assert (assigned["result"]["level"], assigned["result"]["findings"]) == (1, world.findings_a)


def test_an_admin_reads_the_grade_but_never_the_findings_or_measurements(
    system: System, world: World
) -> None:
    path = f"/v1/assessments/{world.assessment_a}"
    answer = _get(system, "assessment", path, world.tokens["admin"])
    seen = ok(answer)
    assert (seen["result"]["category"], seen["result"]["level"]) == ("hearing", 1)
    for sensitive in (world.findings_a, '"findings"', '"measurements"', "hearing_loss_db"):
        assert sensitive not in answer.text, sensitive
    listed = _get(system, "assessment", "/v1/assessments?status=assessed&limit=500", world.tokens["admin"])
    assert world.findings_a not in listed.text
    assert "hearing_loss_db" not in listed.text
    person = ok(_get(system, "assessment", path, world.tokens["applicant"]))
    assert person["result"]["findings"] == world.findings_a
    assert person["result"]["measurements"] == {"hearing_loss_db": 95}


def test_a_partner_outside_its_jurisdiction_neither_subscribes_there_nor_ends_anyone_there(
    system: System, world: World
) -> None:
    other = world.tokens["partner_foreign"]  # partner 2: province 44, with deaths in its policy
    beyond = {"url": world.receiver_urls["partner_foreign"], "event_types": ["CertificateIssued"]}
    for regions in ([OWN_REGION], ["000000"]):
        answer = system.call(
            "notification", "POST", "/v1/subscriptions", {**beyond, "regions": regions}, other
        )
        assert answer.status_code == 403, regions
        assert answer.json()["code"] == "regions_outside_policy", regions
    empty = system.call("notification", "POST", "/v1/subscriptions", {**beyond, "regions": []}, other)
    assert empty.status_code == 422

    a_person, stranger = world.own_markers["identity number of A"], new_person(OWN_REGION)
    answers = [
        system.call(
            "benefits",
            "POST",
            "/v1/facts",
            {
                "fact_id": World.unique("far-death"),
                "type": "death",
                "id_number": who,
                "effective_date": "2026-01-01",
            },
            other,
        )
        for who in (a_person, stranger)
    ]
    assert [(answer.status_code, answer.json()["status"]) for answer in answers] == [(202, "received")] * 2
    certificate = ok(
        _get(system, "certificate", f"/v1/certificates/{world.certificate_a}", world.tokens["applicant"])
    )
    assert certificate["status"] == "active", "a partner of another province put A's certificate on hold"
    reports = ok(_get(system, "certificate", "/v1/death-reports?status=pending", world.tokens["reviewer"]))[
        "items"
    ]
    assert world.certificate_a not in {item["certificate_number"] for item in reports}
