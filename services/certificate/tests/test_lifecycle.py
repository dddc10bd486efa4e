"""Every matter of a certificate's life over HTTP, on real PostgreSQL and NATS (issue 4).

The assessment service's answers are published on its stream; everything else is the
certificate service's own API, as holders, agents and reviewers use it.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from dcert_dev.testing import eventually

from .conftest import (
    HOME,
    OTHER_PROVINCE,
    TODAY,
    CertificateService,
    new_application,
    new_person,
    residence_permit,
)


def a_matter(matter: str, number: str, **fields: object) -> dict[str, object]:
    return {"matter": matter, "certificate_number": number, "consent": True, **fields}


async def test_renewal_opens_in_its_window_keeps_the_number_and_gives_ten_more_years(
    certificate: CertificateService,
) -> None:
    person, holder, number = await certificate.holder_with_certificate()
    old_code = await certificate.code(holder, number)
    refused = await certificate.call("POST", "/v1/applications", holder, a_matter("renewal", number))
    assert refused.status_code == 409
    assert refused.json()["code"] == "renewal_window_not_open"
    assert refused.json()["window_opens_on"] == "2036-05-20"

    certificate.clock.today = date(2036, 6, 1)
    try:
        renewal = await certificate.submit(holder, a_matter("renewal", number))
        assert renewal["status"] == "submitted", "a renewal needs no assessment: it goes to review"
        queue = await certificate.call(
            "GET", "/v1/applications?status=submitted&matter=renewal", certificate.reviewer()
        )
        assert renewal["id"] in [item["id"] for item in queue.json()["items"]]
        done = await certificate.decide(renewal["id"])
        assert done["status"] == "completed"
        assert done["certificate_number"] == number
        renewed = await certificate.certificate(holder, number)
        assert renewed["status"] == "active"
        assert renewed["expires_on"] == "2046-06-01"
        assert (await certificate.verify(old_code))["status"] == "replaced", (
            "the old card's code still worked"
        )
        assert (await certificate.verify(await certificate.code(holder, number)))["valid"] is True
    finally:
        certificate.clock.today = TODAY


async def test_a_loss_stops_the_old_codes_at_once_and_the_replacement_carries_b1(
    certificate: CertificateService,
) -> None:
    person, holder, number = await certificate.holder_with_certificate()
    old_code = await certificate.code(holder, number)

    replacement = await certificate.submit(holder, a_matter("replacement", number, reason="lost"))
    assert (await certificate.certificate(holder, number))["status"] == "lost", "the loss waited for review"
    verified = await certificate.verify(old_code)
    assert verified["valid"] is False
    assert verified["status"] == "lost"
    again = await certificate.call(
        "POST", "/v1/applications", holder, a_matter("replacement", number, reason="lost")
    )
    assert again.status_code == 409
    assert again.json()["code"] == "already_reported_lost"
    report = await certificate.call("POST", f"/v1/certificates/{number}/loss-report", holder)
    assert report.status_code == 409
    assert report.json()["code"] == "already_reported_lost"

    done = await certificate.decide(replacement["id"])
    new_number = done["certificate_number"]
    assert new_number == f"{number}B1"
    old = await certificate.certificate(holder, number)
    assert old["status"] == "replaced"
    assert old["replaced_by"] == new_number
    assert (await certificate.certificate(holder, new_number))["previous_number"] == number
    assert (await certificate.verify(await certificate.code(holder, new_number)))["valid"] is True

    damaged = await certificate.submit(holder, a_matter("replacement", new_number, reason="damaged"))
    assert (await certificate.decide(damaged["id"]))["certificate_number"] == f"{number}B2"
    issued = await certificate.fetch(
        "SELECT number FROM certificate_view WHERE person_ref ="
        " (SELECT person_ref FROM certificate_view WHERE number = $1)"
        " AND status IN ('active', 'lost')",
        number,
    )
    assert [row["number"] for row in issued] == [f"{number}B2"], "more than one live certificate"


async def test_a_grade_change_is_reassessed_and_closes_the_old_number(
    certificate: CertificateService,
) -> None:
    person, holder, number = await certificate.holder_with_certificate("physical", 3)
    same = await certificate.call(
        "POST",
        "/v1/applications",
        holder,
        a_matter("grade_change", number, declared_category="physical", declared_level=3),
    )
    assert same.status_code == 422
    assert same.json()["code"] == "same_grade"

    unchanged = await certificate.submit(
        holder, a_matter("grade_change", number, declared_category="physical")
    )
    assert unchanged["status"] == "submitted"
    requested = await certificate.published_about("AssessmentRequested", "application_id", unchanged["id"])
    assert requested[0]["data"]["matter"] == "grade_change"
    await certificate.assessed(holder, unchanged["id"], "physical", 3)
    refused = await certificate.decide(unchanged["id"], expect=409)
    assert refused["code"] == "grade_unchanged"
    assert (await certificate.decide(unchanged["id"], "reject"))["status"] == "rejected"

    change = await certificate.submit(holder, a_matter("grade_change", number, declared_category="physical"))
    await certificate.assessed(holder, change["id"], "physical", 1)
    done = await certificate.decide(change["id"])
    new_number = done["certificate_number"]
    assert new_number == number[:18] + "41"
    assert (await certificate.certificate(holder, number))["status"] == "replaced"
    changed = await certificate.certificate(holder, new_number)
    assert (changed["level"], changed["previous_number"], changed["status"]) == (1, number, "active")


async def test_a_transfer_is_let_go_by_the_old_region_and_taken_by_the_new(
    certificate: CertificateService,
) -> None:
    person, holder, number = await certificate.holder_with_certificate()
    code = await certificate.code(holder, number)
    same = await certificate.call(
        "POST", "/v1/applications", holder, a_matter("transfer", number, to_region=HOME)
    )
    assert same.status_code == 422
    assert same.json()["code"] == "same_region"

    transfer = await certificate.submit(holder, a_matter("transfer", number, to_region=OTHER_PROVINCE))
    too_early = await certificate.decide(transfer["id"], region=OTHER_PROVINCE, expect=403)
    assert too_early["code"] == "not_your_part"
    migrating = await certificate.decide(transfer["id"])
    assert migrating["status"] == "migrating"
    assert migrating["migration_number"].startswith("QY")
    assert migrating["queue_region"] == OTHER_PROVINCE
    assert (await certificate.certificate(holder, number))["status"] == "active", (
        "no live certificate in transit"
    )
    new_queue = await certificate.call(
        "GET", "/v1/applications?status=migrating", certificate.reviewer(OTHER_PROVINCE)
    )
    assert transfer["id"] in [item["id"] for item in new_queue.json()["items"]]
    old_queue = await certificate.call("GET", "/v1/applications?status=migrating", certificate.reviewer(HOME))
    assert transfer["id"] not in [item["id"] for item in old_queue.json()["items"]]

    done = await certificate.decide(transfer["id"], region=OTHER_PROVINCE)
    assert done["status"] == "completed"
    assert done["certificate_number"] == number
    moved = await certificate.certificate(holder, number)
    assert (moved["status"], moved["region"]) == ("active", OTHER_PROVINCE)
    assert (await certificate.verify(code))["status"] == "transferred"
    transferred = await certificate.published_about("CertificateTransferred", "certificate_number", number)
    assert transferred[0]["data"]["to_region"] == OTHER_PROVINCE
    assert "serial" not in transferred[0]["data"]


async def test_a_voluntary_cancellation_closes_everything_and_bars_a_new_application_for_a_year(
    certificate: CertificateService,
) -> None:
    person, holder, number = await certificate.holder_with_certificate()
    code = await certificate.code(holder, number)
    bad = await certificate.call(
        "POST", "/v1/applications", holder, a_matter("cancellation", number, reason="bored")
    )
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["reason"]

    cancellation = await certificate.submit(holder, a_matter("cancellation", number, reason="voluntary"))
    assert (await certificate.decide(cancellation["id"]))["status"] == "completed"
    assert (await certificate.certificate(holder, number))["status"] == "cancelled"
    assert (await certificate.verify(code))["status"] == "cancelled"
    barred = await certificate.call("POST", "/v1/applications", holder, new_application(person))
    assert barred.status_code == 409
    assert barred.json()["code"] == "reapplication_barred"
    closed = await certificate.call("POST", "/v1/applications", holder, a_matter("renewal", number))
    assert closed.status_code == 409
    assert closed.json()["code"] == "certificate_not_active"
    assert closed.json()["certificate_status"] == "cancelled"

    certificate.clock.today = TODAY + timedelta(days=366)
    try:
        await certificate.submit(holder, new_application(person))
    finally:
        certificate.clock.today = TODAY


async def test_a_reviewer_cancels_on_a_fact_and_the_number_can_live_again_later(
    certificate: CertificateService,
) -> None:
    person, holder, number = await certificate.holder_with_certificate("visual", 2)
    fraud = await certificate.call(
        "POST", f"/v1/certificates/{number}/cancellation", certificate.reviewer(), {"reason": "fraud"}
    )
    assert fraud.status_code == 200
    assert fraud.json()["status"] == "cancelled"
    again = await certificate.certificate_for(person, "visual", 2)
    assert again == number, "the same category and grade give the same number"
    assert (await certificate.certificate(holder, number))["status"] == "active"


async def test_a_matter_left_open_ends_when_the_certificate_is_cancelled_or_no_longer_fits(
    certificate: CertificateService,
) -> None:
    person, holder, number = await certificate.holder_with_certificate()
    transfer = await certificate.submit(holder, a_matter("transfer", number, to_region=OTHER_PROVINCE))
    fraud = await certificate.call(
        "POST", f"/v1/certificates/{number}/cancellation", certificate.reviewer(), {"reason": "fraud"}
    )
    assert fraud.status_code == 200
    ended = await certificate.application(holder, transfer["id"])
    assert ended["status"] == "rejected"
    assert "cancelled" in ended["decision_reason"]
    assert ended["next_step"] is None

    person, holder, number = await certificate.holder_with_certificate()
    grade_change = await certificate.submit(
        holder, a_matter("grade_change", number, declared_category="physical")
    )
    try:
        certificate.clock.today = date(2036, 11, 21)
        await certificate.call("POST", "/v1/jobs/expiry", certificate.admin)
        await certificate.assessed(holder, grade_change["id"], "physical", 1)
        refused = await certificate.decide(grade_change["id"], expect=409)
        assert (refused["code"], refused["certificate_status"]) == ("certificate_not_active", "expired")
    finally:
        certificate.clock.today = TODAY


async def test_an_assessment_given_to_another_doctor_shows_the_new_doctor(
    certificate: CertificateService,
) -> None:
    person = new_person()
    holder = certificate.holder(person)
    created = await certificate.submit(holder, new_application(person))
    for doctor in ("doctor-suspended", "doctor-next"):
        await certificate.publish(
            "assessment",
            "AssessmentScheduled",
            {"application_id": created["id"], "assessment_id": "as-1", "doctor_id": doctor},
        )
    await certificate.handled("assessment")
    current = await certificate.application(holder, created["id"])
    assert (current["status"], current["assessment"]["doctor_id"]) == ("assessing", "doctor-next")


async def test_a_disputed_result_is_reassessed_then_appealed_once_and_the_last_answer_counts(
    certificate: CertificateService,
) -> None:
    person = new_person()
    holder = certificate.holder(person)
    created = await certificate.submit(holder, new_application(person))
    await certificate.assessed(holder, created["id"], "physical", 3)
    url = f"/v1/applications/{created['id']}/dispute"

    disputed = await certificate.call("POST", url, holder, {"reason": "评定等级偏轻"})
    assert disputed.status_code == 200, disputed.text
    assert (disputed.json()["status"], disputed.json()["dispute_round"]) == ("assessing", 1)
    assert (await certificate.decide(created["id"], expect=409))["code"] == "application_not_reviewable"

    async def both_rounds_requested() -> list[int] | None:
        events = await certificate.published_about("AssessmentRequested", "application_id", created["id"])
        rounds = [event["data"]["round"] for event in events]
        return rounds if len(rounds) == 2 else None

    assert await eventually(both_rounds_requested) == [0, 1]
    await certificate.assessed(holder, created["id"], "physical", 2)
    assert (await certificate.application(holder, created["id"]))["assessment"]["level"] == 2

    appealed = await certificate.call("POST", url, holder, {"reason": "仍有异议，申请省级复核"})
    assert appealed.json()["dispute_round"] == 2
    await certificate.assessed(holder, created["id"], "physical", 1)
    final = await certificate.call("POST", url, holder, {"reason": "再次申请"})
    assert final.status_code == 409
    assert final.json()["code"] == "dispute_final"
    assert (await certificate.decide(created["id"]))["certificate_number"].endswith("41"), "the final grade"
    timeline = (await certificate.call("GET", f"/v1/applications/{created['id']}/timeline", holder)).json()
    assert [entry["actor_role"] for entry in timeline["steps"] if entry["step"] == "disputed"] == [
        "applicant"
    ] * 2

    late = new_person()
    late_holder = certificate.holder(late)
    other = await certificate.submit(late_holder, new_application(late))
    await certificate.assessed(late_holder, other["id"])
    certificate.clock.today = TODAY + timedelta(days=15)  # past 10 working days from the result
    try:
        closed = await certificate.call(
            "POST", f"/v1/applications/{other['id']}/dispute", late_holder, {"reason": "x"}
        )
        assert closed.status_code == 409
        assert closed.json()["code"] == "dispute_window_closed"
    finally:
        certificate.clock.today = TODAY
    stranger = await certificate.call(
        "POST", f"/v1/applications/{other['id']}/dispute", holder, {"reason": "x"}
    )
    assert stranger.status_code == 404


async def test_withdrawal_frees_the_person_and_cannot_happen_twice(certificate: CertificateService) -> None:
    person = new_person()
    holder = certificate.holder(person)
    created = await certificate.submit(holder, new_application(person))
    withdrawn = await certificate.call("POST", f"/v1/applications/{created['id']}/withdrawal", holder)
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"
    twice = await certificate.call("POST", f"/v1/applications/{created['id']}/withdrawal", holder)
    assert twice.status_code == 409
    assert twice.json()["code"] == "not_withdrawable"
    stranger = certificate.holder(new_person())
    assert (
        await certificate.call("POST", f"/v1/applications/{created['id']}/withdrawal", stranger)
    ).status_code == 404
    await certificate.submit(holder, new_application(person))
    assert await certificate.published_about("ApplicationWithdrawn", "application_id", created["id"])


async def test_a_returned_application_is_corrected_and_comes_back_without_starting_over(
    certificate: CertificateService,
) -> None:
    person = new_person()
    holder = certificate.holder(person)
    created = await certificate.submit(holder, new_application(person))
    await certificate.assessed(holder, created["id"])
    returned = await certificate.decide(created["id"], "return")
    assert returned["status"] == "returned"
    assert returned["next_step"]["step"] == "resubmission"
    empty = await certificate.call("POST", f"/v1/applications/{created['id']}/resubmission", holder, {})
    assert empty.status_code == 422
    resubmitted = await certificate.call(
        "POST",
        f"/v1/applications/{created['id']}/resubmission",
        holder,
        {"applicant": {"address": "人民路2号"}, "note": "已更正住址"},
    )
    assert resubmitted.status_code == 200, resubmitted.text
    body = resubmitted.json()
    assert body["status"] == "assessed", "the assessment was kept"
    assert body["assessment"]["level"] == 2, "the assessment was kept"
    assert body["deadlines"]["review_due"] is not None
    assert (await certificate.decide(created["id"]))["status"] == "issued"
    again = await certificate.call(
        "POST", f"/v1/applications/{created['id']}/resubmission", holder, {"note": "x"}
    )
    assert again.status_code == 409
    assert again.json()["code"] == "not_returned"


async def test_one_visit_lists_everything_missing_at_once(certificate: CertificateService) -> None:
    person = new_person()
    holder = certificate.holder(person)
    body = new_application(person, residence=OTHER_PROVINCE)
    del body["declared_category"]
    del body["applicant"]["phone"]  # type: ignore[attr-defined]
    answer = await certificate.call("POST", "/v1/applications", holder, body)
    assert answer.status_code == 422
    fields = {error["field"] for error in answer.json()["errors"]}
    assert fields == {"applicant.phone", "declared_category", "documents.residence_permit"}

    for matter, needed in (
        ("renewal", {"certificate_number"}),
        ("replacement", {"certificate_number", "reason"}),
        ("grade_change", {"certificate_number", "declared_category"}),
        ("transfer", {"certificate_number", "to_region"}),
        ("cancellation", {"certificate_number", "reason"}),
    ):
        answer = await certificate.call(
            "POST", "/v1/applications", holder, {"matter": matter, "consent": True}
        )
        assert answer.status_code == 422
        assert {error["field"] for error in answer.json()["errors"]} == needed, matter

    expired = new_application(
        person, residence=OTHER_PROVINCE, documents=[residence_permit(TODAY - timedelta(days=1))]
    )
    answer = await certificate.call("POST", "/v1/applications", holder, expired)
    assert [(e["field"], e["code"]) for e in answer.json()["errors"]] == [
        ("documents.residence_permit", "expired")
    ]
    english = await certificate.call(
        "POST",
        "/v1/applications",
        holder,
        {"matter": "renewal", "consent": True},
        headers={"Accept-Language": "en"},
    )
    assert english.json()["errors"][0]["message"] == "required for this matter"
    listed = await certificate.call("GET", "/v1/applications", holder)
    assert listed.json()["items"] == [], "a refused submission left something behind"

    as_object = new_application(person, residence=OTHER_PROVINCE, residence_permit={"number": "JZZ-1"})
    assert (await certificate.call("POST", "/v1/applications", holder, as_object)).status_code == 201
    other = new_person()
    as_name = new_application(other, residence=OTHER_PROVINCE, documents=["residence_permit", "photo"])
    assert (
        await certificate.call("POST", "/v1/applications", certificate.holder(other), as_name)
    ).status_code == 201


async def test_a_cross_province_application_is_split_between_the_two_regions_queues(
    certificate: CertificateService,
) -> None:
    person = new_person()
    holder = certificate.holder(person)
    created = await certificate.submit(
        holder, new_application(person, residence=OTHER_PROVINCE, documents=[residence_permit()])
    )
    residence_side, household_side = certificate.reviewer(OTHER_PROVINCE), certificate.reviewer(HOME)

    async def queue(token: str) -> list[str]:
        return [
            item["id"] for item in (await certificate.call("GET", "/v1/applications", token)).json()["items"]
        ]

    assert created["id"] in await queue(residence_side)
    assert created["id"] not in await queue(household_side)
    await certificate.assessed(holder, created["id"])
    assert created["id"] in await queue(household_side)
    assert created["id"] not in await queue(residence_side)
    seen = await certificate.application(residence_side, created["id"])
    assert seen["accepting_region"] == OTHER_PROVINCE
    assert seen["next_step"]["region"] == HOME
    assert (await certificate.decide(created["id"], region=OTHER_PROVINCE, expect=403))[
        "code"
    ] == "not_your_part"
    assert (await certificate.decide(created["id"]))["status"] == "issued"
    timeline = (await certificate.call("GET", f"/v1/applications/{created['id']}/timeline", holder)).json()
    steps = [entry["step"] for entry in timeline["steps"]]
    assert steps[:2] == ["submitted", "assessment_requested"]
    assert "approved" in steps
    assert "card_ordered" in steps


async def test_conflicting_matters_on_one_certificate_one_wins_the_other_gets_409(
    certificate: CertificateService,
) -> None:
    for _ in range(10):
        person = new_person()
        holder = certificate.holder(person)
        number = await certificate.certificate_for(person)
        answers = await asyncio.gather(
            certificate.call(
                "POST", "/v1/applications", holder, a_matter("transfer", number, to_region=OTHER_PROVINCE)
            ),
            certificate.call(
                "POST", "/v1/applications", holder, a_matter("cancellation", number, reason="voluntary")
            ),
        )
        assert sorted(answer.status_code for answer in answers) == [201, 409]
        opened = await certificate.fetch(
            "SELECT count(*) AS n FROM application_view WHERE subject_certificate = $1", number
        )
        assert opened[0]["n"] == 1, "the losing matter left a half-made application"


async def test_expiry_is_recorded_once_and_the_holder_is_reminded_before_the_window(
    certificate: CertificateService,
) -> None:
    person, holder, number = await certificate.holder_with_certificate()
    expiry = certificate.admin
    try:
        certificate.clock.today = date(2036, 4, 25)  # 25 days before the window opens (2036-05-20)
        first = (await certificate.call("POST", "/v1/jobs/expiry", expiry)).json()
        second = (await certificate.call("POST", "/v1/jobs/expiry", expiry)).json()
        assert first["reminded"] >= 1
        assert second == {"expired": 0, "reminded": 0}
        reminders = await certificate.published_about("RenewalReminderDue", "certificate_number", number)
        assert len(reminders) == 1

        certificate.clock.today = date(2036, 11, 21)
        code_before = await certificate.code(holder, number)
        assert (await certificate.verify(code_before))["status"] == "expired", "the code outlived its date"
        first = (await certificate.call("POST", "/v1/jobs/expiry", expiry)).json()
        second = (await certificate.call("POST", "/v1/jobs/expiry", expiry)).json()
        assert first["expired"] >= 1
        assert second["expired"] == 0
        assert (await certificate.certificate(holder, number))["status"] == "expired"
        expired = await certificate.published_about("CertificateExpired", "certificate_number", number)
        assert len(expired) == 1
        renewal = await certificate.submit(holder, a_matter("renewal", number))
        await certificate.decide(renewal["id"])
        assert (await certificate.certificate(holder, number))["status"] == "active"
    finally:
        certificate.clock.today = TODAY
    assert (await certificate.call("POST", "/v1/jobs/expiry", holder)).status_code == 403


async def test_deadlines_show_in_the_queue_and_the_sla_report(certificate: CertificateService) -> None:
    region = "330503"
    person = new_person(region)
    holder = certificate.holder(person)
    created = await certificate.submit(holder, new_application(person, household=region, residence=region))
    await certificate.assessed(holder, created["id"])
    waiting = await certificate.application(holder, created["id"])
    assert waiting["deadlines"]["review_due"] == "2026-12-04", "10 working days from Friday 20 November"
    assert waiting["deadlines"]["dispute_until"] == "2026-12-04"
    assert waiting["next_step"] == {
        "step": "review",
        "title": "等待审核",
        "actor_role": "reviewer",
        "region": region,
        "due_on": "2026-12-04",
        "overdue": False,
    }
    reviewer = certificate.reviewer(region)
    certificate.clock.today = date(2026, 12, 7)
    try:
        overdue = (await certificate.call("GET", "/v1/applications?overdue=true", reviewer)).json()["items"]
        assert [item["id"] for item in overdue] == [created["id"]]
        assert overdue[0]["overdue"] is True
        report = (await certificate.call("GET", f"/v1/reports/sla?region={region}", reviewer)).json()
        review = next(step for step in report["steps"] if step["step"] == "review")
        assert (review["open"], review["overdue"]) == (1, 1)
        assessment = next(step for step in report["steps"] if step["step"] == "assessment")
        assert assessment["completed"] == 1
        assert assessment["median_hours"] is not None
    finally:
        certificate.clock.today = TODAY
    await certificate.decide(created["id"], region=region)
    report = (await certificate.call("GET", f"/v1/reports/sla?region={region}", reviewer)).json()
    review = next(step for step in report["steps"] if step["step"] == "review")
    assert (review["completed"], review["open"], review["overdue"]) == (1, 0, 0)
    card = next(step for step in report["steps"] if step["step"] == "card")
    assert (card["open"], card["overdue"]) == (1, 0), "the card ordered on approval is a step of its own"
    other = await certificate.call("GET", f"/v1/reports/sla?region={region}", certificate.reviewer(HOME))
    assert other.status_code == 403


async def test_the_timeline_names_roles_and_always_says_what_comes_next(
    certificate: CertificateService,
) -> None:
    person = new_person()
    holder = certificate.holder(person)
    created = await certificate.submit(holder, new_application(person))
    timeline = (await certificate.call("GET", f"/v1/applications/{created['id']}/timeline", holder)).json()
    assert timeline["next_step"]["step"] == "assessment"
    assert timeline["next_step"]["actor_role"] == "doctor"
    await certificate.assessed(holder, created["id"])
    await certificate.decide(created["id"])
    timeline = (
        await certificate.call(
            "GET", f"/v1/applications/{created['id']}/timeline", holder, headers={"Accept-Language": "en"}
        )
    ).json()
    roles = {entry["step"]: entry["actor_role"] for entry in timeline["steps"]}
    assert roles["submitted"] == "applicant"
    assert roles["approved"] == "reviewer"
    assert roles["assessed"] == "doctor"
    assert timeline["next_step"]["step"] == "card_delivery"
    assert timeline["next_step"]["due_on"] is not None
    assert all("reviewer-" not in str(entry) for entry in timeline["steps"]), "a person's identity shown"
    stranger = await certificate.call(
        "GET", f"/v1/applications/{created['id']}/timeline", certificate.holder(new_person())
    )
    assert stranger.status_code == 404


async def test_every_read_model_rebuilt_from_the_events_equals_the_live_one(
    certificate: CertificateService,
) -> None:
    """Runs last in this module: everything the tests above did is replayed."""
    tables = {
        "application_view": "id",
        "certificate_view": "number",
        "credential_view": "serial",
        "card_view": "card_id",
        "application_step": "application_id, step, started_at",
    }

    async def snapshot() -> dict[str, list[dict[str, object]]]:
        return {
            table: [
                {key: value for key, value in row.items() if key != "id" or table != "application_step"}
                for row in await certificate.fetch(f"SELECT * FROM {table} ORDER BY {order}")
            ]
            for table, order in tables.items()
        }

    live = await snapshot()
    assert live["certificate_view"]
    assert live["card_view"]
    assert live["application_step"]
    await certificate.runtime.rebuild_read_models()
    rebuilt = await snapshot()
    for table in tables:
        differing = [(a, b) for a, b in zip(live[table], rebuilt[table], strict=True) if a != b]
        assert not differing, f"{table}: {differing[0]}"


async def test_a_code_verified_in_a_post_body_answers_as_in_the_query(
    certificate: CertificateService,
) -> None:
    _, holder, number = await certificate.holder_with_certificate()
    code = await certificate.code(holder, number)
    in_body = await certificate.http.post("/v1/verify", json={"code": code})
    assert in_body.status_code == 200
    assert in_body.json() == await certificate.verify(code)
    assert in_body.json()["valid"] is True
    forged = await certificate.http.post("/v1/verify", json={"code": code[:-4] + "AAAA"})
    assert forged.status_code == 200
    assert forged.json()["valid"] is False
    empty = await certificate.http.post("/v1/verify", json={"code": ""})
    assert empty.status_code == 422
