"""Check and decode a Unified Social Credit Code (统一社会信用代码, GB 32100-2015)."""

from __future__ import annotations

from dataclasses import dataclass, field

from osint.case.regions import division

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, Z, S, V
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714 organization code

# Registration authority (char 1) and, per authority, the kind of entity (char 2).
AUTHORITIES: dict[str, tuple[str, dict[str, str]]] = {
    "1": ("机构编制", {"1": "机关", "2": "事业单位", "3": "中央编办直接管理机构编制的群众团体", "9": "其他"}),
    "2": ("外交", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": ("司法行政", {"1": "律师执业机构", "2": "公证处", "3": "基层法律服务所",
                   "4": "司法鉴定机构", "5": "仲裁委员会", "9": "其他"}),
    "4": ("文化", {"1": "外国在华文化中心", "9": "其他"}),
    "5": ("民政", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"}),
    "6": ("旅游", {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻内地(大陆)代表机构",
                 "9": "其他"}),
    "7": ("宗教", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
    "8": ("工会", {"1": "基层工会", "9": "其他"}),
    "9": ("工商/市场监管", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}),
    "A": ("中央军委改革和编制办公室", {"1": "军队事业单位", "9": "其他"}),
    "N": ("农业", {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织",
                 "9": "其他"}),
    "Y": ("其他", {"1": "其他"}),
}


class USCCError(ValueError):
    """The text is not a valid Unified Social Credit Code."""


@dataclass(frozen=True)
class USCCInfo:
    code: str
    authority: str | None  # 登记管理部门, e.g. 工商/市场监管
    entity_kind: str | None  # 机构类别, e.g. 企业
    division_code: str  # chars 3-8, GB/T 2260
    division_name: str | None  # 深圳市
    province_name: str | None  # 广东省
    org_code: str  # chars 9-17, GB 11714 organization code, e.g. MA5GAKDP7
    valid: bool
    city_name: str | None = None
    problems: tuple[str, ...] = field(default=())

    @property
    def org_code_display(self) -> str:
        return f"{self.org_code[:8]}-{self.org_code[8:]}"


def check_char(first17: str) -> str:
    """The 18th character for the first 17 (they must be in CHARSET)."""
    total = sum(CHARSET.index(ch) * w for ch, w in zip(first17, WEIGHTS))
    return CHARSET[(31 - total % 31) % 31]


def _org_value(ch: str) -> int:
    return int(ch) if ch.isdigit() else ord(ch) - ord("A") + 10


def org_check_char(first8: str) -> str:
    """The 9th character of a GB 11714 organization code for its first 8."""
    rest = 11 - sum(_org_value(ch) * w for ch, w in zip(first8, ORG_WEIGHTS)) % 11
    return {10: "X", 11: "0"}.get(rest, str(rest))


def clean_uscc(text: str) -> str:
    """Upper case, without the spaces and hyphens people type into codes."""
    return "".join(str(text).split()).replace("-", "").upper()


def decode_uscc(code: str, *, strict: bool = True) -> USCCInfo:
    """Check a USCC and decode what its characters say.

    Raises USCCError when the code has the wrong length or characters, or (strict)
    when a check character or the authority/entity-kind pair is wrong. With
    strict=False such problems are returned in USCCInfo.problems and valid is False.
    """
    text = clean_uscc(code)
    if len(text) != 18:
        raise USCCError(f"{code!r} has {len(text)} characters; a USCC has 18")
    for pos, ch in enumerate(text, 1):
        if ch not in CHARSET:
            raise USCCError(
                f"{code!r} has {ch!r} at position {pos}; a USCC never uses I, O, Z, S, V "
                "or characters other than digits and capital letters")
    problems = []
    expected = check_char(text[:17])
    if text[17] != expected:
        problems.append(f"check character is {text[17]}, expected {expected}")
    org = text[8:17]
    org_expected = org_check_char(org[:8])
    if org[8] != org_expected:
        problems.append(f"embedded organization code {org} has check character {org[8]}, "
                        f"expected {org_expected}")
    authority, kinds = AUTHORITIES.get(text[0], (None, {}))
    if authority is None:
        problems.append(f"registration authority code {text[0]} is not defined by GB 32100")
    entity_kind = kinds.get(text[1])
    if authority is not None and entity_kind is None:
        problems.append(f"entity kind code {text[1]} is not defined for authority {authority}")
    if problems and strict:
        raise USCCError("; ".join(problems))
    place = division(text[2:8])
    return USCCInfo(
        code=text, authority=authority, entity_kind=entity_kind,
        division_code=place.code, division_name=place.name, province_name=place.province,
        city_name=place.city, org_code=org, valid=not problems, problems=tuple(problems),
    )


def make_uscc(prefix8: str, org_body8: str) -> str:
    """Build a valid code from 8 leading characters and an 8-character organization body.

    For synthetic test data: make_uscc('91440300', 'MA5LAB01').
    """
    org = org_body8 + org_check_char(org_body8)
    first17 = prefix8 + org
    if len(first17) != 17 or any(ch not in CHARSET for ch in first17):
        raise USCCError(f"cannot build a USCC from {prefix8!r} and {org_body8!r}")
    return first17 + check_char(first17)
