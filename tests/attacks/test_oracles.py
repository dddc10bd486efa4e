"""Oracles: a request about someone the caller may not act for is answered one way, whatever
that person's state.

Before: with any applicant token, a renewal for `<identity number><category><level>` with a
residence in another province answered 422 `residence_permit` when that certificate existed and
404 when not (at most 28 tries gave a person's category and level); a `new` application naming
oneself agent answered `live_certificate_exists`, `person_erased` or `reapplication_barred until
…` about someone else.
"""

from __future__ import annotations

from typing import Any

from ..system import System, application, new_person
from ..test_main_flow import apply, approved


def _renewal(number: str) -> dict[str, Any]:
    return {"matter": "renewal", "certificate_number": number, "residence_region": "440305", "consent": True}


def test_a_certificate_someone_else_holds_answers_as_one_that_does_not_exist(
    system: System, doctor: str, reviewer: str
) -> None:
    holder = new_person()
    holder_token = system.token("applicant", "oracle-holder", id_number=holder)
    number = approved(system, doctor, reviewer, apply(system, holder_token, application(holder)).json()["id"])
    prober = system.token("applicant", "oracle-prober", id_number=new_person())
    answers = []
    for probe in (number, number[:18] + "11", number[:18] + "73"):  # the real one, and two guesses
        answer = system.call("certificate", "POST", "/v1/applications", _renewal(probe), prober)
        answers.append((answer.status_code, answer.json()["code"]))
    assert answers == [(404, "certificate_not_found")] * 3


def test_a_new_application_as_someones_agent_is_answered_alike_whatever_their_state(
    system: System, doctor: str, reviewer: str, admin: str
) -> None:
    holder, nobody, erased = new_person(), new_person(), new_person()
    holder_token = system.token("applicant", "oracle-live", id_number=holder)
    approved(system, doctor, reviewer, apply(system, holder_token, application(holder)).json()["id"])
    erasure = {"id_number": erased, "legal_basis": "consent_withdrawn"}
    assert system.call("certificate", "POST", "/v1/people/erasure", erasure, admin).status_code == 200
    prober_id = new_person()
    prober = system.token("applicant", "oracle-agent", id_number=prober_id)
    shapes = []
    for person in (holder, nobody, erased):
        answer = apply(system, prober, application(person, agent=prober_id))
        body = answer.json()
        shapes.append((answer.status_code, sorted(body), body.get("status"), body.get("matter")))
    assert shapes[0] == shapes[1] == shapes[2] == (201, ["id", "matter", "status"], "submitted", "new")
