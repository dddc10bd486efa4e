"""`dcert projections rebuild SERVICE [NAME]`: a service's read models built anew from its
events while it runs (dcert_shared.read_models): into a scratch schema, then swapped in between
two transactions, so readers never see a half-built table."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn

from dcert_shared.runtime import ServiceRuntime

from .targets import Target, opened, target
from .texts import YES_HELP, ask, refuse, run, say

app = typer.Typer(help="Read models: rebuilt from the events while the service runs.")


@app.command("rebuild")
def rebuild(
    service: Annotated[str, typer.Argument(help="certificate | assessment | benefits | notification")],
    names: Annotated[
        list[str] | None, typer.Argument(help="read-model tables to replace (default: every one)")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help=YES_HELP)] = False,
) -> None:
    """Rebuild the service's read models (or the named tables) from its events."""
    run(lambda: _rebuild(target(service), names or [], yes))


async def _rebuild(service: Target, names: list[str], yes: bool) -> None:
    async with opened(service) as service_app:
        runtime: ServiceRuntime = service_app.state.runtime
        if runtime.read_models is None:
            raise refuse("projections.none", service=service.name)
        choices = list(runtime.read_models.tables)
        for name in names:
            if name not in choices:
                raise refuse(
                    "projections.unknown_table", service=service.name, name=name, choices=", ".join(choices)
                )
        tables = ", ".join(names) if names else say("projections.all")
        ask(say("projections.plan", service=service.name, tables=tables), yes)
        with Progress(SpinnerColumn(), TextColumn("{task.description}: {task.completed}")) as progress:
            task = progress.add_task(say("projections.progress"), total=None)
            count = await runtime.rebuild_read_models(
                names or None, lambda done: progress.update(task, completed=done)
            )
        typer.echo(say("projections.done", service=service.name, count=count))
