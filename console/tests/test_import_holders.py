"""`dcert import holders`: the national system's holders become certificates here, bad rows are
reported and change nothing, and a run stopped anywhere finishes on the next one."""

from __future__ import annotations

import csv
import itertools
import random
from datetime import date, timedelta
from pathlib import Path

from dcert_dev.testing import eventually
from dcert_shared.ids import china_today, make_identity_number

from .conftest import Imports, write_export

HOME = "330502"
_people = itertools.count(random.randrange(1, 400_000))


def new_id(birth: date | None = None) -> str:
    number = next(_people)
    born = birth or date(1950, 1, 1) + timedelta(days=number * 37 % 18_000)
    return make_identity_number(HOME, born, number % 999 + 1)


def holder(id_number: str | None = None, category: int = 4, level: int = 2, **changes: str) -> dict[str, str]:
    identity = id_number or new_id()
    today = china_today()
    row = {
        "certificate_number": f"{identity}{category}{level}",
        "name": "王小明",
        "id_number": identity,
        "category": str(category),
        "level": str(level),
        "issued_on": (today - timedelta(days=3 * 365)).isoformat(),
        "expires_on": (today + timedelta(days=7 * 365)).isoformat(),
        "household_region": HOME,
        "residence_region": HOME,
        "card_generation": "2",
        "card_status": "valid",
        "phone": "13800000000",
        "address": "人民路1号",
        "guardian_id_number": "",
        "guardian_name": "",
        "guardian_relationship": "",
    }
    return row | changes


def wrong_check_digit(identity: str) -> str:
    last = identity[-1]
    return identity[:-1] + ("0" if last != "0" else "1")


def report_of(path: Path) -> list[tuple[int, str, str]]:
    with path.open(encoding="utf-8") as source:
        rows = list(csv.reader(source))[1:]
    return [(int(line), column, reason) for line, column, reason in rows]


async def test_bad_rows_are_reported_by_line_and_field_and_the_rest_imported(
    imports: Imports, tmp_path: Path
) -> None:
    active = holder()
    first = write_export(tmp_path / "first.csv", [active])
    assert imports.console.run("import", "holders", first, "--yes", "--lang", "en").returncode == 0
    child = new_id(china_today() - timedelta(days=8 * 365))
    duplicated = new_id()
    good = [holder(), holder(category=1, level=1), holder(duplicated)]
    bad = [
        holder(wrong_check := new_id()) | {"id_number": wrong_check_digit(wrong_check)},  # line 5
        holder(category=4) | {"category": "3"},  # line 6: number and category disagree
        holder(issued_on="2020-02-30"),  # line 7
        holder(household_region="99x502"),  # line 8
        holder(category=4, level=2) | {"category": "8", "level": "5"},  # line 9
        holder(child),  # line 10: a child without a guardian
        holder(duplicated, category=2),  # line 11: the person of line 4 again
        holder(active["id_number"], category=6, level=3),  # line 12: already holds one here
    ]
    export = write_export(tmp_path / "export.csv", [*good, *bad])
    before = await imports.count("SELECT count(*) FROM events")

    finished = imports.console.run("import", "holders", export, "--yes", "--lang", "en")

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip().splitlines()[-1] == "imported 3, skipped 8, already present 0"
    reported = report_of(tmp_path / "export.csv.report.csv")
    faults = {(line, column) for line, column, _ in reported}
    assert (5, "id_number") in faults
    assert (6, "certificate_number") in faults
    assert (7, "issued_on") in faults
    assert (8, "household_region") in faults
    assert {(9, "category"), (9, "level")} <= faults
    assert (10, "guardian_id_number") in faults
    assert (11, "id_number") in faults
    assert (12, "row") in faults
    assert {line for line, _, _ in reported} == set(range(5, 13))
    assert not any(value in reason for value in (wrong_check, child, duplicated) for _, _, reason in reported)
    assert "The same person as line 4" in dict(((line, r) for line, _, r in reported))[11]
    # Three holders: each a certificate, a live record on the person, nothing for the bad rows.
    assert await imports.count("SELECT count(*) FROM events") == before + 6
    numbers = [row["certificate_number"] for row in good]
    assert await imports.count("SELECT count(*) FROM certificate_view WHERE number = ANY($1)", numbers) == 3


async def test_a_dry_run_reports_the_same_and_writes_nothing(imports: Imports, tmp_path: Path) -> None:
    export = write_export(tmp_path / "export.csv", [holder(), holder(), holder(level=9)])
    before = await imports.count("SELECT count(*) FROM events")
    keys = await imports.count("SELECT count(*) FROM person_keys")

    finished = imports.console.run("import", "holders", export, "--dry-run", "--lang", "en")

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip().splitlines()[-1] == (
        "dry run, nothing written; would import 2, skipped 1, already present 0"
    )
    assert [line for line, _, _ in report_of(tmp_path / "export.csv.report.csv")] == [4, 4]
    assert await imports.count("SELECT count(*) FROM events") == before
    assert await imports.count("SELECT count(*) FROM person_keys") == keys


async def test_a_second_run_of_the_same_file_imports_nothing(imports: Imports, tmp_path: Path) -> None:
    export = write_export(tmp_path / "export.csv", [holder() for _ in range(4)])
    assert imports.console.run("import", "holders", export, "--yes", "--lang", "en").returncode == 0
    events = await imports.count("SELECT count(*) FROM events")

    again = imports.console.run("import", "holders", export, "--yes", "--lang", "en")

    assert again.stdout.strip().splitlines()[-1] == "imported 0, skipped 0, already present 4"
    assert await imports.count("SELECT count(*) FROM events") == events


async def test_a_run_killed_between_batches_finishes_on_the_next_run_with_each_holder_once(
    imports: Imports, tmp_path: Path
) -> None:
    rows = [holder() for _ in range(7)]
    export = write_export(tmp_path / "export.csv", rows)

    killed = imports.console.run(
        "import", "holders", export, "--yes", "--batch-size", "2", "--stop-after-batches", "2"
    )
    assert killed.returncode == 137
    resumed = imports.console.run("import", "holders", export, "--yes", "--batch-size", "2", "--lang", "en")

    assert resumed.stdout.strip().splitlines()[-1] == "imported 3, skipped 0, already present 4"
    numbers = [row["certificate_number"] for row in rows]
    imported = await imports.service.fetch(
        "SELECT stream_id, count(*) AS times FROM events WHERE event_type = 'CertificateImported'"
        " AND stream_id = ANY($1) GROUP BY stream_id",
        [f"certificate-{number}" for number in numbers],
    )
    assert sorted(row["stream_id"] for row in imported) == sorted(f"certificate-{n}" for n in numbers)
    assert all(row["times"] == 1 for row in imported)


async def test_an_imported_holder_reads_like_an_issued_one_and_their_code_verifies(
    imports: Imports, tmp_path: Path
) -> None:
    row = holder(category=1, level=1, issued_on="2019-05-06", expires_on="2029-05-06")
    export = write_export(tmp_path / "export.csv", [row], encoding="gb18030")

    finished = imports.console.run("import", "holders", export, "--yes")

    assert finished.stdout.strip().splitlines()[-1] == "已导入 1，跳过 0，已存在 0"
    token = imports.service.token("applicant", "citizen-import", id_number=row["id_number"])
    answer = await imports.service.call("GET", f"/v1/certificates/{row['certificate_number']}", token)
    assert answer.status_code == 200, answer.text
    shown = answer.json()
    assert (shown["status"], shown["category"], shown["level"]) == ("active", "visual", 1)
    assert (shown["issued_on"], shown["expires_on"]) == ("2019-05-06", "2029-05-06")
    assert shown["holder"] == "王*明"
    code = await imports.service.call(
        "GET", f"/v1/certificates/{row['certificate_number']}/e-certificate", token
    )
    assert code.status_code == 200, code.text
    verified = await imports.service.http.get("/v1/verify", params={"code": code.json()["code"]})
    assert verified.status_code == 200, verified.text
    assert verified.json()["valid"] is True


async def test_imported_events_leave_through_the_outbox_without_personal_data(
    imports: Imports, tmp_path: Path
) -> None:
    row = holder()
    write_export(tmp_path / "export.csv", [row])
    assert imports.console.run("import", "holders", tmp_path / "export.csv", "--yes").returncode == 0

    async def published() -> dict[str, object] | None:
        found = [
            event
            for event in await imports.service.published("CertificateImported")
            if event["data"]["certificate_number"] == row["certificate_number"]
        ]
        return found[0] if found else None

    event = await eventually(published)
    data = event["data"]
    assert isinstance(data, dict)
    assert data["benefits_from"] == china_today().replace(day=1).isoformat()
    assert data["card_generation"] == 2
    assert not {"holder_name", "holder_phone", "mail_address", "guardian_id_number"} & set(data)
    assert "王小明" not in str(event)


async def test_an_import_not_confirmed_writes_nothing(imports: Imports, tmp_path: Path) -> None:
    """Without --yes the console says what it will do and asks; no answer is no."""
    export = write_export(tmp_path / "export.csv", [holder()])
    before = await imports.count("SELECT count(*) FROM events")
    refused = imports.console.run("import", "holders", export, "--lang", "en")
    assert refused.returncode == 1
    assert "Will import the holders of" in refused.stderr
    assert await imports.count("SELECT count(*) FROM events") == before
