"""Partner agencies' facts, the same whether they come over HTTP (`POST /v1/facts`) or NATS.

A partner connected to NATS publishes a CloudEvent on `partners.events.<partner id>.<fact type>`
(its broker user may publish there only: deploy/nats/users.conf); its `data` is the body
of `POST /v1/facts`. Either way the fact is checked whole, against the partner's policy, and kept
once per (partner, fact id): the identity number becomes its keyed hash before anything is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dcert_shared.ids import IdentityNumber, keyed_hash
from dcert_shared.problems import DomainError, FieldError
from dcert_shared.uow import UnitOfWork

from ..domain.calendar import is_region_code
from ..domain.errors import FactInvalid, FactTypeOutsidePolicy
from ..domain.holding import Fact, Holding
from ..domain.policies import Catalogue, Support

FactType = Literal[
    "low_income_started",
    "low_income_ended",
    "death",
    "household_moved",
    "long_term_care_started",  # 长期照护: the person needs care for over six months
    "long_term_care_ended",
]


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


def checked_report(partner_id: str, body: FactCreate | Any) -> FactReport:
    """The report of a fact's body (`FactCreate`, or its JSON from NATS), every problem named at once."""
    if not isinstance(body, FactCreate):
        try:
            body = FactCreate.model_validate(body)
        except ValidationError as error:
            fields = [
                FieldError(field=".".join(map(str, e["loc"])), code=e["type"], message=e["msg"])
                for e in error.errors(include_input=False)
            ]
            raise FactInvalid(errors=fields) from None
    problems: list[FieldError] = []
    id_number = _identity_number(body.id_number, problems)
    # A date outside these is a typing mistake (and 9999-12-31 has no next month to pay from).
    if not FIRST_FACT_DATE <= body.effective_date <= LAST_FACT_DATE:
        problems.append(
            FieldError(
                field="effective_date",
                code="date_out_of_range",
                message=f"from {FIRST_FACT_DATE.isoformat()} to {LAST_FACT_DATE.isoformat()}",
            )
        )
    details = dict(body.details)
    if body.type == "household_moved":
        to_region = details.get("to_region")
        if not isinstance(to_region, str) or not is_region_code(to_region):
            problems.append(
                FieldError(field="details.to_region", code="invalid", message="a 6-digit region code")
            )
    for support in Support:
        if support.value in details and not isinstance(details[support.value], bool):
            problems.append(
                FieldError(field=f"details.{support.value}", code="invalid", message="true or false")
            )
    if problems:
        raise FactInvalid(errors=problems)
    return FactReport(partner_id, body.fact_id, body.type, id_number, body.effective_date, details)


def _identity_number(value: str, problems: list[FieldError]) -> str:
    try:
        return str(IdentityNumber.parse(value).value)
    except (DomainError, ValueError):
        # The message names the field, never the value.
        problems.append(
            FieldError(
                field="id_number", code="invalid_identity_number", message="not a valid identity number"
            )
        )
        return ""


async def record_fact(
    uow: UnitOfWork, catalogue: Catalogue, report: FactReport, person_ref: str
) -> dict[str, Any]:
    """Keep and apply the fact in the caller's unit of work: {"fact_id", "status"}."""
    facts = await uow.conn.fetchval(
        "SELECT facts FROM partner_fact_policy WHERE partner_id = $1", report.partner_id
    )
    if facts is None or report.fact_type not in facts:
        raise FactTypeOutsidePolicy(detail=f"fact type {report.fact_type!r} is not in the partner's policy")
    holding = await holding_of(uow, person_ref)
    status = holding.record_fact(report.fact(), catalogue)
    return {"fact_id": report.fact_id, "status": status}


async def holding_of(uow: UnitOfWork, person_ref: str) -> Holding:
    """The person's holding, loaded or new, tracked by the unit of work either way."""
    holding = await uow.load(Holding, person_ref)
    if holding is None:
        holding = Holding(person_ref)
        uow.track(holding)
    return holding
