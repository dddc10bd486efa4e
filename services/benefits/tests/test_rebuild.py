"""The read models are derived data: replaying the events gives back exactly what was projected
live (ADR 0004), so a new column never needs a migration."""

from __future__ import annotations

import copy
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import BenefitsService

TABLES = {
    "holding_view": "person_ref",
    "benefit_view": "person_ref, benefit",
    "benefit_period": "person_ref, benefit, active_from",
    "circumstances_view": "person_ref",
    "policy_version_view": "code, version",
}


async def test_replaying_the_events_rebuilds_the_same_read_models(service: BenefitsService) -> None:
    paid = await service.issue_certificate(level=1, issued_on=date(2024, 5, 20))
    dying = await service.issue_certificate(level=2, category="mental")
    civil_affairs = await service.register_partner(("low_income_started", "death"))
    await service.report(civil_affairs, "low_income_started", paid.id_number, date(2024, 9, 2))
    await service.report(civil_affairs, "death", dying.id_number, date.today())
    document = (await service.call("GET", "/v1/policies/living_subsidy", service.admin)).json()
    draft = copy.deepcopy(document)
    draft["version"] += 1
    draft["rules"].append(
        {"id": "huzhou-2025", "region": "330500", "effective_from": "2025-01-01", "monthly_amount_fen": 27000}
    )
    assert (
        await service.call("POST", "/v1/policies/living_subsidy/versions", service.admin, draft)
    ).status_code == 201
    await service.call("POST", "/v1/jobs/policy-effects", service.admin)

    async def snapshot() -> dict[str, list[dict[str, object]]]:
        return {
            table: [
                {key: value for key, value in row.items() if key not in ("id", "updated_at")}
                for row in await service.fetch(f"SELECT * FROM {table} ORDER BY {order}")
            ]
            for table, order in TABLES.items()
        }

    live = await snapshot()
    assert any(row["monthly_amount_fen"] == 27000 for row in live["benefit_period"])
    await service.runtime.rebuild_read_models()
    assert await snapshot() == live
    assert await service.runtime.read_model_differences() == []
