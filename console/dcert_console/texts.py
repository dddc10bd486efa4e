"""What the console says, in Simplified Chinese (the default) and English (`--lang en`), and how
it refuses: one line on standard error and a non-zero exit, never a traceback."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any, Final, TypeVar

import typer
from rich.console import Console

from dcert_shared.i18n import DEFAULT_LANGUAGE, LANGUAGES, text

T = TypeVar("T")


class Language:
    """The language of this invocation, chosen once by `--lang`."""

    current: str = DEFAULT_LANGUAGE


def choose_language(lang: str) -> None:
    if lang not in LANGUAGES:
        raise Refused(f"--lang: {' | '.join(LANGUAGES)}")
    Language.current = lang


def say(code: str, **params: object) -> str:
    """The console's message `code` (`console.<code>` of the one catalogue, dcert_shared.i18n)."""
    return text(f"console.{code}", Language.current, **params)


class Refused(Exception):
    """Something the console will not (or cannot) do, said in one line."""


def refuse(code: str, **params: object) -> Refused:
    return Refused(say(code, **params))


def run(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a command's work (made inside, so that a refusal while reading its arguments counts
    too); a refusal becomes one line on standard error and exit status 1."""
    try:
        return asyncio.run(work())
    except Refused as refusal:
        typer.echo(str(refusal), err=True)
        raise typer.Exit(1) from None
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as error:  # by its type only: a database error's message may quote personal data
        typer.echo(say("failed", error=type(error).__name__), err=True)
        raise typer.Exit(1) from None


def ask(plan: str, yes: bool) -> None:
    """Say what will be done (on standard error: standard output stays the command's answer);
    unless `--yes`, go on only when the operator agrees."""
    typer.echo(plan, err=True)
    if yes:
        return
    try:
        agreed = typer.confirm(say("confirm"), default=False, err=True)
    except typer.Abort:  # the input ended (or Ctrl-C): not a yes
        agreed = False
    if not agreed:
        typer.echo("", err=True)
        raise refuse("not_confirmed")


def screen() -> Console:
    """Where tables go: the terminal's width, or wide enough that ids never wrap in a pipe."""
    return Console() if sys.stdout.isatty() else Console(width=240)


YES_HELP: Final = "Do it without asking"
