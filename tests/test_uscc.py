"""USCC check characters and what the code says about the company."""

import pytest

from osint.case.uscc import (
    CHARSET, USCCError, check_char, decode_uscc, make_uscc, org_check_char,
)

REAL = ["91440300MA5GAKDP7P", "91440300MA5GDKFU7E"]  # the complaint's two companies


@pytest.mark.parametrize("code", REAL)
def test_real_codes_validate_and_decode(code):
    info = decode_uscc(code)
    assert info.valid and info.problems == ()
    assert info.authority == "工商/市场监管" and info.entity_kind == "企业"
    assert (info.division_code, info.division_name, info.province_name) == ("440300", "深圳市", "广东省")
    assert info.org_code == code[8:17]


def test_embedded_organization_codes_pass_gb11714():
    assert org_check_char("MA5GAKDP") == "7"
    assert org_check_char("MA5GDKFU") == "7"


def test_corrupted_check_character_names_the_expected_one():
    with pytest.raises(USCCError, match="check character is X, expected P"):
        decode_uscc("91440300MA5GAKDP7X")


def test_every_single_character_change_is_caught():
    code = REAL[0]
    for pos in range(18):
        for ch in CHARSET:
            if ch != code[pos]:
                with pytest.raises(USCCError):
                    decode_uscc(code[:pos] + ch + code[pos + 1:])


def test_non_strict_decoding_reports_instead_of_raising():
    info = decode_uscc("91440300MA5GAKDP8P", strict=False)
    assert not info.valid
    assert any("organization code MA5GAKDP8 has check character 8, expected 7" in p for p in info.problems)


@pytest.mark.parametrize("text, words", [
    ("91440300MA5GAKDP7", "17 characters"),
    ("91440300MA5GAKDO7P", "'O' at position 16"),
    ("91440300MA5GAKDI7P", "'I' at position 16"),
])
def test_malformed_codes(text, words):
    with pytest.raises(USCCError, match=words):
        decode_uscc(text)


def test_lower_case_and_spaces_are_tolerated():
    assert decode_uscc(" 91440300ma5gakdp7p ").code == "91440300MA5GAKDP7P"


def test_other_authorities_and_regions():
    code = make_uscc("51110105", "MA01ABCD")  # 民政 / 社会团体, in 北京市
    info = decode_uscc(code)
    assert (info.authority, info.entity_kind, info.province_name) == ("民政", "社会团体", "北京市")
    district = decode_uscc(make_uscc("92440309", "L1234567"))  # 个体工商户 in 龙华区
    assert (district.entity_kind, district.division_name, district.city_name) == ("个体工商户", "龙华区", "深圳市")


def test_undefined_entity_kind_is_a_problem():
    with pytest.raises(USCCError, match="entity kind code 4"):
        decode_uscc(make_uscc("94440300", "MA5GAKDP"))


def test_check_char_weights():
    assert check_char("91440300MA5GAKDP7") == "P"
    assert check_char("91440300MA5GDKFU7") == "E"


def test_lab_codes_are_valid():
    assert make_uscc("91440300", "MA5LAB01") == "91440300MA5LAB018T"
    assert make_uscc("91440300", "MA5LAB02") == "91440300MA5LAB026M"
