"""The whole system for end-to-end tests: four service processes, started once per session."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from dcert_dev.embedded import EmbeddedNats, Infra, ensure_databases, free_port
from dcert_dev.supervisor import ServiceProcess
from dcert_portal.bootstrap import create_app as create_portal
from dcert_portal.settings import PortalSettings

from .system import SERVICES, System, TelemetryReceiver, WebhookReceiver, register_doctor

REGION = "330502"
POLICY_FIELDS = ["certificate_number", "category", "level", "expires_on"]


@pytest.fixture(scope="session")
def system_broker(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats | None]:
    """The system's own NATS, with production's permissions: the services run without a test
    prefix, so the broker names each stream they may work exactly (dcert_shared.broker_permissions).
    None when NATS_URL names an external server: the system then shares it under a prefix."""
    if not infra.embedded_nats:
        yield None
        return
    broker = EmbeddedNats.start(tmp_path_factory.mktemp("e2e-broker"), prefixed=False)
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def system(
    infra: Infra, system_broker: EmbeddedNats | None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    """certificate, assessment, benefits and notification as real uvicorn processes, each its
    own user on the broker."""
    run = secrets.token_hex(3)
    nats_url_for = system_broker.url_for if system_broker is not None else infra.nats_url_for
    databases = asyncio.run(
        ensure_databases(infra.database_server_url, [f"dcert_e2e_{run}_{name}" for name in SERVICES])
    )
    ports = {name: free_port() for name in SERVICES}
    common = {
        "DCERT_ENV": "test",
        "DCERT_DEV_AUTH": "1",
        "DCERT_NATS_PREFIX": "" if system_broker is not None else f"e2e{run}",
        "DCERT_AUTH_JWKS_URL": f"http://127.0.0.1:{ports['certificate']}/v1/dev/jwks.json",
        "DCERT_PUBLIC_NOTICE_WORKING_DAYS": "0",
        "DCERT_NOTICE_CHECK_SECONDS": "0.2",
        "DCERT_WEBHOOK_RETRY_SCHEDULE_SECONDS": "[0.2, 0.5, 1, 2]",
        "DCERT_DELIVERY_POLL_SECONDS": "0.1",
        # The session's few tokens make thousands of calls; the limit is counted, never reached.
        "DCERT_SUBJECT_RATE_LIMIT_PER_MINUTE": "1000000",
        # Online e-certificate codes a test can wait out (tests/attacks/test_replayed_codes.py).
        "DCERT_ECERT_ONLINE_CODE_SECONDS": "5",
    }
    # Spans and metrics go to a collector of the test's own, exported within a second, so that
    # tests can search everything the services tell an operator (tests/test_no_personal_data.py).
    telemetry = TelemetryReceiver()
    common |= {
        "DCERT_OTEL_EXPORTER_OTLP_ENDPOINT": telemetry.url,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "OTEL_METRIC_EXPORT_INTERVAL": "1000",
    }
    processes = []
    logs = tmp_path_factory.mktemp("e2e-logs")
    for name in SERVICES:
        env = {
            **os.environ,
            **common,
            "DCERT_SERVICE_NAME": name,
            "DATABASE_URL": databases[f"dcert_e2e_{run}_{name}"],
            "NATS_URL": nats_url_for(name),
        }
        process = ServiceProcess(
            name, f"dcert_{name}.main:app", ports[name], env, log_path=logs / f"{name}.log"
        )
        process.start()
        processes.append(process)
    try:
        for process in processes:
            process.wait_healthy(timeout=60)
        yield System(
            ports,
            telemetry=telemetry,
            log_paths=[logs / f"{name}.log" for name in SERVICES],
            databases={name: databases[f"dcert_e2e_{run}_{name}"] for name in SERVICES},
        )
    finally:
        for process in processes:
            process.stop()
        telemetry.close()


@pytest.fixture(scope="session")
def fuzzed_system(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """The four services as uvicorn processes, with development sign-in, on fresh databases of
    their own: the fuzzing tests register institutions, doctors and partners at random, which the
    end-to-end flows must not meet."""
    run = secrets.token_hex(3)
    names = {service: f"dcert_fuzz_{run}_{service}" for service in SERVICES}
    databases = asyncio.run(ensure_databases(infra.database_server_url, list(names.values())))
    ports = {service: free_port() for service in SERVICES}
    logs = tmp_path_factory.mktemp("fuzz-logs")
    processes = [
        ServiceProcess(
            service,
            f"dcert_{service}.main:app",
            ports[service],
            {
                **os.environ,
                "NATS_URL": infra.nats_url_for(service),
                "DATABASE_URL": databases[names[service]],
                "DCERT_SERVICE_NAME": service,
                "DCERT_ENV": "test",
                "DCERT_DEV_AUTH": "1",
                "DCERT_NATS_PREFIX": f"fz{run}",
                "DCERT_AUTH_JWKS_URL": f"http://127.0.0.1:{ports['certificate']}/v1/dev/jwks.json",
                # A few tokens send every case: counted per subject, never refused for it.
                "DCERT_SUBJECT_RATE_LIMIT_PER_MINUTE": "1000000",
            },
            log_path=logs / f"{service}.log",
        )
        for service in SERVICES
    ]
    try:
        for process in processes:
            process.start()
        for process in processes:
            process.wait_healthy(timeout=60)
        yield System(ports)
    finally:
        for process in processes:
            process.stop()


@pytest.fixture(scope="session")
def admin(system: System) -> str:
    return system.token("admin", "admin-1")


@pytest.fixture(scope="session")
def doctor(system: System, admin: str) -> str:
    """An institution in the region and a doctor qualified for physical, visual and hearing."""
    categories = ["physical", "visual", "hearing"]
    doctor_id = register_doctor(system, admin, REGION, categories, "吴兴区人民医院", "李医生")
    return system.token("doctor", "doctor-1", doctor_id=doctor_id)


@pytest.fixture(scope="session")
def reviewer(system: System) -> str:
    return system.token("reviewer", "reviewer-1", region=REGION)


@pytest.fixture(scope="session")
def partner(system: System, admin: str) -> Iterator[tuple[str, dict[str, Any], WebhookReceiver]]:
    """民政局: a partner entitled to four fields of CertificateIssued, with a webhook on loopback."""
    receiver = WebhookReceiver()
    registered = system.call(
        "notification",
        "POST",
        "/v1/partners",
        {
            "name": "民政局",
            "policy": {
                "event_types": ["CertificateIssued"],
                "fields": POLICY_FIELDS,
                "facts": ["low_income_started", "death"],
            },
        },
        admin,
    )
    assert registered.status_code == 201, registered.text
    token = system.token("partner", "partner-1", partner_id=registered.json()["id"])
    subscription = system.call(
        "notification",
        "POST",
        "/v1/subscriptions",
        {"url": receiver.url, "event_types": ["CertificateIssued"]},
        token,
    )
    assert subscription.status_code == 201, subscription.text
    yield token, subscription.json(), receiver
    receiver.close()


@pytest.fixture(scope="session")
def portal_settings(system: System) -> PortalSettings:
    """The portal in front of the session's four services."""
    return PortalSettings(
        environment="test",
        certificate_url=system.url("certificate", ""),
        assessment_url=system.url("assessment", ""),
        benefits_url=system.url("benefits", ""),
        notification_url=system.url("notification", ""),
    )


@pytest.fixture
async def visitor(portal_settings: PortalSettings) -> AsyncIterator[httpx.AsyncClient]:
    """A visitor of the portal (in-process): its own cookies, redirects not followed."""
    app = create_portal(portal_settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://portal.test", timeout=30
    ) as client:
        yield client
    await app.state.services.aclose()


@pytest.fixture(scope="session")
def portal(system: System, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The portal as a real process, for the browser: its URL."""
    port = free_port()
    env = {
        **os.environ,
        "DCERT_ENV": "test",
        **{f"DCERT_PORTAL_{name.upper()}_URL": system.url(name, "") for name in SERVICES},
    }
    logs = tmp_path_factory.mktemp("portal-logs")
    process = ServiceProcess("portal", "dcert_portal.main:app", port, env, log_path=logs / "portal.log")
    process.start()
    try:
        process.wait_healthy(timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()
