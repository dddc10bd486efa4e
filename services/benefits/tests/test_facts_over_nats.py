"""A partner connected to NATS publishes its facts; they count exactly as over HTTP."""

from __future__ import annotations

import uuid
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import BenefitsService


async def a_partner(service: BenefitsService, facts: tuple[str, ...]) -> str:
    partner_id = str(uuid.uuid4())
    await service.publish(
        "notification",
        "PartnerRegistered",
        {"partner_id": partner_id, "event_types": [], "fields": [], "facts": list(facts)},
    )
    await service.handled("notification")
    return partner_id


async def test_a_fact_published_on_nats_is_applied_once_and_is_the_same_fact_as_over_http(
    service: BenefitsService,
) -> None:
    certificate = await service.issue_certificate(level=2)
    partner_id = await a_partner(service, ("low_income_started",))
    started = date.today().replace(day=1)
    fact = {
        "fact_id": "dibao-2026-001",
        "id_number": certificate.id_number,
        "effective_date": started.isoformat(),
    }
    for _ in range(2):  # published twice: one effect
        await service.publish("partners", f"{partner_id}.low_income_started", fact)
    await service.handled("partners")
    living = (await service.benefits_of(certificate.number))["living_subsidy"]
    assert (living["status"], living["active_from"]) == ("active", started.isoformat())

    token = service.token("partner", "partner-nats", partner_id=partner_id)
    again = await service.report(
        token, "low_income_started", certificate.id_number, started, fact_id="dibao-2026-001"
    )
    assert again.status_code == 202
    assert again.json()["status"] == "received"
    async with service.runtime.pool.acquire() as conn:
        recorded = await conn.fetchval(
            "SELECT count(*) FROM events WHERE event_type = 'FactRecorded' AND stream_id = $1",
            f"holding-{certificate.person_ref}",
        )
        stored = await conn.fetchval(
            "SELECT string_agg(payload::text, ' ') FROM events WHERE event_type = 'FactRecorded'"
        )
    assert recorded == 1
    assert certificate.id_number not in stored, "a fact keeps only the keyed hash of the identity number"
