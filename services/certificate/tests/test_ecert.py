"""E-certificate keys rotate without breaking old codes, and offices check codes offline.

Most tests are pure (the signer and the offline verifier); the service tests rotate over the
API on real PostgreSQL, with a second replica and a restart.
"""

from __future__ import annotations

import ast
import base64
import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from dcert_certificate import offline_verify
from dcert_certificate.adapters.ecert import CodeContent, ECertificateSigner, InvalidCode, configured_signer
from dcert_certificate.bootstrap import create_app
from dcert_certificate.offline_verify import public_key, verify_offline
from dcert_certificate.settings import CertificateSettings
from dcert_dev.testing import ServiceUnderTest, SettingsMaker, eventually, running_service
from dcert_shared.ids import make_identity_number

TODAY = date(2026, 11, 20)
CONTENT = CodeContent(
    serial="S-0001", category=4, level=2, expires_on=date(2036, 11, 20), holder_masked="李*华"
)
# Made before keys rotated (seed bytes 0..31): codes already on phones must keep verifying.
OLD_KEY_ID = "56475aa7"
OLD_PUBLIC_KEY = "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg"
OLD_CODE = (
    "DC1.56475aa7.eyJzIjoiUy0wMDAxIiwiYyI6NCwibCI6MiwieCI6IjIwMzYxMTIwIiwiaCI6IuadjirljY4ifQ"
    ".M801OqHPmGIynrItjbL2PgorChd4tMcW4o_0AMnk2rc_BV3FZRw3hFf55klBfuCPCDQZX2CpNiY6aTJhHRxnAQ"
)
UPSTREAM = ("assessment", "benefits")


def a_signer() -> ECertificateSigner:
    return ECertificateSigner(Ed25519PrivateKey.generate())


def rotated(before: ECertificateSigner) -> ECertificateSigner:
    """A fresh current key; every key of `before` still verifies."""
    earlier = {key_id: public_key(text) for key_id, text in before.public_keys().items()}
    return ECertificateSigner(Ed25519PrivateKey.generate(), earlier)


def altered(code: str) -> str:
    """The same code with the level changed from 2 to 1 in its payload, signature kept."""
    prefix, key_id, payload, signature = code.split(".")
    data = json.loads(offline_verify.b64url_decode(payload))
    forged = json.dumps({**data, "l": 1}, ensure_ascii=False, separators=(",", ":")).encode()
    return ".".join([prefix, key_id, base64.urlsafe_b64encode(forged).rstrip(b"=").decode(), signature])


# --- the signer ---


def test_a_code_made_before_rotation_still_verifies() -> None:
    signer = ECertificateSigner.from_seed(bytes(range(32)))
    assert signer.key_id == OLD_KEY_ID
    assert signer.verify(OLD_CODE) == CONTENT


def test_after_a_rotation_the_new_key_signs_and_the_old_key_still_verifies() -> None:
    before = a_signer()
    old_code = before.sign(CONTENT)
    after = rotated(before)
    new_code = after.sign(CONTENT)
    assert new_code.split(".")[1] == after.key_id != before.key_id
    assert after.verify(old_code) == CONTENT
    assert after.verify(new_code) == CONTENT
    assert set(after.public_keys()) == {before.key_id, after.key_id}


def test_a_retired_or_unknown_key_no_longer_verifies() -> None:
    retired = a_signer()
    with pytest.raises(InvalidCode) as refused:
        a_signer().verify(retired.sign(CONTENT))
    assert refused.value.reason == "unknown_key"


def test_an_altered_payload_does_not_verify() -> None:
    signer = a_signer()
    with pytest.raises(InvalidCode) as refused:
        signer.verify(altered(signer.sign(CONTENT)))
    assert refused.value.reason == "signature_invalid"


@pytest.mark.parametrize("code", ["", "DC1.abc", "DC2.56475aa7.e30.AA", "DC1.56475aa7.e30.!!"])
def test_a_malformed_code_is_refused_without_an_error(code: str) -> None:
    with pytest.raises(InvalidCode):
        ECertificateSigner.from_seed(bytes(range(32))).verify(code)


def test_production_verifies_the_previous_keys_it_is_configured_with() -> None:
    signer = configured_signer(bytes(32), {OLD_KEY_ID: OLD_PUBLIC_KEY})
    assert signer.verify(OLD_CODE) == CONTENT
    assert signer.key_id != OLD_KEY_ID
    with pytest.raises(ValueError, match="another key"):
        configured_signer(bytes(32), {"00000000": OLD_PUBLIC_KEY})


def test_settings_refuse_a_previous_key_that_is_not_32_bytes() -> None:
    with pytest.raises(ValidationError, match="not a 32-byte Ed25519 public key"):
        CertificateSettings(
            database_url="postgresql://db/x",
            nats_url="nats://n:4222",
            ecert_previous_public_keys={OLD_KEY_ID: OLD_PUBLIC_KEY[:-4]},
        )


# --- the offline verifier ---


def test_offline_a_genuine_code_is_valid_but_its_status_is_not_checked() -> None:
    result = verify_offline(OLD_CODE, {OLD_KEY_ID: OLD_PUBLIC_KEY}, TODAY)
    assert result.as_json() == {
        "valid": True,
        "reason": None,
        "category": "physical",
        "level": 2,
        "expires_on": "2036-11-20",
        "holder": "李*华",
        "key_id": OLD_KEY_ID,
        "status_checked": False,
    }


def test_offline_an_expired_code_is_invalid() -> None:
    result = verify_offline(OLD_CODE, {OLD_KEY_ID: OLD_PUBLIC_KEY}, date(2036, 11, 21))
    assert (result.valid, result.reason, result.expires_on) == (False, "expired", date(2036, 11, 20))
    assert verify_offline(OLD_CODE, {OLD_KEY_ID: OLD_PUBLIC_KEY}, date(2036, 11, 20)).valid


def test_offline_an_altered_or_unknown_key_code_is_invalid() -> None:
    keys = {OLD_KEY_ID: OLD_PUBLIC_KEY}
    assert verify_offline(altered(OLD_CODE), keys, TODAY).reason == "signature_invalid"
    assert verify_offline(a_signer().sign(CONTENT), keys, TODAY).reason == "unknown_key"
    assert verify_offline("not a code", keys, TODAY).reason == "malformed"


def run_cli(tmp_path: Path, code: str, *command: str) -> subprocess.CompletedProcess[str]:
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(
        json.dumps(
            {"algorithm": "Ed25519", "current_key_id": OLD_KEY_ID, "keys": {OLD_KEY_ID: OLD_PUBLIC_KEY}}
        )
    )
    command = command or (sys.executable, "-m", "dcert_certificate.offline_verify")
    return subprocess.run(
        [*command, "--keys", str(keys_file), "--today", TODAY.isoformat(), code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_command_line_exits_0_for_a_valid_code_and_1_for_an_altered_one(tmp_path: Path) -> None:
    valid = run_cli(tmp_path, OLD_CODE)
    assert valid.returncode == 0, valid.stderr
    assert json.loads(valid.stdout)["valid"] is True
    forged = run_cli(tmp_path, altered(OLD_CODE))
    assert forged.returncode == 1, forged.stderr
    assert json.loads(forged.stdout)["reason"] == "signature_invalid"


def test_an_office_can_copy_the_one_file_and_run_it(tmp_path: Path) -> None:
    source = Path(offline_verify.__file__)
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(ast.parse(source.read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported - set(sys.stdlib_module_names) == {"cryptography"}
    copied = Path(shutil.copy(source, tmp_path / "offline_verify.py"))
    checked = run_cli(tmp_path, OLD_CODE, sys.executable, str(copied))
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["status_checked"] is False


# --- the service ---


async def published_keys(service: ServiceUnderTest) -> dict[str, Any]:
    answer = await service.http.get("/v1/e-certificate/keys")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def test_an_admin_rotates_the_key_and_every_replica_and_restart_keeps_it(
    service_settings: SettingsMaker,
) -> None:
    settings = service_settings(CertificateSettings, ecert_key_refresh_seconds=0.1)
    applicant = make_identity_number("330502", date(1980, 1, 1), 7)
    async with running_service(create_app, settings, UPSTREAM, keep_streams=True) as first:
        code_before = first.app.state.signer.sign(CONTENT)
        key_before = (await published_keys(first))["current_key_id"]
        async with running_service(create_app, settings, UPSTREAM, keep_streams=True) as replica:
            refused = await first.call(
                "POST",
                "/v1/e-certificate/keys/rotation",
                first.token("applicant", "c-1", id_number=applicant),
            )
            assert refused.status_code == 403, refused.text
            rotated = await first.call("POST", "/v1/e-certificate/keys/rotation", first.admin)
            assert rotated.status_code == 201, rotated.text
            key_after = rotated.json()["current_key_id"]
            published = await published_keys(first)
            assert published["current_key_id"] == key_after != key_before
            assert set(published["keys"]) == {key_before, key_after}

            async def replica_signs_with_the_new_key() -> bool:
                return (await published_keys(replica))["current_key_id"] == key_after

            await eventually(replica_signs_with_the_new_key)
        assert verify_offline(code_before, published["keys"], TODAY).valid
    async with running_service(create_app, settings, UPSTREAM) as restarted:
        assert await published_keys(restarted) == published
        assert restarted.app.state.signer.verify(code_before) == CONTENT
        retired = await restarted.call(
            "POST", f"/v1/e-certificate/keys/{key_before}/retirement", restarted.admin
        )
        assert retired.status_code == 200, retired.text
        assert verify_offline(code_before, retired.json()["keys"], TODAY).reason == "unknown_key"
        current = await restarted.call(
            "POST", f"/v1/e-certificate/keys/{key_after}/retirement", restarted.admin
        )
        assert current.status_code == 409
        assert current.json()["code"] == "current_signing_key_not_retirable"


async def test_with_configured_keys_rotation_is_the_operators_task(service_settings: SettingsMaker) -> None:
    seed = base64.b64encode(bytes(range(32))).decode()
    settings = service_settings(CertificateSettings, ecert_signing_seed=seed)
    async with running_service(create_app, settings, UPSTREAM) as service:
        answer = await service.call(
            "POST", "/v1/e-certificate/keys/rotation", service.admin, headers={"Accept-Language": "en"}
        )
        assert answer.status_code == 409, answer.text
        assert answer.json()["code"] == "keys_from_configuration"
        assert "operator" in answer.json()["title"]
        assert (await published_keys(service))["current_key_id"] == OLD_KEY_ID


async def test_a_database_from_before_rotation_keeps_its_key_and_can_rotate(
    service_settings: SettingsMaker,
) -> None:
    settings = service_settings(CertificateSettings)
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute(
            "CREATE TABLE signing_keys (key_id text PRIMARY KEY, private_seed bytea NOT NULL,"
            " created_at timestamptz NOT NULL DEFAULT now())"
        )
        await conn.execute("INSERT INTO signing_keys VALUES ($1, $2)", OLD_KEY_ID, bytes(range(32)))
    finally:
        await conn.close()
    async with running_service(create_app, settings, UPSTREAM) as service:
        assert await published_keys(service) == {
            "algorithm": "Ed25519",
            "current_key_id": OLD_KEY_ID,
            "keys": {OLD_KEY_ID: OLD_PUBLIC_KEY},
        }
        rotated = await service.call("POST", "/v1/e-certificate/keys/rotation", service.admin)
        assert rotated.status_code == 201, rotated.text
        assert verify_offline(OLD_CODE, rotated.json()["keys"], TODAY).valid
