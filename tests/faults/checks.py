"""The checks after a round, once the load has drained. Each gives a Finding: counts of events
lost, doubled and out of order, and problem lines naming ids only (never personal data: a
certificate number holds an identity number, so it appears as a short hash tag)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dcert_shared.broker import Naming

from .actors import PARTNER_EVENT_TYPES, PARTNER_FIELDS
from .client import Api, Token, Unavailable
from .evidence import Evidence, Message, Published, query
from .load import FINAL_STATUSES, Case
from .partner import Receipt

LISTED = 6  # examples listed per kind of problem


@dataclass
class Finding:
    """One check's outcome. `lost` holds event ids (a round counts each lost event once, wherever
    it went missing); `doubled` and `out_of_order` count surplus copies and late arrivals."""

    check: str
    lost: set[str] = field(default_factory=set)
    doubled: int = 0
    out_of_order: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.lost or self.doubled or self.out_of_order or self.problems)

    def add(self, kind: str, examples: list[str], count: int | None = None) -> None:
        """One problem line: what and how many, with the first few examples."""
        total = len(examples) if count is None else count
        if total:
            shown = ", ".join(examples[:LISTED]) + (", ..." if len(examples) > LISTED else "")
            self.problems.append(f"{kind}: {total}" + (f" ({shown})" if shown else ""))


def tag(value: str) -> str:
    """A short stable hash: names a certificate number or a stream holding one without showing it."""
    return "#" + hashlib.sha256(value.encode()).hexdigest()[:10]


def stream_tag(stream_id: str) -> str:
    kind, _, rest = stream_id.partition("-")
    return f"{kind}-{tag(rest)}" if kind in ("certificate", "card") else stream_id


# -- 1. every event exactly once in its stream, in version order ---------------------------------
def check_stream(
    context: str, published: list[Published], messages: list[Message] | None, naming: Naming
) -> Finding:
    finding = Finding(f"{context}: outbox -> stream")
    if messages is None:
        finding.lost = {event.event_id for event in published}
        if published:
            finding.add(
                f"stream {naming.event_stream(context)} missing, events not in it", [], len(published)
            )
        return finding
    committed = {event.event_id: event for event in published}
    seen: set[str] = set()
    newest: dict[str, int] = {}
    doubled, strangers, late = [], [], []
    for message in messages:
        if message.event_id in seen:
            doubled.append(f"{message.event_id} at seq {message.seq}")
            continue
        seen.add(message.event_id)
        if message.event_id not in committed:
            strangers.append(message.event_id)
        if message.version <= newest.get(message.stream_id, 0):
            late.append(f"{stream_tag(message.stream_id)} v{message.version} at seq {message.seq}")
        newest[message.stream_id] = max(message.version, newest.get(message.stream_id, 0))
    lost = [event for event in published if event.event_id not in seen]
    finding.lost = {event.event_id for event in lost}
    finding.doubled, finding.out_of_order = len(doubled), len(late)
    finding.add("committed but not in the stream", [f"{event.event_type} {event.event_id}" for event in lost])
    finding.add("in the stream twice", doubled)
    finding.add("after a later version of its aggregate", late)
    finding.add("in the stream but never committed", strangers)
    return finding


async def check_store(context: str, dsn: str) -> Finding:
    """The event store itself: each aggregate's versions are 1..n without a gap."""
    finding = Finding(f"{context}: event store")
    rows = await query(
        dsn,
        "SELECT stream_id, count(*) AS events, max(version) AS newest FROM events GROUP BY stream_id"
        " HAVING count(*) <> max(version) OR min(version) <> 1",
    )
    finding.add("aggregates with gaps in their versions", [stream_tag(row["stream_id"]) for row in rows])
    return finding


# -- 2. every consumer's effects exactly once ----------------------------------------------------
def check_consumers(evidence: Evidence) -> Finding:
    """Every committed event a durable consumer filters for is in that service's inbox."""
    finding = Finding("consumers: inbox")
    for spec in sorted(evidence.consumers.values(), key=lambda spec: spec.durable):
        if spec.stream not in evidence.published or spec.service not in evidence.inbox:
            continue
        handled = {event_id for durable, event_id in evidence.inbox[spec.service] if durable == spec.durable}
        missing = [
            event
            for event in evidence.published[spec.stream]
            if spec.takes(event.subject) and event.event_id not in handled
        ]
        finding.lost |= {event.event_id for event in missing}
        finding.add(f"{spec.durable} never handled", [f"{e.event_type} {e.event_id}" for e in missing])
    return finding


# Effects that a redelivered or twice-published event would make twice: (what, service, SQL
# giving one row per surplus group with `id` and `extra`).
DOUBLE_EFFECTS: tuple[tuple[str, str, str], ...] = (
    (
        "assessments opened twice for one application and round",
        "assessment",
        "SELECT payload->>'application_id' AS id, count(*) - 1 AS extra FROM events"
        " WHERE event_type = 'AssessmentOpened'"
        " GROUP BY payload->>'application_id', coalesce(payload->>'round', '0') HAVING count(*) > 1",
    ),
    (
        "results taken twice by one application",
        "certificate",
        "SELECT payload->>'application_id' AS id, count(*) - 1 AS extra FROM events"
        " WHERE event_type = 'AssessmentResultReceived'"
        " GROUP BY payload->>'application_id', payload->>'assessment_id' HAVING count(*) > 1",
    ),
    (
        "certificates recorded twice by the benefits service",
        "benefits",
        "SELECT '#' || left(md5(payload->>'certificate_number'), 10) AS id, count(*) - 1 AS extra FROM events"
        " WHERE event_type = 'CertificateRecorded' GROUP BY payload->>'certificate_number' HAVING count(*) > 1",
    ),
    (
        "closings recorded twice by the benefits service",
        "benefits",
        "SELECT '#' || left(md5(payload->>'certificate_number'), 10) AS id, count(*) - 1 AS extra FROM events"
        " WHERE event_type = 'CertificateClosedRecorded'"
        " GROUP BY payload->>'certificate_number' HAVING count(*) > 1",
    ),
    (
        "webhook deliveries queued twice for one subscription and event",
        "notification",
        "SELECT event_id::text AS id, count(*) - 1 AS extra FROM deliveries"
        " GROUP BY subscription_id, event_id HAVING count(*) > 1",
    ),
)


async def check_effects(databases: dict[str, str]) -> Finding:
    finding = Finding("consumers: effects")
    for what, service, sql in DOUBLE_EFFECTS:
        rows = await query(databases[service], sql)
        extra = sum(int(row["extra"]) for row in rows)
        finding.doubled += extra
        finding.add(what, [str(row["id"]) for row in rows], extra)
    for service, dsn in databases.items():
        rows = await query(
            dsn,
            "SELECT consumer, event_type, event_id::text AS event_id, error, deliveries FROM dead_letters"
            " WHERE replayed_at IS NULL ORDER BY id",
        )
        finding.add(
            f"{service}: dead letters left",
            [
                f"{r['consumer']} {r['event_type']} {r['event_id']} ({r['error']}, {r['deliveries']} tries)"
                for r in rows
            ],
        )
    rows = await query(
        databases["notification"],
        "SELECT status, count(*) AS n FROM deliveries WHERE status <> 'delivered' GROUP BY status ORDER BY status",
    )
    finding.add(
        "webhook deliveries not delivered",
        [f"{row['n']} {row['status']}" for row in rows],
        sum(int(row["n"]) for row in rows),
    )
    return finding


# -- 3. the partner: everything it is entitled to, once per webhook-id, in order ------------------
def order_key(event: Published) -> tuple[str, str]:
    """As the notification service orders a partner's deliveries (dcert_notification.domain.delivery)."""
    for name in ("certificate_number", "person_ref", "application_id"):
        value = event.data.get(name)
        if isinstance(value, str) and value:
            return event.context, f"{name}:{value}"
    return event.context, f"stream:{event.stream_id}"


def partner_entitled(evidence: Evidence) -> list[Published]:
    """The events the partner's policy and subscription grant, in commit order per context."""
    return [
        event
        for context in ("certificate", "benefits")
        for event in evidence.published.get(context, [])
        if event.event_type in PARTNER_EVENT_TYPES
    ]


def check_partner(evidence: Evidence, receipts: list[Receipt]) -> Finding:
    finding = Finding("partner webhooks")
    entitled = partner_entitled(evidence)
    arrivals: dict[str, list[Receipt]] = defaultdict(list)
    for receipt in receipts:
        arrivals[receipt.event_id].append(receipt)
    lost = [event for event in entitled if not arrivals.get(event.event_id)]
    twice = [
        f"{event_id} under {len({r.webhook_id for r in got})} webhook-ids"
        for event_id, got in arrivals.items()
        if len({r.webhook_id for r in got}) > 1
    ]
    entitled_ids = {event.event_id for event in entitled}
    strangers = sorted({r.event_id for r in receipts if r.event_id not in entitled_ids})
    unsigned = sorted({r.webhook_id for r in receipts if not r.signed})
    too_much = sorted({r.webhook_id for r in receipts if not r.fields <= set(PARTNER_FIELDS)})
    late = []
    by_key: dict[tuple[str, str], list[Published]] = defaultdict(list)
    for event in entitled:
        by_key[order_key(event)].append(event)
    for events in by_key.values():
        first_seen = -1
        for event in events:
            got = arrivals.get(event.event_id)
            if not got:
                continue
            arrived = min(r.order for r in got)
            if arrived < first_seen:
                late.append(f"{event.event_type} {event.event_id}")
            first_seen = max(first_seen, arrived)
    finding.lost = {event.event_id for event in lost}
    finding.doubled, finding.out_of_order = len(twice), len(late)
    finding.add("entitled events never received", [f"{e.event_type} {e.event_id}" for e in lost])
    finding.add("events received under more than one webhook-id", twice)
    finding.add("received before an earlier event of the same certificate", late)
    finding.add("received events the partner is not entitled to", strangers)
    finding.add("deliveries whose signature did not verify", unsigned)
    finding.add("deliveries with fields outside the policy", too_much)
    return finding


# -- 4. the people's side: final applications, one live certificate, benefits that end -----------
async def check_applications(certificate_dsn: str, cases: Iterable[Case]) -> Finding:
    finding = Finding("applications")
    rows = await query(
        certificate_dsn,
        "SELECT id, matter, status FROM application_view WHERE NOT (status = ANY($1::text[])) ORDER BY id",
        sorted(FINAL_STATUSES),
        read_models=True,
    )
    finding.add("applications not in a final state", [f"{r['id']} {r['matter']} {r['status']}" for r in rows])
    stopped = [f"{case.name}: {case.outcome}" for case in cases if case.outcome != "done"]
    finding.add("stories that did not finish", stopped)
    return finding


async def check_live_certificates(certificate_dsn: str) -> Finding:
    finding = Finding("one live certificate per person")
    rows = await query(
        certificate_dsn,
        "SELECT person_ref, count(*) AS live FROM certificate_view WHERE status IN ('active', 'lost')"
        " GROUP BY person_ref HAVING count(*) > 1",
        read_models=True,
    )
    finding.add(
        "people with more than one live certificate", [f"{tag(r['person_ref'])} {r['live']}" for r in rows]
    )
    return finding


async def check_benefits_end(api: Api, admin: Token, certificate_dsn: str, cases: Iterable[Case]) -> Finding:
    """For every closed certificate whose holder has no live one, no benefit is active without an end."""
    finding = Finding("benefits end with the certificate")
    story = {number: case.name for case in cases for number in case.certificates}
    rows = await query(
        certificate_dsn,
        "SELECT number, status FROM certificate_view closed WHERE status IN ('cancelled', 'expired')"
        " AND NOT EXISTS (SELECT 1 FROM certificate_view live WHERE live.person_ref = closed.person_ref"
        " AND live.status IN ('active', 'lost')) ORDER BY number",
        read_models=True,
    )
    unknown, open_ended = [], []
    for row in rows:
        try:
            answer = await api.call(
                "benefits",
                "GET",
                f"/v1/certificates/{row['number']}/benefits",
                label="benefits of a closed certificate",
                token=admin,
                patience=30,
            )
        except Unavailable as error:
            finding.problems.append(f"benefits service unavailable for the check: {error}")
            return finding
        if answer.status_code == 404:
            unknown.append(tag(row["number"]))
            continue
        items: list[dict[str, Any]] = answer.json().get("items", [])
        open_ended += [
            f"{tag(row['number'])} {row['status']}, {story.get(row['number'], 'no story')}: {item['code']}"
            for item in items
            if item["status"] == "active" and item.get("active_to") is None
        ]
    finding.add("closed certificates the benefits service does not know", unknown)
    finding.add("benefits still active without an end after the certificate closed", open_ended)
    return finding
