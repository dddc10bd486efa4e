"""访问记录: who read whose record, when and why (个人信息保护法; kept at least three years).

Every service keeps `access_log` in its own database: one row per person per read of their
record by anyone but the person themself (an agent's read is recorded: the agent is not the
person). Only opaque values are stored: the person's keyed hash, the reader's role, opaque
subject, region and organisation (doctor or partner id), the record's kind and opaque reference
(anything shaped like an identity number, a certificate number's first 18 characters included,
is masked), the route template (never the path) and the purpose (`X-Purpose`, or the reader's
role's default).

The database keeps the rows: UPDATE and TRUNCATE always fail, and so does DELETE of a row read
less than `RETENTION_FLOOR_DAYS` ago, whoever runs it. `prune` (run daily when
`DCERT_ACCESS_LOG_RETENTION_DAYS` is set, never below the floor) is the only thing that removes
rows. docs/access-log.md.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Final
from urllib.parse import unquote

import asyncpg
from fastapi import Depends, Header, Request

from .auth import CurrentPrincipal, Principal
from .ids import keyed_hash, mask_numbers

# Three years and a leap day: no row younger than this can be deleted, by any setting or hand.
# The database's trigger holds the same floor (`access_log_kept`, revision shared_0001): a
# change of it is a revision too (docs/adr/0010).
RETENTION_FLOOR_DAYS: Final = 1096
PURPOSE_MAX_LENGTH: Final = 200
# The tables whose rows `prune` may remove (those a service has): a service's own log, and the
# certificate service's collected copy for the people (dcert_shared.access_relay).
RETAINED_TABLES: Final = ("access_log", "person_access_log")

# What was read; each has a label in dcert_shared.i18n (`access.kind.<kind>`).
RECORD_KINDS: Final = frozenset(
    {
        "application",
        "application_timeline",
        "certificate",
        "e_certificate",
        "card",
        "assessment",
        "benefits",
        "benefit_payment",
        "entitlement_review",
        "benefit_transfer",
        "partner_delivery",
        "access_log",
        "agents",
    }
)
# Why, when neither the request (`X-Purpose`) nor the route names it: by the reader's role.
DEFAULT_PURPOSES: Final = {
    "applicant": "acting_as_agent",
    "reviewer": "review",
    "doctor": "assessment",
    "card_centre": "card_production",
    "partner": "partner_sharing",
    "admin": "supervision",
}


def opaque_ref(reference: str) -> str:
    """A record reference fit to keep and show: identity-number-shaped parts masked
    (a certificate number 330502196001010012 41 becomes 3305**********001241)."""
    return mask_numbers(reference)


@dataclass(frozen=True)
class Reader:
    """Who reads: a role, an opaque subject, the region and organisation they act for, and (for
    an applicant) their own keyed identity, whose own record is theirs to read unrecorded."""

    role: str
    subject: str
    region: str | None = None
    organisation: str | None = None
    person_ref: str | None = None

    @classmethod
    def of(cls, principal: Principal, identity_hash_key: bytes) -> Reader:
        own = keyed_hash(identity_hash_key, principal.id_number) if principal.id_number else None
        return cls(
            role=principal.role,
            subject=principal.subject,
            region=principal.region,
            organisation=principal.doctor_id or principal.partner_id,
            person_ref=own,
        )


async def record_reads(
    db: asyncpg.Pool | asyncpg.Connection,
    reader: Reader,
    reads: Iterable[tuple[str | None, str]],
    *,
    kind: str,
    service: str,
    route: str,
    purpose: str,
) -> int:
    """Record that `reader` read these (person_ref, record reference) pairs, one row per pair,
    leaving out the reader's own record; returns how many rows were written."""
    if kind not in RECORD_KINDS:
        raise ValueError(f"unknown record kind {kind!r}")
    pairs = list(
        dict.fromkeys(
            (person_ref, opaque_ref(reference))
            for person_ref, reference in reads
            if person_ref and person_ref != reader.person_ref
        )
    )
    if not pairs:
        return 0
    await db.execute(
        "INSERT INTO access_log (person_ref, record_ref, reader_role, reader_subject, reader_region,"
        " reader_organisation, record_kind, service, route, purpose)"
        " SELECT person_ref, record_ref, $3, $4, $5, $6, $7, $8, $9, $10"
        " FROM unnest($1::text[], $2::text[]) AS read(person_ref, record_ref)",
        [person_ref for person_ref, _ in pairs],
        [reference for _, reference in pairs],
        reader.role,
        reader.subject,
        reader.region,
        reader.organisation,
        kind,
        service,
        route,
        purpose,
    )
    return len(pairs)


class AccessRecorder:
    """The access log of one request: who asks, on which route, for which stated purpose."""

    def __init__(self, reader: Reader, service: str, route: str, stated: str | None) -> None:
        self.reader = reader
        self.service = service
        self.route = route
        self.stated = stated

    def purpose(self, route_purpose: str | None) -> str:
        """The request's `X-Purpose`; else an agent acts for the person; else the route's purpose;
        else the reader's role's."""
        if self.stated:
            return self.stated
        if self.reader.role != "applicant" and route_purpose:
            return route_purpose
        return DEFAULT_PURPOSES.get(self.reader.role, "unspecified")

    async def record(
        self,
        db: asyncpg.Pool | asyncpg.Connection,
        kind: str,
        reads: Iterable[tuple[str | None, str]],
        purpose: str | None = None,
    ) -> int:
        """Record the reads of this request (call it before answering: no answer goes out
        unrecorded, since a failure to record fails the request)."""
        return await record_reads(
            db,
            self.reader,
            reads,
            kind=kind,
            service=self.service,
            route=self.route,
            purpose=self.purpose(purpose),
        )


async def access_recorder(
    request: Request,
    principal: CurrentPrincipal,
    x_purpose: Annotated[
        str | None,
        Header(
            max_length=PURPOSE_MAX_LENGTH,
            description="Why a person's record is read (kept in their access log, shown to them), UTF-8"
            " percent-encoded (核对 = %E6%A0%B8%E5%AF%B9); without it, the purpose of the caller's role"
            " (review, assessment, card production, ...)",
        ),
    ] = None,
) -> AccessRecorder:
    runtime = request.app.state.runtime
    route = getattr(request.scope.get("route"), "path", "")
    stated = stated_purpose(x_purpose) if x_purpose else None
    return AccessRecorder(
        Reader.of(principal, runtime.settings.identity_hash_key_bytes), runtime.context, route, stated or None
    )


def stated_purpose(header: str) -> str:
    """The purpose as the reader wrote it: percent-encoded UTF-8, or raw UTF-8 bytes (which the
    server reads as Latin-1); control characters left out."""
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        header = header.encode("latin-1").decode("utf-8")
    return "".join(character for character in unquote(header) if character.isprintable()).strip()


# A route reading a person's record takes `reads: Reads` and calls `await reads.record(...)`.
Reads = Annotated[AccessRecorder, Depends(access_recorder)]


async def prune(pool: asyncpg.Pool, retention_days: int, tables: Sequence[str] = RETAINED_TABLES) -> int:
    """Remove the rows read more than `retention_days` ago (never fewer than the floor) from
    those of `tables` this database has; returns how many."""
    if retention_days < RETENTION_FLOOR_DAYS:
        raise ValueError(f"the access log is kept at least {RETENTION_FLOOR_DAYS} days")
    removed = 0
    async with pool.acquire() as conn:
        for table in tables:
            if await conn.fetchval("SELECT to_regclass($1)", table) is None:
                continue
            status = await conn.execute(
                f"DELETE FROM {table} WHERE read_at < now() - make_interval(days => $1)", retention_days
            )
            removed += int(status.split()[-1])
    return removed
