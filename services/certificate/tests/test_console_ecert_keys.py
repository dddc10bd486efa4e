"""The operator rotates the e-certificate signing key from the console: the new key signs, the
earlier one keeps verifying; keys that come from configuration are refused, in one line."""

from __future__ import annotations

import base64
import os
import re

from dcert_certificate.adapters import ecert
from dcert_dev.testing import run_console

from .conftest import CertificateService


async def test_the_operator_rotates_the_signing_key_and_earlier_codes_still_verify(
    certificate: CertificateService,
) -> None:
    _, holder, number = await certificate.holder_with_certificate()
    earlier_code = await certificate.code(holder, number)
    before = await ecert.load_or_create_signer(certificate.runtime.pool, None)
    console = {"certificate": certificate.settings}

    rotated = await run_console(console, "--lang", "en", "keys", "rotate-ecert", "--yes")
    assert rotated.status == 0, rotated.errors
    announced = re.fullmatch(
        r"The new signing key (\S+) signs now \(every process loads it within 60 s\)", rotated.output.strip()
    )
    assert announced is not None, rotated.output
    after = await ecert.load_or_create_signer(certificate.runtime.pool, None)
    assert after.key_id == announced[1] != before.key_id
    assert before.key_id in after.public_keys()
    after.verify(earlier_code)  # raises if the earlier code no longer verified

    configured = await run_console(
        console,
        "--lang",
        "en",
        "keys",
        "rotate-ecert",
        "--yes",
        DCERT_ECERT_SIGNING_SEED=base64.b64encode(os.urandom(32)).decode(),
    )
    assert (configured.status, configured.errors.strip()) == (
        1,
        "The signing keys come from configuration (DCERT_ECERT_SIGNING_SEED): change it and restart",
    )
    assert (await ecert.load_or_create_signer(certificate.runtime.pool, None)).key_id == after.key_id
