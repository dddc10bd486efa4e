"""Reads of a person's assessment by the doctor and by staff are in their access log; their own are not."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from dcert_shared.ids import keyed_hash, make_identity_number

if TYPE_CHECKING:
    from conftest import AssessmentService


async def test_the_doctors_worklist_and_reads_are_recorded_and_the_persons_own_read_is_not(
    service: AssessmentService,
) -> None:
    person = make_identity_number("330502", date(1971, 3, 9), 27)
    person_ref = keyed_hash(service.settings.identity_hash_key_bytes, person)
    doctor = await service.qualified_doctor()
    application_id = await service.request_assessment(person_ref=person_ref)
    assessment_id = (await service.assessment_of(application_id))["id"]  # an admin's list

    doctor_token = service.doctor_token(doctor)
    worklist = await service.call("GET", "/v1/assessments?assigned=me", doctor_token)
    assert assessment_id in [item["id"] for item in worklist.json()["items"]]
    assert (await service.call("GET", f"/v1/assessments/{assessment_id}", doctor_token)).status_code == 200
    own = service.token("applicant", "citizen-1", id_number=person)
    assert (await service.call("GET", f"/v1/assessments/{assessment_id}", own)).status_code == 200

    rows = await service.fetch(
        "SELECT reader_role, reader_organisation, route, purpose, record_ref FROM access_log"
        " WHERE person_ref = $1 ORDER BY id",
        person_ref,
    )
    assert {row["record_ref"] for row in rows} == {assessment_id}
    assert "applicant" not in {row["reader_role"] for row in rows}
    by_doctor = [(row["route"], row["purpose"]) for row in rows if row["reader_role"] == "doctor"]
    assert by_doctor == [
        ("/v1/assessments", "assessment"),
        ("/v1/assessments/{assessment_id}", "assessment"),
    ]
    assert {row["reader_organisation"] for row in rows if row["reader_role"] == "doctor"} == {doctor}
    assert {row["purpose"] for row in rows if row["reader_role"] == "admin"} == {"supervision"}
