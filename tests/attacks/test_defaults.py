"""Defaults: a deployment that forgets to say what it is fails closed.

Before: `DCERT_ENV` unset meant `embedded`: a service started with only its database and broker
addresses sealed personal data under the development master key printed in the repository,
accepted development tokens if asked and sent webhooks to private addresses. With only a JWKS
URL, a token of any issuer signed by those keys was taken.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SERVICES = ("dcert_certificate", "dcert_assessment", "dcert_benefits", "dcert_notification")


def _start(module: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """Build the service's app as uvicorn would, with only what a forgetful operator set."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("DCERT_")}
    env |= {
        "DATABASE_URL": "postgresql://db.invalid/x",
        "NATS_URL": "nats://nats.invalid:4222",
        **environment,
    }
    return subprocess.run(
        [sys.executable, "-c", f"import {module}.main"], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("module", SERVICES)
def test_a_service_started_without_an_environment_is_production_and_refuses_to_start(module: str) -> None:
    started = _start(module, DCERT_DEV_AUTH="1")
    assert started.returncode != 0
    assert "settings of production are incomplete" in started.stderr
    for missing in ("DCERT_MASTER_KEY", "DCERT_IDENTITY_HASH_KEY", "DCERT_DEV_AUTH must be off"):
        assert missing in started.stderr


def test_keys_from_a_url_without_the_issuer_they_vouch_for_are_refused() -> None:
    started = _start(
        "dcert_certificate",
        DCERT_AUTH_JWKS_URL="https://sso.example.cn/keys",
        DCERT_IDENTITY_HASH_KEY="k" * 32,
        DCERT_MASTER_KEY="A" * 43 + "=",
    )
    assert started.returncode != 0
    assert "DCERT_AUTH_ISSUER must be set" in started.stderr


def test_the_portal_started_without_an_environment_refuses_to_start_without_its_secret() -> None:
    started = _start("dcert_portal")
    assert started.returncode != 0
    assert "DCERT_PORTAL_SESSION_SECRET is required in production" in started.stderr
