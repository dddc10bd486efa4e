"""Notices to people (办事进度通知): which event tells whom what, when, in zh-CN and en.

A notice goes to the person an event is about and to each registered agent (a parent, a
guardian), in each one's language, through the in-app inbox and, where they gave a phone or an
e-mail, by SMS and e-mail. Templates hold only what the step needs: a masked certificate number,
a date, a benefit's name; never a name, an identity number or a health finding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from string import Template
from typing import Literal
from zoneinfo import ZoneInfo

from dcert_shared.working_days import WorkingCalendar

CHINA = ZoneInfo("Asia/Shanghai")
Language = Literal["zh-CN", "en"]  # what a notice is written in


class NoticeKind(StrEnum):
    APPLICATION_RECEIVED = "application_received"
    DOCUMENTS_MISSING = "documents_missing"  # 退回补正: a missing or wrong document
    APPOINTMENT_BOOKED = "appointment_booked"
    APPOINTMENT_TOMORROW = "appointment_tomorrow"  # reminder
    RESULT_RECORDED = "result_recorded"
    DISPUTE_DEADLINE = "dispute_deadline"  # reminder: the last day to ask for re-assessment
    APPLICATION_APPROVED = "application_approved"
    APPLICATION_REJECTED = "application_rejected"
    CERTIFICATE_ISSUED = "certificate_issued"
    CARD_READY = "card_ready"  # reminder: ready to collect at the counter
    CARD_DISPATCHED = "card_dispatched"
    RENEWAL_WINDOW = "renewal_window"  # reminder: the renewal window opens
    CERTIFICATE_CANCELLED = "certificate_cancelled"
    BENEFIT_GRANTED = "benefit_granted"
    BENEFIT_ENDED = "benefit_ended"
    APPLIED_IN_YOUR_NAME = "applied_in_your_name"  # to the person: someone named themself your agent
    CERTIFICATE_ON_HOLD = "certificate_on_hold"  # 暂停: a death was reported; say so if it is wrong
    CERTIFICATE_RESTORED = "certificate_restored"  # the hold lifted, or a mistaken death corrected


# The steps of an application: whoever made it is told of them, verified or not. What follows
# (the certificate, the card, benefits) is the person's record: their verified agents only.
APPLICATION_STEPS = frozenset(
    {
        NoticeKind.APPLICATION_RECEIVED,
        NoticeKind.DOCUMENTS_MISSING,
        NoticeKind.APPOINTMENT_BOOKED,
        NoticeKind.APPOINTMENT_TOMORROW,
        NoticeKind.RESULT_RECORDED,
        NoticeKind.DISPUTE_DEADLINE,
        NoticeKind.APPLICATION_APPROVED,
        NoticeKind.APPLICATION_REJECTED,
    }
)


# (zh-CN title, zh-CN text, en title, en text); $placeholders come from the event.
TEMPLATES: Mapping[NoticeKind, tuple[str, str, str, str]] = {
    NoticeKind.APPLIED_IN_YOUR_NAME: (
        "有人以代办人身份为您提交了申请",
        "有人自称您的代办人，以您的名义提交了残疾人证申请。如非您本人委托，请登录“我的申请”查看并撤回；"
        "在审核人员核实之前，代办人看不到您的任何信息。",
        "Someone applied in your name",
        "Someone who says they are your agent applied for a disability certificate in your name. If you did"
        " not ask them to, sign in, see it under My applications and withdraw it; until a reviewer verifies"
        " them, they see nothing of your record.",
    ),
    NoticeKind.APPLICATION_RECEIVED: (
        "残疾人证申请已受理",
        "您的残疾人证申请（$matter_zh）已受理，我们会在每一步通知您。",
        "Application received",
        "Your disability certificate application ($matter_en) was received. We will tell you at every step.",
    ),
    NoticeKind.DOCUMENTS_MISSING: (
        "申请需要补正材料",
        "您的申请被退回补正，请登录查看需要补充或更正的材料后重新提交，无需重新申请。",
        "Documents needed",
        "Your application was returned for correction. Sign in to see what to add or correct, then resubmit;"
        " you do not need to apply again.",
    ),
    NoticeKind.APPOINTMENT_BOOKED: (
        "评定预约成功",
        "残疾评定预约时间：$starts_at_local$home_visit_zh。",
        "Assessment booked",
        "Your disability assessment is booked for $starts_at_local$home_visit_en.",
    ),
    NoticeKind.APPOINTMENT_TOMORROW: (
        "明天有残疾评定",
        "提醒：您的残疾评定在明天 $starts_at_local$home_visit_zh，请携带身份证件和既往病历。",
        "Assessment tomorrow",
        "Reminder: your disability assessment is tomorrow, $starts_at_local$home_visit_en."
        " Please bring your identity document and earlier medical records.",
    ),
    NoticeKind.RESULT_RECORDED: (
        "残疾评定结果已出",
        "评定结果已出。如有异议，可在 $dispute_until 前申请复核。",
        "Assessment result",
        "Your assessment result is ready. If you disagree, you may ask for a re-assessment until $dispute_until.",
    ),
    NoticeKind.DISPUTE_DEADLINE: (
        "复核申请即将截止",
        "提醒：对评定结果申请复核的截止日期是 $dispute_until。",
        "Re-assessment deadline",
        "Reminder: the last day to ask for a re-assessment of your result is $dispute_until.",
    ),
    NoticeKind.APPLICATION_APPROVED: (
        "残疾人证申请已通过",
        "您的申请已审核通过，证号 $certificate_masked。",
        "Application approved",
        "Your application was approved: certificate $certificate_masked.",
    ),
    NoticeKind.APPLICATION_REJECTED: (
        "残疾人证申请未通过",
        "您的申请未通过审核。请登录查看原因；如有异议，可依法申请复核。",
        "Application not approved",
        "Your application was not approved. Sign in to see why; you may ask for a review as the law provides.",
    ),
    NoticeKind.CERTIFICATE_ISSUED: (
        "残疾人证已核发",
        "残疾人证 $certificate_masked 已核发，有效期至 $expires_on。电子证照已可使用。",
        "Certificate issued",
        "Certificate $certificate_masked is issued, valid until $expires_on. The electronic certificate is ready.",
    ),
    NoticeKind.CARD_READY: (
        "证卡可以领取",
        "您的残疾人证卡（$certificate_masked）已制作完成，请携带身份证件到受理窗口领取。",
        "Card ready to collect",
        "Your certificate card ($certificate_masked) is ready: collect it at the counter with your identity"
        " document.",
    ),
    NoticeKind.CARD_DISPATCHED: (
        "证卡已寄出",
        "您的残疾人证卡（$certificate_masked）已寄出。",
        "Card posted",
        "Your certificate card ($certificate_masked) has been posted.",
    ),
    NoticeKind.RENEWAL_WINDOW: (
        "残疾人证即将到期",
        "残疾人证 $certificate_masked 将于 $expires_on 到期，自 $window_opens_on 起可办理换领。",
        "Certificate renewal",
        "Certificate $certificate_masked expires on $expires_on; you can renew it from $window_opens_on.",
    ),
    NoticeKind.CERTIFICATE_CANCELLED: (
        "残疾人证已注销",
        "残疾人证 $certificate_masked 已注销。",
        "Certificate cancelled",
        "Certificate $certificate_masked has been cancelled.",
    ),
    NoticeKind.BENEFIT_GRANTED: (
        "补贴已认定",
        "已认定享受$benefit_zh，自 $active_from 起。",
        "Benefit granted",
        "You receive the $benefit_en from $active_from.",
    ),
    NoticeKind.BENEFIT_ENDED: (
        "补贴停止",
        "$benefit_zh 发放至 $active_to。",
        "Benefit ends",
        "The $benefit_en is paid until $active_to.",
    ),
    NoticeKind.CERTIFICATE_ON_HOLD: (
        "残疾人证暂停使用",
        "有关部门报告持证人已身故，残疾人证 $certificate_masked 暂停使用，补贴暂停发放，待户籍所在地工作人员核实。"
        "如报告有误，请尽快携带身份证件联系当地残联；核实有误的，证件恢复并补发暂停期间的补贴。",
        "Certificate on hold",
        "An agency reported the holder's death: certificate $certificate_masked is on hold and benefits are"
        " suspended until staff of the household region have checked it. If this is wrong, contact the local"
        " disabled persons' federation with an identity document; the certificate is then restored and the"
        " benefits held back are paid.",
    ),
    NoticeKind.CERTIFICATE_RESTORED: (
        "残疾人证已恢复",
        "残疾人证 $certificate_masked 已恢复有效，暂停期间的补贴将随下次发放补发。",
        "Certificate restored",
        "Certificate $certificate_masked is valid again; the benefits held back are paid with the next"
        " monthly payment.",
    ),
}

MATTERS = {
    "new": ("新办", "new certificate"),
    "renewal": ("换领", "renewal"),
    "replacement": ("补领", "replacement"),
    "grade_change": ("等级变更", "grade change"),
    "transfer": ("迁移", "transfer"),
    "cancellation": ("注销", "cancellation"),
}
BENEFITS = {
    "living_subsidy": ("困难残疾人生活补贴", "living subsidy"),
    "nursing_subsidy": ("重度残疾人护理补贴", "nursing subsidy"),
    "free_transit_blind": ("盲人免费乘坐市内公共交通", "free city transit"),
    "pension_contribution_severe": ("重度残疾人养老保险代缴", "pension contributions"),
    "child_rehabilitation": ("残疾儿童康复救助", "child rehabilitation"),
    "free_psychiatric_medication": ("精神残疾人免费服药", "free psychiatric medication"),
}


@dataclass(frozen=True)
class PlannedNotice:
    kind: NoticeKind
    params: dict[str, str]
    due_at: datetime | None = None  # a reminder: not before this time; None: now
    replaces: NoticeKind | None = None  # a pending notice of this kind for the same subject goes
    to_person_only: bool = False  # not to the agents: it is about them


@dataclass(frozen=True)
class NoticeRules:
    calendar: WorkingCalendar
    dispute_working_days: int = 10
    reminder_hour: int = 9  # reminders go out at 09:00 China time

    def appointment_booked(self, starts_at: str, home_visit: bool) -> list[PlannedNotice]:
        """The booking, and a reminder the day before at `reminder_hour` (replacing an earlier
        one: the appointment moved)."""
        local_start = datetime.fromisoformat(starts_at).astimezone(CHINA)
        params = {
            "starts_at_local": local_start.strftime("%Y-%m-%d %H:%M"),
            "home_visit_zh": "（上门评定）" if home_visit else "",
            "home_visit_en": " (a home visit)" if home_visit else "",
        }
        remind_at = datetime.combine(local_start.date() - timedelta(days=1), time(self.reminder_hour), CHINA)
        return [
            PlannedNotice(NoticeKind.APPOINTMENT_BOOKED, params),
            PlannedNotice(
                NoticeKind.APPOINTMENT_TOMORROW,
                params,
                due_at=remind_at,
                replaces=NoticeKind.APPOINTMENT_TOMORROW,
            ),
        ]

    def grade_recorded(self, round: int, recorded_at: datetime) -> list[PlannedNotice]:
        """The result and the last day to dispute it, with a reminder two working days before
        (none after the provincial committee's answer, round 2: it is final)."""
        if round >= 2:
            return []
        recorded_on = recorded_at.astimezone(CHINA).date()
        until = self.calendar.add_working_days(recorded_on, self.dispute_working_days)
        params = {"dispute_until": until.isoformat()}
        remind_on = self.calendar.add_working_days(recorded_on, self.dispute_working_days - 2)
        return [
            PlannedNotice(NoticeKind.RESULT_RECORDED, params),
            PlannedNotice(
                NoticeKind.DISPUTE_DEADLINE,
                params,
                due_at=datetime.combine(remind_on, time(self.reminder_hour), CHINA),
                replaces=NoticeKind.DISPUTE_DEADLINE,
            ),
        ]


def application_received(matter: str | None) -> list[PlannedNotice]:
    zh, en = MATTERS.get(str(matter), (str(matter),) * 2)
    return [PlannedNotice(NoticeKind.APPLICATION_RECEIVED, {"matter_zh": zh, "matter_en": en})]


def about_certificate(kind: NoticeKind, certificate_number: str | None, **params: str) -> list[PlannedNotice]:
    """A notice about a certificate: its number masked, and any dates it names."""
    return [PlannedNotice(kind, {"certificate_masked": mask_certificate(certificate_number or ""), **params})]


def about_benefit(kind: NoticeKind, benefit: str, **params: str) -> list[PlannedNotice]:
    zh, en = BENEFITS.get(benefit, (benefit,) * 2)
    return [PlannedNotice(kind, {"benefit_zh": zh, "benefit_en": en, **params})]


def render(kind: NoticeKind, language: str, params: Mapping[str, str]) -> tuple[str, str]:
    """(title, text) in `language` (zh-CN unless en)."""
    zh_title, zh_text, en_title, en_text = TEMPLATES[kind]
    if language == "en":
        return en_title, Template(en_text).safe_substitute(params)
    return zh_title, Template(zh_text).safe_substitute(params)


def mask_certificate(number: str) -> str:
    """3305**********1234-style: the region and the last four characters of the identity part."""
    return number[:4] + "*" * 10 + number[14:18] if len(number) >= 18 else "*" * len(number)
