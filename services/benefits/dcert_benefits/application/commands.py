"""Use cases of the benefits service: a partner reports a fact, an admin runs a month.

Each loads its aggregate, lets it decide and leaves the commit to the unit of work.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import asyncpg

from dcert_shared.envelope import CommandContext
from dcert_shared.ids import china_today, keyed_hash
from dcert_shared.problems import IdempotencyKeyReused
from dcert_shared.runtime import ServiceRuntime
from dcert_shared.uow import UnitOfWork

from ..domain.calendar import Month, significant_digits
from ..domain.errors import FactIdReused, RunInvalid
from ..domain.events import RunLine
from ..domain.monthly_run import MonthlyRun
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

    async def run_month(self, context: CommandContext, month: Month, region: str) -> tuple[str, bool]:
        """The month's run of `region`, made now if it was not made before: (run id, made now)."""
        if month > Month.of(self.today()):
            raise RunInvalid(detail="a month that has not begun cannot be run")
        key = MonthlyRun.key(month, region)

        async def decide(uow: UnitOfWork) -> tuple[str, bool]:
            run = await uow.load(MonthlyRun, key)
            if run is not None and run.run_id is not None:
                return run.run_id, False
            run = MonthlyRun(key)
            uow.track(run)
            run_id = str(uuid.uuid4())
            run.complete(run_id, month, region, await self._entitlements(uow.conn, month, region))
            return run_id, True

        return await self.runtime.es.execute(context, decide)

    async def _entitlements(self, conn: asyncpg.Connection, month: Month, region: str) -> list[RunLine]:
        """One line per benefit paid for `month` in `region`, at the amount in effect that month."""
        rows = await conn.fetch(
            "SELECT DISTINCT ON (person_ref, benefit) person_ref, benefit, certificate_number,"
            " household_region, monthly_amount_fen, policy_version FROM benefit_period"
            " WHERE household_region LIKE $1 || '%' AND active_from <= $3"
            "   AND (active_to IS NULL OR (active_to >= $2 AND active_to >= active_from))"
            " ORDER BY person_ref, benefit, active_from DESC",
            significant_digits(region),
            month.first_day,
            month.last_day,
        )
        lines = [self._line(row, month) for row in rows]
        return sorted(lines, key=lambda line: (line.certificate_number, line.benefit))

    def _line(self, row: asyncpg.Record, month: Month) -> RunLine:
        amount, version = row["monthly_amount_fen"], row["policy_version"]
        if row["benefit"] in self.catalogue:
            # A change of the local amount applies to everyone already paid, from its month on.
            policy = self.catalogue.resolve(row["benefit"], row["household_region"], month.first_day)
            if policy is not None and policy.monthly_amount_fen is not None:
                amount, version = policy.monthly_amount_fen, policy.version
        return RunLine(
            certificate_number=row["certificate_number"],
            person_ref=row["person_ref"],
            benefit=row["benefit"],
            household_region=row["household_region"],
            amount_fen=amount,
            policy_version=version,
        )
