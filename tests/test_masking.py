"""Identity and certificate numbers and names are masked for anyone but the holder, their agent
and the staff who act on them (docs/domain.md, data protection)."""

from __future__ import annotations

import json
from datetime import date

from .conftest import REGION
from .system import System, application, new_person, wait_for
from .test_main_flow import apply, approved


def test_an_admin_reads_numbers_masked_while_the_holder_agent_and_reviewer_read_them_whole(
    system: System, doctor: str, reviewer: str, admin: str
) -> None:
    child, parent = new_person(birth=date(2018, 6, 1)), new_person()
    parent_token = system.token("applicant", "citizen-mask", id_number=parent)
    application_id = apply(system, parent_token, application(child, agent=parent)).json()["id"]
    number = approved(system, doctor, reviewer, application_id)
    masked = child[:4] + "*" * 10 + child[14:18] + number[18:]

    def read(service: str, path: str, token: str) -> str:
        answer = system.call(service, "GET", path, token=token)
        assert answer.status_code == 200, answer.text
        return json.dumps(answer.json(), ensure_ascii=False)

    for token in (parent_token, reviewer):
        assert number in read("certificate", f"/v1/applications/{application_id}", token)
        assert number in read("certificate", f"/v1/certificates/{number}", token)
    for path in (f"/v1/applications/{application_id}", f"/v1/certificates/{number}", "/v1/cards?limit=500"):
        seen = read("certificate", path, admin)
        assert child not in seen, path
        assert number not in seen, path
    assert masked in read("certificate", f"/v1/certificates/{number}", admin)
    report = f"/v1/reports/entitlements?region={REGION}"
    wait_for(
        lambda: (
            system.call("benefits", "GET", f"/v1/certificates/{number}/benefits", token=admin).status_code
            == 200
        )
    )
    assert child not in read("benefits", report, admin)
    # Names are masked for everyone, the holder's own answers included.
    for token in (parent_token, reviewer, admin):
        assert "王小明" not in read("certificate", f"/v1/applications/{application_id}", token)
