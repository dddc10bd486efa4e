"""The applicant's one timeline: the application's events and its card's, as steps with roles.

To the applicant a step names the role that acted (reviewer, doctor, card centre), never a
person. Titles in zh-CN and en.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from dcert_shared.envelope import EventEnvelope

from .schemas import TimelineEntry

STEP_TITLES: Mapping[str, tuple[str, str]] = {
    "submitted": ("已提交申请", "Application submitted"),
    "assessment_requested": ("已申请残疾评定", "Assessment requested"),
    "assessment_scheduled": ("已安排评定医生", "Assessment scheduled with a doctor"),
    "assessed": ("评定结果已出具", "Assessment result recorded"),
    "public_notice_started": ("评定结果公示中", "Result posted for public notice"),
    "public_notice_ended": ("公示期满", "Public notice ended"),
    "review_opened": ("进入审核", "Waiting for review"),
    "disputed": ("已申请复核（重新评定）", "Re-assessment requested"),
    "migration_certificate_issued": ("迁出地已出具迁移证明", "Migration certificate issued"),
    "approved": ("审核通过", "Approved"),
    "rejected": ("审核不通过", "Rejected"),
    "returned": ("退回补正", "Returned for correction"),
    "resubmitted": ("补正后重新提交", "Resubmitted after correction"),
    "withdrawn": ("申请已撤回", "Withdrawn"),
    "card_ordered": ("已向制卡中心下单制卡", "Card ordered from the card centre"),
    "card_in_production": ("证卡制作中", "Card in production"),
    "card_produced": ("证卡已制成", "Card produced"),
    "card_dispatched": ("证卡已寄出", "Card dispatched"),
    "card_delivered": ("证卡已送达", "Card delivered"),
    "card_collected": ("证卡已领取", "Card collected"),
    "card_lost": ("证卡已挂失", "Card reported lost"),
    "card_invalidated": ("证卡已作废", "Card invalidated"),
    # what comes next
    "assessment": ("等待残疾评定", "Assessment by a doctor"),
    "public_notice_end": ("等待公示期满", "Public notice period"),
    "review": ("等待审核", "Review by the federation"),
    "resubmission": ("请补正后重新提交", "Correct and resubmit"),
    "card_delivery": ("等待证卡制作和送达", "Card production and delivery"),
}

_STEPS: Mapping[str, tuple[str, str | None]] = {
    # event type: (step, the role that acts in it; None: whoever the event records)
    "ApplicationSubmitted": ("submitted", None),
    "AssessmentRequested": ("assessment_requested", None),
    "AssessmentAssigned": ("assessment_scheduled", "assessment_institution"),
    "AssessmentResultReceived": ("assessed", "doctor"),
    "PublicNoticeStarted": ("public_notice_started", "system"),
    "PublicNoticeEnded": ("public_notice_ended", "system"),
    "ReviewOpened": ("review_opened", "system"),
    "AssessmentDisputed": ("disputed", None),
    "MigrationCertificateIssued": ("migration_certificate_issued", "reviewer"),
    "ApplicationApproved": ("approved", "reviewer"),
    "ApplicationRejected": ("rejected", None),  # a reviewer, or the system when the matter became moot
    "ApplicationReturned": ("returned", "reviewer"),
    "ApplicationResubmitted": ("resubmitted", None),
    "ApplicationWithdrawn": ("withdrawn", None),
    "CardOrdered": ("card_ordered", "reviewer"),
    "CardProductionStarted": ("card_in_production", "card_centre"),
    "CardProduced": ("card_produced", "card_centre"),
    "CardDispatched": ("card_dispatched", "card_centre"),
    "CardReportedLost": ("card_lost", None),
    "CardInvalidated": ("card_invalidated", "system"),
}


def _entry(envelope: EventEnvelope, language: str) -> TimelineEntry | None:
    step_and_role = _STEPS.get(envelope.event_type)
    if envelope.event_type == "CardDelivered":
        step_and_role = (
            "card_collected" if envelope.payload.get("collected") else "card_delivered",
            "card_centre",
        )
    if step_and_role is None:
        return None
    step, role = step_and_role
    if role is None:
        role = envelope.actor.role if envelope.actor else "system"
        role = "system" if role == "service" else role
    payload = envelope.payload
    return TimelineEntry(
        step=step,
        title=STEP_TITLES[step][1 if language == "en" else 0],
        at=envelope.occurred_at,
        actor_role=role,
        region=payload.get("region") or payload.get("to_region"),
        due_on=payload.get("due_on") or payload.get("notice_until"),
    )


def timeline_entries(events: Iterable[EventEnvelope], language: str) -> list[TimelineEntry]:
    """The steps of an application's (and its cards') events, in their order."""
    entries = (_entry(envelope, language) for envelope in events)
    return [entry for entry in entries if entry is not None]
