"""An admin registers institutions and doctors; bad requests are refused and change nothing."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import AssessmentService

from dcert_shared.auth import DevIssuer

PROBLEM = "application/problem+json"


async def test_an_admin_registers_an_institution_and_finds_it_in_the_list(service: AssessmentService) -> None:
    answer = await service.call(
        "POST",
        "/v1/institutions",
        service.admin,
        {"name": "吴兴区人民医院", "region": service.regions.home, "categories": ["physical", "visual"]},
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["name"] == "吴兴区人民医院"
    assert created["region"] == service.regions.home
    assert created["categories"] == ["physical", "visual"]
    listed = await service.call("GET", "/v1/institutions", service.admin)
    assert listed.json()["items"] == [created]


async def test_an_institution_with_a_bad_region_or_category_is_refused_and_not_recorded(
    service: AssessmentService,
) -> None:
    for body in (
        {"name": "医院", "region": "33050", "categories": ["visual"]},
        {"name": "医院", "region": "33O502", "categories": ["visual"]},
        {"name": "医院", "region": service.regions.home, "categories": ["eyes"]},
        {"name": "医院", "region": service.regions.home, "categories": []},
        {"name": "医院", "region": service.regions.home, "categories": ["visual", "visual"]},
    ):
        answer = await service.call("POST", "/v1/institutions", service.admin, body)
        assert answer.status_code == 422, body
        assert answer.headers["content-type"].startswith(PROBLEM)
        assert answer.json()["errors"], answer.text
    assert (await service.call("GET", "/v1/institutions", service.admin)).json()["items"] == []


async def test_an_admin_registers_a_doctor_of_an_institution(service: AssessmentService) -> None:
    institution_id = await service.institution(categories=("visual", "hearing", "multiple"))
    answer = await service.call(
        "POST",
        "/v1/doctors",
        service.admin,
        {
            "name": "李医生",
            "institution_id": institution_id,
            "license_no": "110330502000123",
            "categories": ["hearing", "multiple"],
        },
    )
    assert answer.status_code == 201, answer.text
    doctor = answer.json()
    assert doctor["institution_id"] == institution_id
    assert doctor["categories"] == ["hearing", "multiple"]
    listed = await service.call("GET", "/v1/doctors", service.admin)
    assert listed.json()["items"] == [doctor]


async def test_a_doctor_of_an_unknown_institution_or_beyond_its_categories_is_refused(
    service: AssessmentService,
) -> None:
    institution_id = await service.institution(categories=("visual",))
    unknown = await service.call(
        "POST",
        "/v1/doctors",
        service.admin,
        {
            "name": "李医生",
            "institution_id": "no-such-institution",
            "license_no": "LIC0001",
            "categories": ["visual"],
        },
    )
    assert unknown.status_code == 422
    assert unknown.headers["content-type"].startswith(PROBLEM)
    assert unknown.json()["code"] == "institution_not_found"
    beyond = await service.call(
        "POST",
        "/v1/doctors",
        service.admin,
        {
            "name": "李医生",
            "institution_id": institution_id,
            "license_no": "LIC0001",
            "categories": ["visual", "mental"],
        },
    )
    assert beyond.status_code == 422
    assert beyond.json()["code"] == "categories_outside_institution"
    assert (await service.call("GET", "/v1/doctors", service.admin)).json()["items"] == []
    # The refused licence number was not taken either.
    again = await service.call(
        "POST",
        "/v1/doctors",
        service.admin,
        {
            "name": "李医生",
            "institution_id": institution_id,
            "license_no": "LIC0001",
            "categories": ["visual"],
        },
    )
    assert again.status_code == 201, again.text


async def test_a_licence_number_is_registered_once_even_when_two_admins_race(
    service: AssessmentService,
) -> None:
    institution_id = await service.institution()
    body = {
        "name": "李医生",
        "institution_id": institution_id,
        "license_no": "110330502000777",
        "categories": ["visual"],
    }
    answers = await asyncio.gather(
        *(service.call("POST", "/v1/doctors", service.admin, body) for _ in range(4))
    )
    assert sorted(answer.status_code for answer in answers) == [201, 409, 409, 409]
    refused = next(answer for answer in answers if answer.status_code == 409)
    assert refused.headers["content-type"].startswith(PROBLEM)
    assert refused.json()["code"] == "licence_already_registered"
    assert len((await service.call("GET", "/v1/doctors", service.admin)).json()["items"]) == 1


async def test_the_same_idempotency_key_answers_the_first_registration_again(
    service: AssessmentService,
) -> None:
    body = {"name": "吴兴区人民医院", "region": service.regions.home, "categories": ["visual"]}
    headers = {"Idempotency-Key": "inst-001"}
    first = await service.call("POST", "/v1/institutions", service.admin, body, headers)
    second = await service.call("POST", "/v1/institutions", service.admin, body, headers)
    assert second.json() == first.json()
    other = await service.call(
        "POST", "/v1/institutions", service.admin, {**body, "region": service.regions.other_province}, headers
    )
    assert other.status_code == 409
    assert len((await service.call("GET", "/v1/institutions", service.admin)).json()["items"]) == 1


async def test_published_registrations_name_no_one(service: AssessmentService) -> None:
    await service.qualified_doctor()
    [institution] = await service.published("InstitutionRegistered")
    [doctor] = await service.published("DoctorRegistered")
    assert set(institution["data"]) == {"institution_id", "region", "categories", "accredited_until"}
    assert set(doctor["data"]) == {"doctor_id", "institution_id", "categories", "home_visits"}


async def test_only_an_admin_manages_institutions_and_doctors(service: AssessmentService) -> None:
    institution_id = await service.institution()
    doctor = service.doctor_token(await service.doctor(institution_id))
    attempts = [
        ("POST", "/v1/institutions", {"name": "x", "region": service.regions.home, "categories": ["visual"]}),
        ("GET", "/v1/institutions", None),
        (
            "POST",
            "/v1/doctors",
            {
                "name": "x",
                "institution_id": institution_id,
                "license_no": "LIC0009",
                "categories": ["visual"],
            },
        ),
        ("GET", "/v1/doctors", None),
    ]
    for method, path, body in attempts:
        answer = await service.call(method, path, doctor, body)
        assert answer.status_code == 403, (method, path, answer.text)
    assert len((await service.call("GET", "/v1/doctors", service.admin)).json()["items"]) == 1


async def test_requests_without_a_valid_token_are_refused(service: AssessmentService) -> None:
    genuine = service.token("admin", "admin-1")
    tampered = genuine[:-4] + ("AAAA" if not genuine.endswith("AAAA") else "BBBB")
    expired = service.issuer.issue("admin", "admin-1", {}, ttl_seconds=-120)
    foreign = DevIssuer().issue("admin", "admin-1", {})  # signed by a key this service does not trust
    for token in (None, "not-a-jwt", tampered, expired, foreign):
        for method, path in (("GET", "/v1/institutions"), ("POST", "/v1/assessments/any/result")):
            answer = await service.call(method, path, token, {"category": "visual", "level": 4})
            assert answer.status_code == 401, (token, path)
            assert answer.headers["content-type"].startswith(PROBLEM)
    assert (await service.call("GET", "/v1/institutions", genuine)).status_code == 200
