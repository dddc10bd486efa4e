"""Who looked at whose benefits: every access to a person's record is kept (个人信息保护法; at
least 3 years). Only the actor's role and opaque subject and the person's keyed hash are written."""

from __future__ import annotations

import asyncpg

SCHEMA: list[str] = [
    """
    CREATE TABLE IF NOT EXISTS access_log (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        actor_role text NOT NULL,
        actor_subject text NOT NULL,
        person_ref text NOT NULL,
        resource text NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS access_log_person ON access_log (person_ref, at)",
]


async def record_access(db: asyncpg.Pool, role: str, subject: str, person_ref: str, resource: str) -> None:
    await db.execute(
        "INSERT INTO access_log (actor_role, actor_subject, person_ref, resource) VALUES ($1, $2, $3, $4)",
        role,
        subject,
        person_ref,
        resource,
    )
