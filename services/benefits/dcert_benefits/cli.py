"""The operator's command line for monthly runs, against the service's database (DCERT_* settings).

    python -m dcert_benefits.cli run --month 2026-12 --region 330000
    python -m dcert_benefits.cli export --run-id <id> [--out run.csv]
    python -m dcert_benefits.cli close --run-id <id>

`run` makes the month's run, or resumes one a crash left half done, or answers the one made
before: the same code as `POST /v1/runs`. It needs no running service: the events it records go
out through the outbox when the service next runs its relay. Each command prints one JSON line
(`export` without `--out` prints the CSV); a refusal (`month_closed`, `run_not_found`...) is
a JSON line with its `code`, and the exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from dcert_shared.envelope import Actor
from dcert_shared.problems import DomainError
from dcert_shared.runtime import ServiceRuntime
from dcert_shared.telemetry import command_context

from .adapters.queries import MonthlyRunRow
from .application.runs import MonthlyRuns, csv_rows
from .bootstrap import create_app
from .domain.calendar import Month, is_region_code
from .settings import BenefitsSettings


@asynccontextmanager
async def opened(settings: BenefitsSettings) -> AsyncIterator[MonthlyRuns]:
    """The service's own wiring, with its database and no HTTP or NATS."""
    app = create_app(settings)
    runtime: ServiceRuntime = app.state.runtime
    await runtime.open_store()
    try:
        await app.state.policy_versions.refresh()
        yield app.state.runs
    finally:
        await runtime.pool.close()


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dcert_benefits.cli", description="Monthly runs (月度发放)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="make (or resume) the month's run of a region")
    run.add_argument("--month", required=True, help="YYYY-MM")
    run.add_argument("--region", required=True, help="six-digit region code")
    export = commands.add_parser("export", help="the run's lines as CSV")
    export.add_argument("--run-id", required=True)
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    close = commands.add_parser("close", help="close the month of a completed run")
    close.add_argument("--run-id", required=True)
    args = parser.parse_args(argv)

    if args.command == "run":
        if not is_region_code(args.region):
            parser.error("a region is six digits")
        try:
            Month.parse(args.month)
        except ValueError as error:
            parser.error(str(error))
    settings = BenefitsSettings()  # type: ignore[call-arg]
    async with opened(settings) as monthly_runs:
        try:
            await _command(args, monthly_runs)
        except DomainError as refused:
            said = {"zh-CN": refused.title_zh, "en": refused.title_en}
            if refused.detail is not None:
                said = {
                    "zh-CN": f"{refused.title_zh}：{refused.detail.zh}",
                    "en": f"{refused.title_en}: {refused.detail.en}",
                }
            print(json.dumps({"code": refused.code, "title": said}, ensure_ascii=False))
            return 1
    return 0


async def _command(args: argparse.Namespace, monthly_runs: MonthlyRuns) -> None:
    context = command_context(Actor(role="operator", subject="benefits-cli"))
    if args.command == "run":
        outcome = await monthly_runs.run(context, Month.parse(args.month), args.region)
        summary = await monthly_runs.summary(outcome.run_id)
        print(json.dumps(_public(summary) | {"made_now": outcome.made_now}))
    elif args.command == "export":
        summary = await monthly_runs.summary(args.run_id)
        out = args.out.open("w", encoding="utf-8", newline="") if args.out else sys.stdout
        async for chunk in csv_rows(monthly_runs.all_lines(args.run_id)):
            out.write(chunk)
        if args.out:
            out.close()
            print(json.dumps(_public(summary) | {"file": str(args.out)}))
    else:
        await monthly_runs.close(context, args.run_id)
        print(json.dumps(_public(await monthly_runs.summary(args.run_id))))


def _public(summary: MonthlyRunRow) -> dict[str, object]:
    return {
        "id": summary.id,
        "region": summary.region,
        "status": summary.status,
        "line_count": summary.line_count,
        "arrears_count": summary.arrears_count,
        "total_fen": summary.total_fen,
        "month": str(summary.month)[:7],
    }


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
