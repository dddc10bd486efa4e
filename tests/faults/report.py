"""The table of a run, one row per round, and the details of every failure below it."""

from __future__ import annotations

from collections.abc import Sequence

from .rounds import RoundResult

COLUMNS = (
    "#",
    "fault",
    "events",
    "lost",
    "doubled",
    "out of order",
    "recover s",
    "writes refused s",
    "events delayed s",
    "read models",
    "verdict",
)


def read_models_cell(result: RoundResult) -> str:
    if result.error and not result.read_models:
        return "-"
    if any(check.error for check in result.read_models):
        return "error"
    if not result.read_models_available:
        return "not available"
    differences = sum(len(check.differences) for check in result.read_models)
    return "equal" if not differences else f"{differences} diffs"


def cost_cells(result: RoundResult) -> tuple[str, str]:
    """Seconds of refused applications, and how much longer events took than before the fault."""
    cost = result.cost
    if cost is None:
        return "-", "-"
    delayed = "-" if cost.events_delayed_seconds is None else f"{cost.events_delayed_seconds:.1f}"
    return f"{cost.writes_refused_seconds:.0f}", delayed


def verdict(result: RoundResult) -> str:
    if result.error:
        return "BROKEN"
    return "FAIL" if result.failed else "ok"


def row(result: RoundResult) -> tuple[str, ...]:
    recovery = "never" if result.recovery_seconds is None else f"{result.recovery_seconds:.1f}"
    if result.error and not result.findings:
        return (
            str(result.number),
            result.name,
            "-",
            "-",
            "-",
            "-",
            "-",
            "-",
            "-",
            read_models_cell(result),
            verdict(result),
        )
    return (
        str(result.number),
        result.name,
        str(result.events),
        str(result.lost),
        str(result.doubled),
        str(result.out_of_order),
        recovery,
        *cost_cells(result),
        read_models_cell(result),
        verdict(result),
    )


def table(results: Sequence[RoundResult]) -> str:
    rows = [COLUMNS, *(row(result) for result in results)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    numeric = {0, 2, 3, 4, 5, 6, 7, 8}

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i]) for i, cell in enumerate(cells)
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    lines = [line(rows[0]), rule, *(line(r) for r in rows[1:])]
    if any(result.read_models and not result.read_models_available for result in results):
        lines.append(
            "read models 'not available': the services have no ServiceRuntime.read_model_differences() yet;"
            " that check did not run (not counted as passed)"
        )
    return "\n".join(lines)


def details(results: Sequence[RoundResult]) -> str:
    """What failed in each round (ids and counts only), what the faults did, where the logs are."""
    out: list[str] = []
    for result in results:
        out.append(f"round {result.number}: {result.name} [{result.spec}] -> {verdict(result)}")
        out += [f"  note: {note}" for note in result.notes]
        if result.timeline:
            phases = ", ".join(f"{phase} {seconds:.0f} s" for phase, seconds in result.timeline.items())
            out.append(f"  timeline: {phases}")
        if result.error:
            out.append(f"  BROKEN: {result.error}")
        if result.recovery_seconds is None and not result.error:
            out.append(
                "  FAIL recovery: no new application reached `assessing` (or a process stayed unhealthy)"
            )
        for finding in result.findings:
            out += [f"  FAIL {finding.check}: {problem}" for problem in finding.problems]
        for check in result.read_models:
            if check.error:
                out.append(f"  FAIL read models of {check.service}: the comparison failed: {check.error}")
            elif check.differences:
                out.append(f"  FAIL read models of {check.service}: {len(check.differences)} differences")
                out += [f"    {difference[:200]}" for difference in check.differences[:5]]
        if result.read_models and not result.read_models_available:
            out.append(
                "  read models: not available (no ServiceRuntime.read_model_differences() yet): not checked"
            )
        if result.retried:
            tries = ", ".join(f"{reason} {count}" for reason, count in result.retried.most_common())
            out.append(f"  calls tried again: {tries}")
        if result.log_dir is not None:
            out.append(f"  logs: {result.log_dir}")
        if result.failed:
            out += [f"    {line}" for line in result.log_digest]
    return "\n".join(out)
