"""Languages of the portal: zh-CN by default, English by choice; every text from the gettext
catalogues in `locales/` (read at start-up with babel, no compile step), dates in the locale's form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

LOCALES_DIR: Final = Path(__file__).parent / "locales"
# The language tag of the page (`<html lang>`, `?lang=`) and the catalogue directory it reads.
LANGUAGES: Final = {"zh-CN": "zh_CN", "en": "en"}
DEFAULT_LANGUAGE: Final = "zh-CN"
# Times are shown in China Standard Time, where the people and the offices are.
CHINA: Final = ZoneInfo("Asia/Shanghai")


def N_(message: str) -> str:
    """Marks a text for the catalogues where it is defined; it is translated where it is shown."""
    return message


def read_catalogue(language: str) -> Catalog:
    with open(LOCALES_DIR / LANGUAGES[language] / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=LANGUAGES[language])


@dataclass(frozen=True)
class Translator:
    """One language: `gettext` for texts, `date` and `datetime` for dates in the locale's form."""

    language: str
    messages: dict[str, str]

    @property
    def locale(self) -> str:
        return LANGUAGES[self.language]

    def gettext(self, message: str, **params: object) -> str:
        translated = self.messages.get(message) or message
        return translated % params if params else translated

    def date(self, value: date | str | None) -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            value = date.fromisoformat(value[:10])
        return format_date(value, format="long", locale=self.locale)

    def datetime(self, value: datetime | str | None) -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return format_datetime(value, format="medium", tzinfo=CHINA, locale=self.locale)


def load_translators() -> dict[str, Translator]:
    """Both catalogues, read once at start-up."""
    translators = {}
    for language in LANGUAGES:
        catalogue = read_catalogue(language)
        messages = {
            str(message.id): str(message.string)
            for message in catalogue
            if message.id and isinstance(message.string, str) and message.string
        }
        translators[language] = Translator(language, messages)
    return translators


def choose_language(asked: str | None, remembered: str | None) -> str:
    """`?lang=` first, then the cookie of an earlier choice, then zh-CN."""
    for candidate in (asked, remembered):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT_LANGUAGE
