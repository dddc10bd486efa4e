"""The write side's schema history (docs/adr/0010): every service's database reaches the same
schema from nothing, from a database the code before the history made, and from the offline SQL
a DBA runs; the declared tables and the revisions never drift apart."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from dcert_assessment.bootstrap import create_app as create_assessment
from dcert_assessment.settings import AssessmentSettings
from dcert_benefits.bootstrap import create_app as create_benefits
from dcert_benefits.settings import BenefitsSettings
from dcert_certificate.bootstrap import create_app as create_certificate
from dcert_certificate.settings import CertificateSettings
from dcert_dev.embedded import ensure_databases
from dcert_dev.testing import SESSION_TOKEN, SettingsMaker, running_service
from dcert_notification.bootstrap import create_app as create_notification
from dcert_notification.settings import NotificationSettings
from dcert_shared.db import alembic_connection, migrate_schema
from dcert_shared.schema_history import SchemaHistory, history_of, upgrade_sql

SERVICES = ["certificate", "assessment", "benefits", "notification"]
# How each service is built, and the streams of the contexts it consumes.
APPS: dict[str, tuple[Any, type[Any], tuple[str, ...]]] = {
    "certificate": (create_certificate, CertificateSettings, ("assessment", "benefits")),
    "assessment": (create_assessment, AssessmentSettings, ("certificate",)),
    "benefits": (create_benefits, BenefitsSettings, ("certificate", "notification")),
    "notification": (create_notification, NotificationSettings, ("certificate", "assessment", "benefits")),
}

# What a schema is, as PostgreSQL keeps it: tables (logged or not, storage options), columns,
# constraints, indexes, triggers and functions, in the connection's schema.
_CATALOG = r"""
SELECT 'table ' || relname || ' ' || relpersistence::text || ' ' || coalesce(array_to_string(reloptions, ','), '')
  FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r'
UNION ALL
SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' '
       || coalesce(column_default, '')
  FROM information_schema.columns WHERE table_schema = current_schema()
UNION ALL
SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
UNION ALL
SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = current_schema()
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(oid) FROM pg_trigger
  WHERE NOT tgisinternal AND tgrelid::regclass::text NOT LIKE '%.%'
UNION ALL
SELECT 'function ' || proname || ' ' || btrim(regexp_replace(prosrc, '\s+', ' ', 'g'))
  FROM pg_proc WHERE pronamespace = current_schema()::regnamespace
"""


async def catalog(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(_CATALOG)
    finally:
        await conn.close()
    return {row[0] for row in rows if "alembic_version" not in row[0]}


async def differences(dsn: str, history: SchemaHistory) -> list[object]:
    async with alembic_connection(dsn) as connection:
        return await connection.run_sync(history.differences)


async def recorded(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return sorted(row[0] for row in await conn.fetch("SELECT version_num FROM alembic_version"))
    finally:
        await conn.close()


async def another_database(database_server_url: str, label: str) -> str:
    name = f"test_{SESSION_TOKEN}_{label}"
    return (await ensure_databases(database_server_url, [name]))[name]


async def made_before_the_history(dsn: str, history: SchemaHistory) -> None:
    """What the code before the schema history did at every start: its idempotent DDL."""
    conn = await asyncpg.connect(dsn)
    try:
        for branch in history.branches:
            await conn.execute(branch.before_history)
    finally:
        await conn.close()


@pytest.mark.parametrize("service", SERVICES)
async def test_a_database_from_before_the_history_is_recognised_and_ends_as_a_new_one(
    service: str, fresh_database: str, database_server_url: str
) -> None:
    history = history_of(service)
    new = fresh_database
    await migrate_schema(new, "public", history)
    assert await differences(new, history) == []

    old = await another_database(database_server_url, f"{service}_old")
    await made_before_the_history(old, history)
    before = await catalog(old)
    await migrate_schema(old, "public", history)
    assert await catalog(old) == before  # recognised: stamped, nothing changed
    assert await catalog(old) == await catalog(new)  # the baseline is the schema as it was
    assert await recorded(old) == await recorded(new)
    assert await differences(old, history) == []

    await migrate_schema(old, "public", history)  # the next start: nothing left to do
    assert await catalog(old) == before


@pytest.mark.parametrize("service", SERVICES)
async def test_the_offline_sql_a_dba_runs_makes_the_same_schema(
    service: str, fresh_database: str, database_server_url: str
) -> None:
    history = history_of(service)
    await migrate_schema(fresh_database, "public", history)
    by_hand = await another_database(database_server_url, f"{service}_by_hand")
    conn = await asyncpg.connect(by_hand)
    try:
        await conn.execute(upgrade_sql(history))
    finally:
        await conn.close()
    assert await catalog(by_hand) == await catalog(fresh_database)
    assert await recorded(by_hand) == await recorded(fresh_database)
    await migrate_schema(by_hand, "public", history)  # the service starts on it as on its own
    assert await differences(by_hand, history) == []


async def test_replicas_starting_together_upgrade_once(fresh_database: str) -> None:
    history = history_of("certificate")
    await asyncio.gather(*(migrate_schema(fresh_database, "t_replicas", history) for _ in range(4)))
    conn = await asyncpg.connect(fresh_database, server_settings={"search_path": "t_replicas"})
    try:
        assert sorted(row[0] for row in await conn.fetch("SELECT version_num FROM alembic_version")) == [
            "certificate_0001",
            "person_access_log_0001",
        ]
        assert await conn.fetchval("SELECT count(*) FROM signing_keys") == 0
    finally:
        await conn.close()


@pytest.mark.parametrize("service", SERVICES)
async def test_a_service_starts_and_serves_on_a_database_from_before_the_history(
    service: str, service_settings: SettingsMaker
) -> None:
    create_app, settings_class, upstream = APPS[service]
    settings = service_settings(settings_class)
    await made_before_the_history(settings.database_url, history_of(service))
    async with running_service(create_app, settings, upstream) as running:
        ready = await running.http.get("/health/ready")
        assert ready.status_code == 200, ready.text
    assert await recorded(settings.database_url)  # recognised, recorded
    assert await differences(settings.database_url, history_of(service)) == []
