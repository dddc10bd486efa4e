"""The console as an operator meets it: the state of each service at a glance, and refusals
that say in one line what is wrong."""

from __future__ import annotations

import asyncpg
import pytest

from dcert_certificate.settings import CertificateSettings
from dcert_dev.testing import SettingsMaker, run_console
from dcert_notification.settings import NotificationSettings


def row_of(table: str, service: str) -> list[str]:
    """The cells of a service's row in a rich table."""
    [row] = [line for line in table.splitlines() if line.startswith(f"│ {service} ")]
    return [cell.strip() for cell in row.strip("│").split("│")]


async def test_status_shows_each_service_lag_dead_letters_and_oldest_unhandled_event(
    service_settings: SettingsMaker,
) -> None:
    settings = service_settings(CertificateSettings)
    # The console makes the service's tables as the service would, then finds them empty.
    empty = await run_console(
        {"certificate": settings}, "--lang", "en", "status", DCERT_CERTIFICATE_URL="http://127.0.0.1:9"
    )
    assert empty.status == 0, empty.errors
    assert row_of(empty.output, "certificate")[2:7] == ["unreachable", "0", "0", "0", "-"]
    connection = await asyncpg.connect(settings.database_url)
    try:
        await connection.execute(
            "INSERT INTO dead_letters (consumer, event_type, subject, error, deliveries)"
            " VALUES ('certificate-reactions', 'GradeRecorded', 'assessment.events.GradeRecorded', 'KeyError', 6)"
        )
        await connection.execute(
            "INSERT INTO parked_events (consumer, lane, event_id, event_type, subject, message, attempts,"
            " parked_at, next_try_at) VALUES ('certificate-reactions', 'lane', gen_random_uuid(),"
            " 'GradeRecorded', 's', '{}', 6, '2026-12-01 08:00:00+08', now())"
        )
    finally:
        await connection.close()
    found = await run_console(
        {"certificate": settings}, "--lang", "en", "status", DCERT_CERTIFICATE_URL="http://127.0.0.1:9"
    )
    assert found.status == 0, found.errors
    cells = row_of(found.output, "certificate")
    assert cells[2] == "unreachable"
    assert cells[5] == "1"
    assert cells[6].startswith("2026-12-01T00:00:00")
    # The services not configured are said, one line each, and status still answers.
    assert "set DCERT_BENEFITS_DATABASE_URL" in found.errors


async def test_a_service_without_a_database_is_refused_in_one_line(service_settings: SettingsMaker) -> None:
    settings = service_settings(NotificationSettings)
    answer = await run_console({"notification": settings}, "dead-letters", "replay", "benefits", "--yes")
    assert answer.status == 1
    assert answer.errors.strip() == (
        "未配置 benefits 服务的数据库：请设置 DCERT_BENEFITS_DATABASE_URL 或 DATABASE_URL（数据库服务器地址）"
    )
    unknown = await run_console(
        {"notification": settings}, "--lang", "en", "projections", "rebuild", "billing"
    )
    assert (unknown.status, unknown.errors.strip()) == (
        1,
        "There is no service called billing (one of: certificate, assessment, benefits, notification)",
    )


@pytest.mark.parametrize("table", ["no_such_view"])
async def test_a_rebuild_of_a_table_the_service_does_not_have_is_refused(
    service_settings: SettingsMaker, table: str
) -> None:
    settings = service_settings(NotificationSettings)
    answer = await run_console(
        {"notification": settings}, "--lang", "en", "projections", "rebuild", "notification", table, "--yes"
    )
    assert answer.status == 1
    assert answer.errors.strip().startswith(
        f"The notification service has no read model called {table} (one of: "
    )


async def test_a_prune_not_confirmed_does_nothing(service_settings: SettingsMaker) -> None:
    settings = service_settings(NotificationSettings)
    answer = await run_console({"notification": settings}, "prune", "--service", "notification", typed="\n")
    assert answer.status == 1
    assert answer.errors.strip().splitlines()[-1] == "未执行：操作未获确认"
    done = await run_console(
        {"notification": settings}, "--lang", "en", "prune", "--service", "notification", "--yes"
    )
    assert done.status == 0, done.errors
    assert done.output.strip() == "notification: nothing to remove"
