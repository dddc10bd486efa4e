"""Identifiers: resident identity number (GB 11643-1999), region codes, categories, grades, certificate numbers.

Their `repr` never shows a full identity number, so one cannot reach a log by accident.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date
from enum import Enum

from .problems import ValidationFailed

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARACTERS = "10X98765432"
_IDENTITY_FORMAT = re.compile(r"^\d{17}[\dX]$")
_PROVINCES = frozenset(
    {
        11,
        12,
        13,
        14,
        15,
        21,
        22,
        23,
        31,
        32,
        33,
        34,
        35,
        36,
        37,
        41,
        42,
        43,
        44,
        45,
        46,
        50,
        51,
        52,
        53,
        54,
        61,
        62,
        63,
        64,
        65,
        71,
        81,
        82,
    }
)


class InvalidIdentityNumber(ValidationFailed):
    code = "id_invalid"
    title_zh = "身份证号码无效"
    title_en = "The identity number is not valid"


class IdentityNumberFormat(InvalidIdentityNumber):
    code = "id_format"
    title_zh = "身份证号码应为18位，前17位为数字，末位为数字或X"
    title_en = "An identity number has 17 digits and a final digit or X"


class IdentityNumberCheckDigit(InvalidIdentityNumber):
    code = "id_check_digit"
    title_zh = "身份证号码校验位不正确，请核对"
    title_en = "The identity number's check character is wrong; please check it"


class IdentityNumberBirthDate(InvalidIdentityNumber):
    code = "id_birth_date"
    title_zh = "身份证号码中的出生日期不存在"
    title_en = "The birth date in the identity number does not exist"


class IdentityNumberFutureBirthDate(InvalidIdentityNumber):
    code = "id_future_birth_date"
    title_zh = "身份证号码中的出生日期晚于今天"
    title_en = "The birth date in the identity number is in the future"


class InvalidRegionCode(ValidationFailed):
    code = "region_invalid"
    title_zh = "行政区划代码应为6位有效代码"
    title_en = "A region is a valid 6-digit administrative division code"


class InvalidCategory(ValidationFailed):
    code = "category_invalid"
    title_zh = "残疾类别无效"
    title_en = "Unknown disability category"


class InvalidLevel(ValidationFailed):
    code = "level_invalid"
    title_zh = "残疾等级应为一级至四级"
    title_en = "A disability level is 1 to 4"


class InvalidCertificateNumber(ValidationFailed):
    code = "certificate_number_invalid"
    title_zh = "残疾人证号无效"
    title_en = "The certificate number is not valid"


def check_character(first_seventeen: str) -> str:
    """ISO 7064 MOD 11-2 over the first 17 digits."""
    return _CHECK_CHARACTERS[sum(int(d) * w for d, w in zip(first_seventeen, _WEIGHTS, strict=True)) % 11]


def make_identity_number(region: str, birth: date, sequence: int) -> str:
    """A valid identity number (for fixtures and tests)."""
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + check_character(body)


def mask(value: str) -> str:
    """First 4 and last 4 characters: 3305**********1234."""
    return value[:4] + "*" * max(len(value) - 8, 0) + value[-4:]


def keyed_hash(key: bytes, value: str) -> str:
    """HMAC-SHA256 hex: finds a person by identity number without storing the number."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, repr=False)
class IdentityNumber:
    """居民身份证号码 (GB 11643-1999): region, birth date, sequence, check character."""

    value: str

    @classmethod
    def parse(cls, text: str, today: date | None = None) -> IdentityNumber:
        value = text.strip().upper()
        if not _IDENTITY_FORMAT.match(value):
            raise IdentityNumberFormat()
        if check_character(value[:17]) != value[17]:
            raise IdentityNumberCheckDigit()
        try:
            born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
        except ValueError:
            raise IdentityNumberBirthDate() from None
        if born.year < 1900:
            raise IdentityNumberBirthDate()
        if born > (today or date.today()):
            raise IdentityNumberFutureBirthDate()
        return cls(value)

    @property
    def region(self) -> str:
        return self.value[:6]

    @property
    def birth_date(self) -> date:
        return date(int(self.value[6:10]), int(self.value[10:12]), int(self.value[12:14]))

    @property
    def sex(self) -> str:
        return "male" if int(self.value[16]) % 2 else "female"

    def age_on(self, day: date) -> int:
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    def is_minor_on(self, day: date) -> bool:
        return self.age_on(day) < 18

    def masked(self) -> str:
        return mask(self.value)

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"IdentityNumber({self.masked()})"


@dataclass(frozen=True)
class RegionCode:
    """行政区划代码: 6 digits, province (2), city (4), county (6)."""

    value: str

    @classmethod
    def parse(cls, text: str) -> RegionCode:
        value = text.strip()
        if not re.fullmatch(r"\d{6}", value) or int(value[:2]) not in _PROVINCES:
            raise InvalidRegionCode()
        return cls(value)

    @property
    def province(self) -> str:
        return self.value[:2] + "0000"

    @property
    def city(self) -> str:
        return self.value[:4] + "00"

    @property
    def county(self) -> str:
        return self.value

    def same_province(self, other: RegionCode) -> bool:
        return self.value[:2] == other.value[:2]

    def __str__(self) -> str:
        return self.value


class Category(Enum):
    """残疾类别 (GB/T 26341-2010) with its digit in the certificate number."""

    visual = (1, "视力残疾", "visual disability")
    hearing = (2, "听力残疾", "hearing disability")
    speech = (3, "言语残疾", "speech disability")
    physical = (4, "肢体残疾", "physical disability")
    intellectual = (5, "智力残疾", "intellectual disability")
    mental = (6, "精神残疾", "mental disability")
    multiple = (7, "多重残疾", "multiple disability")

    @property
    def code(self) -> int:
        return int(self.value[0])

    @property
    def label_zh(self) -> str:
        return str(self.value[1])

    @property
    def label_en(self) -> str:
        return str(self.value[2])

    @classmethod
    def from_name(cls, name: str) -> Category:
        try:
            return cls[name]
        except KeyError:
            raise InvalidCategory() from None

    @classmethod
    def from_code(cls, code: int) -> Category:
        for category in cls:
            if category.code == code:
                return category
        raise InvalidCategory()


LEVEL_LABELS_ZH = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}


def check_level(level: int) -> int:
    """残疾等级: 1 (most severe) to 4."""
    if level not in LEVEL_LABELS_ZH:
        raise InvalidLevel()
    return level


@dataclass(frozen=True, repr=False)
class CertificateNumber:
    """残疾人证号: identity number + category digit + grade digit, `B<n>` after the n-th replacement."""

    identity_number: IdentityNumber
    category: Category
    level: int
    replacement: int = 0

    @classmethod
    def compose(
        cls, identity: IdentityNumber, category: Category, level: int, replacement: int = 0
    ) -> CertificateNumber:
        return cls(identity, category, check_level(level), replacement)

    @classmethod
    def parse(cls, text: str) -> CertificateNumber:
        match = re.fullmatch(r"(\d{17}[\dXx])([1-7])([1-4])(?:B([1-9]\d*))?", text.strip())
        if not match:
            raise InvalidCertificateNumber()
        try:
            identity = IdentityNumber.parse(match.group(1))
        except InvalidIdentityNumber:
            raise InvalidCertificateNumber() from None
        replacement = int(match.group(4)) if match.group(4) else 0
        return cls(identity, Category.from_code(int(match.group(2))), int(match.group(3)), replacement)

    @property
    def value(self) -> str:
        suffix = f"B{self.replacement}" if self.replacement else ""
        return f"{self.identity_number.value}{self.category.code}{self.level}{suffix}"

    def next_replacement(self) -> CertificateNumber:
        return CertificateNumber(self.identity_number, self.category, self.level, self.replacement + 1)

    def masked(self) -> str:
        return mask(self.value)

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"CertificateNumber({self.masked()})"
