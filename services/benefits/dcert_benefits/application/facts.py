"""Partner agencies' facts, the same whether they come over HTTP (`POST /v1/facts`) or NATS.

A partner connected to NATS publishes a CloudEvent on `partners.events.<partner id>.<fact type>`
(its broker user may publish there only: deploy/nats/users.conf); its `data` is the body
of `POST /v1/facts`. Either way the fact is checked whole, against the partner's policy (its fact
types and its jurisdiction), and kept once per (partner, fact id): identity numbers (the person's,
a guardian's) become their keyed hashes before anything is stored.

The answer never depends on the person: a fact about someone outside the partner's jurisdiction,
about someone with no certificate, or about a holder is answered alike (`received`), so that a
partner learns nothing of who holds a certificate where.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dcert_shared.ids import IdentityNumber, keyed_hash
from dcert_shared.problems import Bilingual, DomainError, FieldError, validation_errors_in_both
from dcert_shared.uow import UnitOfWork

from ..adapters import queries
from ..domain.calendar import is_region_code
from ..domain.errors import FactInvalid, FactTypeOutsidePolicy
from ..domain.holding import Fact, Holding
from ..domain.jurisdiction import Jurisdiction
from ..domain.policies import Catalogue, Support

FactType = Literal[
    "low_income_started",
    "low_income_ended",
    "death",
    "household_moved",
    "long_term_care_started",  # 长期照护: the person needs care for over six months
    "long_term_care_ended",
    "death_corrected",  # a death reported by mistake
    "guardianship",  # 监护: {"guardian_id_number", "relationship": parent|guardian, "until": date|null}
]
GUARDIAN_RELATIONSHIPS = ("parent", "guardian")


FIRST_FACT_DATE, LAST_FACT_DATE = date(1950, 1, 1), date(2199, 12, 31)


class FactCreate(BaseModel):
    """A fact from a partner agency about a person, identified by their identity number."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    fact_id: str = Field(min_length=1, max_length=128)
    type: FactType
    id_number: str = Field(min_length=1, max_length=32)
    effective_date: date
    details: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class FactReport:
    """A fact as a partner reported it, its identity number already checked."""

    partner_id: str
    fact_id: str
    fact_type: str
    id_number: str
    effective_date: date
    details: dict[str, Any]

    def person_ref(self, identity_hash_key: bytes) -> str:
        return keyed_hash(identity_hash_key, self.id_number)

    def fact(self) -> Fact:
        return Fact(self.fact_id, self.partner_id, self.fact_type, self.effective_date, self.details)

    def without_identity_numbers(self, identity_hash_key: bytes) -> FactReport:
        """The report as it may be kept: a guardian's identity number as its keyed hash."""
        if self.fact_type != "guardianship":
            return self
        details = dict(self.details)
        guardian = str(details.pop("guardian_id_number"))
        return replace(self, details={"guardian_ref": keyed_hash(identity_hash_key, guardian), **details})


def checked_report(partner_id: str, body: FactCreate | Any) -> FactReport:
    """The report of a fact's body (`FactCreate`, or its JSON from NATS), every problem named at once."""
    if not isinstance(body, FactCreate):
        try:
            body = FactCreate.model_validate(body)
        except ValidationError as error:
            raise FactInvalid(errors=validation_errors_in_both(error.errors(include_input=False))) from None
    problems: list[FieldError] = []
    id_number = _identity_number(body.id_number, problems)
    # A date outside these is a typing mistake (and 9999-12-31 has no next month to pay from).
    if not FIRST_FACT_DATE <= body.effective_date <= LAST_FACT_DATE:
        problems.append(
            FieldError(
                field="effective_date",
                code="date_out_of_range",
                message=Bilingual(
                    f"应在 {FIRST_FACT_DATE.isoformat()} 至 {LAST_FACT_DATE.isoformat()} 之间",
                    f"from {FIRST_FACT_DATE.isoformat()} to {LAST_FACT_DATE.isoformat()}",
                ),
            )
        )
    details = dict(body.details)
    if body.type == "household_moved":
        to_region = details.get("to_region")
        if not isinstance(to_region, str) or not is_region_code(to_region):
            problems.append(FieldError(field="details.to_region", code="invalid", message=_REGION_CODE))
    if body.type == "guardianship":
        details = _guardianship(details, id_number, body.effective_date, problems)
    for support in Support:
        if support.value in details and not isinstance(details[support.value], bool):
            problems.append(
                FieldError(field=f"details.{support.value}", code="invalid", message=_TRUE_OR_FALSE)
            )
    if problems:
        raise FactInvalid(errors=problems)
    return FactReport(partner_id, body.fact_id, body.type, id_number, body.effective_date, details)


# Field messages in both languages: the code is for programs, the message for people.
_REGION_CODE = Bilingual("应为六位行政区划代码", "a 6-digit region code")
_TRUE_OR_FALSE = Bilingual("应为 true 或 false", "true or false")
_NOT_AN_IDENTITY_NUMBER = Bilingual("不是有效的身份证号码", "not a valid identity number")


def _guardianship(
    details: dict[str, Any], id_number: str, effective_date: date, problems: list[FieldError]
) -> dict[str, Any]:
    """监护: the guardian's identity number (not the person's own), parent or guardian, and the
    last day (null: open). Only these details are kept."""
    guardian = details.get("guardian_id_number")
    guardian_id = (
        _identity_number(guardian, problems, "details.guardian_id_number")
        if isinstance(guardian, str)
        else ""
    )
    if not isinstance(guardian, str):
        problems.append(
            FieldError(field="details.guardian_id_number", code="invalid", message=_NOT_AN_IDENTITY_NUMBER)
        )
    elif guardian_id and guardian_id == id_number:
        problems.append(
            FieldError(
                field="details.guardian_id_number",
                code="guardian_is_the_person",
                message=Bilingual("监护人不能是本人", "the guardian is not the person themself"),
            )
        )
    relationship = details.get("relationship")
    if relationship not in GUARDIAN_RELATIONSHIPS:
        problems.append(
            FieldError(
                field="details.relationship",
                code="invalid",
                message=Bilingual("应为 parent 或 guardian", "parent or guardian"),
            )
        )
    until = details.get("until")
    try:
        last_day = None if until is None else date.fromisoformat(str(until))
    except ValueError:
        last_day, until = None, "invalid"
    if until is not None and (last_day is None or last_day < effective_date):
        problems.append(
            FieldError(
                field="details.until",
                code="invalid",
                message=Bilingual(
                    "应为不早于生效日期的日期或 null", "a date not before effective_date, or null"
                ),
            )
        )
    return {
        "guardian_id_number": guardian_id,
        "relationship": relationship,
        "until": None if last_day is None else last_day.isoformat(),
    }


def _identity_number(value: str, problems: list[FieldError], field: str = "id_number") -> str:
    try:
        return str(IdentityNumber.parse(value).value)
    except (DomainError, ValueError):
        # The message names the field, never the value.
        problems.append(
            FieldError(field=field, code="invalid_identity_number", message=_NOT_AN_IDENTITY_NUMBER)
        )
        return ""


async def record_fact(
    uow: UnitOfWork, catalogue: Catalogue, report: FactReport, person_ref: str
) -> dict[str, Any]:
    """Keep and apply the fact in the caller's unit of work. The answer is the same whatever
    became of it (applied, kept until a certificate, refused outside the jurisdiction):
    {"fact_id", "status": "received"}. Only what depends on the partner alone (a fact type
    its policy does not grant) is refused out loud."""
    policy = await queries.partner_fact_policy(uow.conn, report.partner_id)
    if policy is None or report.fact_type not in policy.facts:
        raise FactTypeOutsidePolicy(
            detail=Bilingual(
                f"数据共享协议不含此类信息：{report.fact_type}",
                f"not in the partner's policy: {report.fact_type}",
            )
        )
    holding = await holding_of(uow, person_ref)
    holding.record_fact(report.fact(), catalogue, Jurisdiction.of(policy.regions))
    return {"fact_id": report.fact_id, "status": RECEIVED}


RECEIVED = "received"


async def jurisdictions_of(uow: UnitOfWork, holding: Holding) -> dict[str, Jurisdiction]:
    """The jurisdiction of each partner whose facts the holding keeps until a certificate (a
    partner this service no longer knows has none)."""
    partners = sorted({fact.partner_id for fact in holding.waiting})
    if not partners:
        return {}
    return await queries.jurisdictions(uow.conn, partners)


async def holding_of(uow: UnitOfWork, person_ref: str) -> Holding:
    """The person's holding, loaded or new, tracked by the unit of work either way."""
    holding = await uow.load(Holding, person_ref)
    if holding is None:
        holding = Holding(person_ref)
        uow.track(holding)
    return holding
