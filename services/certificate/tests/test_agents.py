"""代办: agents claimed until verified, verified on evidence, ended at 18, by the person or a reviewer."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from dcert_shared.envelope import CommandContext
from dcert_shared.ids import keyed_hash

from .conftest import TODAY, CertificateService, new_application, new_person


def agent_of(parent: str) -> dict[str, str]:
    return {"id_number": parent, "name": "王大明", "relationship": "parent"}


async def a_childs_certificate(certificate: CertificateService, child: str, parent: str) -> tuple[str, str]:
    """A parent applies for the child, the result comes, the reviewer approves (which verifies
    the parent): the application and the certificate number."""
    parent_token = certificate.holder(parent)
    created = await certificate.submit(parent_token, new_application(child, agent=agent_of(parent)))
    await certificate.assessed(certificate.reviewer(), created["id"])
    decided = await certificate.decide(created["id"])
    return created["id"], decided["certificate_number"]


async def status(certificate: CertificateService, token: str, path: str) -> int:
    return (await certificate.call("GET", path, token)).status_code


async def my_agents(certificate: CertificateService, person: str) -> list[dict[str, Any]]:
    answer = await certificate.call("GET", "/v1/me/agents", certificate.holder(person))
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


async def test_a_parents_rights_end_the_day_the_child_comes_of_age(certificate: CertificateService) -> None:
    child, parent = new_person(birth=date(2008, 12, 1)), new_person()
    _, number = await a_childs_certificate(certificate, child, parent)
    [agency] = await my_agents(certificate, child)
    assert (agency["status"], agency["basis"], agency["until"]) == ("verified", "reviewer", "2026-11-30")
    assert await status(certificate, certificate.holder(parent), f"/v1/certificates/{number}") == 200

    certificate.clock.today = date(2026, 12, 1)
    try:
        ended = await certificate.app.state.clocks.end_agencies_run_out(CommandContext())
    finally:
        certificate.clock.today = TODAY
    assert ended == 1
    [agency] = await my_agents(certificate, child)
    assert (agency["status"], agency["ended_reason"]) == ("ended", "came_of_age")
    assert await status(certificate, certificate.holder(parent), f"/v1/certificates/{number}") == 404
    assert await status(certificate, certificate.holder(child), f"/v1/certificates/{number}") == 200


async def test_the_person_revokes_an_agent_and_a_reviewer_confirms_a_guardian_of_an_adult(
    certificate: CertificateService,
) -> None:
    child, parent = new_person(birth=date(2012, 3, 3)), new_person()
    _, number = await a_childs_certificate(certificate, child, parent)
    [agency] = await my_agents(certificate, child)
    revoked = await certificate.call(
        "POST", f"/v1/me/agents/{agency['id']}/revocation", certificate.holder(child)
    )
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "ended"
    assert await status(certificate, certificate.holder(parent), f"/v1/certificates/{number}") == 404

    # The reviewer of the household area renews them (a court named them guardian of an adult).
    confirmed = await certificate.call(
        "POST",
        f"/v1/certificates/{number}/agents/{agency['id']}/confirmation",
        certificate.reviewer(),
        {"basis": "guardian_of_adult"},
    )
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["status"], confirmed.json()["until"]) == ("verified", None)
    assert await status(certificate, certificate.holder(parent), f"/v1/certificates/{number}") == 200
    foreign = await certificate.call(
        "POST", f"/v1/certificates/{number}/agents/{agency['id']}/revocation", certificate.reviewer("440305")
    )
    assert foreign.status_code == 404


@pytest.mark.parametrize(
    ("jurisdiction", "status"), [(["330000"], "verified"), (["340000"], "claimed"), (None, "verified")]
)
async def test_the_household_register_verifies_a_guardian_who_claims_later_within_its_partners_jurisdiction(
    certificate: CertificateService, jurisdiction: list[str] | None, status: str
) -> None:
    """A partner's word counts where its jurisdiction covers the application's household region
    (330502 here: Zhejiang's register vouches, Anhui's does not; an event of before, nationwide)."""
    child, guardian = new_person(birth=date(2015, 5, 5)), new_person()
    ref = keyed_hash(certificate.settings.identity_hash_key_bytes, child)
    await certificate.publish(
        "benefits",
        "GuardianshipReported",
        {
            "person_ref": ref,
            "guardian_ref": keyed_hash(certificate.settings.identity_hash_key_bytes, guardian),
            "relationship": "guardian",
            "effective_date": "2026-01-01",
            "until": None,
            **({"jurisdiction": jurisdiction} if jurisdiction is not None else {}),
        },
        partition_key=ref,
    )
    await certificate.handled("benefits")
    created = await certificate.submit(
        certificate.holder(guardian), new_application(child, agent=agent_of(guardian))
    )
    seen = await certificate.application(certificate.holder(guardian), created["id"])
    agent_status = seen["agent"]["status"] if "agent" in seen else seen["agent_status"]
    assert agent_status == status
    assert ("applicant_name" in seen) == (status == "verified")  # a claimed agent sees the status only


async def test_a_claimed_agents_application_for_someone_with_a_certificate_is_flagged_for_the_reviewer(
    certificate: CertificateService,
) -> None:
    person, stranger = new_person(), new_person()
    await certificate.certificate_for(person)
    created = await certificate.submit(
        certificate.holder(stranger), new_application(person, agent=agent_of(stranger))
    )
    assert created["status"] == "submitted"
    case = await certificate.application(certificate.reviewer(), created["id"])
    assert (case["person_state"], case["agent"]["status"]) == ("live_certificate_exists", "claimed")
    await certificate.assessed(certificate.reviewer(), created["id"])
    refused = await certificate.decide(created["id"], expect=409)
    assert refused["code"] == "live_certificate_exists"
