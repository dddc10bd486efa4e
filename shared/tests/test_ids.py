"""Identity numbers, region codes, categories, grades and certificate numbers, as people meet them."""

from __future__ import annotations

from datetime import date

import pytest

from dcert_shared.errors import ValidationFailed
from dcert_shared.ids import (
    Category,
    CertificateNumber,
    IdentityNumber,
    InvalidCategory,
    InvalidCertificateNumber,
    InvalidIdentityNumber,
    InvalidLevel,
    InvalidRegionCode,
    Level,
    RegionCode,
    check_character,
    check_level,
    keyed_hash,
    make_identity_number,
)

TODAY = date(2026, 6, 1)
# A published sample with X as its check character (GB 11643-1999 examples are of this form).
WITH_X = "11010519491231002X"


def number(region: str = "330502", birth: date = date(1980, 5, 17), sequence: int = 123) -> str:
    return make_identity_number(region, birth, sequence)


def raw(first_seventeen: str) -> str:
    """A number with a correct check character whatever the other parts say."""
    return first_seventeen + check_character(first_seventeen)


def refusal(text: str, today: date = TODAY) -> str:
    with pytest.raises(InvalidIdentityNumber) as refused:
        IdentityNumber.parse(text, today)
    return refused.value.code


def test_a_valid_identity_number_gives_its_region_birth_date_and_sex() -> None:
    identity = IdentityNumber.parse(number(sequence=123), TODAY)
    assert identity.region == "330502"
    assert identity.birth_date == date(1980, 5, 17)
    assert identity.sex == "male"  # odd sequence
    assert IdentityNumber.parse(number(sequence=124), TODAY).sex == "female"


def test_an_identity_number_ending_in_x_is_valid_and_a_lowercase_x_is_normalised() -> None:
    assert check_character(WITH_X[:17]) == "X"
    identity = IdentityNumber.parse(WITH_X.lower(), TODAY)
    assert identity.value == WITH_X
    assert str(identity) == WITH_X
    assert identity == IdentityNumber.parse(f"  {WITH_X}  ", TODAY)


def test_identity_number_with_wrong_check_digit_is_refused() -> None:
    valid = number()
    wrong = valid[:-1] + ("1" if valid[-1] != "1" else "2")
    assert refusal(wrong) == "id_check_digit"


@pytest.mark.parametrize(
    "text",
    ["", "33050219800517123", "3305021980051712345", "33050219800517A23X", "33050X198005171234", "３３０５"],
)
def test_an_identity_number_of_the_wrong_shape_is_refused_as_a_format_error(text: str) -> None:
    assert refusal(text) == "id_format"


def test_an_impossible_birth_date_is_refused() -> None:
    assert refusal(raw("330502" + "19800230" + "123")) == "id_birth_date"
    assert refusal(raw("330502" + "19801301" + "123")) == "id_birth_date"


def test_29_february_2000_is_a_real_birth_date_but_29_february_1900_is_not() -> None:
    assert IdentityNumber.parse(raw("330502" + "20000229" + "123"), TODAY).birth_date == date(2000, 2, 29)
    # 1900 is divisible by 100 and not by 400: not a leap year.
    assert refusal(raw("330502" + "19000229" + "123")) == "id_birth_date"


def test_a_birth_before_1900_is_refused() -> None:
    assert refusal(raw("330502" + "18991231" + "123")) == "id_birth_date"
    assert IdentityNumber.parse(raw("330502" + "19000101" + "123"), TODAY).birth_date == date(1900, 1, 1)


def test_a_birth_date_in_the_future_is_refused_but_one_born_today_is_not() -> None:
    assert refusal(number(birth=date(2026, 6, 2)), today=TODAY) == "id_future_birth_date"
    assert IdentityNumber.parse(number(birth=TODAY), TODAY).birth_date == TODAY


def test_an_identity_number_from_no_province_is_refused() -> None:
    assert refusal(number(region="990101")) == "id_region"


def test_each_identity_refusal_is_a_422_validation_problem_with_its_own_title() -> None:
    codes = {}
    for text in ("x", number()[:-1] + "0" if number()[-1] != "0" else number()[:-1] + "1"):
        with pytest.raises(ValidationFailed) as refused:
            IdentityNumber.parse(text, TODAY)
        assert refused.value.status == 422
        codes[refused.value.code] = (refused.value.title_zh, refused.value.title_en)
    assert set(codes) == {"id_format", "id_check_digit"}
    assert codes["id_format"] != codes["id_check_digit"]
    assert all(zh and en and zh != en for zh, en in codes.values())


def test_age_counts_full_years_and_a_person_under_18_is_a_minor() -> None:
    identity = IdentityNumber.parse(number(birth=date(2008, 6, 2)), TODAY)
    assert identity.age_on(date(2026, 6, 1)) == 17
    assert identity.is_minor_on(date(2026, 6, 1))
    assert identity.age_on(date(2026, 6, 2)) == 18
    assert not identity.is_minor_on(date(2026, 6, 2))


def test_someone_born_on_a_leap_day_comes_of_age_on_1_march() -> None:
    identity = IdentityNumber.parse(raw("330502" + "20040229" + "124"), TODAY)
    assert identity.is_minor_on(date(2022, 2, 28))
    assert not identity.is_minor_on(date(2022, 3, 1))


def test_an_identity_number_is_masked_to_its_first_and_last_four_characters() -> None:
    identity = IdentityNumber.parse(WITH_X, TODAY)
    assert identity.masked() == "1101**********002X"
    assert len(identity.masked()) == 18


def test_the_repr_of_an_identity_number_never_shows_it() -> None:
    identity = IdentityNumber.parse(number(), TODAY)
    for shown in (repr(identity), repr([identity]), repr({"who": identity}), f"{identity!r}"):
        assert identity.value not in shown
        assert identity.masked() in shown


def test_a_region_code_gives_its_province_city_and_county() -> None:
    region = RegionCode.parse("330502")
    assert (region.province, region.city, region.county) == ("330000", "330500", "330502")
    assert region.same_province(RegionCode.parse("330106"))
    assert region.same_province("330000")
    assert not region.same_province(RegionCode.parse("110101"))
    assert str(region) == "330502"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("33050", "region_format"),
        ("3305021", "region_format"),
        ("abcdef", "region_format"),
        ("990000", "region_province"),
        ("000000", "region_province"),
        ("160000", "region_province"),
        ("830000", "region_province"),
    ],
)
def test_a_region_code_that_is_not_a_real_one_is_refused(text: str, code: str) -> None:
    with pytest.raises(InvalidRegionCode) as refused:
        RegionCode.parse(text)
    assert refused.value.code == code
    assert isinstance(refused.value, ValidationFailed)


@pytest.mark.parametrize("text", ["110101", "710000", "810000", "820000", "650102", "540102"])
def test_every_kind_of_province_level_division_is_accepted(text: str) -> None:
    assert RegionCode.parse(text).value == text


def test_the_seven_categories_have_their_digits_and_labels_in_both_languages() -> None:
    assert [category.code for category in Category] == [1, 2, 3, 4, 5, 6, 7]
    assert Category.from_name("visual") is Category.visual
    assert Category.from_code(6) is Category.mental
    assert Category.from_code("7") is Category.multiple
    assert Category.hearing.label_zh == "听力残疾"
    assert Category.intellectual.label("en") == "intellectual disability"
    assert Category.physical.label("zh-CN") == "肢体残疾"


@pytest.mark.parametrize(
    "call", [lambda: Category.from_name("deaf"), lambda: Category.from_code(8), lambda: Category.from_code(0)]
)
def test_an_unknown_category_is_refused(call: object) -> None:
    with pytest.raises(InvalidCategory) as refused:
        call()  # type: ignore[operator]
    assert refused.value.code == "category_invalid"


def test_grades_run_from_one_to_four_with_chinese_labels() -> None:
    assert [Level.of(n).label_zh for n in (1, 2, 3, 4)] == ["一级", "二级", "三级", "四级"]
    assert Level.of("2") == 2
    assert check_level(4) == 4
    for invalid in (0, 5, -1):
        with pytest.raises(InvalidLevel):
            Level.of(invalid)
    with pytest.raises(InvalidLevel):
        check_level(5)


def test_a_certificate_number_is_the_identity_number_then_category_and_grade() -> None:
    identity = IdentityNumber.parse(WITH_X, TODAY)
    certificate = CertificateNumber.compose(identity, Category.physical, 2)
    assert certificate.value == WITH_X + "42"
    assert len(certificate.value) == 20
    parsed = CertificateNumber.parse(certificate.value, TODAY)
    assert parsed == certificate
    assert (parsed.identity_number, parsed.category, parsed.level, parsed.replacement) == (
        identity,
        Category.physical,
        Level.two,
        0,
    )


def test_a_replaced_card_gets_the_next_b_suffix_and_parses_back() -> None:
    first = CertificateNumber.compose(IdentityNumber.parse(number(), TODAY), Category.visual, 1)
    twice = first.next_replacement().next_replacement()
    assert twice.value == first.value + "B2"
    assert CertificateNumber.parse(twice.value, TODAY).replacement == 2
    assert CertificateNumber.parse(first.value + "b12", TODAY).replacement == 12


@pytest.mark.parametrize(
    ("suffix", "code"),
    [
        ("81", "certificate_number_category"),
        ("01", "certificate_number_category"),
        ("45", "certificate_number_level"),
        ("40", "certificate_number_level"),
        ("41B0", "certificate_number_replacement"),
        ("41B01", "certificate_number_replacement"),
        ("41B", "certificate_number_format"),
        ("41Bx", "certificate_number_format"),
        ("4", "certificate_number_format"),
        ("412", "certificate_number_format"),
    ],
)
def test_each_part_of_a_certificate_number_is_checked(suffix: str, code: str) -> None:
    with pytest.raises(InvalidCertificateNumber) as refused:
        CertificateNumber.parse(number() + suffix, TODAY)
    assert refused.value.code == code


def test_a_certificate_number_whose_identity_part_is_wrong_is_refused_with_that_reason() -> None:
    valid = number()
    wrong = valid[:-1] + ("1" if valid[-1] != "1" else "2")
    with pytest.raises(InvalidCertificateNumber) as refused:
        CertificateNumber.parse(wrong + "41", TODAY)
    assert refused.value.code == "id_check_digit"


def test_a_certificate_number_is_masked_and_its_repr_hides_the_identity_number() -> None:
    certificate = CertificateNumber.parse(WITH_X + "41B1", TODAY)
    assert certificate.masked() == "1101**********002X41B1"
    assert WITH_X not in repr(certificate)
    assert str(certificate) == WITH_X + "41B1"


def test_a_keyed_hash_finds_the_same_person_without_revealing_the_number() -> None:
    key = b"k" * 32
    value = IdentityNumber.parse(WITH_X.lower(), TODAY).value
    digest = keyed_hash(key, value)
    assert digest == keyed_hash(key, WITH_X)
    assert len(digest) == 64
    assert int(digest, 16) >= 0
    assert WITH_X not in digest
    assert keyed_hash(b"j" * 32, value) != digest
    with pytest.raises(ValueError, match="needs a key"):
        keyed_hash(b"", value)


@pytest.mark.parametrize("sequence", [1, 2, 57, 500, 999])
def test_make_identity_number_builds_numbers_that_parse(sequence: int) -> None:
    text = make_identity_number("440305", date(1975, 12, 31), sequence)
    assert IdentityNumber.parse(text, TODAY).value == text
