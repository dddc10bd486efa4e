"""The policy catalogue over HTTP: read by anyone signed in, a new version recorded by an admin,
and what-if simulations of a draft version (changing nothing)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field, WithJsonSchema

from dcert_shared.api import Pool, principal_context
from dcert_shared.auth import CurrentPrincipal
from dcert_shared.problems import Bilingual

from ..adapters import queries
from ..adapters.policy_files import policy_document_json_schema
from ..application.policy_versions import checked_document
from ..domain.calendar import MONTH_PATTERN, Month, is_region_code, significant_digits
from ..domain.errors import PolicyNotFound, SimulationInvalid
from ..domain.simulation import simulate
from .dependencies import Admin, Commands, Versions

router = APIRouter(prefix="/v1", tags=["policies"])


# Checked by `checked_document`: the schema of services/benefits/policies, and rules that agree.
PolicyDocument = Annotated[dict[str, Any], WithJsonSchema(policy_document_json_schema())]


class PolicySummary(BaseModel):
    code: str
    version: int
    name: dict[str, str] = Field(description='{"zh-CN": ..., "en": ...}')
    basis: str
    kind: str = Field(description="cash or in_kind, as the national frame says today")


class PolicyVersionSummary(BaseModel):
    version: int
    source: str = Field(description="file (shipped with the service) or admin (recorded through this API)")
    changed_rules: list[str] = Field(description="the rules this version added, changed or removed")
    recorded_at: datetime


class PolicyRecorded(BaseModel):
    code: str
    version: int
    changed_rules: list[str]


@router.get("/policies", response_model=list[PolicySummary])
async def list_policies(
    principal: CurrentPrincipal, service: Versions, commands: Commands
) -> list[PolicySummary]:
    """Every benefit the service decides, at the version in force."""
    today = commands.today()
    catalogue = service.catalogue
    return [
        PolicySummary(
            code=code,
            version=catalogue.policy(code).version,
            name={"zh-CN": catalogue.policy(code).name_zh, "en": catalogue.policy(code).name_en},
            basis=catalogue.policy(code).basis,
            kind=catalogue.policy(code).kind_on(today),
        )
        for code in catalogue.codes
    ]


@router.get("/policies/{code}")
async def get_policy(code: str, principal: CurrentPrincipal, service: Versions) -> dict[str, Any]:
    """The document of the version in force, as written (the schema of services/benefits/policies)."""
    if code not in service.catalogue:
        raise PolicyNotFound()
    return dict(service.catalogue.policy(code).document)


@router.get("/policies/{code}/versions", response_model=list[PolicyVersionSummary])
async def policy_versions(code: str, principal: CurrentPrincipal, db: Pool) -> list[PolicyVersionSummary]:
    recorded = await queries.policy_versions(db, code)
    if not recorded:
        raise PolicyNotFound()
    return [
        PolicyVersionSummary(
            version=version.version,
            source=version.source,
            changed_rules=version.changed_rules,
            recorded_at=version.recorded_at,
        )
        for version in recorded
    ]


@router.post("/policies/{code}/versions", status_code=201, response_model=PolicyRecorded)
async def record_policy_version(
    code: str, principal: Admin, service: Versions, document: Annotated[PolicyDocument, Body()]
) -> PolicyRecorded:
    """A new version of a benefit's policy, the whole document with `version` above the current
    one (409 policy_version_stale otherwise). Its added, changed or removed rules decide their
    holders again on the day each takes effect."""
    policy = checked_document(document, code)
    await service.record(principal_context(principal), policy, "admin")
    recorded = await queries.policy_version(service.runtime.pool, code, policy.version)
    return PolicyRecorded(code=code, version=policy.version, changed_rules=recorded.changed_rules)


class SimulationCreate(BaseModel):
    policy: PolicyDocument = Field(description="the draft version: a whole policy document")
    month: str | None = Field(
        None,
        description="YYYY-MM; default (also when empty) this month",
        json_schema_extra={"pattern": f"^$|{MONTH_PATTERN}"},
    )
    region: str | None = Field(
        None, description="six digits; default every region", json_schema_extra={"pattern": r"^[0-9]{6}$"}
    )


class SimulationResultPublic(BaseModel):
    benefit: str
    month: str
    region: str | None
    holders: int = Field(description="living certificate holders looked at")
    gain: int = Field(description="not entitled now, entitled under the draft")
    lose: int = Field(description="entitled now, not under the draft")
    change: int = Field(description="entitled under both, at another monthly amount")
    monthly_cost_fen: int
    draft_monthly_cost_fen: int
    difference_fen: int = Field(description="draft minus current, integer fen per month")
    reasons_lost: dict[str, int] = Field(description="why people would lose it, by reason code")


@router.post("/simulations", response_model=SimulationResultPublic)
async def simulation(
    body: SimulationCreate, principal: Admin, service: Versions, commands: Commands, db: Pool
) -> SimulationResultPublic:
    """What-if: the draft against today's holders; nothing is recorded."""
    draft = checked_document(body.policy)
    try:
        month = Month.parse(body.month) if body.month else Month.of(commands.today())
    except ValueError:
        raise SimulationInvalid(detail=Bilingual("月份写作 YYYY-MM", "a month is written YYYY-MM")) from None
    if body.region is not None and not is_region_code(body.region):
        raise SimulationInvalid(detail=Bilingual("地区为六位数字", "a region is six digits"))
    holders = await queries.live_certificate_circumstances(
        db, significant_digits(body.region) if body.region else ""
    )
    result = simulate(service.catalogue, draft, holders, month)
    return SimulationResultPublic(
        benefit=result.benefit,
        month=result.month,
        region=body.region,
        holders=result.holders,
        gain=result.gain,
        lose=result.lose,
        change=result.change,
        monthly_cost_fen=result.monthly_cost_fen,
        draft_monthly_cost_fen=result.draft_monthly_cost_fen,
        difference_fen=result.difference_fen,
        reasons_lost=result.reasons_lost,
    )
