"""A death a partner reports holds the certificate until the reviewer of the household area
confirms it; a rejected or corrected one changes nothing in the end (issue 18, finding 4)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from .conftest import HOME, OTHER_PROVINCE, TODAY, CertificateService, new_application, new_person


def a_matter(matter: str, number: str, **fields: object) -> dict[str, object]:
    return {"matter": matter, "certificate_number": number, "consent": True, **fields}


async def reported_dead(
    certificate: CertificateService, person: str, number: str | None = None, fact_id: str = "gaj-1"
) -> None:
    """The benefits service passed on a partner's death fact (within the partner's jurisdiction)."""
    await certificate.publish(
        "benefits",
        "DeathReported",
        {
            "person_ref": certificate.app.state.service.person_ref(person),
            "effective_date": "2026-11-12",
            "fact_id": fact_id,
            "partner_id": "gongan-huzhou",
            "certificate_number": number,
            "household_region": HOME,
        },
    )
    await certificate.handled("benefits")


async def corrected(certificate: CertificateService, person: str, number: str) -> None:
    await certificate.publish(
        "benefits",
        "DeathCorrected",
        {
            "person_ref": certificate.app.state.service.person_ref(person),
            "fact_id": f"gaj-fix-{uuid.uuid4().hex[:6]}",
            "effective_date": "2026-11-19",
            "partner_id": "gongan-huzhou",
            "certificate_number": number,
        },
    )
    await certificate.handled("benefits")


async def decision(certificate: CertificateService, number: str, decided: str, region: str = HOME) -> Any:
    body = {"decision": decided, "reason": "已核对死亡医学证明 / checked the death certificate"}
    return await certificate.call(
        "POST", f"/v1/certificates/{number}/death-confirmation", certificate.reviewer(region), body
    )


async def pending_reports(certificate: CertificateService, token: str) -> list[dict[str, Any]]:
    answer = await certificate.call("GET", "/v1/death-reports", token)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


async def test_a_reported_death_holds_the_certificate_and_it_stops_verifying_at_once(
    certificate: CertificateService,
) -> None:
    person, holder, number = await certificate.holder_with_certificate()
    code = await certificate.code(holder, number)
    await reported_dead(certificate, person, number)
    held = await certificate.certificate(holder, number)
    assert held["status"] == "on_hold"
    verified = await certificate.verify(code)
    assert (verified["valid"], verified["status"], verified["reason_code"]) == (
        False,
        "on_hold",
        "certificate_on_hold",
    )
    [event] = await certificate.published_about("CertificatePutOnHold", "certificate_number", number)
    assert event["data"] | {"held_on": None} == {
        "certificate_number": number,
        "person_ref": certificate.app.state.service.person_ref(person),
        "household_region": HOME,
        "reason_code": "death_reported",
        "effective_date": "2026-11-12",
        "fact_id": "gaj-1",
        "partner_id": "gongan-huzhou",
        "held_on": None,
        "previous_status": "active",
    }
    reports = await pending_reports(certificate, certificate.reviewer())
    [report] = [item for item in reports if item["certificate_number"] == number]
    assert (report["status"], report["died_on"], report["partner_id"]) == (
        "pending",
        "2026-11-12",
        "gongan-huzhou",
    )
    assert number not in str(await pending_reports(certificate, certificate.reviewer(OTHER_PROVINCE)))


async def test_on_hold_nothing_is_approved_or_cancelled_but_by_the_death_decision(
    certificate: CertificateService,
) -> None:
    person, holder, number = await certificate.holder_with_certificate()
    certificate.clock.today = date(2036, 6, 1)
    try:
        renewal = await certificate.submit(holder, a_matter("renewal", number))
    finally:
        certificate.clock.today = TODAY
    await reported_dead(certificate, person, number)
    refused = await certificate.decide(renewal["id"], expect=409)
    assert refused["certificate_status"] == "on_hold"
    loss = await certificate.call("POST", f"/v1/certificates/{number}/loss-report", holder)
    assert loss.status_code == 409
    staff = await certificate.call(
        "POST", f"/v1/certificates/{number}/cancellation", certificate.reviewer(), {"reason": "fraud"}
    )
    assert staff.status_code == 409
    assert (await certificate.application(holder, renewal["id"]))["status"] == "submitted"


async def test_the_reviewer_confirms_the_death_and_the_certificate_ends_with_its_cards_and_applications(
    certificate: CertificateService,
) -> None:
    person, holder, number = await certificate.holder_with_certificate()
    certificate.clock.today = date(2036, 6, 1)
    try:
        renewal = await certificate.submit(holder, a_matter("renewal", number))
    finally:
        certificate.clock.today = TODAY
    await reported_dead(certificate, person, number)
    far = await decision(certificate, number, "confirm", region=OTHER_PROVINCE)
    assert far.status_code == 404
    answer = await decision(certificate, number, "confirm")
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["card"]["status"]) == ("cancelled", "invalidated")
    [cancelled] = await certificate.published_about("CertificateCancelled", "certificate_number", number)
    assert (cancelled["data"]["reason"], cancelled["data"]["effective_date"]) == ("death", "2026-11-12")
    ended = await certificate.reaches(holder, renewal["id"], "rejected")
    assert "cancelled" in ended["decision_reason"]
    again = await decision(certificate, number, "confirm")
    assert again.status_code == 409
    assert again.json()["code"] == "no_death_report_pending"
    confirmed = await certificate.call("GET", "/v1/death-reports?status=confirmed", certificate.reviewer())
    assert number in {item["certificate_number"] for item in confirmed.json()["items"]}


async def test_the_reviewer_rejects_the_death_and_the_certificate_is_as_it_was(
    certificate: CertificateService,
) -> None:
    person, holder, number = await certificate.holder_with_certificate()
    code = await certificate.code(holder, number)
    await reported_dead(certificate, person, number)
    answer = await decision(certificate, number, "reject")
    assert answer.status_code == 200
    assert answer.json()["status"] == "active"
    assert (await certificate.verify(code))["valid"] is True
    [lifted] = await certificate.published_about("CertificateHoldLifted", "certificate_number", number)
    assert (lifted["data"]["reason_code"], lifted["data"]["restored_status"]) == ("death_rejected", "active")
    assert "reason" not in lifted["data"], "the reviewer's words stay in the service"
    assert number not in {
        item["certificate_number"] for item in await pending_reports(certificate, certificate.reviewer())
    }


async def test_a_correction_before_the_decision_lifts_the_hold(certificate: CertificateService) -> None:
    person, holder, number = await certificate.holder_with_certificate()
    await reported_dead(certificate, person, number)
    await corrected(certificate, person, number)
    assert (await certificate.certificate(holder, number))["status"] == "active"
    [lifted] = await certificate.published_about("CertificateHoldLifted", "certificate_number", number)
    assert lifted["data"]["reason_code"] == "death_corrected"


async def test_a_correction_after_the_confirmation_makes_the_certificate_live_again_with_a_new_card(
    certificate: CertificateService,
) -> None:
    person, holder, number = await certificate.holder_with_certificate()
    code = await certificate.code(holder, number)
    await reported_dead(certificate, person, number)
    assert (await decision(certificate, number, "confirm")).status_code == 200
    await corrected(certificate, person, number)
    restored = await certificate.certificate(holder, number)
    assert (restored["status"], restored["card"]["status"]) == ("active", "ordered")
    assert (await certificate.verify(code))["valid"] is True
    [reinstated] = await certificate.published_about("CertificateReinstated", "certificate_number", number)
    assert reinstated["data"]["reason_code"] == "death_corrected"
    # The person holds it again: a second live certificate is refused as before.
    again = await certificate.call("POST", "/v1/applications", holder, new_application(person))
    assert again.status_code == 409
    assert again.json()["code"] == "live_certificate_exists"


async def test_a_death_reported_for_someone_without_a_certificate_changes_nothing(
    certificate: CertificateService,
) -> None:
    applicant = new_person()
    pending = await certificate.submit(certificate.holder(applicant), new_application(applicant))
    await reported_dead(certificate, applicant)
    assert (await certificate.application(certificate.holder(applicant), pending["id"]))[
        "status"
    ] == "submitted"


async def test_only_reviewers_and_admins_list_reported_deaths(certificate: CertificateService) -> None:
    holder = certificate.holder(new_person())
    assert (await certificate.call("GET", "/v1/death-reports", holder)).status_code == 403
    assert (await certificate.call("GET", "/v1/death-reports", certificate.admin)).status_code == 200
    bad = await certificate.call("GET", "/v1/death-reports?status=maybe", certificate.reviewer())
    assert bad.status_code == 422
