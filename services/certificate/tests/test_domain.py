"""The certificate domain, without I/O: applications, the person rule, working days, masking, codes."""

from __future__ import annotations

from datetime import date

import pytest

from dcert_certificate.adapters.ecert import CodeContent, ECertificateSigner, InvalidCode
from dcert_certificate.domain.application import Agent, Applicant, Application, Grade, Status
from dcert_certificate.domain.certificate import Certificate, mask_name, years_later
from dcert_certificate.domain.errors import (
    ApplicationNotInReviewableState,
    LiveCertificateExists,
    OpenApplicationExists,
)
from dcert_certificate.domain.events import AssessmentRequested, PublicNoticeStarted
from dcert_certificate.domain.person import Person
from dcert_certificate.domain.working_days import add_working_days

TODAY = date(2026, 11, 20)  # a Friday


def an_applicant(birth: date = date(1980, 1, 1)) -> Applicant:
    return Applicant(
        id_number="330502198001010012",
        name="王小明",
        phone="13800000000",
        address="人民路1号",
        household_region="330502",
        residence_region="330502",
        birth_date=birth,
        person_ref="ref-1",
    )


def submitted(birth: date = date(1980, 1, 1), agent: Agent | None = None) -> Application:
    return Application.submit_new("app-1", an_applicant(birth), agent, "physical", False, TODAY)


def graded(application: Application, level: int = 1) -> Application:
    application.result_received("as-1", Grade("physical", level), [], False, TODAY, 5, frozenset())
    return application


def test_a_submission_asks_for_an_assessment_with_the_age_not_the_birth_date() -> None:
    application = submitted()
    requested = [e for e in application.pending_events if isinstance(e, AssessmentRequested)]
    assert requested and requested[0].age_years == 46
    assert "birth_date" not in requested[0].published_data()


def test_personal_fields_of_a_submission_are_never_published() -> None:
    published = submitted().pending_events[0].published_data()
    for field in (
        "applicant_id_number",
        "applicant_name",
        "applicant_phone",
        "applicant_address",
        "person_ref",
    ):
        assert field not in published


def test_an_adults_result_is_posted_for_five_working_days() -> None:
    application = graded(submitted())
    assert application.status is Status.PUBLIC_NOTICE
    notice = [e for e in application.pending_events if isinstance(e, PublicNoticeStarted)][0]
    assert notice.notice_until == date(2026, 11, 27)  # Friday + 5 working days, over the weekend


def test_a_minors_result_is_not_posted_and_goes_straight_to_review() -> None:
    application = graded(submitted(birth=date(2016, 4, 17)))
    assert application.status is Status.ASSESSED
    assert not [e for e in application.pending_events if isinstance(e, PublicNoticeStarted)]


def test_the_public_notice_ends_only_when_its_period_has_passed() -> None:
    application = graded(submitted())
    assert application.end_public_notice(date(2026, 11, 26)) is False
    assert application.end_public_notice(date(2026, 11, 27)) is True
    assert application.status is Status.ASSESSED


def test_an_application_cannot_be_approved_before_it_is_assessed() -> None:
    with pytest.raises(ApplicationNotInReviewableState):
        submitted().approve("33050219800101001241")


def test_a_late_duplicate_result_changes_nothing() -> None:
    application = graded(submitted(birth=date(2016, 4, 17)), level=2)
    application.approve("x")
    before = len(application.pending_events)
    application.result_received("as-2", Grade("physical", 1), [], False, TODAY, 5, frozenset())
    assert len(application.pending_events) == before and application.grade == Grade("physical", 2)


def test_replaying_the_events_rebuilds_the_same_application() -> None:
    application = graded(submitted(birth=date(2016, 4, 17)))
    replayed = Application.rehydrate("app-1", application.pending_events)
    assert (replayed.status, replayed.grade, replayed.is_minor) == (
        application.status,
        application.grade,
        True,
    )


def test_one_open_new_application_per_person() -> None:
    person = Person("ref-1")
    person.open_new_application("a1")
    with pytest.raises(OpenApplicationExists):
        person.open_new_application("a2")
    person.close_application("a1")
    person.open_new_application("a3")


def test_a_person_with_a_live_certificate_cannot_apply_for_a_new_one() -> None:
    person = Person("ref-1")
    person.open_new_application("a1")
    person.certificate_issued("a1", "33050219800101001241")
    with pytest.raises(LiveCertificateExists):
        person.open_new_application("a2")


def test_a_certificate_is_valid_for_ten_years_and_orders_a_card() -> None:
    certificate = Certificate.issue(
        "33050219800101001241",
        application_id="a1",
        person_ref="r",
        agent_refs=[],
        category="physical",
        level=1,
        household_region="330502",
        residence_region="330502",
        age_years=46,
        holder_name="王小明",
        today=TODAY,
    )
    assert certificate.expires_on == date(2036, 11, 20) and certificate.card_status == "ordered"
    assert years_later(date(2024, 2, 29), 10) == date(2034, 2, 28)


@pytest.mark.parametrize(
    ("name", "masked"), [("王小明", "王*明"), ("王明", "王*"), ("欧阳小明", "欧**明"), ("王", "*")]
)
def test_names_are_masked_for_anyone_but_the_holder(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (date(2026, 11, 20), 0, date(2026, 11, 20)),
        (date(2026, 11, 20), 1, date(2026, 11, 23)),
        (date(2026, 11, 23), 10, date(2026, 12, 7)),
    ],
)
def test_working_days_skip_weekends(start: date, days: int, expected: date) -> None:
    assert add_working_days(start, days) == expected


def test_working_days_skip_configured_holidays() -> None:
    assert add_working_days(date(2026, 9, 30), 1, {date(2026, 10, 1), date(2026, 10, 2)}) == date(2026, 10, 5)


CONTENT = CodeContent(
    serial="ab" * 16, category=4, level=1, expires_on=date(2036, 11, 20), holder_masked="王*明"
)


def test_an_e_certificate_code_verifies_and_is_compact_enough_for_a_qr_code() -> None:
    signer = ECertificateSigner.from_seed(bytes(32))
    code = signer.sign(CONTENT)
    assert signer.verify(code) == CONTENT
    assert len(code) < 300


@pytest.mark.parametrize("tamper", ["payload", "signature", "key", "format"])
def test_an_altered_code_does_not_verify(tamper: str) -> None:
    signer = ECertificateSigner.from_seed(bytes(32))
    prefix, key_id, payload, signature = signer.sign(CONTENT).split(".")
    forged = {
        "payload": f"{prefix}.{key_id}.{payload[:-2]}AA.{signature}",
        "signature": f"{prefix}.{key_id}.{payload}.{signature[:-3]}AAA",
        "key": f"{prefix}.00000000.{payload}.{signature}",
        "format": f"{payload}.{signature}",
    }[tamper]
    with pytest.raises(InvalidCode):
        signer.verify(forged)


def test_a_code_signed_by_another_key_does_not_verify() -> None:
    other = ECertificateSigner.from_seed(bytes(range(32)))
    with pytest.raises(InvalidCode):
        ECertificateSigner.from_seed(bytes(32)).verify(other.sign(CONTENT))


def test_a_cancelled_certificate_stays_cancelled_and_frees_the_person() -> None:
    certificate = Certificate.issue(
        "33050219800101001241",
        application_id="a1",
        person_ref="ref-1",
        agent_refs=[],
        category="physical",
        level=1,
        household_region="330502",
        residence_region="330502",
        age_years=46,
        holder_name="王小明",
        today=TODAY,
    )
    assert certificate.cancel("death", TODAY) is True
    assert certificate.status.value == "cancelled"
    assert certificate.cancel("death", TODAY) is False, "a second report of the same death changes nothing"
    person = Person("ref-1")
    person.certificate_issued("a1", certificate.id)
    person.certificate_closed(certificate.id)
    assert person.live_certificate is None
