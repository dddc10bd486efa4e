"""`dcert`: the operator's console. Each group of commands lives in a module of its own."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import typer

from .importing import import_app

app = typer.Typer(
    name="dcert",
    help="The operator's console of the disability certificate platform (docs/operations.md).",
    no_args_is_help=True,
    add_completion=False,
)

PROJECTS = ("dcert-shared", "dcert-certificate", "dcert-assessment", "dcert-benefits", "dcert-notification")


@app.callback()
def console() -> None:
    """Commands that change something say what they will do and ask, unless --yes."""


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
