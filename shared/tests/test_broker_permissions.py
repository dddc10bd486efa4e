"""The broker's users and their permissions, as written for the embedded server and production
(the attacks on a real server: tests/attacks/test_broker_permissions.py)."""

from __future__ import annotations

from pathlib import Path

import nats
import pytest

from dcert_dev.embedded import EmbeddedNats, redact_url
from dcert_shared import access_relay, erasure
from dcert_shared.broker import Naming, connect, inbox_prefix
from dcert_shared.broker_permissions import (
    ACCESS_LOG,
    ERASING_CONTEXT,
    ERASURES_STREAM,
    SERVICES,
    Partner,
    authorization_block,
    production_users,
    service_permissions,
)


def test_the_names_it_spells_are_the_runtimes() -> None:
    assert ACCESS_LOG == access_relay.ACCESS_CONTEXT
    assert ERASING_CONTEXT == erasure.ERASING_CONTEXT
    assert erasure.erasure_stream_name(Naming()) == ERASURES_STREAM


def test_a_service_publishes_its_own_subjects_and_no_other_contexts() -> None:
    benefits = next(access for access in SERVICES if access.service == "benefits")
    permissions = service_permissions(benefits)
    assert {"benefits.events.>", "accesslog.events.AccessRecorded", "deadletter.benefits.*"} <= set(
        permissions.publish_allow
    )
    assert set(permissions.publish_deny) == {
        "certificate.events.>",
        "assessment.events.>",
        "notification.events.>",
        "partners.events.>",
    }
    assert permissions.subscribe_allow == ("_INBOX.benefits.>",)
    # production names every stream; only the certificate service configures the erasures
    assert not [s for s in permissions.publish_allow if s.startswith("$JS.API.STREAM.") and s.endswith(".*")]
    assert "$JS.API.STREAM.UPDATE.ERASURES" not in permissions.publish_allow
    assert "$JS.API.STREAM.MSG.GET.ERASURES" in permissions.publish_allow
    assert "$JS.API.STREAM.UPDATE.PARTNERS_EVENTS" in permissions.publish_allow  # its intake


def test_under_a_test_prefix_subjects_take_one_more_token_and_streams_any_name() -> None:
    assessment = next(access for access in SERVICES if access.service == "assessment")
    permissions = service_permissions(assessment, prefixed=True)
    assert {"assessment.events.>", "*.assessment.events.>"} <= set(permissions.publish_allow)
    assert {"certificate.events.>", "*.certificate.events.>"} <= set(permissions.publish_deny)
    assert "$JS.API.STREAM.CREATE.*" in permissions.publish_allow


def test_production_takes_every_password_from_the_environment() -> None:
    block = authorization_block(production_users([Partner("3f1c2b9e", "civil-affairs")]))
    assert "password: $DCERT_NATS_OPERATOR_PASSWORD" in block
    assert "password: $DCERT_NATS_PARTNER_CIVIL_AFFAIRS_PASSWORD" in block
    assert '"partners.events.3f1c2b9e.>"' in block
    with pytest.raises(ValueError, match="not usable in a NATS subject"):
        Partner("3f1c2b9e.>", "anyone")


def test_a_connection_reads_its_replies_below_its_users_inbox() -> None:
    assert inbox_prefix("certificate") == "_INBOX.certificate"
    assert inbox_prefix(None) == "_INBOX"
    assert inbox_prefix("odd.user") == "_INBOX"


@pytest.mark.service  # it starts a NATS server of its own
async def test_the_embedded_server_keeps_its_passwords_private_and_across_restarts(tmp_path: Path) -> None:
    server = EmbeddedNats.start(tmp_path)
    try:
        passwords = (tmp_path / "nats" / "users.json").stat()
        assert passwords.st_mode & 0o777 == 0o600
        assert (tmp_path / "nats" / "nats.conf").stat().st_mode & 0o777 == 0o600
        url = server.url_for("certificate")
        assert server.passwords["certificate"] not in redact_url(url)
        nc = await connect(url, "certificate")  # the user and password apart from the URL
        assert nc.is_connected
        assert nc.new_inbox().startswith("_INBOX.certificate.")
        await nc.close()
        with pytest.raises(nats.errors.Error):
            await nats.connect(server.address, allow_reconnect=False, max_reconnect_attempts=0)
        server.stop()
        server = EmbeddedNats.start(tmp_path)
        assert server.url_for("certificate") == url
    finally:
        server.stop()
