"""An applicant's assessment request reaches the right doctor: qualified, near, least loaded."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from dcert_shared.ids import keyed_hash, make_identity_number

if TYPE_CHECKING:
    from conftest import AssessmentService


async def test_the_request_goes_to_a_doctor_in_the_residence_region_before_city_and_province(
    service: AssessmentService,
) -> None:
    await service.qualified_doctor(service.regions.same_province)
    await service.qualified_doctor(service.regions.same_city)
    in_region = await service.qualified_doctor(service.regions.home)
    application_id = await service.request_assessment("visual", service.regions.home)
    assert await service.assigned_doctor(application_id) == in_region
    [scheduled] = await service.published("AssessmentScheduled")
    assert scheduled["data"]["doctor_id"] == in_region
    assert scheduled["data"]["application_id"] == application_id
    assert scheduled["data"]["declared_category"] == "visual"


async def test_without_a_doctor_in_the_region_the_city_comes_before_the_province(
    service: AssessmentService,
) -> None:
    await service.qualified_doctor(service.regions.same_province)
    in_city = await service.qualified_doctor(service.regions.same_city)
    await service.qualified_doctor(service.regions.other_province)
    application_id = await service.request_assessment("hearing", service.regions.home)
    assert await service.assigned_doctor(application_id) == in_city


async def test_requests_are_spread_over_two_equally_near_doctors(service: AssessmentService) -> None:
    institution_id = await service.institution(service.regions.home)
    first = await service.doctor(institution_id)
    second = await service.doctor(institution_id)
    assigned = []
    for _ in range(3):
        application_id = await service.request_assessment("visual", service.regions.home)
        assigned.append(await service.assigned_doctor(application_id))
    assert assigned == [first, second, first]


async def test_only_a_doctor_qualified_for_the_declared_category_is_assigned(
    service: AssessmentService,
) -> None:
    institution_id = await service.institution(service.regions.home, ("visual", "hearing", "speech"))
    await service.doctor(institution_id, ("visual", "hearing"))  # same institution, not for speech
    speech_doctor = await service.doctor(institution_id, ("speech",))
    for _ in range(2):
        application_id = await service.request_assessment("speech", service.regions.home)
        assert await service.assigned_doctor(application_id) == speech_doctor


async def test_a_declared_multiple_disability_goes_to_a_doctor_listing_multiple(
    service: AssessmentService,
) -> None:
    await service.qualified_doctor(service.regions.home, ("visual", "hearing"))
    multiple = await service.qualified_doctor(service.regions.same_city, ("visual", "hearing", "multiple"))
    application_id = await service.request_assessment("multiple", service.regions.home)
    assert await service.assigned_doctor(application_id) == multiple


async def test_an_assessment_waits_until_a_qualified_doctor_is_registered(service: AssessmentService) -> None:
    await service.qualified_doctor(service.regions.home, ("visual",))
    application_id = await service.request_assessment("mental", service.regions.home)
    waiting = await service.assessment_of(application_id)
    assert waiting["status"] == "unassigned"
    assert waiting["assigned_at"] is None

    await service.qualified_doctor(service.regions.other_province, ("mental",))  # too far away: still waiting
    assert (await service.assessment_of(application_id))["status"] == "unassigned"

    psychiatrist = await service.qualified_doctor(service.regions.same_province, ("mental",))
    assigned = await service.call("GET", "/v1/assessments?assigned=me", service.doctor_token(psychiatrist))
    [item] = assigned.json()["items"]
    assert item["application_id"] == application_id
    assert item["status"] == "scheduled"
    [scheduled] = await service.published("AssessmentScheduled")
    assert scheduled["data"]["doctor_id"] == psychiatrist


async def test_a_redelivered_or_repeated_request_opens_no_second_assessment(
    service: AssessmentService,
) -> None:
    doctor = await service.qualified_doctor()
    event_id = uuid.uuid4()
    application_id = await service.request_assessment(event_id=event_id)
    # The same event again (a relay's re-publish past the duplicate window), then a new request
    # for the same application.
    await service.request_assessment(application_id=application_id, event_id=event_id, message_id="again")
    await service.request_assessment(application_id=application_id)
    await service.all_handled()
    mine = await service.call("GET", "/v1/assessments?assigned=me", service.doctor_token(doctor))
    assert [item["application_id"] for item in mine.json()["items"]] == [application_id]
    everything = await service.call("GET", "/v1/assessments", service.admin)
    assert len(everything.json()["items"]) == 1


async def test_a_doctor_lists_only_their_own_assessments(service: AssessmentService) -> None:
    institution_id = await service.institution(service.regions.home)
    first = await service.doctor(institution_id)
    second = await service.doctor(institution_id)
    applications = [await service.request_assessment() for _ in range(2)]
    for application_id in applications:
        await service.assessment_of(application_id)
    for doctor in (first, second):
        answer = await service.call("GET", "/v1/assessments?assigned=me", service.doctor_token(doctor))
        [item] = answer.json()["items"]
        assert set(item) == {
            "id",
            "application_id",
            "declared_category",
            "status",
            "home_visit",
            "round",
            "assigned_at",
            "appointment_at",
            "due_on",
            "overdue",
        }
        assert await service.assigned_doctor(item["application_id"]) == doctor
    applicant = service.token(
        "applicant", "citizen-1", id_number=make_identity_number("330502", date(2016, 4, 17), 1)
    )
    assert (await service.call("GET", "/v1/assessments", applicant)).status_code == 403


async def test_a_suspended_doctors_open_assessments_go_to_another_doctor_by_events(
    service: AssessmentService,
) -> None:
    first = await service.qualified_doctor(service.regions.home, ("visual",))
    application_id = await service.request_assessment("visual", service.regions.home)
    assert await service.assigned_doctor(application_id) == first
    second = await service.qualified_doctor(service.regions.home, ("visual",))

    suspended = await service.call(
        "POST", f"/v1/doctors/{first}/suspension", service.admin, {"reason": "执业证书过期"}
    )
    assert suspended.status_code == 200, suspended.text
    assert suspended.json() == {"id": first, "suspended": True, "reassigned": 1, "waiting": 0}
    assert await service.assigned_doctor(application_id) == second
    [released] = await service.published("AssessmentReleased")
    assert (released["data"]["doctor_id"], released["data"]["reason"]) == (first, "doctor_suspended")
    rescheduled = await service.published("AssessmentScheduled", 2)
    assert rescheduled[-1]["data"]["doctor_id"] == second

    another = await service.request_assessment("visual", service.regions.home)
    assert await service.assigned_doctor(another) == second, "a suspended doctor got a new assessment"
    assessment = await service.assessment_of(application_id)
    late = await service.call(
        "POST",
        f"/v1/assessments/{assessment['id']}/result",
        service.doctor_token(first),
        {"category": "visual", "level": 2, "findings": ""},
    )
    assert late.status_code == 403

    reinstated = await service.call("POST", f"/v1/doctors/{first}/reinstatement", service.admin)
    assert reinstated.json()["suspended"] is False
    listed = await service.call("GET", "/v1/doctors", service.admin)
    assert {item["id"]: item["suspended"] for item in listed.json()["items"]}[first] is False
    unknown = await service.call("POST", "/v1/doctors/nobody/suspension", service.admin, {"reason": "x"})
    assert unknown.status_code == 404


async def test_with_no_other_doctor_the_assessment_waits_and_goes_to_the_next_one_registered(
    service: AssessmentService,
) -> None:
    only = await service.qualified_doctor(service.regions.home, ("hearing",))
    application_id = await service.request_assessment("hearing", service.regions.home)
    assert await service.assigned_doctor(application_id) == only
    suspended = await service.call(
        "POST", f"/v1/doctors/{only}/suspension", service.admin, {"reason": "休假"}
    )
    assert suspended.json()["waiting"] == 1
    assert (await service.assessment_of(application_id))["status"] == "unassigned"
    newcomer = await service.qualified_doctor(service.regions.home, ("hearing",))
    assert await service.assigned_doctor(application_id) == newcomer


async def test_an_institution_past_its_accreditation_gets_nothing_new_and_its_open_assessments_move(
    service: AssessmentService,
) -> None:
    lapsing = await service.call(
        "POST",
        "/v1/institutions",
        service.admin,
        {
            "name": "即将到期的机构",
            "region": service.regions.home,
            "categories": ["speech"],
            "accredited_until": "2099-12-31",
        },
    )
    old_doctor = await service.doctor(lapsing.json()["id"], ("speech",))
    application_id = await service.request_assessment("speech", service.regions.home)
    assert await service.assigned_doctor(application_id) == old_doctor
    other_doctor = await service.qualified_doctor(service.regions.same_city, ("speech",))

    commands = service.app.state.commands
    commands.today = lambda: date(2100, 1, 1)
    try:
        checked = await service.call("POST", "/v1/jobs/accreditation", service.admin)
        assert checked.json() == {"lapsed": 1, "reassigned": 1, "waiting": 0}
        again = await service.call("POST", "/v1/jobs/accreditation", service.admin)
        assert again.json() == {"lapsed": 0, "reassigned": 0, "waiting": 0}
    finally:
        del commands.today
    assert await service.assigned_doctor(application_id) == other_doctor
    listed = (await service.call("GET", "/v1/institutions", service.admin)).json()["items"]
    assert {item["id"]: item["lapsed"] for item in listed}[lapsing.json()["id"]] is True

    expired = await service.call(
        "POST",
        "/v1/institutions",
        service.admin,
        {
            "name": "已过期的机构",
            "region": service.regions.home,
            "categories": ["mental"],
            "accredited_until": "2020-01-01",
        },
    )
    await service.doctor(expired.json()["id"], ("mental",))
    waiting = await service.request_assessment("mental", service.regions.home)
    assert (await service.assessment_of(waiting))["status"] == "unassigned"
    renewed = await service.call(
        "POST",
        f"/v1/institutions/{expired.json()['id']}/accreditation",
        service.admin,
        {"accredited_until": "2099-12-31"},
    )
    assert renewed.status_code == 200
    assert renewed.json()["accredited_until"] == "2099-12-31"
    assert (await service.assessment_of(waiting))["status"] == "scheduled"


async def test_the_worklist_shows_due_dates_in_working_days_filters_and_flags_the_overdue(
    service: AssessmentService,
) -> None:
    doctor = await service.qualified_doctor(service.regions.home, ("visual",))
    token = service.doctor_token(doctor)
    application_id = await service.request_assessment("visual", service.regions.home)
    await service.assessment_of(application_id)
    [item] = (await service.call("GET", "/v1/assessments?assigned=me", token)).json()["items"]
    commands = service.app.state.commands
    today = commands.today()  # China's date, which the service counts in
    expected_due = service.settings.working_calendar().add_working_days(today, 10)
    assert (item["due_on"], item["overdue"]) == (expected_due.isoformat(), False)
    assert (await service.call("GET", "/v1/assessments?assigned=me&home_visit=true", token)).json()[
        "items"
    ] == []
    on_the_day = f"/v1/assessments?assigned=me&assigned_from={today}&assigned_to={today}"
    assert len((await service.call("GET", on_the_day, token)).json()["items"]) == 1

    commands.today = lambda: expected_due + timedelta(days=1)
    try:
        [late] = (await service.call("GET", "/v1/assessments?assigned=me&overdue=true", token)).json()[
            "items"
        ]
        assert late["id"] == item["id"]
        assert late["overdue"] is True
    finally:
        del commands.today
    assert (await service.call("GET", "/v1/assessments?assigned=me&overdue=true", token)).json()[
        "items"
    ] == []


async def test_home_visits_go_to_a_visiting_doctor_and_a_doctor_never_assesses_themself(
    service: AssessmentService,
) -> None:
    institution_id = await service.institution(service.regions.home, ("speech",))
    office = await service.doctor(institution_id, ("speech",))
    doctor_identity = make_identity_number("330502", date(1975, 5, 5), 77)
    visiting = await service.call(
        "POST",
        "/v1/doctors",
        service.admin,
        {
            "name": "上门医生",
            "institution_id": institution_id,
            "license_no": f"LIC{uuid.uuid4().hex[:10]}",
            "categories": ["speech"],
            "home_visits": True,
            "id_number": doctor_identity,
        },
    )
    assert visiting.status_code == 201, visiting.text
    at_home = str(uuid.uuid4())
    await service.publish(
        "certificate",
        "AssessmentRequested",
        {
            "application_id": at_home,
            "person_ref": "cd" * 32,
            "age_years": 80,
            "declared_category": "speech",
            "residence_region": service.regions.home,
            "household_region": service.regions.home,
            "home_visit": True,
        },
    )
    assert await service.assigned_doctor(at_home) == visiting.json()["id"]
    own = str(uuid.uuid4())
    await service.publish(
        "certificate",
        "AssessmentRequested",
        {
            "application_id": own,
            "person_ref": keyed_hash(service.settings.identity_hash_key_bytes, doctor_identity),
            "age_years": 51,
            "declared_category": "speech",
            "residence_region": service.regions.home,
            "household_region": service.regions.home,
            "home_visit": True,
        },
    )
    assert await service.assigned_doctor(own) == office, "the visiting doctor got their own assessment"


async def test_a_reassessment_goes_to_another_institution_and_doctor_than_the_first(
    service: AssessmentService,
) -> None:
    first = await service.qualified_doctor(service.regions.home, ("hearing",))
    application_id = await service.request_assessment("hearing", service.regions.home)
    assert await service.assigned_doctor(application_id) == first
    assessment = await service.assessment_of(application_id)
    recorded = await service.call(
        "POST",
        f"/v1/assessments/{assessment['id']}/result",
        service.doctor_token(first),
        {"category": "hearing", "level": 3, "findings": "", "measurements": {"hearing_loss_db": 70}},
    )
    assert recorded.status_code == 201, recorded.text
    await service.publish(
        "certificate",
        "AssessmentRequested",
        {
            "application_id": application_id,
            "person_ref": "ab" * 32,
            "age_years": 40,
            "declared_category": "hearing",
            "residence_region": service.regions.home,
            "household_region": service.regions.home,
            "home_visit": False,
            "matter": "new",
            "round": 1,
        },
    )
    await service.handled("certificate")
    rounds = await service.fetch(
        "SELECT round, status, doctor_id FROM assessment_view WHERE application_id = $1 ORDER BY round",
        application_id,
    )
    assert [(row["round"], row["status"]) for row in rounds] == [(0, "assessed"), (1, "unassigned")], (
        "the re-assessment went to the first doctor's institution"
    )
    [first_institution] = await service.fetch("SELECT institution_id FROM doctor_view WHERE id = $1", first)
    await service.doctor(first_institution["institution_id"], ("hearing",))
    waiting = await service.fetch(
        "SELECT status FROM assessment_view WHERE application_id = $1 AND round = 1", application_id
    )
    assert waiting[0]["status"] == "unassigned", "a colleague at the first institution re-assessed"
    other = await service.qualified_doctor(service.regions.same_city, ("hearing",))
    rounds = await service.fetch(
        "SELECT round, doctor_id FROM assessment_view WHERE application_id = $1 ORDER BY round",
        application_id,
    )
    assert rounds[1]["doctor_id"] == other


async def test_the_person_picks_and_changes_a_time_and_two_people_never_get_the_same_slot(
    service: AssessmentService,
) -> None:
    doctor = await service.qualified_doctor(service.regions.home, ("hearing",))
    parent = make_identity_number("330502", date(1980, 8, 8), 88)
    parent_ref = keyed_hash(service.settings.identity_hash_key_bytes, parent)

    async def requested() -> str:
        application_id = str(uuid.uuid4())
        await service.publish(
            "certificate",
            "AssessmentRequested",
            {
                "application_id": application_id,
                "person_ref": uuid.uuid4().hex * 2,
                "age_years": 9,
                "declared_category": "hearing",
                "residence_region": service.regions.home,
                "household_region": service.regions.home,
                "home_visit": False,
                "agent_refs": [parent_ref],
            },
        )
        return str((await service.assessment_of(application_id))["id"])

    first, second = await requested(), await requested()
    parent_token = service.token("applicant", "parent", id_number=parent)
    slots = (await service.call("GET", f"/v1/assessments/{first}/slots", parent_token)).json()
    assert slots["appointment_at"] is None
    assert len(slots["items"]) == 60
    chosen, later = slots["items"][0]["starts_at"], slots["items"][1]["starts_at"]

    async def book(assessment_id: str, starts_at: str) -> Any:
        return await service.call(
            "POST", f"/v1/assessments/{assessment_id}/appointment", parent_token, {"starts_at": starts_at}
        )

    answers = await asyncio.gather(book(first, chosen), book(second, chosen))
    assert sorted(answer.status_code for answer in answers) == [200, 409]
    assert {answer.json().get("code") for answer in answers if answer.status_code == 409} == {"slot_taken"}
    winner = next(a for a in answers if a.status_code == 200).json()["assessment_id"]
    moved = await book(winner, later)
    assert moved.status_code == 200
    assert datetime.fromisoformat(moved.json()["appointment_at"]) == datetime.fromisoformat(later)
    loser = second if winner == first else first
    assert (await book(loser, chosen)).status_code == 200, "a time given up is free again"
    assert (await book(loser, "2030-01-01T03:00:00+08:00")).json()["code"] == "slot_not_offered"
    stranger = service.token(
        "applicant", "stranger", id_number=make_identity_number("330502", date(1981, 1, 1), 5)
    )
    assert (await service.call("GET", f"/v1/assessments/{first}/slots", stranger)).status_code == 403
    worklist = (await service.call("GET", "/v1/assessments?assigned=me", service.doctor_token(doctor))).json()
    assert sum(1 for item in worklist["items"] if item["appointment_at"]) == 2
