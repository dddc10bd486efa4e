"""Identifiers: resident identity number (GB 11643-1999), region codes, categories, grades, certificate numbers.

All pure. Their `repr` never shows a full identity number, so one cannot reach a log by accident;
`str()` gives the full value for the few places that need it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from enum import Enum, IntEnum
from typing import Any, Final

from .errors import CodedValidationFailed

_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARACTERS: Final = "10X98765432"
_IDENTITY_FORMAT: Final = re.compile(r"\d{17}[\dX]")
_REGION_FORMAT: Final = re.compile(r"\d{6}")
_CERTIFICATE_FORMAT: Final = re.compile(r"(\d{17}[\dX])(\d)(\d)(?:B(\d{1,6}))?")
_EARLIEST_BIRTH: Final = date(1900, 1, 1)
_CHINA_STANDARD_TIME: Final = timezone(timedelta(hours=8))

# Province-level divisions (GB/T 2260): 11-15 north, 21-23 north-east, 31-37 east, 41-46
# centre-south, 50-54 south-west, 61-65 north-west, 71 Taiwan, 81 Hong Kong, 82 Macao.
PROVINCE_CODES: Final = frozenset(
    [
        *range(11, 16),
        *range(21, 24),
        *range(31, 38),
        *range(41, 47),
        *range(50, 55),
        *range(61, 66),
        71,
        81,
        82,
    ]
)
# 港澳台居民居住证 numbers have the same shape and begin with 81, 82 or 83 (Taiwan residents).
IDENTITY_PROVINCE_CODES: Final = PROVINCE_CODES | {83}


class InvalidIdentityNumber(CodedValidationFailed):
    """An identity number that is not one; `code` says why (`id_format`, `id_check_digit`, ...)."""


class InvalidRegionCode(CodedValidationFailed):
    """Not a 6-digit code of a real province-level division (`region_format`, `region_province`)."""


class InvalidCategory(CodedValidationFailed):
    """Not one of the seven categories (`category_invalid`)."""


class InvalidLevel(CodedValidationFailed):
    """Not a grade 1-4 (`level_invalid`)."""


class InvalidCertificateNumber(CodedValidationFailed):
    """A certificate number that is not one; `code` names the part (`certificate_number_level`, ...)."""


def china_today() -> date:
    """Today's date in China (UTC+8, no daylight saving), whatever the server's time zone."""
    return datetime.now(UTC).astimezone(_CHINA_STANDARD_TIME).date()


def check_character(first_seventeen: str) -> str:
    """ISO 7064 MOD 11-2 over the first 17 digits: the 18th character of an identity number."""
    total = sum(int(digit) * weight for digit, weight in zip(first_seventeen, _WEIGHTS, strict=True))
    return _CHECK_CHARACTERS[total % 11]


def make_identity_number(region: str, birth: date, sequence: int) -> str:
    """A valid identity number with the right check character (for fixtures and tests)."""
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + check_character(body)


def _any_of(codes: frozenset[int]) -> str:
    return "|".join(str(code) for code in sorted(codes))


# RegionCode and IdentityNumber as JSON Schema, for the OpenAPI documents (dcert_shared.api).
REGION_CODE_JSON_SCHEMA: Final[dict[str, Any]] = {
    "type": "string",
    "pattern": f"^({_any_of(PROVINCE_CODES)})[0-9]{{4}}$",
    "description": "行政区划代码 (GB/T 2260), six digits",
    "examples": ["330502"],
}
# What a pattern cannot say: the check character (ISO 7064 MOD 11-2), a real birth date from
# 1900 to today (China's date); `make_identity_number` makes such numbers.
IDENTITY_NUMBER_FORMAT: Final = "gb11643-identity-number"
IDENTITY_NUMBER_JSON_SCHEMA: Final[dict[str, Any]] = {
    "type": "string",
    "pattern": f"^({_any_of(IDENTITY_PROVINCE_CODES)})[0-9]{{15}}[0-9Xx]$",
    "format": IDENTITY_NUMBER_FORMAT,
    "description": "居民身份证号码 (GB 11643-1999): a valid check character and a birth date from"
    " 1900 to today; a lower-case x is read as X",
    "examples": [make_identity_number("330502", date(1960, 1, 1), 1)],
}


def mask(value: str) -> str:
    """First 4 and last 4 characters, the rest as asterisks: 3305**********1234."""
    return value[:4] + "*" * max(len(value) - 8, 0) + value[-4:]


_IDENTITY_NUMBER_SHAPE = re.compile(r"[0-9]{17}[0-9Xx]")


def mask_numbers(text: str) -> str:
    """Every identity-number-shaped part of `text` masked: a certificate number
    33050219600101001241 becomes 3305**********001241 (docs/domain.md, data protection)."""
    return _IDENTITY_NUMBER_SHAPE.sub(lambda found: mask(found.group()), text)


def keyed_hash(key: bytes, value: str) -> str:
    """HMAC-SHA256, hex: finds a person by identity number without storing the number itself.

    Hash the normalised value (`IdentityNumber.value`, upper-case X) so both spellings meet.
    """
    if not key:
        raise ValueError("keyed_hash needs a key")
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def _birth_date(value: str) -> date | None:
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None
    return born if born >= _EARLIEST_BIRTH else None


def _structural_fault(value: str) -> str | None:
    """Why `value` (already upper-case) cannot be an identity number on any day, or None."""
    if not _IDENTITY_FORMAT.fullmatch(value):
        return "id_format"
    if check_character(value[:17]) != value[17]:
        return "id_check_digit"
    if _birth_date(value) is None:
        return "id_birth_date"
    if int(value[:2]) not in IDENTITY_PROVINCE_CODES:
        return "id_region"
    return None


@dataclass(frozen=True, repr=False)
class IdentityNumber:
    """居民身份证号码 (GB 11643-1999): 6-digit region, birth date, 3-digit sequence, check character.

    Build it with `parse`, which also refuses a birth date in the future.
    """

    value: str

    def __post_init__(self) -> None:
        fault = _structural_fault(self.value)
        if fault is not None:
            raise InvalidIdentityNumber(fault)

    @classmethod
    def parse(cls, text: str, today: date | None = None) -> IdentityNumber:
        """The identity number in `text` (a lower-case x is accepted); raises InvalidIdentityNumber."""
        identity = cls(text.strip().upper())
        if identity.birth_date > (today or china_today()):
            raise InvalidIdentityNumber("id_future_birth_date")
        return identity

    @property
    def region(self) -> str:
        """The region code of first registration (it may since have been abolished)."""
        return self.value[:6]

    @property
    def birth_date(self) -> date:
        return date(int(self.value[6:10]), int(self.value[10:12]), int(self.value[12:14]))

    @property
    def sex(self) -> str:
        """'male' for an odd sequence number, 'female' for an even one."""
        return "male" if int(self.value[16]) % 2 else "female"

    def age_on(self, day: date) -> int:
        """Full years on `day` (someone born on 29 February comes of age on 1 March)."""
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    def is_minor_on(self, day: date) -> bool:
        return self.age_on(day) < 18

    def masked(self) -> str:
        return mask(self.value)

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"IdentityNumber('{self.masked()}')"


@dataclass(frozen=True)
class RegionCode:
    """行政区划代码 (GB/T 2260): province (2 digits), city (4), county (6)."""

    value: str

    def __post_init__(self) -> None:
        if not _REGION_FORMAT.fullmatch(self.value):
            raise InvalidRegionCode("region_format")
        if int(self.value[:2]) not in PROVINCE_CODES:
            raise InvalidRegionCode("region_province")

    @classmethod
    def parse(cls, text: str) -> RegionCode:
        return cls(text.strip())

    @property
    def province(self) -> str:
        return self.value[:2] + "0000"

    @property
    def city(self) -> str:
        return self.value[:4] + "00"

    @property
    def county(self) -> str:
        return self.value

    def same_province(self, other: RegionCode | str) -> bool:
        return self.value[:2] == str(other)[:2]

    def __str__(self) -> str:
        return self.value


_CATEGORY_LABELS: Final = {
    1: ("视力残疾", "visual disability"),
    2: ("听力残疾", "hearing disability"),
    3: ("言语残疾", "speech disability"),
    4: ("肢体残疾", "physical disability"),
    5: ("智力残疾", "intellectual disability"),
    6: ("精神残疾", "mental disability"),
    7: ("多重残疾", "multiple disability"),
}


class Category(Enum):
    """残疾类别 (GB/T 26341-2010); the value is its digit in the certificate number."""

    visual = 1
    hearing = 2
    speech = 3
    physical = 4
    intellectual = 5
    mental = 6
    multiple = 7

    @property
    def code(self) -> int:
        return int(self.value)

    @property
    def label_zh(self) -> str:
        return _CATEGORY_LABELS[self.code][0]

    @property
    def label_en(self) -> str:
        return _CATEGORY_LABELS[self.code][1]

    def label(self, language: str) -> str:
        return self.label_en if language == "en" else self.label_zh

    @classmethod
    def from_name(cls, name: str) -> Category:
        try:
            return cls[name]
        except KeyError:
            raise InvalidCategory("category_invalid") from None

    @classmethod
    def from_code(cls, code: int | str) -> Category:
        try:
            return cls(int(code))
        except ValueError:
            raise InvalidCategory("category_invalid") from None


LEVEL_LABELS_ZH: Final = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}


class Level(IntEnum):
    """残疾等级: 1 (一级, the most severe) to 4 (四级); compares equal to its number."""

    one = 1
    two = 2
    three = 3
    four = 4

    @classmethod
    def of(cls, level: int | str) -> Level:
        """The grade `level` (1-4, or its digit); raises InvalidLevel."""
        try:
            return cls(int(level))
        except ValueError:
            raise InvalidLevel("level_invalid") from None

    @property
    def label_zh(self) -> str:
        return LEVEL_LABELS_ZH[self.value]

    @property
    def label_en(self) -> str:
        return f"grade {self.value}"

    def label(self, language: str) -> str:
        return self.label_en if language == "en" else self.label_zh


def check_level(level: int) -> int:
    """`level` if it is a grade 1-4; raises InvalidLevel."""
    return int(Level.of(level))


@dataclass(frozen=True, repr=False)
class CertificateNumber:
    """残疾人证号: identity number + category digit + grade digit, then `B<n>` after the n-th replacement (补领)."""

    identity_number: IdentityNumber
    category: Category
    level: Level
    replacement: int = 0

    def __post_init__(self) -> None:
        if self.replacement < 0:
            raise InvalidCertificateNumber("certificate_number_replacement")

    @classmethod
    def compose(
        cls, identity: IdentityNumber, category: Category, level: int, replacement: int = 0
    ) -> CertificateNumber:
        return cls(identity, category, Level.of(level), replacement)

    @classmethod
    def parse(cls, text: str, today: date | None = None) -> CertificateNumber:
        """Checks every part; raises InvalidCertificateNumber whose code names the faulty part."""
        match = _CERTIFICATE_FORMAT.fullmatch(text.strip().upper())
        if not match:
            raise InvalidCertificateNumber("certificate_number_format")
        identity_part, category_digit, level_digit, replacement = match.groups()
        try:
            identity = IdentityNumber.parse(identity_part, today)
        except InvalidIdentityNumber as error:
            raise InvalidCertificateNumber(error.code) from None
        if not 1 <= int(category_digit) <= 7:
            raise InvalidCertificateNumber("certificate_number_category")
        if not 1 <= int(level_digit) <= 4:
            raise InvalidCertificateNumber("certificate_number_level")
        if replacement is not None and (replacement.startswith("0")):
            raise InvalidCertificateNumber("certificate_number_replacement")
        count = int(replacement) if replacement is not None else 0
        return cls(identity, Category.from_code(category_digit), Level.of(level_digit), count)

    @property
    def value(self) -> str:
        suffix = f"B{self.replacement}" if self.replacement else ""
        return f"{self.identity_number.value}{self.category.code}{int(self.level)}{suffix}"

    def next_replacement(self) -> CertificateNumber:
        """The number of the card that replaces this one after a loss or damage."""
        return CertificateNumber(self.identity_number, self.category, self.level, self.replacement + 1)

    def masked(self) -> str:
        """The identity part masked, then category, grade and suffix: 3305**********123441B1."""
        return self.identity_number.masked() + self.value[18:]

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"CertificateNumber('{self.masked()}')"
