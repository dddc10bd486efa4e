"""The people and the staff of the load: fresh identity numbers, the institution, doctor and
reviewers, the partner agency with its policy and webhook, and the doctor working her list.
Identity numbers stay in this process: nothing printed names a person."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from dcert_shared.ids import make_identity_number

from .client import Api, Token, Unavailable, UnexpectedAnswer

HOME = "330502"  # 湖州市吴兴区: where everyone lives and is registered, and the doctor works
NEAR = "330503"  # 湖州市南浔区: a transfer within the province
AWAY = "310101"  # 上海市黄浦区: a transfer to another province

# What the partner agency (民政局) is granted and subscribes to.
PARTNER_EVENT_TYPES = [
    "CertificateIssued",
    "CertificateRenewed",
    "CertificateReplaced",
    "CertificateGradeChanged",
    "CertificateTransferred",
    "CertificateCancelled",
    "BenefitActivated",
    "BenefitTerminated",
]
PARTNER_FIELDS = ["certificate_number", "category", "level", "expires_on", "benefit", "reason_code"]
PARTNER_FACTS = ["low_income_started", "death"]


class People:
    """Fresh identity numbers: adults born 1950-1990, children under twelve; none given twice."""

    def __init__(self, rng: random.Random) -> None:
        self._numbers = itertools.count()
        self._adult_base = date(1950, 1, 1) + timedelta(days=rng.randrange(3000))
        self._sequence = rng.randrange(1, 999)

    def adult(self) -> str:
        n = next(self._numbers)
        return make_identity_number(HOME, self._adult_base + timedelta(days=n * 3), self._sequence)

    def child(self) -> str:
        n = next(self._numbers)
        born = date.today() - timedelta(days=3 * 365 + n % 2500)
        return make_identity_number(HOME, born, (self._sequence + n // 2500) % 999 + 1)


@dataclass
class Staff:
    admin: Token
    doctor: Token
    reviewers: dict[str, Token]
    partner: Token
    partner_id: str
    subscription_id: str


def new_application(person: str, agent: str | None) -> dict[str, Any]:
    return {
        "matter": "new",
        "applicant": {
            "id_number": person,
            "name": "王小明",
            "phone": "13800000000",
            "household_region": HOME,
            "residence_region": HOME,
            "address": "湖州市吴兴区人民路1号",
        },
        "agent": {"id_number": agent, "name": "王大明", "relationship": "parent"} if agent else None,
        "declared_category": "physical",
        "home_visit": False,
        "consent": True,
    }


async def register_staff(api: Api, receiver_url: str, run: str) -> tuple[Staff, str]:
    """An institution and doctor of HOME, reviewers of the three regions, the partner with its
    policy and webhook subscription: the staff and the subscription's signing secret."""
    admin = Token("admin", f"faults-admin-{run}")
    institution = await api.expect(
        "assessment",
        "POST",
        "/v1/institutions",
        201,
        label="register institution",
        body={"name": "吴兴区人民医院", "region": HOME, "categories": ["physical"]},
        token=admin,
        key=f"{run}-institution",
    )
    doctor = await api.expect(
        "assessment",
        "POST",
        "/v1/doctors",
        201,
        label="register doctor",
        body={
            "name": "李医生",
            "institution_id": institution.json()["id"],
            "license_no": f"LIC-FAULTS-{run}",
            "categories": ["physical"],
        },
        token=admin,
        key=f"{run}-doctor",
    )
    partner = await api.expect(
        "notification",
        "POST",
        "/v1/partners",
        201,
        label="register partner",
        body={
            "name": "民政局",
            "policy": {"event_types": PARTNER_EVENT_TYPES, "fields": PARTNER_FIELDS, "facts": PARTNER_FACTS},
        },
        token=admin,
        key=f"{run}-partner",
    )
    partner_id = str(partner.json()["id"])
    partner_token = Token("partner", f"faults-partner-{run}", {"partner_id": partner_id})
    subscription = await api.expect(
        "notification",
        "POST",
        "/v1/subscriptions",
        201,
        label="subscribe webhook",
        body={"url": receiver_url, "event_types": PARTNER_EVENT_TYPES},
        token=partner_token,
        key=f"{run}-subscription",
    )
    staff = Staff(
        admin=admin,
        doctor=Token("doctor", f"faults-doctor-{run}", {"doctor_id": str(doctor.json()["id"])}),
        reviewers={
            region: Token("reviewer", f"faults-reviewer-{region}-{run}", {"region": region})
            for region in (HOME, NEAR, AWAY)
        },
        partner=partner_token,
        partner_id=partner_id,
        subscription_id=str(subscription.json()["id"]),
    )
    return staff, str(subscription.json()["secret"])


@dataclass
class Doctor:
    """The doctor of HOME works her list: every scheduled assessment of a planned application gets
    its planned level. Others (the recovery probes) are left waiting."""

    api: Api
    token: Token
    plan: dict[str, int] = field(default_factory=dict)  # application id -> level to record
    recorded: set[str] = field(default_factory=set)
    refused: list[str] = field(default_factory=list)

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            with contextlib.suppress(Unavailable, UnexpectedAnswer):  # the fault is still on: look again
                await self.work_list()
            await _sleep_unless(stopping, 0.5)

    async def work_list(self) -> None:
        answer = await self.api.expect(
            "assessment",
            "GET",
            "/v1/assessments?assigned=me&status=scheduled&limit=500",
            200,
            label="doctor's worklist",
            token=self.token,
            patience=10,
        )
        for item in answer.json()["items"]:
            application_id, assessment_id = item["application_id"], item["id"]
            if application_id not in self.plan or assessment_id in self.recorded:
                continue
            result = {
                "category": "physical",
                "level": self.plan[application_id],
                "findings": "双下肢功能障碍",
                "measurements": {},
            }
            recorded = await self.api.call(
                "assessment",
                "POST",
                f"/v1/assessments/{assessment_id}/result",
                label="record result",
                body=result,
                token=self.token,
                patience=20,
            )
            self.recorded.add(assessment_id)
            # 409: taken by an earlier try whose answer was lost, or cancelled meanwhile.
            if recorded.status_code not in (200, 201, 409):
                self.refused.append(f"result for application {application_id}: {recorded.status_code}")


async def _sleep_unless(stopping: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)
