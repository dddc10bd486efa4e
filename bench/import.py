"""Import benchmark: `dcert import holders` against PostgreSQL's COPY of the same rows.

Generates holders of the national system (1 % bad rows), COPYs the file into a bare table, then
imports it through the certificate service's own command (checks, person and certificate
streams, sealed personal data, outbox, inline read models), both in this process, on the same
database server. Prints holders per second of each; target: the import at 25 % of COPY or more.
Benefit decisions are not in the figure: the benefits service makes them from the outbox's
messages, at its consumers' pace (docs/import.md).

    .venv/bin/python bench/import.py            # 1,000,000 holders
    .venv/bin/python bench/import.py --quick    # 20,000 holders, under a minute
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import asyncpg
from rich.progress import Progress
from system import bench_database

from dcert_certificate.domain.legacy_import import COLUMNS
from dcert_certificate.settings import CertificateSettings
from dcert_console.importing import Report, opened_imports, run_import
from dcert_shared.ids import china_today, make_identity_number

REGIONS = ("330502", "330503", "330521", "310101", "110101")


def generate(path: Path, holders: int) -> None:
    """`holders` rows, every hundredth with a wrong check character."""
    today = china_today()
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for index in range(holders):
            born = date(1940, 1, 1) + timedelta(days=index % 25_000)
            identity = make_identity_number(REGIONS[index % len(REGIONS)], born, index // 25_000 % 999 + 1)
            category, level = index % 7 + 1, index % 4 + 1
            number = f"{identity}{category}{level}"
            if index % 100 == 99:
                identity = identity[:-1] + ("0" if identity[-1] != "0" else "1")
            writer.writerow(
                [
                    number,
                    "王小明",
                    identity,
                    category,
                    level,
                    (today - timedelta(days=index % 3000 + 1)).isoformat(),
                    (today + timedelta(days=3650 - index % 3000)).isoformat(),
                    identity[:6],
                    identity[:6],
                    2 if index % 3 else 3,
                    "valid",
                    "13800000000",
                    "人民路1号",
                    "",
                    "",
                    "",
                ]
            )


async def copy_rate(dsn: str, path: Path, holders: int) -> float:
    conn = await asyncpg.connect(dsn)
    try:
        columns = ", ".join(f"{name} text" for name in COLUMNS)
        await conn.execute(f"CREATE TABLE bare_holders ({columns})")
        started = time.perf_counter()
        await conn.copy_to_table("bare_holders", source=path, format="csv", header=True)
        return holders / (time.perf_counter() - started)
    finally:
        await conn.close()


async def import_rate(dsn: str, path: Path, holders: int, batch_size: int) -> tuple[float, str]:
    settings = CertificateSettings(
        database_url=dsn, nats_url="nats://127.0.0.1:4222", environment="test", service_name="certificate"
    )
    async with opened_imports(settings) as imports:
        with (Path(tempfile.gettempdir()) / "import-bench.report.csv").open("w", encoding="utf-8") as out:
            started = time.perf_counter()
            tally = await run_import(
                path,
                imports,
                Report(out, "en"),
                benefits_from=imports.today().replace(day=1),
                dry_run=False,
                batch_size=batch_size,
                progress=Progress(disable=True),
            )
            seconds = time.perf_counter() - started
    line = f"imported {tally.imported}, skipped {tally.skipped}, already present {tally.present}"
    return holders / seconds, line


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--holders", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="20,000 holders")
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args()
    holders = 20_000 if args.quick else args.holders
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "holders.csv"
        generate(path, holders)
        async with bench_database() as dsn:
            copied = await copy_rate(dsn, path, holders)
            imported, line = await import_rate(dsn, path, holders, args.batch_size)
    print(f"COPY into a bare table: {copied:,.0f} holders/s")
    print(f"dcert import holders:   {imported:,.0f} holders/s")
    print(line)
    print(f"import: {imported / copied:.3f} of COPY")


if __name__ == "__main__":
    asyncio.run(main())
