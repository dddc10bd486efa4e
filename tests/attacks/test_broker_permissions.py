"""Attack: an open broker (issue 18, finding 6). Whoever reached NATS could publish
`certificate.events.PersonErased`, crypto-shredding a person in every service, or
`benefits.events.DeathReported`. Each service, partner agency and the operator is now a NATS user
of its own (dcert_shared.broker_permissions), on the embedded servers as in production; these
tests play a service or a partner gone rogue, with its own real credentials.

A refused publish is dropped by the server, which tells the client on its error callback
("permissions violation"); JetStream, never reached, gives no acknowledgement.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import nats
import nats.errors
import pytest
import pytest_asyncio
from fastapi import FastAPI
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import RePublish, StreamConfig, StreamSource, SubjectTransform

from dcert_assessment.bootstrap import create_app as assessment_app
from dcert_assessment.settings import AssessmentSettings
from dcert_benefits.bootstrap import create_app as benefits_app
from dcert_benefits.settings import BenefitsSettings
from dcert_certificate.bootstrap import create_app as certificate_app
from dcert_certificate.settings import CertificateSettings
from dcert_dev.embedded import EmbeddedNats, Infra
from dcert_dev.testing import SettingsMaker, delete_streams, eventually, running_service
from dcert_notification.bootstrap import create_app as notification_app
from dcert_notification.settings import NotificationSettings
from dcert_shared.broker import Naming, StreamLimits, ensure_stream, event_stream_config, inbox_prefix
from dcert_shared.broker_permissions import ERASING_CONTEXT, Partner, ServiceAccess
from dcert_shared.broker_permissions import SERVICES as SERVICES_ACCESS
from dcert_shared.erasure import erasure_stream_config, erasure_stream_name
from dcert_shared.runtime import ServiceRuntime
from dcert_shared.settings import ServiceSettings

from ..system import System, WebhookReceiver, application, new_person, wait_for
from ..test_lifecycle_flow import issued

SERVICES = ("certificate", "assessment", "benefits", "notification")
LIMITS = StreamLimits(max_bytes=1024**2)
REFUSED_IN = 1.0  # seconds: an acknowledgement comes in milliseconds on loopback
# Two partner agencies that report facts over NATS (ids as POST /v1/partners gives them).
CIVIL_AFFAIRS = Partner("3f1c2b9e-0d4a-4c55-9a61-2f0e8c1d7b10", "civil-affairs")
PUBLIC_SECURITY = Partner("8a2d4f60-5b1e-4c3a-9d7e-6f0a1b2c3d4e", "public-security")


@dataclass
class Client:
    """One connection with the credentials of a URL, keeping what the server refused."""

    nc: NATS
    errors: list[str] = field(default_factory=list)

    def js(self) -> JetStreamContext:
        return self.nc.jetstream(timeout=REFUSED_IN)

    def refused(self, subject: str) -> bool:
        return any(
            "permissions violation" in error and f'"{subject.lower()}"' in error for error in self.errors
        )


@asynccontextmanager
async def connected(url: str) -> AsyncIterator[Client]:
    client = Client(nc=NATS())

    async def on_error(error: Exception) -> None:
        client.errors.append(str(error).lower())

    client.nc = await nats.connect(
        url,
        inbox_prefix=inbox_prefix(urlsplit(url).username),  # as dcert_shared.broker.connect does
        error_cb=on_error,
        allow_reconnect=False,
        connect_timeout=5,
    )
    try:
        yield client
    finally:
        await client.nc.close()


def forged(event_type: str) -> bytes:
    """A CloudEvent as a relay would send it, about someone who has done nothing."""
    return json.dumps(
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "type": event_type,
            "source": "/dcert/forged",
            "data": {"person_ref": "a-person-who-did-nothing"},
        }
    ).encode()


async def publish_refused(client: Client, subject: str) -> None:
    """`subject` is refused: no acknowledgement, and the server says so."""
    with pytest.raises((nats.errors.TimeoutError, TimeoutError)):
        await client.js().publish(subject, forged(subject.rpartition(".")[2]), timeout=REFUSED_IN)
    await eventually(lambda: _true(client.refused(subject)), timeout=5)


async def _true(value: bool) -> bool:
    return value


async def messages(js: JetStreamContext, stream: str) -> int:
    return int((await js.stream_info(stream)).state.messages)


# --- the session's embedded broker: services' permissions, also under a test prefix ---


@pytest.fixture(scope="session")
def embedded(infra: Infra) -> Infra:
    if not infra.embedded_nats:
        pytest.skip(
            "NATS_URL names an external server: its users and permissions are its operator's, "
            "not the embedded ones these tests check"
        )
    return infra


@pytest_asyncio.fixture(loop_scope="session")
async def streams(embedded: Infra, test_prefix: str) -> AsyncIterator[Naming]:
    """Every context's stream under this test's prefix, made by the operator: a publish the
    permissions let through is acknowledged."""
    naming = Naming(test_prefix)
    async with connected(embedded.nats_url) as operator:
        for context in (*SERVICES, "accesslog"):
            await ensure_stream(operator.js(), event_stream_config(naming, context, LIMITS))
    yield naming
    await delete_streams(embedded.nats_url, test_prefix)


@pytest.mark.parametrize(
    ("service", "context", "event_type"),
    [
        ("assessment", "certificate", "PersonErased"),
        ("notification", "benefits", "DeathReported"),
        ("benefits", "certificate", "PersonErased"),
        ("certificate", "benefits", "DeathReported"),
        ("notification", "assessment", "GradeRecorded"),
    ],
)
async def test_a_service_cannot_publish_another_services_events(
    embedded: Infra, streams: Naming, service: str, context: str, event_type: str
) -> None:
    async with connected(embedded.nats_url_for(service)) as rogue:
        # as production names it, and as a test run under a prefix does
        await publish_refused(rogue, f"{context}.events.{event_type}")
        await publish_refused(rogue, streams.event_subject(context, event_type))
    async with connected(embedded.nats_url) as operator:
        assert await messages(operator.js(), streams.event_stream(context)) == 0


@pytest.mark.parametrize("service", SERVICES)
async def test_each_service_publishes_its_own_events_and_its_reads(
    embedded: Infra, streams: Naming, service: str
) -> None:
    async with connected(embedded.nats_url_for(service)) as own:
        ack = await own.js().publish(streams.event_subject(service, "Recorded"), forged("Recorded"))
        assert ack.stream == streams.event_stream(service)
        ack = await own.js().publish(
            streams.event_subject("accesslog", "AccessRecorded"), forged("AccessRecorded")
        )
        assert ack.stream == streams.event_stream("accesslog")
        assert own.errors == []


async def test_a_service_cannot_read_the_replies_another_service_fetches(embedded: Infra) -> None:
    """Pulled messages come on the puller's inbox: another service listening there would read
    every event the first one consumes."""
    async with connected(embedded.nats_url_for("notification")) as rogue:
        for inbox in ("_INBOX.certificate.>", "_INBOX.>"):
            await rogue.nc.subscribe(inbox)
            await eventually(lambda inbox=inbox: _true(rogue.refused(inbox)), timeout=5)


async def test_the_broker_refuses_a_connection_without_credentials(embedded: Infra) -> None:
    assert embedded.nats is not None
    with pytest.raises(nats.errors.Error, match="(?i)authorization"):
        await nats.connect(
            embedded.nats.address, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=5
        )


async def test_a_service_the_harness_runs_connects_as_its_own_user(
    embedded: Infra, service_settings: SettingsMaker
) -> None:
    """So that every service test also proves that its permissions are enough."""
    settings = service_settings(AssessmentSettings)
    assert settings.nats_url == embedded.nats_url  # the test's own connection: the operator's
    async with running_service(assessment_app, settings, ["certificate"]) as service:
        assert service.settings.nats_url == embedded.nats_url_for("assessment")


# --- a broker with production's permissions: streams named exactly, and partner agencies ---


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    """An embedded server configured as production (no test prefix), with two partners."""
    server = EmbeddedNats.start(
        tmp_path_factory.mktemp("broker"), prefixed=False, partners=[CIVIL_AFFAIRS, PUBLIC_SECURITY]
    )
    try:
        yield server
    finally:
        server.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def production_streams(production: EmbeddedNats) -> AsyncIterator[Naming]:
    naming = Naming()
    async with connected(production.url) as operator:
        for context in (*SERVICES, "partners"):
            await ensure_stream(operator.js(), event_stream_config(naming, context, LIMITS))
        await ensure_stream(operator.js(), erasure_stream_config(naming, LIMITS))
    yield naming


async def test_a_partner_publishes_its_own_facts_and_never_another_partners(
    production: EmbeddedNats, production_streams: Naming
) -> None:
    async with connected(production.url_for(CIVIL_AFFAIRS.user)) as civil_affairs:
        own = f"partners.events.{CIVIL_AFFAIRS.partner_id}.low_income_started"
        assert (
            await civil_affairs.js().publish(own, forged("low_income_started"))
        ).stream == "PARTNERS_EVENTS"
        await publish_refused(civil_affairs, f"partners.events.{PUBLIC_SECURITY.partner_id}.death")
        await publish_refused(civil_affairs, "benefits.events.DeathReported")
        await publish_refused(civil_affairs, "certificate.events.PersonErased")
    async with connected(production.url_for(PUBLIC_SECURITY.user)) as public_security:
        own = f"partners.events.{PUBLIC_SECURITY.partner_id}.death"
        assert (await public_security.js().publish(own, forged("death"))).stream == "PARTNERS_EVENTS"
    async with connected(production.url) as operator:
        assert await messages(operator.js(), "PARTNERS_EVENTS") == 2
        assert await messages(operator.js(), "CERTIFICATE_EVENTS") == 0


async def test_a_service_cannot_bring_forged_events_into_a_stream_through_its_configuration(
    production: EmbeddedNats, production_streams: Naming
) -> None:
    """A stream's configuration can copy messages from anywhere under any subject (sources with
    transforms, republish): a service may configure its own streams only, and the erasures are
    the certificate service's alone."""
    async with connected(production.url_for("assessment")) as rogue:
        js = rogue.js()
        await ensure_stream(js, event_stream_config(production_streams, "assessment", LIMITS))  # its own
        forging = StreamSource(
            name="ASSESSMENT_EVENTS",
            subject_transforms=[
                SubjectTransform(src="assessment.events.*", dest="certificate.events.PersonErased")
            ],
        )
        into_erasures = replace(erasure_stream_config(production_streams, LIMITS), sources=[forging])
        with pytest.raises((nats.errors.TimeoutError, TimeoutError)):
            await js.update_stream(into_erasures)
        with pytest.raises((nats.errors.TimeoutError, TimeoutError)):
            await js.add_stream(
                StreamConfig(
                    name="RELAY",
                    subjects=["assessment.relay.*"],
                    republish=RePublish(src="assessment.relay.*", dest="certificate.events.{{wildcard(1)}}"),
                )
            )
        with pytest.raises((nats.errors.TimeoutError, TimeoutError)):
            await js.delete_stream("CERTIFICATE_EVENTS")
        assert rogue.refused("$JS.API.STREAM.UPDATE.ERASURES")
    async with connected(production.url) as operator:
        assert (await operator.js().stream_info(erasure_stream_name(production_streams))).config.sources[
            0
        ].name == ("CERTIFICATE_EVENTS")


# --- the rules follow the code ---

APPS: dict[str, tuple[Callable[[Any], FastAPI], type[ServiceSettings]]] = {
    "certificate": (certificate_app, CertificateSettings),
    "assessment": (assessment_app, AssessmentSettings),
    "benefits": (benefits_app, BenefitsSettings),
    "notification": (notification_app, NotificationSettings),
}


@pytest.mark.parametrize("access", SERVICES_ACCESS, ids=lambda access: access.service)
def test_each_service_is_granted_exactly_the_streams_it_consumes_and_keeps(access: ServiceAccess) -> None:
    create_app, settings_class = APPS[access.service]
    settings = settings_class(
        database_url="postgresql://unused/unused", nats_url="nats://unused:4222", environment="test"
    )
    runtime: ServiceRuntime = create_app(settings).state.runtime
    consumed = {subscription.source_context for subscription in runtime.subscriptions}
    if runtime.context != ERASING_CONTEXT:
        consumed.add(ERASING_CONTEXT)  # every other service consumes the erasures (made at start)
    assert (runtime.context, consumed, set(runtime.intake_contexts)) == (
        access.context,
        set(access.consumes),
        set(access.intake),
    )


def violations(log: Path) -> list[str]:
    return [line for line in log.read_text(errors="replace").splitlines() if "Violation" in line]


def test_the_whole_system_runs_on_productions_permissions(
    system: System,
    system_broker: EmbeddedNats | None,
    doctor: str,
    reviewer: str,
    admin: str,
    partner: tuple[str, dict[str, Any], WebhookReceiver],
) -> None:
    """Every service makes its streams, relays its events and reads, consumes the others' and
    acknowledges them, with nothing more than production grants it: the broker logs no refusal."""
    if system_broker is None:
        pytest.skip("NATS_URL names an external server: the system runs there under a test prefix")
    person = new_person()
    token = system.token("applicant", f"citizen-{uuid.uuid4().hex[:6]}", id_number=person)
    number = issued(system, doctor, reviewer, token, application(person), level=1)  # assessment, certificate
    wait_for(  # benefits consumed the certificate's issue
        lambda: (
            system.call("benefits", "GET", f"/v1/certificates/{number}/benefits", token=admin).status_code
            == 200
        )
    )
    _, _, receiver = partner
    wait_for(lambda: receiver.bodies_with(number))  # notification consumed it for the partner

    def services_that_read() -> set[str]:
        log = system.call("certificate", "GET", "/v1/me/access-log", token=token).json()["items"]
        return {entry["service"] for entry in log}

    # the reads of the record came to the certificate service through the access-log stream
    wait_for(lambda: {"certificate", "benefits", "notification"} <= services_that_read())
    assert violations(system_broker.log_path) == []
