"""Two regions acting for one person at the same moment, 200 times, on real PostgreSQL.

The person's stream (keyed by the keyed hash of the identity number) is the one place both
requests meet, whichever region they come from: exactly one is accepted, and no identity
number is stored in plain text to find the person.
"""

from __future__ import annotations

import asyncio

from .conftest import OTHER_PROVINCE, CertificateService, new_application, new_person, residence_permit

RACES = 200


async def test_two_regions_applying_for_one_person_at_once_give_exactly_one_open_application(
    certificate: CertificateService,
) -> None:
    people = [new_person() for _ in range(RACES)]
    for race, person in enumerate(people):
        token = certificate.holder(person)
        at_home = new_application(person)
        where_they_live = new_application(person, residence=OTHER_PROVINCE, documents=[residence_permit()])
        answers = await asyncio.gather(
            certificate.call("POST", "/v1/applications", token, at_home),
            certificate.call("POST", "/v1/applications", token, where_they_live),
        )
        assert sorted(answer.status_code for answer in answers) == [201, 409], f"race {race}"
        refused = next(answer for answer in answers if answer.status_code == 409)
        assert refused.json()["code"] in ("open_application_exists", "concurrency_conflict")
    open_per_person = await certificate.fetch(
        "SELECT person_ref, count(*) AS n FROM application_view WHERE matter = 'new' AND status = 'submitted'"
        " GROUP BY person_ref HAVING count(*) > 1"
    )
    assert open_per_person == [], "a person has two open new applications"
    stored = await certificate.fetch(
        "SELECT count(*) AS n FROM events WHERE payload::text LIKE $1", f"%{people[0]}%"
    )
    person_streams = await certificate.fetch(
        "SELECT count(*) AS n FROM events WHERE stream_id LIKE 'person-%' AND stream_id LIKE $1",
        f"%{people[0]}%",
    )
    assert person_streams[0]["n"] == 0, "the person's stream is keyed by the identity number itself"
    assert stored[0]["n"] == 0, "the identity number is stored only sealed, in the submission's own event"


async def test_a_grade_that_overtakes_its_scheduling_still_names_its_assessment(
    certificate: CertificateService,
) -> None:
    """The two arrive by separate consumers, so the grade can come first: the application must
    still name its assessment (the reviewer's case page reads the result by it)."""
    person = new_person()
    token = certificate.holder(person)
    created = await certificate.submit(token, new_application(person))
    assessment_id = "4b1c2a70-5f0e-4d0a-9a51-0c9d6f7e8a11"
    grade = {"assessment_id": assessment_id, "category": "physical", "level": 2, "components": []}
    await certificate.publish(
        "assessment",
        "GradeRecorded",
        {"application_id": created["id"], **grade, "override_reason_given": False},
    )
    graded = await certificate.reaches(token, created["id"], "assessed")
    assert graded["assessment"]["assessment_id"] == assessment_id


async def test_approving_an_application_still_being_assessed_is_refused_not_a_crash(
    certificate: CertificateService,
) -> None:
    """A reviewer's stale page (or a client) approving before the grade came: a 409 the page can
    say, not a 500 (the number was composed from the missing grade before the status was checked)."""
    person = new_person()
    token = certificate.holder(person)
    created = await certificate.submit(token, new_application(person))
    for decision in ("approve", "reject", "return"):
        refused = await certificate.call(
            "POST",
            f"/v1/applications/{created['id']}/decision",
            certificate.reviewer(),
            {"decision": decision, "reason": "材料不全"},
        )
        assert refused.status_code == 409, (decision, refused.text)
        assert refused.json()["code"] == "application_not_reviewable"
    assert (await certificate.application(token, created["id"]))["status"] == "submitted"
