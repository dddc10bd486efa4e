"""`dcert runs run|export|close`: the benefits service's monthly runs (月度发放), the same code as
`POST /v1/runs`, against its database. No running service is needed: the events recorded here go
out through the outbox when the service next runs its relay."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import typer

from dcert_benefits.adapters.queries import MonthlyRunRow
from dcert_benefits.application.runs import MonthlyRuns, csv_rows
from dcert_benefits.domain.calendar import Month, is_region_code
from dcert_shared.envelope import Actor
from dcert_shared.problems import DomainError
from dcert_shared.telemetry import command_context

from .targets import opened, target
from .texts import YES_HELP, Language, Refused, ask, refuse, run, say

app = typer.Typer(help="Monthly runs of the benefits service: make, export, close.")

RunId = Annotated[str, typer.Option("--run-id", help="the run's id")]
CONTEXT = command_context(Actor(role="operator", subject="dcert-console"))


def _refusal(refused: DomainError) -> Refused:
    """A refusal of the service (`month_closed`, `run_not_found`...) in the console's language."""
    english = Language.current == "en"
    title = refused.title_en if english else refused.title_zh
    if refused.detail is not None:
        title += f": {refused.detail.en}" if english else f"：{refused.detail.zh}"
    return Refused(f"{refused.code}: {title}")


def _summary(summary: MonthlyRunRow, **more: object) -> str:
    return json.dumps(
        {
            "id": summary.id,
            "region": summary.region,
            "status": summary.status,
            "line_count": summary.line_count,
            "arrears_count": summary.arrears_count,
            "total_fen": summary.total_fen,
            "month": str(summary.month)[:7],
            **more,
        }
    )


@asynccontextmanager
async def opened_runs() -> AsyncIterator[MonthlyRuns]:
    """The benefits service's wiring with its policy catalogue loaded, without HTTP or NATS."""
    async with opened(target("benefits")) as service_app:
        await service_app.state.policy_versions.refresh()
        monthly_runs: MonthlyRuns = service_app.state.runs
        yield monthly_runs


@app.command("run")
def make_run(
    month: Annotated[str, typer.Option(help="YYYY-MM")],
    region: Annotated[str, typer.Option(help="six-digit region code")],
    yes: Annotated[bool, typer.Option("--yes", help=YES_HELP)] = False,
) -> None:
    """Make the month's run of a region, resume one a crash left half done, or answer the one
    made before; prints its summary as one JSON line."""
    run(lambda: _make_run(month, region, yes))


async def _make_run(month: str, region: str, yes: bool) -> None:
    if not is_region_code(region):
        raise refuse("runs.bad_region")
    try:
        parsed = Month.parse(month)
    except ValueError:
        raise refuse("runs.bad_month") from None
    ask(say("runs.run_plan", month=month, region=region), yes)
    async with opened_runs() as monthly_runs:
        try:
            outcome = await monthly_runs.run(CONTEXT, parsed, region)
        except DomainError as refused:
            raise _refusal(refused) from None
        typer.echo(_summary(await monthly_runs.summary(outcome.run_id), made_now=outcome.made_now))


@app.command("export")
def export(
    run_id: RunId,
    out: Annotated[Path | None, typer.Option(help="file to write (default: standard output)")] = None,
) -> None:
    """The run's lines as CSV."""
    run(lambda: _export(run_id, out))


async def _export(run_id: str, out: Path | None) -> None:
    async with opened_runs() as monthly_runs:
        try:
            summary = await monthly_runs.summary(run_id)
        except DomainError as refused:
            raise _refusal(refused) from None
        target_file = out.open("w", encoding="utf-8", newline="") if out else sys.stdout
        try:
            async for chunk in csv_rows(monthly_runs.all_lines(run_id)):
                target_file.write(chunk)
        finally:
            if out:
                target_file.close()
        if out:
            typer.echo(_summary(summary, file=str(out)))


@app.command("close")
def close(run_id: RunId, yes: Annotated[bool, typer.Option("--yes", help=YES_HELP)] = False) -> None:
    """Close the month of a completed run: nothing of that month changes afterwards."""
    run(lambda: _close(run_id, yes))


async def _close(run_id: str, yes: bool) -> None:
    async with opened_runs() as monthly_runs:
        try:
            await monthly_runs.summary(run_id)
            ask(say("runs.close_plan", run_id=run_id), yes)
            await monthly_runs.close(CONTEXT, run_id)
            typer.echo(_summary(await monthly_runs.summary(run_id)))
        except DomainError as refused:
            raise _refusal(refused) from None
