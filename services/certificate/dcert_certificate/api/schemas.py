"""Request and response models of the certificate API (docs/api.md). Responses list what they show."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator
from pydantic_core import PydanticCustomError

from dcert_shared.api import (
    CONTENT_PATTERN,
    IdentityNumberSchema,
    IsoDate,
    RegionCodeSchema,
    stripped_text_needs_content,
)
from dcert_shared.ids import IdentityNumber, RegionCode
from dcert_shared.problems import DomainError

CategoryName = Literal["visual", "hearing", "speech", "physical", "intellectual", "mental", "multiple"]
Relationship = Literal["parent", "guardian", "spouse", "child", "relative", "entrusted"]

_PHONE = re.compile(r"^\+?[0-9][0-9\- ]{4,19}$")


def _identity_number(value: str) -> str:
    try:
        return IdentityNumber.parse(value).value
    except DomainError as error:
        raise PydanticCustomError(error.code, error.title_en) from None


def _region(value: str) -> str:
    try:
        return str(RegionCode.parse(value))
    except DomainError as error:
        raise PydanticCustomError(error.code, error.title_en) from None


def _phone_number(value: str | None) -> str | None:
    if value is not None and not _PHONE.match(value):
        raise PydanticCustomError("phone_format", "a phone number of digits")
    return value


def _optional_region(value: str | None) -> str | None:
    return None if value is None else _region(value)


# Checked by `_identity_number` and `_region`; these say the same rules in the OpenAPI document.
IdentityNumberText = Annotated[str, IdentityNumberSchema]
RegionText = Annotated[str, RegionCodeSchema]
PhoneText = Annotated[str, WithJsonSchema({"type": "string", "pattern": _PHONE.pattern})]


class Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra=stripped_text_needs_content
    )


class ApplicantIn(Strict):
    id_number: IdentityNumberText
    name: str = Field(min_length=1, max_length=60)
    phone: PhoneText
    household_region: RegionText
    residence_region: RegionText
    address: str = Field(min_length=1, max_length=200)

    _id = field_validator("id_number")(_identity_number)
    _regions = field_validator("household_region", "residence_region")(_region)

    _phone = field_validator("phone")(_phone_number)


class AgentIn(Strict):
    """代办人: a guardian or entrusted person."""

    id_number: IdentityNumberText
    name: str = Field(min_length=1, max_length=60)
    relationship: Relationship

    _id = field_validator("id_number")(_identity_number)


DocumentType = Literal[
    "residence_permit",  # 居住证: needed where the residence is in another province
    "id_card",
    "photo",
    "household_register",
    "guardianship_proof",
    "medical_record",
    "loss_statement",
    "death_certificate",
    "other",
]


class DocumentIn(Strict):
    """A document presented with the application (a reference to it, not the file); a bare
    type name (`"residence_permit"`) stands for one without number or validity."""

    type: DocumentType
    number: str | None = Field(default=None, min_length=1, max_length=60)
    valid_until: IsoDate | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_type(cls, data: Any) -> Any:
        return {"type": data} if isinstance(data, str) else data


# The fields each matter needs, and the reasons it allows (checked by completeness.py).
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "new": ("applicant", "declared_category"),
    "renewal": ("certificate_number",),
    "replacement": ("certificate_number", "reason"),
    "grade_change": ("certificate_number", "declared_category"),
    "transfer": ("certificate_number", "to_region"),
    "cancellation": ("certificate_number", "reason"),
}

REASONS: dict[str, tuple[str, ...]] = {
    "replacement": ("lost", "damaged"),
    "cancellation": ("voluntary", "death", "no_longer_eligible", "fraud", "settled_abroad"),
}


def _matters_table(schema: dict[str, Any]) -> None:
    """The OpenAPI form of the matters table: consent given, each matter's fields filled in
    (none null or empty) and its reasons. Not said here: the residence permit (居住证) needed
    when the household and residence regions lie in different provinces, and valid today."""
    stripped_text_needs_content(schema)
    schema["properties"]["consent"]["const"] = True
    schema["allOf"] = [
        {
            "if": {"properties": {"matter": {"const": matter}}},
            "then": {
                "required": list(fields),
                "properties": {
                    name: {"not": {"enum": [None, "", [], {}]}}
                    | ({"enum": list(REASONS[matter])} if name == "reason" else {})
                    for name in fields
                },
            },
        }
        for matter, fields in REQUIRED_FIELDS.items()
    ]


class ApplicationCreate(Strict):
    """One body for every matter; each matter needs its own fields (see the matters table)."""

    model_config = ConfigDict(json_schema_extra=_matters_table)

    matter: Literal["new", "renewal", "replacement", "grade_change", "transfer", "cancellation"]
    applicant: ApplicantIn | None = None
    agent: AgentIn | None = None
    declared_category: CategoryName | None = None
    declared_level: int | None = Field(default=None, ge=1, le=4)
    home_visit: bool = False
    consent: bool
    certificate_number: str | None = Field(default=None, pattern=r"^[0-9]{17}[0-9X][1-7][1-4](B[0-9]{1,3})?$")
    reason: str | None = Field(default=None, max_length=40)
    to_region: RegionText | None = None
    residence_region: RegionText | None = Field(
        default=None, description="where a matter is applied for, if not the household region"
    )
    documents: list[DocumentIn] = Field(default=[], max_length=20)
    card_delivery: Literal["mail", "collect"] = "mail"

    _regions = field_validator("to_region", "residence_region")(_optional_region)

    @field_validator("consent")
    @classmethod
    def _consent_given(cls, value: bool) -> bool:
        if value is not True:
            raise PydanticCustomError("consent_required", "consent to process personal data is required")
        return value


class Decision(Strict):
    decision: Literal["approve", "reject", "return"]
    reason: str | None = Field(default=None, max_length=500)
    agent: Literal["confirmed", "refused"] | None = Field(
        default=None,
        description="The agent who applied, on the evidence checked (household register, guardianship"
        " document, power of attorney). Approving a minor's application made by a parent or guardian"
        " confirms them unless refused.",
    )


class AgentDecision(Strict):
    """The agent who applied, on the evidence checked."""

    decision: Literal["confirmed", "refused"]


class CorrectionsIn(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=60)
    phone: PhoneText | None = None
    address: str | None = Field(default=None, min_length=1, max_length=200)

    _phone = field_validator("phone")(_phone_number)


def _not_null(name: str) -> dict[str, Any]:
    return {"required": [name], "properties": {name: {"not": {"type": "null"}}}}


def _something_corrected(schema: dict[str, Any]) -> None:
    """`resubmit` refuses a body that names no correction (`missing`): the document says so."""
    stripped_text_needs_content(schema)
    corrected = {"type": "object", "anyOf": [_not_null(name) for name in ("name", "phone", "address")]}
    schema["anyOf"] = [
        {"required": ["applicant"], "properties": {"applicant": corrected}},
        {"required": ["documents"], "properties": {"documents": {"minItems": 1}}},
        {"required": ["note"], "properties": {"note": {"type": "string", "pattern": CONTENT_PATTERN}}},
    ]


class Resubmission(Strict):
    """补正: what was corrected; at least one item."""

    model_config = ConfigDict(json_schema_extra=_something_corrected)

    applicant: CorrectionsIn | None = None
    documents: list[DocumentIn] = Field(default=[], max_length=20)
    note: str | None = Field(default=None, max_length=500)


class Dispute(Strict):
    """复核 / 申诉: why the applicant disagrees with the assessment result."""

    reason: str = Field(min_length=1, max_length=500)


class StaffCancellation(Strict):
    reason: Literal["death", "no_longer_eligible", "fraud", "settled_abroad"]


class ApplicationCreated(BaseModel):
    id: str
    status: str
    matter: str


class Assessment(BaseModel):
    assessment_id: str | None
    doctor_id: str | None
    category: str | None
    level: int | None
    override_reason_given: bool | None


class NextStep(BaseModel):
    step: str
    title: str
    actor_role: str
    region: str | None
    due_on: date | None
    overdue: bool


class Deadlines(BaseModel):
    """Due dates on working days: the notice end, the review, and the last day to ask for 复核."""

    notice_until: date | None
    review_due: date | None
    dispute_until: date | None


class ApplicationAgent(BaseModel):
    """代办人: who applied for the person, how they say they are related, and whether verified."""

    name: str | None = Field(description="masked")
    relationship: str | None
    status: Literal["claimed", "verified", "refused", "ended"]


class ApplicationPublic(BaseModel):
    id: str
    matter: str
    status: str
    household_region: str
    residence_region: str
    accepting_region: str = Field(description="where the application was made and assessed")
    queue_region: str = Field(description="whose staff act now")
    to_region: str | None
    declared_category: str
    home_visit: bool
    is_minor: bool
    applicant_name: str = Field(description="masked")
    reason: str | None
    assessment: Assessment
    notice_until: date | None
    deadlines: Deadlines
    due_on: date | None
    overdue: bool
    next_step: NextStep | None
    decision_reason: str | None
    returned_from: str | None
    dispute_round: int = Field(description="0 none; 1 re-assessment (复核); 2 the final appeal")
    migration_number: str | None
    subject_certificate: str | None = Field(description="the certificate a matter is about")
    certificate_number: str | None
    agent: ApplicationAgent | None = Field(
        default=None, description="who applied for the person, if not themself"
    )
    person_state: str | None = Field(
        default=None,
        description="Why the person cannot get a new certificate now, when an agent not verified applied"
        " anyway (live_certificate_exists, reapplication_barred, person_erased): for the reviewer",
    )
    submitted_at: datetime
    updated_at: datetime


class ApplicationStatus(BaseModel):
    """What an agent whose claim is not verified reads of an application they submitted."""

    id: str
    matter: str
    status: str
    agent_status: Literal["claimed", "verified", "refused", "ended"]
    assessment_id: str | None = Field(description="to book the assessment's time (nothing of it is shown)")
    submitted_at: datetime
    updated_at: datetime


class ApplicationList(BaseModel):
    items: list[ApplicationPublic | ApplicationStatus]


class Card(BaseModel):
    id: str | None
    status: str | None


class TimelineEntry(BaseModel):
    step: str
    title: str
    at: datetime
    actor_role: str
    region: str | None = None
    due_on: date | None = None


class Timeline(BaseModel):
    application_id: str
    status: str
    steps: list[TimelineEntry]
    next_step: NextStep | None


class StepFigures(BaseModel):
    step: str
    count: int = Field(description="steps started in the region")
    completed: int
    open: int
    median_hours: float | None
    p90_hours: float | None
    overdue: int = Field(description="open and past the due date")
    completed_late: int


class SlaReport(BaseModel):
    region: str
    as_of: date
    steps: list[StepFigures]


class ExpiryRun(BaseModel):
    expired: int
    reminded: int


class CertificatePublic(BaseModel):
    number: str
    status: str
    category: str
    level: int
    issued_on: date
    expires_on: date
    region: str
    residence_region: str
    holder: str = Field(description="masked name")
    card: Card
    previous_number: str | None
    replaced_by: str | None
    open_matter: str | None = Field(description="the open application on this certificate")
    renewal_window_opens_on: date


class ECertificate(BaseModel):
    code: str
    key_id: str
    expires_on: date
    online_code: str = Field(
        description="DC1T: the code to show on a screen; verifies online only, until online_code_valid_until"
    )
    online_code_issued_at: datetime
    online_code_valid_until: datetime


class Verification(BaseModel):
    valid: bool
    status: str | None = None
    category: str | None = None
    level: int | None = None
    expires_on: date | None = None
    holder: str | None = None
    reason_code: str | None = None
    code_type: Literal["offline", "online"] | None = Field(
        default=None, description="offline: DC1, checkable without the network; online: DC1T, short-lived"
    )
    online_code_issued_at: datetime | None = None
    online_code_valid_until: datetime | None = None
    generation: Literal[2, 3] | None = Field(
        default=None,
        description="the card's generation, when verified by number and name: 2 (no code) or 3",
    )


LegalBasis = Literal[
    "purpose_fulfilled", "consent_withdrawn", "retention_ended", "unlawful_processing", "court_order"
]


class CodeToVerify(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=2000)


class NumberAndNameToVerify(BaseModel):
    """A card without a code (二代, the second generation): its number and its holder's name,
    both as printed on the card."""

    model_config = ConfigDict(extra="forbid")

    certificate_number: str = Field(pattern=r"^[0-9]{17}[0-9Xx][1-7][1-4](B[0-9]{1,3})?$")
    name: str = Field(min_length=1, max_length=100)


class ErasureRequest(BaseModel):
    """删除个人信息 (PIPL art. 47): the identity number goes in the body, never in a URL."""

    model_config = ConfigDict(extra="forbid")

    id_number: IdentityNumberText = Field(max_length=18)
    legal_basis: LegalBasis

    @field_validator("id_number")
    @classmethod
    def _valid_identity_number(cls, value: str) -> str:
        return _identity_number(value)


class ErasureAnswer(BaseModel):
    person: str = Field(description="the identity number, masked")
    erased: bool = Field(description="always true: the person's data key is destroyed")
    erased_now: bool = Field(description="false when the person had been erased before")
    legal_basis: LegalBasis
