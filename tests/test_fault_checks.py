"""The fault suite's checks find what they look for (tests/faults/checks.py), on made-up evidence:
a check that can never fail would make every round of `make faults` pass."""

from __future__ import annotations

from dcert_shared.broker import Naming

from .faults.checks import check_consumers, check_partner, check_stream
from .faults.evidence import ConsumerSpec, Evidence, Message, Published, subject_matches
from .faults.partner import Receipt

NAMING = Naming("r1")


def published(
    event_id: str, stream_id: str, version: int, event_type: str = "CertificateIssued"
) -> Published:
    data = {"certificate_number": stream_id.removeprefix("certificate-")}
    subject = NAMING.event_subject("certificate", event_type)
    return Published("certificate", event_id, subject, event_type, stream_id, version, data)


def in_stream(seq: int, event: Published) -> Message:
    return Message(seq, event.event_id, event.stream_id, event.version)


def receipt(order: int, event: Published, webhook_id: str | None = None) -> Receipt:
    fields = frozenset({"certificate_number"})
    return Receipt(
        order, webhook_id or f"msg_{event.event_id}", event.event_id, event.event_type, True, fields
    )


A1, A2, B1 = (
    published("e1", "certificate-A", 1),
    published("e2", "certificate-A", 2),
    published("e3", "certificate-B", 1),
)


def test_a_stream_holding_every_event_once_in_order_passes() -> None:
    finding = check_stream(
        "certificate", [A1, B1, A2], [in_stream(1, A1), in_stream(2, B1), in_stream(3, A2)], NAMING
    )
    assert not finding.failed


def test_an_event_missing_twice_published_or_behind_a_later_version_is_counted() -> None:
    messages = [in_stream(1, A2), in_stream(2, A1), in_stream(3, A2)]
    finding = check_stream("certificate", [A1, A2, B1], messages, NAMING)
    assert (finding.lost, finding.doubled, finding.out_of_order) == ({"e3"}, 1, 1)


def test_a_missing_stream_loses_every_event() -> None:
    assert check_stream("certificate", [A1, B1], None, NAMING).lost == {"e1", "e3"}


def test_a_consumer_that_never_handled_an_event_it_filters_for_lost_it() -> None:
    issued_only = ConsumerSpec("benefits-certificates-issued", "certificate", (A1.subject,))
    evidence = Evidence(
        published={"certificate": [A1, published("e4", "certificate-A", 3, "CertificateCancelled"), B1]},
        consumers={issued_only.durable: issued_only},
        inbox={"benefits": {("benefits-certificates-issued", "e1")}},
    )
    assert check_consumers(evidence).lost == {"e3"}


def test_the_partner_receiving_late_twice_under_two_ids_or_never_is_counted() -> None:
    evidence = Evidence(published={"certificate": [A1, A2, B1], "benefits": []})
    receipts = [receipt(0, A2), receipt(1, A1), receipt(2, A1, "msg_other")]
    finding = check_partner(evidence, receipts)
    assert (finding.lost, finding.doubled, finding.out_of_order) == ({"e3"}, 1, 1)


def test_a_repeated_delivery_under_one_webhook_id_is_at_least_once_not_a_double() -> None:
    evidence = Evidence(published={"certificate": [A1, B1], "benefits": []})
    finding = check_partner(evidence, [receipt(0, A1), receipt(1, B1), receipt(2, A1)])
    assert not finding.failed


def test_nats_wildcards_match_as_the_server_does() -> None:
    assert subject_matches("r1.certificate.events.>", "r1.certificate.events.CertificateIssued")
    assert subject_matches("r1.*.events.CertificateIssued", "r1.certificate.events.CertificateIssued")
    assert not subject_matches("r1.certificate.events.>", "r1.certificate.events")
    assert not subject_matches("r1.certificate.events.CertificateIssued", "r1.certificate.events.CardOrdered")
