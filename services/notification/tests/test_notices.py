"""Notices to people: every step told in the person's language, by inbox, SMS (a local fake
provider) and e-mail (a real SMTP server on loopback), with a delivery record, retries and
reminders, and no phone, address or identity number in the logs."""

from __future__ import annotations

import email
import email.policy
import http.server
import json
import logging
import secrets
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller

from dcert_dev.testing import eventually
from dcert_shared.ids import keyed_hash, make_identity_number

if TYPE_CHECKING:
    from conftest import NotificationService, Starter

CHINA = ZoneInfo("Asia/Shanghai")
PERSON_ID = make_identity_number("330502", date(2016, 4, 17), 1)
PARENT_ID = make_identity_number("330502", date(1985, 2, 3), 2)
STRANGER_ID = make_identity_number("110101", date(1990, 1, 1), 3)
PHONE, PARENT_EMAIL, EMAIL = "13812345678", "wang.da@example.cn", "xiaoming@example.cn"


@dataclass
class Mailbox:
    messages: list[email.message.EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 OK"

    async def got(self, count: int) -> list[email.message.EmailMessage]:
        async def enough() -> list[email.message.EmailMessage] | None:
            return list(self.messages) if len(self.messages) >= count else None

        return await eventually(enough, 10)


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    with socket.socket() as probe:  # a free port (aiosmtpd connects to it to know it is up)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


class SmsProvider:
    """A fake SMS provider on loopback: answers each request with the next planned status (then
    200) and keeps what it got."""

    def __init__(self, plan: list[int]) -> None:
        self.plan, self.requests = list(plan), []
        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                provider.requests.append(({k.lower(): v for k, v in self.headers.items()}, json.loads(body)))
                self.send_response(provider.plan.pop(0) if provider.plan else 200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"

    async def got(self, count: int) -> list[tuple[dict[str, str], dict[str, Any]]]:
        async def enough() -> list[tuple[dict[str, str], dict[str, Any]]] | None:
            return list(self.requests) if len(self.requests) >= count else None

        return await eventually(enough, 10)


@pytest.fixture
def sms() -> Iterator[SmsProvider]:
    provider = SmsProvider(plan=[500])  # fails once, then accepts
    yield provider
    provider.server.shutdown()
    provider.server.server_close()


@dataclass
class People:
    service: NotificationService
    sms: SmsProvider
    mailbox: Mailbox

    def ref(self, id_number: str) -> str:
        return keyed_hash(self.service.settings.identity_hash_key_bytes, id_number)

    def token(self, id_number: str) -> str:
        return self.service.token("applicant", f"citizen-{id_number[-4:]}", id_number=id_number)

    async def inbox(self, id_number: str, count: int, language: str | None = None) -> list[dict[str, Any]]:
        headers = {"Accept-Language": language} if language else None

        async def enough() -> list[dict[str, Any]] | None:
            answer = await self.service.call("GET", "/v1/inbox", self.token(id_number), headers=headers)
            items: list[dict[str, Any]] = answer.json()["items"]
            return items if len(items) >= count else None

        return await eventually(enough, 10)

    async def submitted(self, application_id: str, person: str = PERSON_ID, agent: str = PARENT_ID) -> None:
        await self.service.publish(
            "certificate",
            "ApplicationSubmitted",
            {
                "application_id": application_id,
                "matter": "new",
                "household_region": "330502",
                "person_ref": self.ref(person),
                "agent_ref": self.ref(agent),
            },
        )


@pytest.fixture
async def people(
    start_service: Starter, smtp: tuple[Mailbox, int], sms: SmsProvider
) -> AsyncIterator[People]:
    mailbox, port = smtp
    async with start_service(
        smtp_host="127.0.0.1",
        smtp_port=port,
        sms_provider_url=sms.url,
        sms_api_key="test-key",
        notice_retry_schedule_seconds=[0.05, 0.1],
    ) as service:
        yield People(service, sms, mailbox)


async def with_contacts(people: People) -> None:
    service = people.service
    person = await service.call(
        "PUT",
        "/v1/me/contact",
        people.token(PERSON_ID),
        {"language": "en", "phone": PHONE, "email": EMAIL, "channels": ["sms", "email"]},
    )
    assert person.status_code == 200, person.text
    assert person.json() == {
        "language": "en",
        "channels": ["inbox", "sms", "email"],
        "phone": "138****5678",
        "email": "x***@example.cn",
    }
    parent = await service.call(
        "PUT", "/v1/me/contact", people.token(PARENT_ID), {"email": PARENT_EMAIL, "channels": ["email"]}
    )
    assert parent.status_code == 200


async def test_a_step_reaches_the_person_and_the_agent_each_in_their_language_by_every_channel(
    people: People, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await with_contacts(people)
    await people.submitted(str(uuid.uuid4()))

    [mine] = await people.inbox(PERSON_ID, 1)
    assert (mine["kind"], mine["title"], mine["read"]) == (
        "application_received",
        "Application received",
        False,
    )
    [parents] = await people.inbox(PARENT_ID, 1)
    assert parents["title"] == "残疾人证申请已受理"
    assert "新办" in parents["text"]
    chinese = await people.inbox(PERSON_ID, 1, language="zh-CN")
    assert chinese[0]["title"] == "残疾人证申请已受理"

    messages = await people.mailbox.got(2)
    by_address = {message["To"]: message for message in messages}
    assert by_address[EMAIL]["Subject"] == "Application received"
    assert by_address[PARENT_EMAIL]["Subject"] == "残疾人证申请已受理"
    assert "新办" in by_address[PARENT_EMAIL].get_content()

    read = await people.service.call("POST", f"/v1/inbox/{mine['id']}/read", people.token(PERSON_ID))
    assert read.status_code == 204
    assert (await people.inbox(PERSON_ID, 1))[0]["read"] is True
    foreign = await people.service.call("POST", f"/v1/inbox/{mine['id']}/read", people.token(PARENT_ID))
    assert foreign.status_code == 404

    ours = "\n".join(record.getMessage() for record in caplog.records if not record.name.startswith("mail"))
    for secret in (PHONE, EMAIL, PARENT_EMAIL, PERSON_ID, PARENT_ID, "Application received"):
        assert secret not in ours  # (the test's own SMTP server logs addresses; the service does not)


async def test_sms_goes_through_the_provider_with_retries_and_every_try_is_recorded(people: People) -> None:
    service = people.service
    await service.call(
        "PUT", "/v1/me/contact", people.token(PERSON_ID), {"phone": PHONE, "channels": ["sms"]}
    )
    await people.submitted(str(uuid.uuid4()))
    tries = await people.sms.got(2)
    headers, request = tries[1]
    assert (request["to"], request["template"], request["sign_name"]) == (
        PHONE,
        "application_received",
        "残疾人证",
    )
    assert "受理" in request["text"]
    assert headers["authorization"] == "Bearer test-key"

    async def recorded() -> list[dict[str, Any]] | None:
        rows = (await service.call("GET", "/v1/notices?channel=sms", service.admin)).json()
        return rows if rows and rows[0]["status"] == "sent" else None

    [record] = await eventually(recorded)
    assert (record["attempts"], record["last_error"]) == (2, None)  # the provider's 500, then accepted
    emails = await service.call("GET", "/v1/notices?channel=email", service.admin)
    assert emails.json() == [], "no e-mail without an address"
    assert (await service.call("GET", "/v1/notices", people.token(PERSON_ID))).status_code == 403


async def test_an_appointment_reminder_waits_for_the_day_before_and_moves_with_the_appointment(
    people: People,
) -> None:
    application_id = str(uuid.uuid4())
    await people.submitted(application_id)
    await people.inbox(PERSON_ID, 1)
    first = datetime.combine(date.today() + timedelta(days=5), time(10), CHINA)
    for starts_at, previous in ((first, None), (first + timedelta(days=2), first)):
        await people.service.publish(
            "assessment",
            "AppointmentBooked",
            {
                "assessment_id": str(uuid.uuid4()),
                "application_id": application_id,
                "doctor_id": "doctor-1",
                "starts_at": starts_at.isoformat(),
                "home_visit": True,
                "previous_starts_at": previous.isoformat() if previous else None,
            },
        )
    items = await people.inbox(PERSON_ID, 3)
    assert [item["kind"] for item in items][:2] == ["appointment_booked", "appointment_booked"]
    assert "上门评定" in items[0]["text"]
    assert "appointment_tomorrow" not in {item["kind"] for item in items}, "not before its day"

    async def reminders() -> list[dict[str, Any]] | None:
        rows = (await people.service.call("GET", "/v1/notices", people.service.admin)).json()
        mine = [row for row in rows if row["kind"] == "appointment_tomorrow"]
        return mine if {row["status"] for row in mine} >= {"withdrawn"} else None

    rows = await eventually(reminders)
    pending = [row for row in rows if row["status"] != "withdrawn"]
    day_before = datetime.combine(date.today() + timedelta(days=6), time(9), CHINA)
    assert {datetime.fromisoformat(row["due_at"]) for row in pending} == {day_before}


async def test_a_result_tells_the_dispute_deadline_and_a_card_at_the_counter_says_when_to_collect(
    people: People,
) -> None:
    application_id, number = str(uuid.uuid4()), PERSON_ID + "41"
    await people.submitted(application_id)
    await people.service.publish(
        "assessment",
        "GradeRecorded",
        {
            "assessment_id": str(uuid.uuid4()),
            "application_id": application_id,
            "category": "physical",
            "level": 1,
            "components": [],
            "override_reason_given": False,
            "round": 0,
        },
    )
    until = people.service.settings.working_calendar().add_working_days(datetime.now(CHINA).date(), 10)
    result = next(item for item in await people.inbox(PERSON_ID, 2) if item["kind"] == "result_recorded")
    assert until.isoformat() in result["text"]
    # Approving a child's application made by a parent verifies the parent (certificate service).
    await people.service.publish(
        "certificate",
        "AgentVerified",
        {"person_ref": people.ref(PERSON_ID), "agent_ref": people.ref(PARENT_ID), "basis": "reviewer"},
    )
    await people.service.publish(
        "certificate",
        "CertificateIssued",
        {
            "certificate_number": number,
            "application_id": application_id,
            "person_ref": people.ref(PERSON_ID),
            "agent_refs": [people.ref(PARENT_ID)],
            "expires_on": "2036-11-22",
            "household_region": "330502",
        },
    )
    await people.service.publish(
        "certificate",
        "CardOrdered",
        {"card_id": "card-1", "certificate_number": number, "region": "330502", "delivery": "counter"},
    )
    await people.service.publish(
        "certificate", "CardProduced", {"card_id": "card-1", "certificate_number": number, "region": "330502"}
    )
    items = await people.inbox(PARENT_ID, 4)
    ready = next(item for item in items if item["kind"] == "card_ready")
    assert number[:4] + "*" * 10 + number[14:18] in ready["text"]
    assert number not in json.dumps(items, ensure_ascii=False)
    issued = next(item for item in items if item["kind"] == "certificate_issued")
    assert "2036-11-22" in issued["text"]


async def test_contact_details_are_checked_and_only_the_person_sees_their_own(people: People) -> None:
    service = people.service
    bad = await service.call(
        "PUT", "/v1/me/contact", people.token(PERSON_ID), {"phone": "12345", "channels": ["sms"]}
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    wrong_language = await service.call("PUT", "/v1/me/contact", people.token(PERSON_ID), {"language": "fr"})
    assert wrong_language.status_code == 422
    nothing_yet = await service.call("GET", "/v1/me/contact", people.token(PERSON_ID))
    assert nothing_yet.json() == {"language": "zh-CN", "channels": ["inbox"], "phone": None, "email": None}
    assert (await service.call("GET", "/v1/inbox", service.admin)).status_code == 403
    empty = await service.call("GET", "/v1/inbox", people.token(STRANGER_ID))
    assert empty.json() == {"items": [], "unread": 0}
    stored = await service.fetch("SELECT sealed_phone FROM contacts")
    assert stored == []
    await with_contacts(people)
    [row] = await service.fetch(
        "SELECT sealed_phone, sealed_email FROM contacts WHERE person_ref = $1", people.ref(PERSON_ID)
    )
    assert PHONE not in row["sealed_phone"]
    assert EMAIL not in row["sealed_email"]


async def test_an_erased_person_is_told_nothing_more_while_their_agent_still_is(people: People) -> None:
    service = people.service
    await with_contacts(people)
    await service.publish(
        "certificate",
        "PersonErased",
        {
            "person_ref": people.ref(PERSON_ID),
            "legal_basis": "consent_withdrawn",
            "erased_on": "2026-12-01",
            "reapplied": False,
        },
    )
    await service.handled("certificate")
    await people.submitted(str(uuid.uuid4()))

    [parents] = await people.inbox(PARENT_ID, 1)
    assert parents["kind"] == "application_received"
    await service.all_handled()
    assert (await service.call("GET", "/v1/inbox", people.token(PERSON_ID))).json()["items"] == []
    # Alone (no agent): nothing to tell anyone, and the event is handled, not retried.
    await service.publish(
        "certificate",
        "ApplicationSubmitted",
        {"application_id": str(uuid.uuid4()), "matter": "new", "person_ref": people.ref(PERSON_ID)},
    )
    await service.all_handled()  # (a failing event stays unacknowledged: this would time out)
    queued = await service.fetch("SELECT 1 FROM notices WHERE recipient_ref = $1", people.ref(PERSON_ID))
    assert queued == [], "a notice was queued for an erased person"


async def test_a_person_without_an_agent_is_told_of_every_step(people: People) -> None:
    """Each event about the application links it to the person again: with no agent on either
    side the link must stay (an empty list of agents, not a missing one)."""
    service = people.service
    application_id = str(uuid.uuid4())
    about = {"application_id": application_id, "person_ref": people.ref(PERSON_ID)}
    await service.publish(
        "certificate", "ApplicationSubmitted", {**about, "matter": "new", "agent_ref": None}
    )
    await service.publish(
        "certificate",
        "AssessmentRequested",
        {**about, "agent_refs": [], "declared_category": "physical", "household_region": "330502"},
    )
    await service.all_handled()  # (a failing event stays unacknowledged: this would time out)
    [received] = await people.inbox(PERSON_ID, 1)
    assert received["kind"] == "application_received"


async def test_the_person_is_told_when_someone_applies_in_their_name_and_an_unverified_agent_is_not_told_of_the_certificate(
    people: People,
) -> None:
    # People of their own: the other tests verify PARENT_ID as PERSON_ID's agent on the same streams.
    person = make_identity_number("330502", date(2017, 6, 1), secrets.randbelow(900) + 1)
    claimant = make_identity_number("330502", date(1986, 7, 2), secrets.randbelow(900) + 1)
    application_id, number = str(uuid.uuid4()), person + "41"
    await people.submitted(application_id, person, claimant)
    await people.service.publish(
        "certificate",
        "AgentClaimed",
        {
            "person_ref": people.ref(person),
            "agent_ref": people.ref(claimant),
            "application_id": application_id,
        },
    )
    told = {item["kind"] for item in await people.inbox(person, 2)}
    assert told == {"application_received", "applied_in_your_name"}
    await people.service.publish(
        "certificate",
        "CertificateIssued",
        {
            "certificate_number": number,
            "application_id": application_id,
            "person_ref": people.ref(person),
            "agent_refs": [people.ref(claimant)],  # named, but never verified
            "expires_on": "2036-11-22",
            "household_region": "330502",
        },
    )
    await people.inbox(person, 3)
    assert "certificate_issued" not in {item["kind"] for item in await people.inbox(claimant, 1)}


async def test_the_person_is_told_when_a_reported_death_holds_their_certificate_and_when_it_is_restored(
    people: People,
) -> None:
    holder = make_identity_number("330502", date(1970, 3, 4), secrets.randbelow(900) + 1)  # of its own
    service, person = people.service, people.ref(holder)
    application_id, number = str(uuid.uuid4()), holder + "42"
    await service.publish(
        "certificate",
        "ApplicationSubmitted",
        {"application_id": application_id, "person_ref": person, "matter": "new", "agent_ref": None},
    )
    about = {"certificate_number": number, "person_ref": person, "household_region": "330502"}
    await service.publish(
        "certificate",
        "CertificateIssued",
        {**about, "application_id": application_id, "agent_refs": [], "expires_on": "2036-11-22"},
    )
    await service.publish(
        "certificate",
        "CertificatePutOnHold",
        {**about, "reason_code": "death_reported", "effective_date": "2026-11-12", "fact_id": "gaj-1"},
    )
    await service.publish(
        "certificate", "CertificateHoldLifted", {**about, "reason_code": "death_rejected", "fact_id": "gaj-1"}
    )
    inbox = await people.inbox(holder, 4, language="en")
    held = next(item for item in inbox if item["kind"] == "certificate_on_hold")
    assert "on hold" in held["text"], "the number is masked"
    assert number not in held["text"], "the number is masked"
    assert "certificate_restored" in {item["kind"] for item in inbox}
