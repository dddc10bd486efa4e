"""The certificate domain, without I/O: applications, the person rule, working days, masking, codes."""

from __future__ import annotations

from datetime import date

import pytest

from dcert_certificate.adapters.ecert import CodeContent, ECertificateSigner, InvalidCode
from dcert_certificate.domain.application import (
    Agent,
    Applicant,
    Application,
    Deadlines,
    Grade,
    Matter,
    Status,
)
from dcert_certificate.domain.certificate import (
    Certificate,
    CertificateStatus,
    Holder,
    RenewalRule,
    mask_name,
    months_before,
    years_later,
)
from dcert_certificate.domain.errors import (
    AlreadyReportedLost,
    ApplicationNotInReviewableState,
    CertificateNotActive,
    LiveCertificateExists,
    OpenApplicationExists,
    OpenMatterExists,
    ReapplicationBarredError,
    RenewalWindowNotOpen,
)
from dcert_certificate.domain.events import AssessmentRequested, PublicNoticeStarted, ReviewOpened
from dcert_certificate.domain.person import Person
from dcert_shared.working_days import WorkingCalendar

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


CALENDAR = WorkingCalendar()
DEADLINES = Deadlines(CALENDAR.add_working_days)


def submitted(birth: date = date(1980, 1, 1), agent: Agent | None = None) -> Application:
    return Application.submit(
        "app-1",
        an_applicant(birth),
        agent,
        Matter(kind="new", declared_category="physical"),
        TODAY,
        DEADLINES,
    )


def graded(application: Application, level: int = 1) -> Application:
    application.result_received("as-1", Grade("physical", level), [], False, TODAY, DEADLINES)
    return application


def test_a_submission_asks_for_an_assessment_with_the_age_not_the_birth_date() -> None:
    application = submitted()
    requested = [e for e in application.pending_events if isinstance(e, AssessmentRequested)]
    assert requested
    assert requested[0].age_years == 46
    assert "birth_date" not in requested[0].published_data()


def test_personal_fields_of_a_submission_are_never_published() -> None:
    published = submitted().pending_events[0].published_data()
    for field in (
        "applicant_id_number",
        "applicant_name",
        "applicant_phone",
        "applicant_address",
        "agent_id_number",
        "agent_name",
        "birth_date",
        "documents",
    ):
        assert field not in published
    # Only the keyed hash names the person, so the notification service can tell them each step.
    assert published["person_ref"] == "ref-1"


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
    assert application.end_public_notice(date(2026, 11, 26), DEADLINES) is False
    assert application.end_public_notice(date(2026, 11, 27), DEADLINES) is True
    assert application.status is Status.ASSESSED
    review = [e for e in application.pending_events if isinstance(e, ReviewOpened)][-1]
    assert review.due_on == date(2026, 12, 11), "10 working days from the end of the notice"


def test_a_matter_without_assessment_goes_straight_to_review() -> None:
    renewal = Application.submit(
        "app-2",
        an_applicant(),
        None,
        Matter(kind="renewal", certificate_number="33050219800101001242", needs_assessment=False),
        TODAY,
        DEADLINES,
    )
    assert not [e for e in renewal.pending_events if isinstance(e, AssessmentRequested)]
    assert renewal.status is Status.SUBMITTED
    renewal.approve("33050219800101001242")
    assert renewal.status is Status.COMPLETED


def test_an_application_cannot_be_approved_before_it_is_assessed() -> None:
    with pytest.raises(ApplicationNotInReviewableState):
        submitted().approve("33050219800101001241")


def test_a_late_duplicate_result_changes_nothing() -> None:
    application = graded(submitted(birth=date(2016, 4, 17)), level=2)
    application.approve("x")
    before = len(application.pending_events)
    application.result_received("as-2", Grade("physical", 1), [], False, TODAY, DEADLINES)
    assert len(application.pending_events) == before
    assert application.grade == Grade("physical", 2)


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
    person.open_new_application("a1", TODAY)
    with pytest.raises(OpenApplicationExists):
        person.open_new_application("a2", TODAY)
    person.close_application("a1")
    person.open_new_application("a3", TODAY)


def test_a_person_with_a_live_certificate_cannot_apply_for_a_new_one() -> None:
    person = Person("ref-1")
    person.open_new_application("a1", TODAY)
    person.certificate_issued("a1", "33050219800101001241")
    with pytest.raises(LiveCertificateExists):
        person.open_new_application("a2", TODAY)
    with pytest.raises(LiveCertificateExists):
        person.record_live("33050219800101001231")


def test_a_voluntary_cancellation_bars_a_new_application_until_the_date() -> None:
    person = Person("ref-1")
    person.bar_reapplication(date(2027, 11, 20))
    with pytest.raises(ReapplicationBarredError):
        person.open_new_application("a1", date(2027, 11, 20))
    person.open_new_application("a1", date(2027, 11, 21))


def issued(number: str = "33050219800101001241") -> Certificate:
    certificate = Certificate(number)
    certificate.issue(
        application_id="a1",
        holder=Holder("ref-1", [], "王小明", "人民路1号", 46),
        category="physical",
        level=1,
        household_region="330502",
        residence_region="330502",
        today=TODAY,
    )
    return certificate


def test_a_certificate_is_valid_for_ten_years() -> None:
    assert issued().expires_on == date(2036, 11, 20)
    assert years_later(date(2024, 2, 29), 10) == date(2034, 2, 28)
    assert months_before(date(2036, 8, 31), 6) == date(2036, 2, 29)


def test_renewal_opens_in_its_window_and_after_expiry() -> None:
    certificate = issued()
    rule = RenewalRule(window_months=6, reminder_days_before_window=30)
    with pytest.raises(RenewalWindowNotOpen):
        certificate.require_renewable(date(2036, 5, 19), rule)
    certificate.require_renewable(date(2036, 5, 20), rule)
    assert certificate.expire(date(2036, 11, 20)) is False, "the last valid day is still valid"
    assert certificate.expire(date(2036, 11, 21)) is True
    assert certificate.expire(date(2036, 11, 22)) is False
    certificate.require_renewable(date(2037, 1, 1), rule)


def test_the_renewal_reminder_comes_once_per_validity() -> None:
    certificate = issued()
    rule = RenewalRule(window_months=6, reminder_days_before_window=30)
    assert certificate.remind_renewal(date(2036, 4, 19), rule) is False
    assert certificate.remind_renewal(date(2036, 4, 20), rule) is True
    assert certificate.remind_renewal(date(2036, 4, 21), rule) is False


def test_one_matter_at_a_time_and_one_loss_report() -> None:
    certificate = issued()
    certificate.open_matter_for("m1", "renewal")
    with pytest.raises(OpenMatterExists):
        certificate.open_matter_for("m2", "transfer")
    certificate.report_lost(TODAY)
    with pytest.raises(AlreadyReportedLost):
        certificate.report_lost(TODAY)
    assert certificate.next_replacement_number() == "33050219800101001241B1"


def test_a_closed_certificate_refuses_matters_with_its_status() -> None:
    certificate = issued()
    certificate.cancel("voluntary", TODAY)
    with pytest.raises(CertificateNotActive) as refused:
        certificate.require_status(CertificateStatus.ACTIVE)
    assert refused.value.extra == {"certificate_status": "cancelled"}


def test_a_closed_number_can_live_again() -> None:
    certificate = issued()
    certificate.cancel("fraud", TODAY)
    certificate.issue(
        application_id="a2",
        holder=Holder("ref-1", [], "王小明", "人民路1号", 47),
        category="physical",
        level=1,
        household_region="330502",
        residence_region="330502",
        today=date(2027, 12, 1),
    )
    assert certificate.status is CertificateStatus.ACTIVE
    assert certificate.expires_on == date(2037, 12, 1)
    with pytest.raises(LiveCertificateExists):
        certificate.issue(
            application_id="a3",
            holder=Holder("ref-1", [], "王小明", "人民路1号", 47),
            category="physical",
            level=1,
            household_region="330502",
            residence_region="330502",
            today=date(2027, 12, 2),
        )


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
    assert CALENDAR.add_working_days(start, days) == expected


def test_working_days_follow_the_official_holidays_and_worked_weekends() -> None:
    # 2026 National Day: 1-7 October off, Saturday 10 October worked (调休).
    assert CALENDAR.add_working_days(date(2026, 9, 30), 5) == date(2026, 10, 13)
    assert CALENDAR.is_working_day(date(2026, 10, 10))
    assert not CALENDAR.is_working_day(date(2026, 10, 5))


def test_settings_cover_a_year_the_calendar_package_does_not_know_yet() -> None:
    spring_festival = [date(2027, 2, day) for day in range(5, 13)]
    calendar = WorkingCalendar(holidays=spring_festival, workdays=[date(2027, 2, 14)])
    assert calendar.add_working_days(date(2027, 2, 4), 1) == date(2027, 2, 14)
    assert WorkingCalendar().add_working_days(date(2027, 2, 4), 1) == date(2027, 2, 5), "Monday-Friday"


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
    certificate = issued()
    assert certificate.cancel("death", TODAY) is True
    assert certificate.status.value == "cancelled"
    assert certificate.cancel("death", TODAY) is False, "a second report of the same death changes nothing"
    person = Person("ref-1")
    person.certificate_issued("a1", certificate.id)
    person.certificate_closed(certificate.id)
    assert person.live_certificate is None
