"""应享未享: the report of a region's holders the rules and the payments disagree about."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import BenefitsService


async def test_a_holder_lacking_only_a_low_income_fact_is_reported_with_the_reason(
    service: BenefitsService,
) -> None:
    region = service.regions.huzhou_other_county
    waiting = await service.issue_certificate(level=1, region=region)
    receiving = await service.issue_certificate(level=1, region=region)
    civil_affairs = await service.register_partner(("low_income_started",))
    answer = await service.report(civil_affairs, "low_income_started", receiving.id_number, date.today())
    assert answer.status_code == 202, answer.text
    cancelled = await service.issue_certificate(level=1, region=region)
    await service.publish(
        "certificate",
        "CertificateCancelled",
        {
            "certificate_number": cancelled.number,
            "person_ref": cancelled.person_ref,
            "reason": "voluntary",
            "effective_date": date.today().isoformat(),
            "application_id": "app-9",
        },
    )
    await service.handled("certificate")

    reviewer = service.reviewer(service.regions.huzhou)
    answer = await service.call(
        "GET", f"/v1/reports/entitlements?region={region}", reviewer, headers={"Accept-Language": "en"}
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    living = [item for item in report["items"] if item["benefit"] == "living_subsidy"]
    assert [(item["certificate_number"], item["kind"], item["reason_code"]) for item in living] == [
        (waiting.number, "possibly_entitled", "no_low_income_fact")
    ], "the one receiving it and the cancelled certificate are not listed"
    assert "subsistence" in living[0]["reason"]
    assert report["counts"]["possibly_entitled"] >= 1

    only = await service.call(
        "GET", f"/v1/reports/entitlements?region={region}&kind=receiving_not_entitled", reviewer
    )
    assert only.json()["items"] == []
    elsewhere = service.reviewer(service.regions.other_city)
    denied = await service.call("GET", f"/v1/reports/entitlements?region={region}", elsewhere)
    assert denied.status_code == 403
    applicant = service.applicant(waiting.id_number)
    assert (
        await service.call("GET", f"/v1/reports/entitlements?region={region}", applicant)
    ).status_code == 403
