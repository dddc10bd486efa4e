"""存量导入: a holder of the national certificate system, as one row of its export, checked as an
application would be before anything is written (docs/import.md).

Every fault of a row is named at once (field and code, never the value), so the operator mends
the export in one pass; a row with any fault is not imported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from dcert_shared.ids import (
    Category,
    CertificateNumber,
    IdentityNumber,
    InvalidCertificateNumber,
    InvalidIdentityNumber,
    InvalidRegionCode,
    RegionCode,
    mask,
)

from .person import GUARDIANS

COLUMNS = (
    "certificate_number",
    "name",
    "id_number",
    "category",
    "level",
    "issued_on",
    "expires_on",
    "household_region",
    "residence_region",
    "card_generation",
    "card_status",
    "phone",
    "address",
    "guardian_id_number",
    "guardian_name",
    "guardian_relationship",
)
# What the export may leave empty; a child's guardian is checked apart.
OPTIONAL_COLUMNS = frozenset(
    {"phone", "address", "guardian_id_number", "guardian_name", "guardian_relationship"}
)
# The state of the card the holder has: `lost` imports a certificate reported lost (it does not
# verify until replaced); `damaged` is live and due for a replacement.
CARD_STATUSES = ("valid", "lost", "damaged")
CARD_GENERATIONS = (2, 3)
NAME_MAX_LENGTH = 50
ADDRESS_MAX_LENGTH = 200
_PHONE = re.compile(r"[0-9+\-]{5,20}")
_LEVEL_WORDS = {"一级": 1, "二级": 2, "三级": 3, "四级": 4}
_CATEGORY_WORDS = {
    **{category.name: category for category in Category},
    **{category.label_zh: category for category in Category},
    **{str(category.code): category for category in Category},
}


@dataclass(frozen=True)
class RowFault:
    """Why a row is not imported: the column (or `row`) and a reason code of the catalogue
    (`import.reason.<code>` or `problem.<code>`); `params` fill its text, never with personal data."""

    column: str
    code: str
    params: Mapping[str, str | int] = field(default_factory=dict)


@dataclass(frozen=True, repr=False)
class LegacyGuardian:
    """监护人 of a child holder, as the national system records them."""

    ref: str
    id_number: str
    name: str
    relationship: str

    def __repr__(self) -> str:
        return f"LegacyGuardian({mask(self.id_number)})"


@dataclass(frozen=True, repr=False)
class LegacyCertificate:
    """One holder of the export, checked: what the certificate service records of them."""

    line: int
    number: str
    person_ref: str
    id_number: str
    name: str
    category: str
    level: int
    issued_on: date
    expires_on: date
    household_region: str
    residence_region: str
    card_generation: int
    card_status: str
    phone: str | None
    address: str | None
    guardian: LegacyGuardian | None
    replacement_count: int

    @property
    def birth_date(self) -> date:
        return IdentityNumber(self.id_number).birth_date

    def __repr__(self) -> str:
        return f"LegacyCertificate(line={self.line}, {mask(self.number)})"


def check_row(
    line: int, row: Mapping[str, str], today: date, person_ref: Callable[[str], str]
) -> LegacyCertificate | list[RowFault]:
    """The row as a holder to import, or every fault it has. `person_ref`: the keyed hash of an
    identity number (the person's stream and data key)."""
    value = {name: (row.get(name) or "").strip() for name in COLUMNS}
    faults = [
        RowFault(name, "missing") for name in COLUMNS if name not in OPTIONAL_COLUMNS and not value[name]
    ]
    missing = {fault.column for fault in faults}
    identity = (
        _identity(value["id_number"], "id_number", today, faults) if "id_number" not in missing else None
    )
    category = _category(value["category"], faults) if "category" not in missing else None
    level = _level(value["level"], faults) if "level" not in missing else None
    number = None
    if "certificate_number" not in missing:
        number = _number(value["certificate_number"], today, faults)
    if number is not None and identity is not None and category is not None and level is not None:
        composed = (number.identity_number.value, number.category, int(number.level))
        if composed != (identity.value, category, level):
            faults.append(RowFault("certificate_number", "number_mismatch"))
    issued_on = _date(value["issued_on"], "issued_on", faults) if "issued_on" not in missing else None
    expires_on = _date(value["expires_on"], "expires_on", faults) if "expires_on" not in missing else None
    _check_dates(issued_on, expires_on, identity, today, faults)
    regions = {
        name: _region(value[name], name, faults)
        for name in ("household_region", "residence_region")
        if name not in missing
    }
    generation = (
        _card_generation(value["card_generation"], faults) if "card_generation" not in missing else None
    )
    if "card_status" not in missing and value["card_status"] not in CARD_STATUSES:
        faults.append(RowFault("card_status", "card_status_invalid", {"expected": ", ".join(CARD_STATUSES)}))
    if len(value["name"]) > NAME_MAX_LENGTH:
        faults.append(RowFault("name", "too_long", {"max_length": NAME_MAX_LENGTH}))
    if len(value["address"]) > ADDRESS_MAX_LENGTH:
        faults.append(RowFault("address", "too_long", {"max_length": ADDRESS_MAX_LENGTH}))
    if value["phone"] and not _PHONE.fullmatch(value["phone"]):
        faults.append(RowFault("phone", "phone_format"))
    guardian = _guardian(value, identity, today, person_ref, faults)
    if (
        faults
        or identity is None
        or number is None
        or category is None
        or level is None
        or issued_on is None
        or expires_on is None
        or generation is None
    ):
        return faults
    return LegacyCertificate(
        line=line,
        number=number.value,
        person_ref=person_ref(identity.value),
        id_number=identity.value,
        name=value["name"],
        category=category.name,
        level=level,
        issued_on=issued_on,
        expires_on=expires_on,
        household_region=str(regions["household_region"]),
        residence_region=str(regions["residence_region"]),
        card_generation=generation,
        card_status=value["card_status"],
        phone=value["phone"] or None,
        address=value["address"] or None,
        guardian=guardian,
        replacement_count=number.replacement,
    )


def _identity(text: str, column: str, today: date, faults: list[RowFault]) -> IdentityNumber | None:
    try:
        return IdentityNumber.parse(text, today)
    except InvalidIdentityNumber as error:
        faults.append(RowFault(column, error.code))
        return None


def _number(text: str, today: date, faults: list[RowFault]) -> CertificateNumber | None:
    try:
        return CertificateNumber.parse(text, today)
    except InvalidCertificateNumber as error:
        faults.append(RowFault("certificate_number", error.code))
        return None


def _category(text: str, faults: list[RowFault]) -> Category | None:
    category = _CATEGORY_WORDS.get(text) or _CATEGORY_WORDS.get(text.lower())
    if category is None:
        faults.append(RowFault("category", "category_invalid"))
    return category


def _level(text: str, faults: list[RowFault]) -> int | None:
    level = _LEVEL_WORDS.get(text) or (int(text) if text.isdigit() and 1 <= int(text) <= 4 else None)
    if level is None:
        faults.append(RowFault("level", "level_invalid"))
    return level


def _date(text: str, column: str, faults: list[RowFault]) -> date | None:
    try:
        return date.fromisoformat(text.replace("/", "-"))
    except ValueError:
        faults.append(RowFault(column, "date_format"))
        return None


def _check_dates(
    issued_on: date | None,
    expires_on: date | None,
    identity: IdentityNumber | None,
    today: date,
    faults: list[RowFault],
) -> None:
    if issued_on is not None and issued_on > today:
        faults.append(RowFault("issued_on", "issued_in_future"))
    if issued_on is not None and identity is not None and issued_on < identity.birth_date:
        faults.append(RowFault("issued_on", "issued_before_birth"))
    if issued_on is not None and expires_on is not None and expires_on <= issued_on:
        faults.append(RowFault("expires_on", "expiry_before_issue"))
    elif expires_on is not None and expires_on < today:
        # An expired certificate is not a holder's: they renew, which needs its own application.
        faults.append(RowFault("expires_on", "expired"))


def _region(text: str, column: str, faults: list[RowFault]) -> RegionCode | None:
    try:
        return RegionCode.parse(text)
    except InvalidRegionCode as error:
        faults.append(RowFault(column, error.code))
        return None


def _card_generation(text: str, faults: list[RowFault]) -> int | None:
    if text.isdigit() and int(text) in CARD_GENERATIONS:
        return int(text)
    faults.append(RowFault("card_generation", "card_generation_invalid"))
    return None


def _guardian(
    value: Mapping[str, str],
    identity: IdentityNumber | None,
    today: date,
    person_ref: Callable[[str], str],
    faults: list[RowFault],
) -> LegacyGuardian | None:
    """A child's guardian must be named (as on an application for a minor); an adult's may be."""
    given = [name for name in ("guardian_id_number", "guardian_name", "guardian_relationship") if value[name]]
    if not given:
        if identity is not None and identity.is_minor_on(today):
            faults.append(RowFault("guardian_id_number", "guardian_missing"))
        return None
    count = len(faults)
    for name in ("guardian_id_number", "guardian_name", "guardian_relationship"):
        if not value[name]:
            faults.append(RowFault(name, "missing"))
    guardian_identity = None
    if value["guardian_id_number"]:
        guardian_identity = _identity(value["guardian_id_number"], "guardian_id_number", today, faults)
    if guardian_identity is not None and identity is not None and guardian_identity == identity:
        faults.append(RowFault("guardian_id_number", "guardian_is_holder"))
    if value["guardian_relationship"] and value["guardian_relationship"] not in GUARDIANS:
        faults.append(
            RowFault(
                "guardian_relationship",
                "guardian_relationship_invalid",
                {"expected": ", ".join(sorted(GUARDIANS))},
            )
        )
    if len(faults) > count or guardian_identity is None:
        return None
    return LegacyGuardian(
        ref=person_ref(guardian_identity.value),
        id_number=guardian_identity.value,
        name=value["guardian_name"],
        relationship=value["guardian_relationship"],
    )
