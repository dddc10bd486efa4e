"""Who may see a certificate's benefits: the holder, their agent, the region's reviewers, admins."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import BenefitsService

PROBLEM = "application/problem+json"


async def test_the_holder_their_agent_the_regions_reviewers_and_an_admin_see_the_benefits(
    service: BenefitsService,
) -> None:
    parent = service.new_identity_number()
    certificate = await service.issue_certificate(level=1, agents=(parent,))
    callers = {
        "holder": service.applicant(certificate.id_number),
        "agent": service.applicant(parent),
        "county reviewer": service.reviewer(certificate.region),
        "city reviewer": service.reviewer(service.regions.huzhou),
        "admin": service.admin,
    }
    for who, token in callers.items():
        answer = await service.call("GET", f"/v1/certificates/{certificate.number}/benefits", token)
        assert answer.status_code == 200, who
        assert {item["code"] for item in answer.json()["items"]} >= {"living_subsidy", "nursing_subsidy"}, who
    # Every read but the holder's own is in the person's access log, the number masked.
    logged = await service.fetch(
        "SELECT reader_role, purpose, person_ref, record_ref FROM access_log ORDER BY id"
    )
    assert [(row["reader_role"], row["purpose"]) for row in logged] == [
        ("applicant", "acting_as_agent"),
        ("reviewer", "review"),
        ("reviewer", "review"),
        ("admin", "supervision"),
    ]
    assert {row["person_ref"] for row in logged} == {certificate.person_ref}
    assert {row["record_ref"] for row in logged} == {
        certificate.number[:4] + "*" * 10 + certificate.number[14:]
    }


async def test_anyone_else_is_refused_without_learning_whether_the_certificate_exists(
    service: BenefitsService,
) -> None:
    certificate = await service.issue_certificate(level=1)
    path = f"/v1/certificates/{certificate.number}/benefits"
    refused = {
        "another applicant": (service.applicant(service.new_identity_number()), 404),
        "a reviewer of another county": (service.reviewer(service.regions.huzhou_other_county), 404),
        "a reviewer of another city": (service.reviewer(service.regions.other_city), 404),
        "a partner": (service.token("partner", "partner-1", partner_id="p-1"), 403),
        "a doctor": (service.token("doctor", "doctor-1", doctor_id="d-1"), 403),
    }
    for who, (token, status) in refused.items():
        answer = await service.call("GET", path, token)
        assert answer.status_code == status, who
        assert answer.headers["content-type"].startswith(PROBLEM), who
        assert "nursing_subsidy" not in answer.text, who
    unknown = await service.call(
        "GET", f"/v1/certificates/{service.new_identity_number()}41/benefits", service.admin
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "certificate_not_found"
    assert (await service.call("GET", path, None)).status_code == 401
    assert await service.fetch("SELECT * FROM access_log") == []


async def test_an_agent_the_certificate_names_but_nobody_verified_sees_nothing(
    service: BenefitsService,
) -> None:
    """Being named in an event is not being verified: only the certificate service's verified
    agencies let an agent read the person's benefits (and ending one stops it at once)."""
    parent, stranger = service.new_identity_number(), service.new_identity_number()
    certificate = await service.issue_certificate(level=1, agents=(parent,))
    await service.publish(
        "certificate",
        "CertificateRenewed",
        {
            "certificate_number": certificate.number,
            "person_ref": certificate.person_ref,
            "issued_on": "2026-01-01",
            "expires_on": "2036-01-01",
            "agent_refs": [service.person_ref(stranger)],
        },
    )
    await service.publish(
        "certificate",
        "AgentEnded",
        {
            "person_ref": certificate.person_ref,
            "agent_ref": service.person_ref(parent),
            "reason": "revoked_by_person",
        },
    )
    await service.handled("certificate")
    for who in (parent, stranger):
        answer = await service.call(
            "GET", f"/v1/certificates/{certificate.number}/benefits", service.applicant(who)
        )
        assert answer.status_code == 404
