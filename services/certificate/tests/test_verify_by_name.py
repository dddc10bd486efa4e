"""A second-generation card has no code: anyone verifies it by its number and its holder's name,
and learns nothing about a number from a wrong name."""

from __future__ import annotations

from typing import Any

from .conftest import CertificateService, new_person


async def verified(certificate: CertificateService, number: str, name: str) -> dict[str, Any]:
    answer = await certificate.http.post("/v1/verify", json={"certificate_number": number, "name": name})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def test_a_card_verifies_by_number_and_name_with_the_masked_answer_of_a_code(
    certificate: CertificateService,
) -> None:
    _, holder, number = await certificate.holder_with_certificate(level=2)
    by_name = await verified(certificate, number, "李明华")
    by_code = await certificate.verify(await certificate.code(holder, number))
    assert by_name["valid"] is True
    assert by_name["generation"] == 3
    assert by_name["holder"] == "李*华"
    shared = ("valid", "status", "category", "level", "expires_on", "holder", "reason_code")
    assert {key: by_name[key] for key in shared} == {key: by_code[key] for key in shared}
    # As people type a name: spaces, a full-width space, a lower-case x in the number.
    assert (await verified(certificate, number.lower(), " 李明\u3000华 "))["valid"] is True


async def test_a_wrong_name_answers_exactly_as_a_number_that_does_not_exist(
    certificate: CertificateService,
) -> None:
    _, _, number = await certificate.holder_with_certificate()
    wrong_name = await verified(certificate, number, "王明华")
    nobody = await verified(certificate, new_person() + "12", "李明华")
    assert wrong_name == nobody
    assert wrong_name["valid"] is False
    assert wrong_name["reason_code"] == "certificate_unknown"
    assert "holder" not in wrong_name or wrong_name["holder"] is None


async def test_a_lost_card_stops_verifying_by_name_at_once(certificate: CertificateService) -> None:
    _, holder, number = await certificate.holder_with_certificate()
    lost = await certificate.call("POST", f"/v1/certificates/{number}/loss-report", holder)
    assert lost.status_code in (200, 201), lost.text
    answer = await verified(certificate, number, "李明华")
    assert (answer["valid"], answer["status"], answer["reason_code"]) == (False, "lost", "certificate_lost")


async def test_a_body_with_a_code_and_a_name_is_refused(certificate: CertificateService) -> None:
    answer = await certificate.http.post("/v1/verify", json={"code": "DC1.x", "name": "李明华"})
    assert answer.status_code == 422
