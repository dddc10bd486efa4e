"""Every text exists in zh-CN and en with the same parameters, and callers get the language they prefer."""

from __future__ import annotations

import string

import pytest

from dcert_shared import auth, errors, ids
from dcert_shared.i18n import LANGUAGES, MESSAGES, negotiate, text


def parameters(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def test_every_message_has_chinese_and_english() -> None:
    for code, texts in MESSAGES.items():
        assert set(texts) == set(LANGUAGES), code
        assert all(value.strip() for value in texts.values()), code


def test_both_languages_of_a_message_take_the_same_parameters() -> None:
    for code, texts in MESSAGES.items():
        assert parameters(texts["zh-CN"]) == parameters(texts["en"]), code


def test_every_shared_problem_code_has_a_title_in_both_languages() -> None:
    classes = [
        value
        for module in (errors, auth)
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, errors.DomainError)
    ]
    codes = {cls.code for cls in classes if cls is not errors.CodedValidationFailed}
    codes |= {"id_format", "id_check_digit", "id_birth_date", "id_future_birth_date", "id_region"}
    codes |= {"region_format", "region_province", "category_invalid", "level_invalid", "internal_error"}
    codes |= {f"certificate_number_{part}" for part in ("format", "category", "level", "replacement")}
    for code in codes:
        assert f"problem.{code}" in MESSAGES, code
    for cls in classes:
        assert cls.title_zh != cls.title_en, cls


def test_the_identity_errors_take_their_titles_from_the_catalogue() -> None:
    error = ids.InvalidIdentityNumber("id_future_birth_date")
    assert error.title("zh-CN") == MESSAGES["problem.id_future_birth_date"]["zh-CN"]
    assert error.title("en") == MESSAGES["problem.id_future_birth_date"]["en"]


@pytest.mark.parametrize(
    "header", [None, "", "fr-FR", "*", "zh", "zh-CN,en;q=0.8", "zh-TW", "de, zh-Hans;q=0.1", "en;q=0"]
)
def test_chinese_is_chosen_by_default_or_when_preferred(header: str | None) -> None:
    assert negotiate(header) == "zh-CN"


@pytest.mark.parametrize("header", ["en", "en-US", "en-GB,en;q=0.9", "zh;q=0.5, en", "fr, en;q=0.5", "EN-us"])
def test_english_is_chosen_when_the_caller_prefers_it(header: str) -> None:
    assert negotiate(header) == "en"


def test_a_text_is_formatted_with_its_parameters_and_falls_back_to_chinese() -> None:
    assert text("field.string_too_long", "en", max_length=20) == "Should have at most 20 characters"
    assert text("field.string_too_long", "zh-CN", max_length=20) == "最多20个字符"
    assert text("problem.not_found", "fr") == "未找到"
    with pytest.raises(KeyError):
        text("problem.no_such_code", "en")
