"""`dcert`: the operator's console. Each group of commands lives in a module of its own."""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from . import dead_letters, keys, projections, pruning, runs, status
from .importing import import_app
from .texts import Refused, choose_language

app = typer.Typer(
    name="dcert",
    help="The operator's console of the disability certificate platform (docs/operations.md).",
    no_args_is_help=True,
    add_completion=False,
)

PROJECTS = ("dcert-shared", "dcert-certificate", "dcert-assessment", "dcert-benefits", "dcert-notification")


@app.callback()
def console(
    lang: Annotated[str | None, typer.Option("--lang", help="zh-CN (default) | en; LANG=en* also")] = None,
) -> None:
    """Commands that change something say what they will do and ask, unless --yes."""
    try:
        choose_language(lang or ("en" if os.environ.get("LANG", "").lower().startswith("en") else "zh-CN"))
    except Refused as refusal:
        typer.echo(str(refusal), err=True)
        raise typer.Exit(2) from None


app.command("status")(status.status)
app.add_typer(dead_letters.app, name="dead-letters")
app.add_typer(projections.app, name="projections")
app.add_typer(runs.app, name="runs")
app.add_typer(keys.app, name="keys")
app.command("prune")(pruning.prune)


@app.command("version")
def show_version() -> None:
    """The installed version of each part."""
    for project in PROJECTS:
        try:
            typer.echo(f"{project} {version(project)}")
        except PackageNotFoundError:
            typer.echo(f"{project} not installed")


app.add_typer(import_app, name="import")


def main() -> None:
    app()
