"""Request and response models of the certificate API (API.md). Responses list what they show."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

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


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ApplicantIn(Strict):
    id_number: str
    name: str = Field(min_length=1, max_length=60)
    phone: str
    household_region: str
    residence_region: str
    address: str = Field(min_length=1, max_length=200)

    _id = field_validator("id_number")(_identity_number)
    _regions = field_validator("household_region", "residence_region")(_region)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        if not _PHONE.match(value):
            raise PydanticCustomError("phone_format", "a phone number of digits")
        return value


class AgentIn(Strict):
    """代办人: a guardian or entrusted person."""

    id_number: str
    name: str = Field(min_length=1, max_length=60)
    relationship: Relationship

    _id = field_validator("id_number")(_identity_number)


class ApplicationCreate(Strict):
    matter: Literal["new", "renewal", "replacement", "grade_change", "transfer", "cancellation"]
    applicant: ApplicantIn | None = None
    agent: AgentIn | None = None
    declared_category: CategoryName | None = None
    home_visit: bool = False
    consent: bool
    certificate_number: str | None = None

    @field_validator("consent")
    @classmethod
    def _consent_given(cls, value: bool) -> bool:
        if value is not True:
            raise PydanticCustomError("consent_required", "consent to process personal data is required")
        return value


class Decision(Strict):
    decision: Literal["approve", "reject", "return"]
    reason: str | None = Field(default=None, max_length=500)


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


class ApplicationPublic(BaseModel):
    id: str
    matter: str
    status: str
    household_region: str
    residence_region: str
    declared_category: str
    home_visit: bool
    is_minor: bool
    applicant_name: str = Field(description="masked")
    assessment: Assessment
    notice_until: date | None
    decision_reason: str | None
    certificate_number: str | None
    submitted_at: datetime
    updated_at: datetime


class ApplicationList(BaseModel):
    items: list[ApplicationPublic]


class Card(BaseModel):
    id: str | None
    status: str | None


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


class ECertificate(BaseModel):
    code: str
    key_id: str
    expires_on: date


class Verification(BaseModel):
    valid: bool
    status: str | None = None
    category: str | None = None
    level: int | None = None
    expires_on: date | None = None
    holder: str | None = None
    reason_code: str | None = None
