"""Monthly runs over HTTP (admin): run a month, read it, page or export its lines, close it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse

from dcert_shared.access_log import Reads
from dcert_shared.api import BIGINT_MAX, principal_context

from ..adapters.queries import EntitlementLine
from ..application.runs import MonthlyRuns, csv_rows
from ..domain.calendar import Month
from .access import record_run_reads
from .dependencies import Admin, Runs
from .schemas import RunCreate, RunLinePublic, RunPublic

router = APIRouter(prefix="/v1", tags=["runs"])
LINES_SHOWN = 1000


def _line(line: EntitlementLine) -> RunLinePublic:
    return RunLinePublic.model_validate(
        {
            "id": line.id,
            "certificate_number": line.certificate_number,
            "benefit": line.benefit,
            "household_region": line.household_region,
            "for_month": str(Month.of(line.for_month)),
            "kind": line.kind,
            "amount_fen": line.amount_fen,
            "policy_version": line.policy_version,
        }
    )


async def _public(runs: MonthlyRuns, run_id: str) -> RunPublic:
    run = await runs.summary(run_id)
    lines = await runs.lines(run_id, limit=LINES_SHOWN)
    return RunPublic.model_validate(
        {
            "id": run.id,
            "month": str(Month.of(run.month)),
            "region": run.region,
            "status": run.status,
            "lines": [_line(line) for line in lines],
            "line_count": run.line_count,
            "arrears_count": run.arrears_count,
            "lines_truncated": run.line_count > len(lines),
            "total_fen": run.total_fen,
            "started_at": run.started_at,
            "completed_at": run.completed_at,
            "closed_at": run.closed_at,
        }
    )


@router.post(
    "/runs",
    status_code=201,
    response_model=RunPublic,
    responses={200: {"model": RunPublic, "description": "The month's run made before, as it stands"}},
)
async def run_month(body: RunCreate, principal: Admin, runs: Runs, response: Response) -> RunPublic:
    """月度发放: the month's entitlements of a region, once (201); asked again, the same run (200).
    409 `month_not_begun` for a month to come, `month_closed` once the month is closed."""
    outcome = await runs.run(principal_context(principal), Month.parse(body.month), body.region)
    if not outcome.made_now:
        response.status_code = 200
    return await _public(runs, outcome.run_id)


@router.get("/runs/{run_id}", response_model=RunPublic)
async def get_run(run_id: str, principal: Admin, runs: Runs, reads: Reads) -> RunPublic:
    await record_run_reads(reads, runs.es.pool, run_id, limit=LINES_SHOWN)
    return await _public(runs, run_id)


@router.get("/runs/{run_id}/lines", response_model=list[RunLinePublic])
async def run_lines(
    run_id: str,
    principal: Admin,
    runs: Runs,
    reads: Reads,
    after: Annotated[int, Query(ge=0, le=BIGINT_MAX, description="the last line id of the page before")] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> list[RunLinePublic]:
    await runs.summary(run_id)  # 404 for a run that does not exist
    await record_run_reads(reads, runs.es.pool, run_id, after, limit)
    return [_line(row) for row in await runs.lines(run_id, after, limit)]


@router.get(
    "/runs/{run_id}/lines.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "UTF-8 CSV"}},
)
async def export_lines(run_id: str, principal: Admin, runs: Runs, reads: Reads) -> StreamingResponse:
    """The run's lines for the paying agency, as UTF-8 CSV (amounts in integer fen and in yuan)."""
    run = await runs.summary(run_id)
    await record_run_reads(reads, runs.es.pool, run_id)
    filename = f"run-{Month.of(run.month)}-{run.region}.csv"
    return StreamingResponse(
        csv_rows(runs.all_lines(run_id)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post("/runs/{run_id}/close", response_model=RunPublic)
async def close_run(run_id: str, principal: Admin, runs: Runs) -> RunPublic:
    """关账: no run of this month and region any more; later decisions are paid as arrears."""
    await runs.close(principal_context(principal), run_id)
    return await _public(runs, run_id)
