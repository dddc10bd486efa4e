"""The OpenAPI documents tell the truth (issue 19): schemathesis, from outside and with every
check it has (`--checks all`), sends each operation of the four services requests drawn from its
document, valid and invalid, alone and in sequences that follow the documented links. Every
request the document allows is accepted, every one it forbids is refused with a problem, no
answer is a server error or differs from what the document declares, and a 405 names in `Allow`
the methods the path has.

The run is bounded and deterministic (tests/schemathesis.toml: seed, examples per operation);
values the documents describe with a named `format` are drawn by tests/openapi_hooks.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .system import SERVICES, System, created, new_person

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "tests" / "schemathesis.toml"
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
REGION = "330502"


@pytest.fixture(scope="module")
def callers(fuzzed_system: System) -> dict[str, str]:
    """The tokens tests/schemathesis.toml names: an admin, and the roles that do what an admin
    may not, each with a real record behind it where the role needs one."""
    system = fuzzed_system
    admin = system.token("admin", "conformance-admin")
    hospital = {"name": "南浔区人民医院", "region": REGION, "categories": ["physical"]}
    doctor = {
        "name": "张医生",
        "institution_id": created(system, "assessment", "/v1/institutions", hospital, admin),
        "license_no": "LIC-CONFORMANCE-1",
        "categories": ["physical"],
    }
    civil_affairs = {
        "name": "残联",
        "policy": {"event_types": ["CertificateIssued"], "fields": ["category"], "facts": ["death"]},
    }
    doctor_id = created(system, "assessment", "/v1/doctors", doctor, admin)
    partner_id = created(system, "notification", "/v1/partners", civil_affairs, admin)
    return {
        "DCERT_CONFORMANCE_ADMIN": admin,
        "DCERT_CONFORMANCE_APPLICANT": system.token(
            "applicant", "conformance-applicant", id_number=new_person()
        ),
        "DCERT_CONFORMANCE_CARD_CENTRE": system.token("card_centre", "conformance-cards", region=REGION),
        "DCERT_CONFORMANCE_DOCTOR": system.token("doctor", "conformance-doctor", doctor_id=doctor_id),
        "DCERT_CONFORMANCE_PARTNER": system.token("partner", "conformance-partner", partner_id=partner_id),
        "DCERT_CONFORMANCE_REVIEWER": system.token("reviewer", "conformance-reviewer", region=REGION),
    }


@pytest.mark.parametrize("service", SERVICES)
def test_every_answer_is_what_the_openapi_document_says(
    service: str, fuzzed_system: System, callers: dict[str, str], tmp_path: Path
) -> None:
    run = subprocess.run(
        [str(SCHEMATHESIS), "--config-file", str(CONFIG), "--no-color", "run", "--checks", "all"]
        + [fuzzed_system.url(service, "/openapi.json")],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # where schemathesis keeps its cache
        env={**os.environ, **callers, "SCHEMATHESIS_HOOKS": "tests.openapi_hooks", "PYTHONPATH": str(ROOT)},
        timeout=600,
    )
    cases = re.search(r"(\d+) generated", run.stdout)
    print(f"{service}: {cases.group(0) if cases else 'no cases'}")
    assert run.returncode == 0, run.stdout[run.stdout.find("FAILURES") :] or run.stdout + run.stderr
