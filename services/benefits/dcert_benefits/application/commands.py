"""Use cases of the benefits service: a partner reports a fact (monthly runs: application/runs.py).

Each loads its aggregate, lets it decide and leaves the commit to the unit of work.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from dcert_shared.envelope import CommandContext
from dcert_shared.ids import china_today, keyed_hash
from dcert_shared.problems import IdempotencyKeyReused
from dcert_shared.runtime import ServiceRuntime
from dcert_shared.uow import UnitOfWork

from ..domain.errors import FactIdReused
from ..domain.policies import Catalogue
from ..settings import BenefitsSettings
from .facts import FactReport, record_fact


class BenefitsCommands:
    def __init__(
        self,
        runtime: ServiceRuntime,
        settings: BenefitsSettings,
        catalogue: Catalogue,
        today: Callable[[], date] = china_today,
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.catalogue = catalogue
        self.today = today

    def person_ref(self, id_number: str) -> str:
        return keyed_hash(self.settings.identity_hash_key_bytes, id_number)

    async def report_fact(self, context: CommandContext, report: FactReport) -> tuple[dict[str, Any], bool]:
        """Keep and apply a partner's fact once per (partner, fact id); returns (answer, replayed)."""
        report = report.without_identity_numbers(self.settings.identity_hash_key_bytes)
        person_ref = self.person_ref(report.id_number)
        # What "the same fact" means, without the identity number in plain text.
        request = {
            "type": report.fact_type,
            "person_ref": person_ref,
            "effective_date": report.effective_date.isoformat(),
            "details": report.details,
        }

        async def decide(uow: UnitOfWork) -> dict[str, Any]:
            return await record_fact(uow, self.catalogue, report, person_ref)

        try:
            return await self.runtime.es.execute_idempotent(
                context, f"partner:{report.partner_id}", f"fact:{report.fact_id}", request, decide
            )
        except IdempotencyKeyReused:
            raise FactIdReused() from None
