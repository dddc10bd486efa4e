"""The records the authorization matrix calls with, made over the real flow as their people would.

Person A is a child of 330502 whose parent applies as agent (verified when the application is
approved); A2 a second child of the same agent (the certificate the matrix reports lost and
cancels); B an adult of another province (440305) with a doctor of its own; C an adult of a
third province who moves into 330502, which opens a benefit handoff. After A's certificate,
someone else names themself A's agent on an application of their own (never verified). Two
partners subscribe a webhook each; the card centre of province 33 takes the ordered cards of
its province.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx

from .authorization_matrix import CALLERS, FOREIGN_REGION, OWN_REGION, World
from .system import System, WebhookReceiver, application, new_person, wait_for

THIRD_PROVINCE = "320102"  # 南京市玄武区: person C moves from here into OWN_REGION (a benefit handoff)


def ok(answer: httpx.Response, *statuses: int) -> Any:
    assert answer.status_code in (statuses or (200, 201)), f"{answer.status_code} {answer.text}"
    return answer.json()


def _apply(system: System, token: str, body: dict[str, Any]) -> str:
    return str(ok(system.call("certificate", "POST", "/v1/applications", body, token), 201)["id"])


def _application(system: System, token: str, application_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = ok(
        system.call("certificate", "GET", f"/v1/applications/{application_id}", None, token)
    )
    return answer


def _assigned(system: System, token: str, application_id: str) -> tuple[str, str]:
    """The assessment of an application and the doctor it went to (whoever the routing chose)."""

    def assigned() -> tuple[str, str] | None:
        assessment = _application(system, token, application_id)["assessment"]
        if assessment["assessment_id"] and assessment["doctor_id"]:
            return str(assessment["assessment_id"]), str(assessment["doctor_id"])
        return None

    return wait_for(assigned)


def _grade(system: System, doctor: str, assessment_id: str, body: dict[str, Any]) -> None:
    ok(system.call("assessment", "POST", f"/v1/assessments/{assessment_id}/result", body, doctor), 201)


def _approve(system: System, reviewer: str, application_id: str, before: str = "assessed") -> dict[str, Any]:
    wait_for(lambda: _application(system, reviewer, application_id)["status"] == before)
    decided: dict[str, Any] = ok(
        system.call(
            "certificate",
            "POST",
            f"/v1/applications/{application_id}/decision",
            {"decision": "approve"},
            reviewer,
        )
    )
    return decided


def _doctor_in(system: System, admin: str, region: str, categories: list[str]) -> tuple[str, str]:
    """An institution of the region and a doctor of it: their ids."""
    institution = ok(
        system.call(
            "assessment",
            "POST",
            "/v1/institutions",
            {"name": f"矩阵医院{region}", "region": region, "categories": categories},
            admin,
        ),
        201,
    )
    doctor = ok(
        system.call(
            "assessment",
            "POST",
            "/v1/doctors",
            {
                "name": "矩阵医生",
                "institution_id": institution["id"],
                "license_no": f"LIC-M-{uuid.uuid4().hex[:10]}",
                "categories": categories,
            },
            admin,
        ),
        201,
    )
    return str(institution["id"]), str(doctor["id"])


def _partner(
    system: System, admin: str, name: str, facts: list[str], regions: list[str], receiver: WebhookReceiver
) -> tuple[str, dict[str, Any], str, str]:
    policy = {
        "event_types": ["CertificateIssued"],
        "fields": ["category", "level"],
        "facts": facts,
        "regions": regions,
    }
    partner_id = str(
        ok(system.call("notification", "POST", "/v1/partners", {"name": name, "policy": policy}, admin), 201)[
            "id"
        ]
    )
    token = system.token("partner", f"matrix-{name}", partner_id=partner_id)
    subscription = ok(
        system.call(
            "notification",
            "POST",
            "/v1/subscriptions",
            {"url": receiver.url, "event_types": ["CertificateIssued"]},
            token,
        ),
        201,
    )
    return partner_id, policy, token, str(subscription["id"])


def first(items: list[dict[str, Any]], **wanted: Any) -> dict[str, Any] | None:
    return next((item for item in items if all(item.get(k) == v for k, v in wanted.items())), None)


_PHYSICAL = {"category": "physical", "level": 2, "findings": "双下肢功能障碍", "measurements": {}}


@dataclass
class _Building:
    """Makes the matrix's records over HTTP the way their people would, one step a method."""

    system: System
    admin: str
    reviewer: str
    since: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    tokens: dict[str, str] = field(default_factory=dict)
    people: dict[str, str] = field(default_factory=dict)  # identity numbers by who they are
    records: dict[str, Any] = field(default_factory=dict)
    receivers: dict[str, WebhookReceiver] = field(default_factory=dict)

    def call(self, service: str, method: str, path: str, token: str, body: Any = None) -> httpx.Response:
        return self.system.call(service, method, path, body, token)

    def partners(self) -> None:
        """Partner 1, of A's province, may report low income; partner 2, of B's, deaths (and so
        is outside its jurisdiction with A). Each subscribes a webhook."""
        for caller, name, facts, regions in (
            ("partner", "矩阵民政局", ["low_income_started"], ["330000"]),
            ("partner_foreign", "矩阵公安局", ["death"], ["440000"]),
        ):
            self.receivers[caller] = WebhookReceiver()
            partner_id, policy, token, subscription = _partner(
                self.system, self.admin, name, facts, regions, self.receivers[caller]
            )
            self.tokens[caller] = token
            self.records[caller] = {"id": partner_id, "policy": policy, "subscription": subscription}

    def doctors(self) -> None:
        """Doctors for B's and C's provinces, and a spare one where nobody applies (suspended in
        the matrix without moving anyone's assessment)."""
        _doctor_in(self.system, self.admin, FOREIGN_REGION, ["physical"])
        _doctor_in(self.system, self.admin, THIRD_PROVINCE, ["physical"])
        self.records["spare_institution"], self.records["spare_doctor"] = _doctor_in(
            self.system, self.admin, "650102", ["speech"]
        )

    def applications(self) -> None:
        """The agent applies for two children of OWN_REGION (A declares hearing), B and C for
        themselves in their provinces."""
        self.people = {
            "agent": new_person(),
            "A": new_person(birth=date(2016, 5, 5)),
            "A2": new_person(birth=date(2018, 8, 8)),
            "B": new_person(FOREIGN_REGION),
            "C": new_person(THIRD_PROVINCE),
        }
        for who, caller in (("agent", "applicant"), ("B", "applicant_foreign"), ("C", "person_c")):
            self.tokens[caller] = self.system.token("applicant", f"matrix-{who}", id_number=self.people[who])
        agent, people, tokens = self.people["agent"], self.people, self.tokens
        self.records["applications"] = {
            "A": _apply(
                self.system, tokens["applicant"], application(people["A"], agent=agent, category="hearing")
            ),
            "A2": _apply(self.system, tokens["applicant"], application(people["A2"], agent=agent)),
            "B": _apply(self.system, tokens["applicant_foreign"], _in(people["B"], FOREIGN_REGION)),
            "C": _apply(self.system, tokens["person_c"], _in(people["C"], THIRD_PROVINCE)),
        }

    def assessments(self) -> None:
        """Each doctor the routing chose records a result; A's holds findings no one else may read."""
        self.records["findings"] = f"矩阵所见-{uuid.uuid4().hex[:8]}"
        hearing = {
            "category": "hearing",
            "level": 1,
            "findings": self.records["findings"],
            "measurements": {"hearing_loss_db": 95},
        }
        # The agent is not verified before the approval: the reviewer reads A's and A2's cases.
        for who, reader, result, doctor in (
            ("A", self.reviewer, hearing, "doctor"),
            ("A2", self.reviewer, _PHYSICAL, "doctor_of_a2"),
            ("B", self.tokens["applicant_foreign"], _PHYSICAL, "doctor_foreign"),
            ("C", self.tokens["person_c"], _PHYSICAL, "doctor_of_c"),
        ):
            assessment_id, doctor_id = _assigned(self.system, reader, self.records["applications"][who])
            self.tokens[doctor] = self.system.token(
                "doctor", f"matrix-doctor-{doctor_id}", doctor_id=doctor_id
            )
            self.records.setdefault("assessments", {})[who] = assessment_id
            _grade(self.system, self.tokens[doctor], assessment_id, result)

    def certificates(self) -> None:
        """The reviewers of the household regions approve; C then moves into OWN_REGION, which
        opens a benefit handoff across provinces."""
        self.tokens["reviewer"] = self.reviewer
        self.tokens["reviewer_foreign"] = self.system.token("reviewer", "matrix-far", region=FOREIGN_REGION)
        third = self.system.token("reviewer", "matrix-nanjing", region=THIRD_PROVINCE)
        applications = self.records["applications"]
        numbers = {
            who: _approve(self.system, token, applications[who])["certificate_number"]
            for who, token in (("A", self.reviewer), ("A2", self.reviewer), ("C", third))
        }
        _approve(self.system, self.tokens["reviewer_foreign"], applications["B"])
        self.records["certificates"] = numbers
        moving = {
            "matter": "transfer",
            "certificate_number": numbers["C"],
            "to_region": OWN_REGION,
            "consent": True,
        }
        transfer = _apply(self.system, self.tokens["person_c"], moving)
        _approve(self.system, third, transfer, before="submitted")
        _approve(self.system, self.reviewer, transfer, before="migrating")

        def handoff() -> dict[str, Any] | None:
            # The reviewer: an admin reads certificate numbers masked.
            answer = self.call("benefits", "GET", f"/v1/handoffs?region={OWN_REGION}", self.reviewer)
            return first(ok(answer)["items"], certificate_number=numbers["C"])

        # The benefits service may take the transfer before the issue (two consumers): it retries
        # with growing pauses (1, 5, 30, 120 s), so under load the handoff can take minutes.
        self.records["handoff"] = wait_for(handoff, timeout=300)["id"]

    def agents(self) -> None:
        """A signs in; someone else names themself A's agent on an application of their own (A
        holds a certificate already: answered as any other application, never verified)."""
        people, tokens = self.people, self.tokens
        people["claimer"] = new_person()
        tokens["person_a"] = self.system.token("applicant", "matrix-a", id_number=people["A"])
        tokens["agent_claimed"] = self.system.token(
            "applicant", "matrix-claimer", id_number=people["claimer"]
        )
        _apply(self.system, tokens["agent_claimed"], application(people["A"], agent=people["claimer"]))

        def agencies() -> dict[str, str] | None:
            items = ok(self.call("certificate", "GET", "/v1/me/agents", tokens["person_a"]))["items"]
            by_status = {item["status"]: item["id"] for item in items}
            return by_status if {"verified", "claimed"} <= set(by_status) else None

        by_status = wait_for(agencies)
        self.records["verified_agency"], self.records["claimed_agency"] = (
            by_status["verified"],
            by_status["claimed"],
        )

    def card_batch(self) -> None:
        """The card centre of province 33 takes the province's ordered cards, A's among them."""
        self.tokens["card_centre"] = self.system.token("card_centre", "matrix-centre-zj", region="330000")
        self.tokens["card_centre_foreign"] = self.system.token(
            "card_centre", "matrix-centre-gd", region="440000"
        )
        batch = ok(
            self.call("certificate", "POST", "/v1/card-batches", self.tokens["card_centre"], {"limit": 500}),
            201,
        )
        card = first(batch["cards"], certificate_number=self.records["certificates"]["A"])
        assert card is not None, "A's card was not among the ordered cards of the province"
        self.records["batch"], self.records["card"] = str(batch["id"]), card["card_id"]

    def after_the_events(self) -> None:
        """What the other services make of the events: the agent's notice, both partners'
        deliveries, A's benefits; then a monthly run of B's region."""
        agent, admin = self.tokens["applicant"], self.admin
        self.records["notice"] = wait_for(
            lambda: first(ok(self.call("notification", "GET", "/v1/inbox", agent))["items"])
        )["id"]
        subscriptions = [self.records[caller]["subscription"] for caller in ("partner", "partner_foreign")]
        wait_for(
            lambda: all(
                ok(self.call("notification", "GET", f"/v1/deliveries?subscription_id={sub}", admin))["items"]
                for sub in subscriptions
            )
        )
        number = self.records["certificates"]["A"]
        wait_for(
            lambda: (
                self.call("benefits", "GET", f"/v1/certificates/{number}/benefits", agent).status_code == 200
            )
        )
        month = {"month": datetime.now(UTC).strftime("%Y-%m"), "region": FOREIGN_REGION}
        self.records["run"] = ok(self.call("benefits", "POST", "/v1/runs", admin, month), 200, 201)["id"]
        code = self.call("certificate", "GET", f"/v1/certificates/{number}/e-certificate", agent)
        self.records["code"] = ok(code)["code"]

    def world(self) -> World:
        records, people = self.records, self.people
        partner = records["partner"]
        return World(
            tokens={caller: token for caller, token in self.tokens.items() if caller in CALLERS}
            | {"admin": self.admin},
            id_numbers={
                "applicant": people["agent"],
                "applicant_foreign": people["B"],
                "person_a": people["A"],
                "agent_claimed": people["claimer"],
            },
            application_a=records["applications"]["A"],
            certificate_a=records["certificates"]["A"],
            certificate_a2=records["certificates"]["A2"],
            code_a=records["code"],
            assessment_a=records["assessments"]["A"],
            findings_a=records["findings"],
            batch_a=records["batch"],
            card_a=records["card"],
            handoff_c=records["handoff"],
            institution_spare=records["spare_institution"],
            doctor_spare=records["spare_doctor"],
            run_b=records["run"],
            partner_a=partner["id"],
            policy_a=partner["policy"],
            subscription_a=partner["subscription"],
            notice_a=records["notice"],
            verified_agency_a=records["verified_agency"],
            claimed_agency_a=records["claimed_agency"],
            since=self.since,
            receiver_urls={caller: receiver.url for caller, receiver in self.receivers.items()},
            own_markers={
                "identity number of A": people["A"],
                "identity number of A's sibling": people["A2"],
                "identity number of the agent": people["agent"],
                "identity number of C": people["C"],
                "A's application": records["applications"]["A"],
                "A's assessment": records["assessments"]["A"],
                "A's card batch": records["batch"],
                "the handoff into the region": records["handoff"],
                "partner 1": partner["id"],
                "partner 1's subscription": partner["subscription"],
                "the agent's notice": records["notice"],
                "A's findings": records["findings"],
            },
            current_key_id=self.current_key_id,
        )

    def current_key_id(self) -> str:
        return str(ok(self.system.call("certificate", "GET", "/v1/e-certificate/keys"))["current_key_id"])


def _in(person: str, region: str) -> dict[str, Any]:
    return application(person, household_region=region, residence_region=region)


@contextmanager
def built_world(system: System, admin: str, reviewer: str) -> Iterator[World]:
    """Every record of the module's story, made in order; the webhook receivers close after."""
    building = _Building(system, admin, reviewer)
    try:
        for step in (
            building.partners,
            building.doctors,
            building.applications,
            building.assessments,
            building.certificates,
            building.agents,
            building.card_batch,
            building.after_the_events,
        ):
            step()
        yield building.world()
    finally:
        for receiver in building.receivers.values():
            receiver.close()
