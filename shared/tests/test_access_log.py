"""The access log on real PostgreSQL and JetStream: kept, masked, never the reader's own record,
pruned only past three years, and relayed in commit order without losing a late commit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import asyncpg
import pytest
from pydantic import ValidationError

from dcert_shared.access_log import Reader, prune, record_reads, stated_purpose
from dcert_shared.access_relay import ACCESS_CONTEXT, AccessLogRelay
from dcert_shared.broker import Naming, StreamLimits, connect, ensure_stream, event_stream_config
from dcert_shared.db import migrate_schema
from dcert_shared.schema_history import PERSON_ACCESS_LOG_BRANCH, SchemaHistory
from dcert_shared.settings import ServiceSettings

REVIEWER = Reader(role="reviewer", subject="reviewer-7", region="330502")
CERTIFICATE_NUMBER = "33050219600101001X41"


@pytest.fixture
async def pool(fresh_database: str) -> AsyncIterator[asyncpg.Pool]:
    async with asyncpg.create_pool(fresh_database, min_size=1, max_size=4) as created:
        await migrate_schema(
            fresh_database, "public", SchemaHistory().with_branches(PERSON_ACCESS_LOG_BRANCH)
        )
        yield created


async def read(pool: asyncpg.Pool, reader: Reader, *pairs: tuple[str | None, str]) -> int:
    return await record_reads(
        pool, reader, pairs, kind="certificate", service="certificate", route="/v1/x/{id}", purpose="review"
    )


async def test_a_read_is_kept_per_person_with_identity_numbers_masked_and_the_readers_own_left_out(
    pool: asyncpg.Pool,
) -> None:
    written = await read(pool, REVIEWER, ("person-a", CERTIFICATE_NUMBER), ("person-a", CERTIFICATE_NUMBER))
    assert written == 1  # the same record of the same person, once per read
    holder = Reader(role="applicant", subject="citizen-a", person_ref="person-a")
    assert await read(pool, holder, ("person-a", CERTIFICATE_NUMBER), (None, "nobody")) == 0
    agent = Reader(role="applicant", subject="citizen-b", person_ref="person-b")
    assert await read(pool, agent, ("person-a", CERTIFICATE_NUMBER)) == 1
    rows = await pool.fetch("SELECT reader_role, reader_subject, record_ref FROM access_log ORDER BY id")
    assert [(row["reader_role"], row["reader_subject"]) for row in rows] == [
        ("reviewer", "reviewer-7"),
        ("applicant", "citizen-b"),
    ]
    assert {row["record_ref"] for row in rows} == {"3305**********001X41"}


async def test_no_row_can_be_changed_or_removed_and_the_table_cannot_be_emptied(pool: asyncpg.Pool) -> None:
    await read(pool, REVIEWER, ("person-a", "application-1"))
    await pool.execute(
        "INSERT INTO person_access_log (service, log_id, read_at, person_ref, reader_role, reader_subject,"
        " record_kind, record_ref, route, purpose) VALUES ('benefits', 1, now(), 'person-a', 'admin', 'a',"
        " 'benefits', 'x', '/v1/x', 'supervision')"
    )
    for table in ("access_log", "person_access_log"):
        for statement in (
            f"UPDATE {table} SET purpose = 'none'",
            f"DELETE FROM {table}",
            f"TRUNCATE {table}",
        ):
            with pytest.raises(asyncpg.RaiseError, match="the access log is kept"):
                await pool.execute(statement)
        assert await pool.fetchval(f"SELECT count(*) FROM {table}") == 1


async def test_only_rows_older_than_the_retention_and_never_under_three_years_are_pruned(
    pool: asyncpg.Pool,
) -> None:
    for days in (1000, 1100, 1500):
        await pool.execute(
            "INSERT INTO access_log (read_at, person_ref, reader_role, reader_subject, record_kind, record_ref,"
            " service, route, purpose) VALUES (now() - make_interval(days => $1), 'person-a', 'admin', 'a',"
            " 'certificate', $2, 'certificate', '/v1/x', 'supervision')",
            days,
            f"read-{days}-days-ago",
        )
    with pytest.raises(ValueError, match="at least 1096 days"):
        await prune(pool, 1095)
    with pytest.raises(asyncpg.RaiseError):  # nor by hand: the database refuses it
        await pool.execute("DELETE FROM access_log WHERE record_ref = 'read-1000-days-ago'")
    assert await prune(pool, 1200) == 1
    assert await prune(pool, 1096) == 1
    assert [row["record_ref"] for row in await pool.fetch("SELECT record_ref FROM access_log")] == [
        "read-1000-days-ago"
    ]


def test_a_retention_under_three_years_cannot_be_configured() -> None:
    urls = {
        "database_url": "postgresql://db/x",
        "nats_url": "nats://n:4222",
        "service_name": "x",
        "environment": "test",
    }
    with pytest.raises(ValidationError, match="access_log_retention_days"):
        ServiceSettings(**urls, access_log_retention_days=1095)
    assert ServiceSettings(**urls, access_log_retention_days=1096).access_log_retention_days == 1096


def test_a_stated_purpose_may_be_percent_encoded_or_raw_utf8() -> None:
    assert stated_purpose("%E6%A0%B8%E5%AF%B9%20") == "核对"
    assert stated_purpose("核对".encode().decode("latin-1")) == "核对"
    assert stated_purpose("audit 100%") == "audit 100%"
    assert stated_purpose("a%00b%0Ac") == "abc"  # nothing PostgreSQL or a log line would choke on


async def test_the_first_log_of_the_benefits_service_is_kept_aside_not_lost(fresh_database: str) -> None:
    async with asyncpg.create_pool(fresh_database, min_size=1, max_size=2) as pool:
        await pool.execute(
            "CREATE TABLE access_log (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(),"
            " actor_role text NOT NULL, actor_subject text NOT NULL, person_ref text NOT NULL,"
            " resource text NOT NULL)"
        )
        await pool.execute(
            "INSERT INTO access_log (actor_role, actor_subject, person_ref, resource)"
            " VALUES ('admin', 'a', 'person-a', 'benefits')"
        )
        await migrate_schema(fresh_database, "public", SchemaHistory())
        await migrate_schema(fresh_database, "public", SchemaHistory())
        assert await pool.fetchval("SELECT count(*) FROM access_log_before_v1") == 1
        assert await read(pool, REVIEWER, ("person-a", "application-1")) == 1


async def test_the_relay_does_not_pass_over_a_read_whose_transaction_commits_late(
    pool: asyncpg.Pool, nats_url: str, test_prefix: str
) -> None:
    naming = Naming(test_prefix)
    nc = await connect(nats_url, "access-relay-test")
    try:
        js = nc.jetstream()
        await ensure_stream(js, event_stream_config(naming, ACCESS_CONTEXT, StreamLimits(max_bytes=1024**2)))
        relay = AccessLogRelay(pool, nc, naming, "certificate")
        async with pool.acquire() as slow:
            transaction = slow.transaction()
            await transaction.start()
            await read(slow, REVIEWER, ("person-slow", "application-slow"))  # takes the lower id
            await read(pool, REVIEWER, ("person-quick", "application-quick"))
            assert await relay.relay_once() == 0  # the quick one waits behind the open transaction
            await transaction.commit()
        while await relay.relay_once():
            pass
        again = AccessLogRelay(pool, nc, naming, "certificate")
        assert await again.relay_once() == 0  # the checkpoint is kept in the database
        subscription = await js.pull_subscribe(relay.subject, stream=relay.stream)
        messages = await subscription.fetch(10, timeout=2)
        events = [json.loads(message.data) for message in messages]
        assert [event["data"]["record_ref"] for event in events] == ["application-slow", "application-quick"]
        assert {event["type"] for event in events} == {"AccessRecorded"}
        assert all(
            message.headers and message.headers["Nats-Msg-Id"] == event["id"]
            for message, event in zip(messages, events, strict=True)
        )
        await asyncio.gather(*(message.ack() for message in messages))
        await js.delete_stream(relay.stream)
    finally:
        await nc.close()
