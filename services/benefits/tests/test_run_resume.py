"""A monthly run killed in the middle (kill -9 of the operator's CLI) and resumed pays every
person, benefit and month exactly once, and its total is the sum of its lines."""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dcert_dev.testing import run_console, start_console

if TYPE_CHECKING:
    from conftest import BenefitsService

HOLDERS = 40_000
REGION = "330502"


async def seed_holders(service: BenefitsService) -> None:
    """Decided holders, as the periods read model holds them (the run reads nothing else)."""
    await service.fetch(
        "INSERT INTO benefit_period (person_ref, benefit, certificate_number, household_region,"
        " monthly_amount_fen, policy_version, active_from, active_to, recorded_at)"
        " SELECT 'seeded-' || lpad(n::text, 6, '0'), 'nursing_subsidy', 'C' || n, $1, 27500,"
        "        'nursing_subsidy/v1/huzhou-2024', DATE '2025-01-01', NULL, now() - interval '1 day'"
        " FROM generate_series(1, $2) AS n",
        REGION,
        HOLDERS,
    )


def console_environment(service: BenefitsService) -> dict[str, str]:
    """What `dcert` needs beside the service's database: its batches as the service runs them."""
    return {"DCERT_RUN_BATCH_SIZE": "400"}


async def test_a_run_killed_mid_way_resumes_and_pays_each_line_exactly_once(service: BenefitsService) -> None:
    await seed_holders(service)
    process = await start_console(
        {"benefits": service.settings},
        "runs",
        "run",
        "--month",
        "2025-03",
        "--region",
        REGION,
        "--yes",
        **console_environment(service),
    )
    try:
        for _ in range(3000):  # until the first batches are committed
            progress = await service.fetch("SELECT status, cursor FROM monthly_run")
            if progress and progress[0]["cursor"]:
                break
            if process.returncode is not None:
                break
            await asyncio.sleep(0.01)
        if process.returncode is None:
            os.kill(process.pid, signal.SIGKILL)
    finally:
        output, errors = await process.communicate()
    assert process.returncode == -signal.SIGKILL, output.decode() + errors.decode()[-3000:]
    [half] = await service.fetch("SELECT id, status, cursor FROM monthly_run")
    written = (await service.fetch("SELECT count(*) AS n FROM entitlement_line"))[0]["n"]
    assert half["status"] == "running", (half, written)
    assert 0 < written < HOLDERS, (half, written)

    resumed = await service.call("POST", "/v1/runs", service.admin, {"month": "2025-03", "region": REGION})
    assert resumed.status_code == 200, resumed.text
    result = resumed.json()
    assert (result["id"], result["status"], result["line_count"]) == (half["id"], "completed", HOLDERS)
    [ledger] = await service.fetch(
        "SELECT count(*) AS lines, count(DISTINCT (person_ref, benefit, for_month)) AS distinct_lines,"
        " sum(amount_fen) AS total FROM entitlement_line"
    )
    assert ledger == {"lines": HOLDERS, "distinct_lines": HOLDERS, "total": HOLDERS * 27500}
    assert result["total_fen"] == HOLDERS * 27500
    assert result["lines_truncated"]
    assert len(result["lines"]) == 1000
    again = await service.call("POST", "/v1/runs", service.admin, {"month": "2025-03", "region": REGION})
    assert again.json()["line_count"] == HOLDERS
    assert (await service.fetch("SELECT count(*) AS n FROM entitlement_line"))[0]["n"] == HOLDERS


async def cli(service: BenefitsService, *args: str) -> tuple[int, list[Any], str]:
    """`dcert runs ...`, run to its end: (exit status, the JSON lines it printed, its refusal)."""
    answer = await run_console({"benefits": service.settings}, "runs", *args, **console_environment(service))
    assert answer.status in (0, 1), answer.errors[-3000:]
    return answer.status, answer.json_lines(), answer.errors.strip()


async def run_console_en(service: BenefitsService, *args: str) -> tuple[int, list[Any], str]:
    answer = await run_console({"benefits": service.settings}, "--lang", "en", "runs", *args)
    return answer.status, answer.json_lines(), answer.errors.strip()


async def test_the_operator_runs_exports_and_closes_a_month_from_the_command_line(
    service: BenefitsService, tmp_path: Path
) -> None:
    holder = await service.issue_certificate(level=1, issued_on=date(2025, 1, 10))
    status, [made], _ = await cli(service, "run", "--month", "2025-03", "--region", REGION, "--yes")
    assert status == 0
    assert made["made_now"]
    assert made["status"] == "completed"
    assert (made["month"], made["line_count"], made["total_fen"]) == ("2025-03", 2, 27500 + 2500)

    exported = tmp_path / "run.csv"
    status, [written], _ = await cli(service, "export", "--run-id", made["id"], "--out", str(exported))
    assert status == 0
    assert written["file"] == str(exported)
    over_http = await service.call("GET", f"/v1/runs/{made['id']}/lines.csv", service.admin)
    assert exported.read_text(encoding="utf-8") == over_http.text
    assert holder.number in over_http.text
    assert "275.00" in over_http.text

    status, unconfirmed, said = await cli(service, "close", "--run-id", made["id"])
    assert (status, unconfirmed) == (1, [])
    assert said.endswith("未执行：操作未获确认")
    assert (await cli(service, "run", "--month", "2025-03", "--region", "33050", "--yes"))[1:] == (
        [],
        "地区代码应为6位数字",
    )
    status, [closed], _ = await cli(service, "close", "--run-id", made["id"], "--yes")
    assert status == 0
    assert closed["status"] == "closed"
    status, refused, said = await cli(service, "run", "--month", "2025-03", "--region", REGION, "--yes")
    assert (status, refused) == (1, [])
    assert said.splitlines()[-1].startswith("month_closed: ")
    status, missing, said = await run_console_en(service, "export", "--run-id", "no-such-run")
    assert (status, missing) == (1, [])
    assert said.startswith("run_not_found: ")
    assert "\n" not in said
    assert (await service.fetch("SELECT count(*) AS n FROM entitlement_line"))[0]["n"] == 2
