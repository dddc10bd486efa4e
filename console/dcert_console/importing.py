"""`dcert import holders FILE`: holders of the national certificate system brought in from its
export (docs/import.md).

Each row is checked as an application would be, then the valid ones go to the certificate
service's own import command a batch (one transaction) at a time. Rows that are not imported
are written to a report, line, field and reason, never the value. Run it again after any stop:
what is in is counted `already present`, the rest is imported.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.text import Text

from dcert_certificate.application.imports import ImportCommands
from dcert_certificate.bootstrap import create_app
from dcert_certificate.domain.legacy_import import COLUMNS, LegacyCertificate, RowFault, check_row
from dcert_certificate.settings import CertificateSettings
from dcert_shared.envelope import Actor
from dcert_shared.i18n import import_reason, text
from dcert_shared.runtime import ServiceRuntime
from dcert_shared.telemetry import command_context

from .targets import TARGETS
from .texts import YES_HELP, Language, Refused, ask, choose_language, say

import_app = typer.Typer(help="Bring in data of existing systems (docs/import.md).", no_args_is_help=True)

DEFAULT_BATCH_SIZE = 1000
# A sample this large tells UTF-8 from GB18030: Chinese text in GB18030 is not valid UTF-8.
_ENCODING_SAMPLE_BYTES = 1 << 20


def console_language(option: str | None) -> str:
    """This command's `--lang`, else the console's (`dcert --lang`, or LANG)."""
    chosen = option or Language.current
    return "en" if chosen.lower().startswith("en") else "zh-CN"


def detect_encoding(path: Path) -> str:
    """utf-8-sig (a byte-order mark is dropped) unless the file is not UTF-8: then GB18030."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as raw:
        sample = raw.read(_ENCODING_SAMPLE_BYTES)
        whole = len(sample) < _ENCODING_SAMPLE_BYTES
    try:
        decoder.decode(sample, final=whole)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def count_rows(path: Path) -> int:
    """Lines after the header, for the progress bar (a quoted line break counts twice: an estimate)."""
    lines = 0
    with path.open("rb") as raw:
        while chunk := raw.read(1 << 24):
            lines += chunk.count(b"\n")
    return max(lines - 1, 0)


@dataclass
class Tally:
    imported: int = 0
    skipped: int = 0
    present: int = 0
    batches: int = 0
    first_line_of: dict[str, int] = field(default_factory=dict)  # identity number -> its first line


class Report:
    """The operator's report of rows not imported: line, field, reason in the console's language."""

    def __init__(self, out: TextIO, language: str) -> None:
        self.writer = csv.writer(out)
        self.language = language
        self.writer.writerow(
            [text(f"import.report_header_{name}", language) for name in ("line", "field", "reason")]
        )

    def faults(self, line: int, faults: list[RowFault]) -> None:
        for fault in faults:
            self.writer.writerow(
                [line, fault.column, import_reason(fault.code, self.language, **fault.params)]
            )


class RowsPerSecond(ProgressColumn):
    def __init__(self, language: str) -> None:
        super().__init__()
        self.language = language

    def render(self, task: Task) -> Text:
        rate = task.finished_speed or task.speed or 0
        return Text(
            text("import.rows_per_second", self.language, rate=f"{rate:,.0f}"), style="progress.data.speed"
        )


@asynccontextmanager
async def opened_imports(settings: CertificateSettings) -> AsyncIterator[ImportCommands]:
    """The certificate service's own wiring, its database alone (no HTTP, no NATS): the
    events leave through its outbox when the service runs."""
    app = create_app(settings)
    runtime: ServiceRuntime = app.state.runtime
    await runtime.open_store()
    try:
        yield ImportCommands(app.state.service)
    finally:
        await runtime.pool.close()


def read_rows(path: Path, encoding: str) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(encoding=encoding, newline="") as source:
        reader = csv.DictReader(source)
        missing = [name for name in COLUMNS if name not in (reader.fieldnames or [])]
        if missing:
            raise MissingColumns(missing)
        for row in reader:
            yield reader.line_num, row


class MissingColumns(Exception):
    def __init__(self, columns: list[str]) -> None:
        super().__init__(", ".join(columns))
        self.columns = columns


async def run_import(
    path: Path,
    imports: ImportCommands,
    report: Report,
    *,
    benefits_from: date,
    dry_run: bool,
    batch_size: int,
    progress: Progress,
    stop_after_batches: int | None = None,
) -> Tally:
    """Check every row, import the valid ones a batch at a time, report the others."""
    context = command_context(Actor(role="operator", subject="dcert-import"))
    today = imports.today()
    tally = Tally()
    description = text("import.progress_dry_run" if dry_run else "import.progress", report.language)
    task = progress.add_task(description, total=count_rows(path))
    batch: list[LegacyCertificate] = []

    async def flush() -> None:
        result = await imports.import_batch(context, batch, benefits_from, dry_run=dry_run)
        tally.imported += len(result.imported)
        tally.present += len(result.present)
        tally.skipped += len(result.refused)
        for line, code in result.refused:
            report.faults(line, [RowFault("row", code)])
        progress.advance(task, len(batch))
        batch.clear()
        tally.batches += 1
        if stop_after_batches is not None and tally.batches >= stop_after_batches:
            # The tests' stand-in for a kill between two batches: no clean-up of any kind.
            os._exit(137)

    for line, row in read_rows(path, detect_encoding(path)):
        checked = check_row(line, row, today, imports.person_ref)
        if isinstance(checked, LegacyCertificate):
            first = tally.first_line_of.setdefault(checked.id_number, line)
            if first != line:
                checked = [RowFault("id_number", "duplicate_row", {"line": first})]
        if isinstance(checked, list):
            report.faults(line, checked)
            tally.skipped += 1
            progress.advance(task)
            continue
        batch.append(checked)
        if len(batch) >= batch_size:
            await flush()
    if batch:
        await flush()
    progress.update(task, total=progress.tasks[0].completed)
    return tally


def _arrears_from(option: str | None, today: date, language: str) -> date:
    """The first month benefits may be paid for: the import's month, or an earlier one asked for."""
    this_month = today.replace(day=1)
    if option is None:
        return this_month
    try:
        asked = date.fromisoformat(f"{option}-01")
    except ValueError:
        asked = None
    if asked is None or asked > this_month:
        raise typer.BadParameter(text("import.arrears_from_invalid", language))
    return asked


@import_app.command("holders")
def holders(
    file: Annotated[Path, typer.Argument(help="The export: CSV, UTF-8 or GB18030, with a header row")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and report; write nothing")] = False,
    report_path: Annotated[
        Path | None, typer.Option("--report", help="Where the rows not imported go (default FILE.report.csv)")
    ] = None,
    arrears_from: Annotated[
        str | None,
        typer.Option(help="YYYY-MM: pay benefits from this month (default: the month of the import)"),
    ] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, max=20_000, help="Rows per transaction")
    ] = DEFAULT_BATCH_SIZE,
    lang: Annotated[str | None, typer.Option("--lang", help="zh-CN (default) or en; LANG=en* also")] = None,
    yes: Annotated[bool, typer.Option("--yes", help=YES_HELP)] = False,
    stop_after_batches: Annotated[int | None, typer.Option(hidden=True)] = None,
) -> None:
    """Import holders of the national certificate system (存量持证人导入)."""
    language = console_language(lang)
    choose_language(language)
    err = Console(stderr=True)
    if not file.is_file():
        err.print(text("import.file_unreadable", language, path=str(file)))
        raise typer.Exit(2)
    try:
        # The certificate service's database, found as every console command finds it.
        settings = TARGETS["certificate"].settings()
        if not dry_run:
            ask(say("import_plan", path=str(file), rows=count_rows(file)), yes)
    except Refused as refusal:
        typer.echo(str(refusal), err=True)
        raise typer.Exit(1) from None
    assert isinstance(settings, CertificateSettings)
    target = report_path or file.with_name(file.name + ".report.csv")
    tally = asyncio.run(
        _run(file, target, settings, language, dry_run, arrears_from, batch_size, stop_after_batches, err)
    )
    if tally is None:
        raise typer.Exit(2)
    err.print(text("import.report_written", language, path=str(target)))
    summary = "import.summary_dry_run" if dry_run else "import.summary"
    typer.echo(text(summary, language, imported=tally.imported, skipped=tally.skipped, present=tally.present))


async def _run(
    file: Path,
    target: Path,
    settings: CertificateSettings,
    language: str,
    dry_run: bool,
    arrears_from: str | None,
    batch_size: int,
    stop_after_batches: int | None,
    err: Console,
) -> Tally | None:
    async with opened_imports(settings) as imports:
        benefits_from = _arrears_from(arrears_from, imports.today(), language)
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,}"),
            RowsPerSecond(language),
            TimeRemainingColumn(),
            console=err,
        )
        with target.open("w", encoding="utf-8", newline="") as out, progress:
            try:
                return await run_import(
                    file,
                    imports,
                    Report(out, language),
                    benefits_from=benefits_from,
                    dry_run=dry_run,
                    batch_size=batch_size,
                    progress=progress,
                    stop_after_batches=stop_after_batches,
                )
            except MissingColumns as missing:
                err.print(text("import.columns_missing", language, columns=", ".join(missing.columns)))
                return None
