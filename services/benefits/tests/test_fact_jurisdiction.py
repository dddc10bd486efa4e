"""Facts count only within the partner's jurisdiction, and the answer never tells a partner
anything about the person: the same `received` for a holder, a stranger and someone elsewhere."""

from __future__ import annotations

import uuid
from datetime import date
from typing import TYPE_CHECKING

from dcert_shared.ids import keyed_hash

if TYPE_CHECKING:
    from conftest import BenefitsService

ZHEJIANG, ANHUI = "330000", "340000"


async def stored_text(service: BenefitsService) -> str:
    rows = await service.fetch(
        "SELECT (SELECT coalesce(string_agg(t::text, ' '), '') FROM events t)"
        " || (SELECT coalesce(string_agg(t::text, ' '), '') FROM outbox t)"
        " || (SELECT coalesce(string_agg(t::text, ' '), '') FROM idempotency_keys t) AS text"
    )
    return str(rows[0]["text"])


async def test_a_fact_about_a_holder_outside_the_jurisdiction_is_answered_alike_and_changes_nothing(
    service: BenefitsService,
) -> None:
    holder = await service.issue_certificate(level=2, region="330502")
    anhui = await service.register_partner(("low_income_started",), regions=(ANHUI,))
    stranger = service.new_identity_number()
    answers = [
        await service.report(anhui, "low_income_started", id_number, date(2025, 6, 1), fact_id=f"ah-{n}")
        for n, id_number in enumerate((holder.id_number, stranger))
    ]
    assert [(answer.status_code, answer.json()["status"]) for answer in answers] == [(202, "received")] * 2
    assert set(answers[0].json()) == set(answers[1].json()) == {"fact_id", "status"}
    assert (await service.benefits_of(holder.number))["living_subsidy"]["status"] == "not_eligible"
    refused = await service.fetch(
        "SELECT payload FROM events WHERE event_type = 'FactRefused' AND stream_id = $1",
        f"holding-{holder.person_ref}",
    )
    assert [row["payload"]["reason"] for row in refused] == ["outside_jurisdiction"]
    assert "details" not in refused[0]["payload"]
    kept = await service.fetch("SELECT stream_id FROM events WHERE event_type = 'FactRecorded'")
    assert kept == [{"stream_id": f"holding-{service.person_ref(stranger)}"}], "waits for a certificate"
    again = await service.report(
        anhui, "low_income_started", holder.id_number, date(2025, 6, 1), fact_id="ah-0"
    )
    assert again.status_code == 202
    assert again.json() == answers[0].json()
    other = await service.report(
        anhui, "low_income_started", holder.id_number, date(2025, 7, 1), fact_id="ah-0"
    )
    assert other.status_code == 409
    assert other.json()["code"] == "fact_id_reused"


async def test_a_fact_within_the_jurisdiction_counts(service: BenefitsService) -> None:
    holder = await service.issue_certificate(level=2, region="330502", issued_on=date(2025, 3, 3))
    zhejiang = await service.register_partner(("low_income_started",), regions=(ZHEJIANG,))
    answer = await service.report(zhejiang, "low_income_started", holder.id_number, date(2025, 4, 18))
    assert answer.status_code == 202
    assert answer.json()["status"] == "received"
    living = (await service.benefits_of(holder.number))["living_subsidy"]
    assert (living["status"], living["active_from"]) == ("active", "2025-04-01")


async def test_a_fact_kept_before_the_certificate_counts_only_if_the_certificate_is_issued_in_the_jurisdiction(
    service: BenefitsService,
) -> None:
    anhui = await service.register_partner(("low_income_started", "death"), regions=(ANHUI,))
    zhejiang = await service.register_partner(("low_income_started",), regions=(ZHEJIANG,))
    id_number = service.new_identity_number()
    await service.report(anhui, "death", id_number, date(2025, 1, 20), fact_id="ah-death")
    await service.report(zhejiang, "low_income_started", id_number, date(2025, 1, 15), fact_id="zj-dibao")
    certificate = await service.issue_certificate(level=2, id_number=id_number, issued_on=date(2025, 2, 10))
    living = (await service.benefits_of(certificate.number))["living_subsidy"]
    assert (living["status"], living["active_from"]) == ("active", "2025-02-01")
    refused = await service.fetch("SELECT payload FROM events WHERE event_type = 'FactRefused'")
    assert [row["payload"]["fact_id"] for row in refused] == ["ah-death"]
    assert await service.fetch("SELECT * FROM events WHERE event_type = 'DeathReported'") == []


async def test_a_death_kept_before_the_certificate_is_reported_when_it_is_issued_in_the_jurisdiction(
    service: BenefitsService,
) -> None:
    zhejiang = await service.register_partner(("death",), regions=(ZHEJIANG,))
    id_number = service.new_identity_number()
    await service.report(zhejiang, "death", id_number, date(2025, 1, 20), fact_id="zj-death")
    assert await service.fetch("SELECT * FROM events WHERE event_type = 'DeathReported'") == []
    certificate = await service.issue_certificate(level=1, id_number=id_number, issued_on=date(2025, 2, 10))
    [death] = await service.published("DeathReported")
    assert (death["data"]["fact_id"], death["data"]["certificate_number"]) == ("zj-death", certificate.number)


async def test_a_narrower_policy_version_narrows_the_facts_that_count(service: BenefitsService) -> None:
    holder = await service.issue_certificate(level=2, region="330502")
    partner_id = str(uuid.uuid4())
    policy = {"partner_id": partner_id, "event_types": [], "fields": [], "facts": ["low_income_started"]}
    await service.publish("notification", "PartnerRegistered", {**policy, "regions": [ZHEJIANG]})
    await service.publish(
        "notification",
        "PartnerPolicyChanged",
        {**policy, "policy_version": 2, "regions": ["330503"], "legal_basis": "", "purpose": ""},
    )
    await service.handled("notification")
    token = service.token("partner", "narrowed", partner_id=partner_id)
    answer = await service.report(token, "low_income_started", holder.id_number, date(2025, 6, 1))
    assert answer.status_code == 202
    assert (await service.benefits_of(holder.number))["living_subsidy"]["status"] == "not_eligible"


async def test_a_fact_published_on_nats_for_someone_outside_the_jurisdiction_changes_nothing(
    service: BenefitsService,
) -> None:
    holder = await service.issue_certificate(level=2, region="330502")
    partner_id = str(uuid.uuid4())
    await service.publish(
        "notification",
        "PartnerRegistered",
        {"partner_id": partner_id, "event_types": [], "fields": [], "facts": ["death"], "regions": [ANHUI]},
    )
    await service.handled("notification")
    fact = {"fact_id": "nats-death", "id_number": holder.id_number, "effective_date": "2025-06-01"}
    await service.publish("partners", f"{partner_id}.death", fact)
    await service.handled("partners")
    assert await service.fetch("SELECT * FROM events WHERE event_type = 'DeathReported'") == []
    [refused] = await service.fetch("SELECT payload FROM events WHERE event_type = 'FactRefused'")
    assert refused["payload"]["fact_id"] == "nats-death"


async def test_guardianship_is_published_with_keyed_hashes_only(service: BenefitsService) -> None:
    child = await service.issue_certificate(level=1, region="330502")
    parent = service.new_identity_number()
    zhejiang = await service.register_partner(("guardianship",), regions=(ZHEJIANG,))
    details = {"guardian_id_number": parent, "relationship": "parent", "until": "2034-03-01"}
    answer = await service.report(
        zhejiang, "guardianship", child.id_number, date(2025, 6, 1), details=details
    )
    assert answer.status_code == 202
    assert answer.json()["status"] == "received"
    [reported] = await service.published("GuardianshipReported")
    key = service.settings.identity_hash_key_bytes
    assert reported["data"] == {
        "person_ref": child.person_ref,
        "guardian_ref": keyed_hash(key, parent),
        "relationship": "parent",
        "effective_date": "2025-06-01",
        "until": "2034-03-01",
        "partner_id": reported["data"]["partner_id"],
        "fact_id": reported["data"]["fact_id"],
        "household_region": "330502",
        "jurisdiction": [ZHEJIANG],
    }
    assert parent not in await stored_text(service), "the guardian's identity number is kept nowhere"


async def test_guardianship_outside_the_jurisdiction_is_never_published_and_one_before_a_certificate_carries_its_jurisdiction(
    service: BenefitsService,
) -> None:
    """A guardian named before any certificate is told at once, with the partner's jurisdiction:
    the certificate service verifies their claim on a first application only where it covers
    the application's household region. Once the certificate places the person, only the partner
    whose jurisdiction covers it counts."""
    child = await service.issue_certificate(level=1, region="330502")
    anhui = await service.register_partner(("guardianship",), regions=(ANHUI,))
    zhejiang = await service.register_partner(("guardianship",), regions=(ZHEJIANG,))
    details = {"guardian_id_number": service.new_identity_number(), "relationship": "guardian", "until": None}
    await service.report(anhui, "guardianship", child.id_number, date(2025, 6, 1), details=details)
    newborn = service.new_identity_number()
    for partner in (anhui, zhejiang):
        await service.report(partner, "guardianship", newborn, date(2025, 6, 1), details=details)
    before = await service.published("GuardianshipReported", count=2)
    assert sorted(
        (event["data"]["person_ref"], event["data"]["household_region"], event["data"]["jurisdiction"])
        for event in before
    ) == sorted((service.person_ref(newborn), None, [area]) for area in (ANHUI, ZHEJIANG))

    await service.issue_certificate(level=1, id_number=newborn, region="330502")
    placed = await service.published("GuardianshipReported", count=3)
    assert [(e["data"]["household_region"], e["data"]["jurisdiction"]) for e in placed[2:]] == [
        ("330502", [ZHEJIANG])
    ]


async def test_a_guardianship_fact_with_wrong_details_is_refused_naming_each(
    service: BenefitsService,
) -> None:
    child = await service.issue_certificate(level=1)
    civil_affairs = await service.register_partner(("guardianship",))
    for details, fields in (
        ({}, ["details.guardian_id_number", "details.relationship"]),
        (
            {"guardian_id_number": child.id_number, "relationship": "uncle", "until": "2020-01-01"},
            ["details.guardian_id_number", "details.relationship", "details.until"],
        ),
        ({"guardian_id_number": "12345", "relationship": "parent"}, ["details.guardian_id_number"]),
    ):
        answer = await service.report(
            civil_affairs, "guardianship", child.id_number, date(2025, 6, 1), details=details
        )
        assert answer.status_code == 422, details
        assert [error["field"] for error in answer.json()["errors"]] == fields
        assert child.id_number not in answer.text
    assert await service.fetch("SELECT * FROM events WHERE event_type = 'FactRecorded'") == []
