"""The authorization matrix: for every operation of the four services, what each caller gets.

The callers are every role, own side and foreign side, and no token at all. The records the
calls name are the own side's (tests/authorization_world.py makes them over the real flow): an
application, assessment and certificate of a child (person A, region 330502) made by an agent
whom the approval verified, a card batch of province 33, a benefit handoff into 330502,
partner 1's subscription, the agent's notice. Person A signs in too (the person acts on every
application in their name), and so does someone who named themself A's agent on an application
of their own and was never verified: to A's records they are a stranger. The foreign callers are the same roles on the other side: the
person B of another province (440305) and its reviewer, the doctor of B's assessment, partner 2
(whose jurisdiction is B's province: A lies outside it), the card centre of province 44.

An operation missing here fails `test_every_operation_of_every_service_has_an_entry`: a new
route needs its rule written down before it ships.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any
from urllib.parse import quote

from .system import application, new_person

OWN_REGION = "330502"  # 湖州市吴兴区: person A, the agent, the reviewer
FOREIGN_REGION = "440305"  # 深圳市南山区: person B and the foreign reviewer
CALLERS = (
    "anonymous",
    "applicant",  # the agent of person A (a child), verified when A's application was approved
    "person_a",  # person A themself
    "agent_claimed",  # named themself A's agent on an application; never verified
    "applicant_foreign",  # person B, of another province
    "reviewer",  # of 330502
    "reviewer_foreign",  # of 440305
    "doctor",  # assigned A's assessment
    "doctor_foreign",  # assigned B's assessment
    "partner",  # partner 1
    "partner_foreign",  # partner 2
    "admin",
    "card_centre",  # of province 33
    "card_centre_foreign",  # of province 44
)
# Who may read the findings of A's assessment: the person (through the agent), the assigned
# doctor and the reviewer of the household region. Nobody else ever receives them.
FINDINGS_READERS = frozenset({"applicant", "person_a", "doctor", "reviewer"})


class Outcome(Enum):
    ALLOWED = "allowed"  # not 401, 403 or 404, never 5xx
    ALLOWED_BLIND = "allowed, showing nothing of the own side's records"
    FOREIGN = "someone else's record"  # FOREIGN_STATUS of the service, nothing of the record shown
    DENIED = "denied to the role"  # 403
    UNAUTHENTICATED = "no token"  # 401


# How each service answers for a record that exists but is not the caller's (its api/policy.py).
FOREIGN_STATUS = {"certificate": 404, "assessment": 403, "benefits": 404, "notification": 404}


@dataclass
class World:
    """The records and tokens the matrix calls with, built once per module."""

    tokens: dict[str, str]  # caller -> bearer token (none for "anonymous")
    id_numbers: dict[str, str]  # the two applicant callers' own identity numbers
    application_a: str
    certificate_a: str
    certificate_a2: str  # the own certificate the loss report and the cancellation hit
    code_a: str
    assessment_a: str
    findings_a: str
    batch_a: str
    card_a: str
    handoff_c: str
    institution_spare: str  # of province 65, where nobody applies: suspensions change nothing
    doctor_spare: str
    run_b: str
    partner_a: str
    policy_a: dict[str, Any]
    subscription_a: str
    notice_a: str
    verified_agency_a: str  # the agency of the agent the approval verified
    claimed_agency_a: str  # the agency someone claimed on an application of their own
    since: str
    receiver_urls: dict[str, str]  # the webhook URL of each partner caller
    own_markers: dict[str, str]  # what no foreign or denied caller may ever read, by what it is
    current_key_id: Callable[[], str]  # the e-certificate key signing now (an admin may rotate it)
    policy_code: str = "living_subsidy"

    @staticmethod
    def unique(prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:12]}"

    def value(self, name: str) -> str:
        value = getattr(self, name)
        return str(value() if callable(value) else value)


# Which record each path parameter names (an entry may name another).
PATH_VALUES = {
    "application_id": "application_a",
    "number": "certificate_a",
    "batch_id": "batch_a",
    "institution_id": "institution_spare",
    "doctor_id": "doctor_spare",
    "assessment_id": "assessment_a",
    "handoff_id": "handoff_c",
    "run_id": "run_b",
    "partner_id": "partner_a",
    "subscription_id": "subscription_a",
    "notice_id": "notice_a",
    "code": "policy_code",
}

Body = Callable[[World, str], Any]
Query = Callable[[World], Mapping[str, str]]


@dataclass(frozen=True)
class Entry:
    """One operation: the callers it serves, those it serves without the own side's records, and
    those for whom the record is someone else's; every other caller is denied (403), no token 401."""

    service: str
    method: str
    path: str
    allowed: frozenset[str] = frozenset()
    blind: frozenset[str] = frozenset()
    foreign: frozenset[str] = frozenset()
    public: bool = False
    body: Body | None = None
    query: Query | None = None
    path_values: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.service, self.method, self.path)

    def url_path(self, world: World) -> str:
        names = {**PATH_VALUES, **self.path_values}
        path = self.path
        for name in re.findall(r"{(\w+)}", self.path):
            path = path.replace(f"{{{name}}}", quote(world.value(names[name]), safe=""))
        return path

    def expected(self, caller: str) -> Outcome:
        if self.public:
            return Outcome.ALLOWED
        if caller == "anonymous":
            return Outcome.UNAUTHENTICATED
        if caller in self.allowed:
            return Outcome.ALLOWED
        if caller in self.blind:
            return Outcome.ALLOWED_BLIND
        if caller in self.foreign:
            return Outcome.FOREIGN
        return Outcome.DENIED


def op(
    service: str,
    method: str,
    path: str,
    allowed: Iterable[str] = (),
    blind: Iterable[str] = (),
    foreign: Iterable[str] = (),
    **options: Any,
) -> Entry:
    return Entry(service, method, path, frozenset(allowed), frozenset(blind), frozenset(foreign), **options)


def public(service: str, method: str, path: str, **options: Any) -> Entry:
    return Entry(service, method, path, public=True, **options)


def admin_only(service: str, method: str, path: str, **options: Any) -> Entry:
    return op(service, method, path, allowed={"admin"}, **options)


def missing_entries(
    documented: Iterable[tuple[str, str, str]], matrix: Iterable[Entry]
) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """The operations of the OpenAPI documents without an entry, and the entries without one."""
    operations, table = set(documented), {entry.key for entry in matrix}
    return sorted(operations - table), sorted(table - operations)


SIGNED_IN = set(CALLERS) - {"anonymous"}
PERSON_OWN = {"applicant", "person_a"}  # A, and the agent verified for A
PERSON_FOREIGN = {"applicant_foreign", "agent_claimed"}  # strangers to A's records


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _this_month() -> str:
    return datetime.now(UTC).strftime("%Y-%m")


def _new_for_a_child(world: World, caller: str) -> dict[str, Any]:
    """A person applies for a child of their region as its agent (a fresh child each time)."""
    region = FOREIGN_REGION if caller == "applicant_foreign" else OWN_REGION
    child = new_person(region, birth=date(2019, 3, 3))
    agent = world.id_numbers.get(caller)
    return application(child, agent=agent, household_region=region, residence_region=region)


def _fact(world: World, caller: str) -> dict[str, Any]:
    """Partner 1 reports low income for someone of its province; partner 2 a death of A, who
    lies outside its jurisdiction (answered like any other fact, with no effect)."""
    outside = caller == "partner_foreign"
    return {
        "fact_id": world.unique("matrix-fact"),
        "type": "death" if outside else "low_income_started",
        "id_number": world.own_markers["identity number of A"] if outside else new_person(OWN_REGION),
        "effective_date": _today(),
        "details": {},
    }


def _doctor(world: World, caller: str) -> dict[str, Any]:
    return {
        "name": "矩阵医生",
        "institution_id": world.institution_spare,
        "license_no": world.unique("LIC-M"),
        "categories": ["speech"],
    }


_RESULT = {"category": "hearing", "level": 1, "findings": "x", "measurements": {"hearing_loss_db": 95}}
_NEW_PARTNER = {
    "name": "矩阵合作单位",
    "policy": {"event_types": ["CertificateIssued"], "fields": ["level"], "facts": []},
}


def _partners_subscription(world: World, caller: str) -> dict[str, Any]:
    url = world.receiver_urls.get(caller, world.receiver_urls["partner"])
    return {"url": url, "event_types": ["CertificateIssued"]}


MATRIX: tuple[Entry, ...] = (
    # -- certificate service ----------------------------------------------------------------------
    public("certificate", "GET", "/health"),
    public("certificate", "GET", "/health/live"),
    public("certificate", "GET", "/health/ready"),
    public(
        "certificate",
        "POST",
        "/v1/dev/tokens",
        body=lambda w, c: {"role": "admin", "subject": "matrix-admin"},
    ),
    public("certificate", "GET", "/v1/dev/jwks.json"),
    public("certificate", "GET", "/v1/verify", query=lambda w: {"code": w.code_a}),
    public("certificate", "POST", "/v1/verify", body=lambda w, c: {"code": w.code_a}),
    public("certificate", "GET", "/v1/e-certificate/keys"),
    op("certificate", "POST", "/v1/applications", allowed=PERSON_OWN | PERSON_FOREIGN, body=_new_for_a_child),
    op(
        "certificate",
        "GET",
        "/v1/applications",
        allowed=PERSON_OWN | {"reviewer"},
        blind=PERSON_FOREIGN | {"reviewer_foreign"},
    ),
    op(
        "certificate",
        "GET",
        "/v1/applications/{application_id}",
        allowed=PERSON_OWN | {"reviewer", "admin"},
        foreign=PERSON_FOREIGN | {"reviewer_foreign"},
    ),
    op(
        "certificate",
        "GET",
        "/v1/applications/{application_id}/timeline",
        allowed=PERSON_OWN | {"reviewer", "admin"},
        foreign=PERSON_FOREIGN | {"reviewer_foreign"},
    ),
    op(
        "certificate",
        "POST",
        "/v1/applications/{application_id}/decision",
        allowed={"reviewer"},
        foreign={"reviewer_foreign"},
        body=lambda w, c: {"decision": "approve"},
    ),
    op(
        "certificate",
        "POST",
        "/v1/applications/{application_id}/withdrawal",
        allowed=PERSON_OWN,
        foreign=PERSON_FOREIGN,
    ),
    op(
        "certificate",
        "POST",
        "/v1/applications/{application_id}/resubmission",
        allowed=PERSON_OWN,
        foreign=PERSON_FOREIGN,
        body=lambda w, c: {"note": "补正"},
    ),
    op(
        "certificate",
        "POST",
        "/v1/applications/{application_id}/dispute",
        allowed=PERSON_OWN,
        foreign=PERSON_FOREIGN,
        body=lambda w, c: {"reason": "等级偏轻"},
    ),
    op(
        "certificate",
        "GET",
        "/v1/certificates/{number}",
        allowed=PERSON_OWN | {"reviewer", "admin"},
        foreign=PERSON_FOREIGN | {"reviewer_foreign"},
    ),
    op(
        "certificate",
        "GET",
        "/v1/certificates/{number}/e-certificate",
        allowed=PERSON_OWN,
        foreign=PERSON_FOREIGN,
    ),
    # 访问记录: the agent reads A's log through A's application; person B names it in vain.
    op(
        "certificate",
        "GET",
        "/v1/me/access-log",
        allowed=PERSON_OWN,
        foreign=PERSON_FOREIGN,
        query=lambda w: {"application_id": w.application_a},
    ),
    # 代办: the person's view of what was made in their name, and of their agents.
    op(
        "certificate",
        "GET",
        "/v1/me/applications",
        allowed={"person_a"},
        blind=PERSON_FOREIGN | {"applicant"},
    ),
    op("certificate", "GET", "/v1/me/agents", allowed={"person_a"}, blind=PERSON_FOREIGN | {"applicant"}),
    op(
        "certificate",
        "POST",
        "/v1/me/agents/{agency_id}/revocation",
        allowed={"person_a"},
        foreign=PERSON_FOREIGN | {"applicant"},
        path_values={"agency_id": "claimed_agency_a"},
    ),
    op(
        "certificate",
        "POST",
        "/v1/applications/{application_id}/agent",
        allowed={"reviewer"},
        foreign={"reviewer_foreign"},
        body=lambda w, c: {"decision": "confirmed"},
    ),
    op(
        "certificate",
        "GET",
        "/v1/certificates/{number}/agents",
        allowed={"reviewer"},
        foreign={"reviewer_foreign"},
    ),
    op(
        "certificate",
        "POST",
        "/v1/certificates/{number}/agents/{agency_id}/revocation",
        allowed={"reviewer"},
        foreign={"reviewer_foreign"},
        path_values={"agency_id": "claimed_agency_a"},
    ),
    op(
        "certificate",
        "POST",
        "/v1/certificates/{number}/agents/{agency_id}/confirmation",
        allowed={"reviewer"},
        foreign={"reviewer_foreign"},
        body=lambda w, c: {"basis": "guardianship_document"},
        path_values={"agency_id": "verified_agency_a"},
    ),
    op(
        "certificate",
        "POST",
        "/v1/certificates/{number}/loss-report",
        allowed={"applicant"},  # A2's agent; A is not A2
        foreign=PERSON_FOREIGN | {"person_a"},
        path_values={"number": "certificate_a2"},
    ),
    op(
        "certificate",
        "POST",
        "/v1/certificates/{number}/cancellation",
        allowed={"reviewer"},
        foreign={"reviewer_foreign"},
        body=lambda w, c: {"reason": "fraud"},
        path_values={"number": "certificate_a2"},
    ),
    admin_only("certificate", "POST", "/v1/jobs/expiry"),
    op(
        "certificate",
        "GET",
        "/v1/reports/sla",
        allowed={"reviewer", "admin"},
        query=lambda w: {"region": OWN_REGION},
    ),
    op(
        "certificate",
        "POST",
        "/v1/card-batches",
        allowed={"card_centre", "card_centre_foreign"},
        body=lambda w, c: {"limit": 500},
    ),
    op(
        "certificate",
        "GET",
        "/v1/card-batches",
        allowed={"card_centre"},
        blind={"card_centre_foreign"},
    ),
    op(
        "certificate",
        "GET",
        "/v1/card-batches/{batch_id}",
        allowed={"card_centre"},
        foreign={"card_centre_foreign"},
    ),
    op(
        "certificate",
        "POST",
        "/v1/card-batches/{batch_id}/reports",
        allowed={"card_centre"},
        foreign={"card_centre_foreign"},
        body=lambda w, c: {"reports": [{"card_id": w.card_a, "status": "produced"}]},
    ),
    op(
        "certificate",
        "GET",
        "/v1/cards",
        allowed={"card_centre", "reviewer", "admin"},
        blind={"card_centre_foreign", "reviewer_foreign"},
    ),
    admin_only("certificate", "POST", "/v1/e-certificate/keys/rotation"),
    admin_only(
        "certificate",
        "POST",
        "/v1/e-certificate/keys/{key_id}/retirement",
        path_values={"key_id": "current_key_id"},
    ),
    admin_only(
        "certificate",
        "POST",
        "/v1/people/erasure",
        body=lambda w, c: {"id_number": new_person(FOREIGN_REGION), "legal_basis": "consent_withdrawn"},
    ),
    # -- assessment service -----------------------------------------------------------------------
    public("assessment", "GET", "/health"),
    public("assessment", "GET", "/health/live"),
    public("assessment", "GET", "/health/ready"),
    admin_only(
        "assessment",
        "POST",
        "/v1/institutions",
        body=lambda w, c: {"name": "矩阵评定机构", "region": "650102", "categories": ["speech"]},
    ),
    admin_only("assessment", "GET", "/v1/institutions"),
    admin_only(
        "assessment",
        "POST",
        "/v1/institutions/{institution_id}/accreditation",
        body=lambda w, c: {"accredited_until": "2035-12-31"},
    ),
    admin_only("assessment", "POST", "/v1/jobs/accreditation"),
    admin_only("assessment", "POST", "/v1/doctors", body=_doctor),
    admin_only("assessment", "GET", "/v1/doctors"),
    admin_only(
        "assessment", "POST", "/v1/doctors/{doctor_id}/suspension", body=lambda w, c: {"reason": "矩阵"}
    ),
    admin_only("assessment", "POST", "/v1/doctors/{doctor_id}/reinstatement"),
    op("assessment", "GET", "/v1/assessments", allowed={"doctor", "admin"}, blind={"doctor_foreign"}),
    op(
        "assessment",
        "GET",
        "/v1/assessments/{assessment_id}",
        allowed=PERSON_OWN | {"doctor", "reviewer", "admin"},
        foreign=PERSON_FOREIGN | {"doctor_foreign", "reviewer_foreign"},
    ),
    op(
        "assessment",
        "GET",
        "/v1/assessments/{assessment_id}/slots",
        allowed=PERSON_OWN | {"doctor"},
        foreign=PERSON_FOREIGN | {"doctor_foreign"},
    ),
    op(
        "assessment",
        "POST",
        "/v1/assessments/{assessment_id}/appointment",
        allowed=PERSON_OWN | {"doctor"},
        foreign=PERSON_FOREIGN | {"doctor_foreign"},
        body=lambda w, c: {"starts_at": "2030-01-07T09:00:00+08:00"},
    ),
    op(
        "assessment",
        "POST",
        "/v1/assessments/{assessment_id}/result",
        allowed={"doctor"},
        foreign={"doctor_foreign"},
        body=lambda w, c: _RESULT,
    ),
    op(
        "assessment",
        "POST",
        "/v1/grading/check",
        allowed={"doctor", "doctor_foreign", "reviewer", "reviewer_foreign"},
        body=lambda w, c: {"category": "hearing", "age_years": 40, "measurements": {"hearing_loss_db": 85}},
    ),
    admin_only("assessment", "GET", "/v1/reports/overrides"),
    # -- benefits service -------------------------------------------------------------------------
    public("benefits", "GET", "/health"),
    public("benefits", "GET", "/health/live"),
    public("benefits", "GET", "/health/ready"),
    op(
        "benefits",
        "GET",
        "/v1/certificates/{number}/benefits",
        allowed=PERSON_OWN | {"reviewer", "admin"},
        foreign=PERSON_FOREIGN | {"reviewer_foreign"},
    ),
    # Partner 2's policy grants no fact type: only its policy's facts, 403 otherwise.
    # Partner 2's death of A (outside its jurisdiction) is answered alike and changes nothing.
    op("benefits", "POST", "/v1/facts", allowed={"partner"}, blind={"partner_foreign"}, body=_fact),
    op(
        "benefits",
        "GET",
        "/v1/handoffs",
        allowed={"reviewer", "admin"},
        query=lambda w: {"region": OWN_REGION},
    ),
    op(
        "benefits",
        "POST",
        "/v1/handoffs/{handoff_id}/notified",
        allowed={"reviewer", "admin"},
        foreign={"reviewer_foreign"},
    ),
    op(
        "benefits",
        "GET",
        "/v1/reports/entitlements",
        allowed={"reviewer", "admin"},
        query=lambda w: {"region": OWN_REGION},
    ),
    admin_only("benefits", "POST", "/v1/jobs/policy-effects"),
    op("benefits", "GET", "/v1/policies", allowed=SIGNED_IN),
    op("benefits", "GET", "/v1/policies/{code}", allowed=SIGNED_IN),
    op(
        "benefits",
        "GET",
        "/v1/policies/{code}/versions",
        allowed=SIGNED_IN,
    ),
    # An admin's empty document is refused as invalid (422): the catalogue stays as it is.
    admin_only(
        "benefits",
        "POST",
        "/v1/policies/{code}/versions",
        body=lambda w, c: {},
    ),
    admin_only("benefits", "POST", "/v1/simulations", body=lambda w, c: {"policy": {}}),
    admin_only(
        "benefits", "POST", "/v1/runs", body=lambda w, c: {"month": _this_month(), "region": FOREIGN_REGION}
    ),
    admin_only("benefits", "GET", "/v1/runs/{run_id}"),
    admin_only("benefits", "GET", "/v1/runs/{run_id}/lines"),
    admin_only("benefits", "GET", "/v1/runs/{run_id}/lines.csv"),
    admin_only("benefits", "POST", "/v1/runs/{run_id}/close"),
    # -- notification service ---------------------------------------------------------------------
    public("notification", "GET", "/health"),
    public("notification", "GET", "/health/live"),
    public("notification", "GET", "/health/ready"),
    admin_only("notification", "POST", "/v1/partners", body=lambda w, c: _NEW_PARTNER),
    admin_only("notification", "GET", "/v1/partners"),
    op("notification", "GET", "/v1/partners/me/policy", allowed={"partner"}, blind={"partner_foreign"}),
    admin_only(
        "notification", "PUT", "/v1/partners/{partner_id}/policy", body=lambda w, c: {"policy": w.policy_a}
    ),
    admin_only("notification", "GET", "/v1/partners/{partner_id}/policy/versions"),
    admin_only("notification", "GET", "/v1/partners/{partner_id}"),
    op(
        "notification",
        "POST",
        "/v1/subscriptions",
        allowed={"partner", "partner_foreign"},
        body=_partners_subscription,
    ),
    op("notification", "GET", "/v1/subscriptions", allowed={"partner"}, blind={"partner_foreign"}),
    op(
        "notification",
        "POST",
        "/v1/subscriptions/{subscription_id}/secret",
        allowed={"partner"},
        foreign={"partner_foreign"},
    ),
    op(
        "notification",
        "GET",
        "/v1/deliveries",
        allowed={"partner", "admin"},
        foreign={"partner_foreign"},
        query=lambda w: {"subscription_id": w.subscription_a},
    ),
    op(
        "notification",
        "POST",
        "/v1/deliveries/replay",
        allowed={"partner"},
        foreign={"partner_foreign"},
        body=lambda w, c: {"since": w.since, "subscription_id": w.subscription_a},
    ),
    admin_only("notification", "GET", "/v1/dead-letters"),
    admin_only(
        "notification", "POST", "/v1/dead-letters/replay", body=lambda w, c: {"ids": [str(uuid.uuid4())]}
    ),
    op("notification", "GET", "/v1/me/contact", allowed=PERSON_OWN | PERSON_FOREIGN),
    op(
        "notification",
        "PUT",
        "/v1/me/contact",
        allowed=PERSON_OWN | PERSON_FOREIGN,
        body=lambda w, c: {"language": "zh-CN"},
    ),
    # The agent's notice: A reads their own inbox, not the agent's.
    op("notification", "GET", "/v1/inbox", allowed={"applicant"}, blind=PERSON_FOREIGN | {"person_a"}),
    op(
        "notification",
        "POST",
        "/v1/inbox/{notice_id}/read",
        allowed={"applicant"},
        foreign=PERSON_FOREIGN | {"person_a"},
    ),
    admin_only("notification", "GET", "/v1/notices"),
    # 死亡核实: a reported death waits for the reviewer of the household area (A has none: 409).
    op("certificate", "GET", "/v1/death-reports", allowed={"reviewer", "admin"}, blind={"reviewer_foreign"}),
    op(
        "certificate",
        "POST",
        "/v1/certificates/{number}/death-confirmation",
        allowed={"reviewer"},
        foreign={"reviewer_foreign"},
        body=lambda w, c: {"decision": "reject", "reason": "矩阵"},
    ),
)
