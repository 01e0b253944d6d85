"""Chinese text helpers: fold radical look-alikes into real characters, romanize names."""

from __future__ import annotations

import re
import unicodedata

from pypinyin import lazy_pinyin

# CJK Radicals Supplement code points that stand for a whole character, mapped to the
# unified ideograph they look like (after Unicode's EquivalentUnifiedIdeograph data).
# Registry websites and copy-paste from PDFs leave these in names: 任俊⻜ is 任俊飞.
# NFKC does not touch this block, so the table is explicit.
_SUPPLEMENT = {
    0x2E81: 0x5382, 0x2E84: 0x4E59, 0x2E85: 0x4EBB, 0x2E86: 0x5182, 0x2E89: 0x5202,
    0x2E8A: 0x535C, 0x2E8B: 0x353E, 0x2E8C: 0x5C0F, 0x2E8E: 0x5140, 0x2E8F: 0x5C23,
    0x2E90: 0x5C22, 0x2E92: 0x5DF3, 0x2E93: 0x5E7A, 0x2E94: 0x5F51, 0x2E96: 0x5FC4,
    0x2E98: 0x624C, 0x2E99: 0x6535, 0x2E9B: 0x65E1, 0x2E9C: 0x65E5, 0x2E9D: 0x6708,
    0x2E9E: 0x6B7A, 0x2E9F: 0x6BCD, 0x2EA0: 0x6C11, 0x2EA1: 0x6C35, 0x2EA2: 0x6C3A,
    0x2EA3: 0x706C, 0x2EA4: 0x722B, 0x2EA6: 0x4E2C, 0x2EA7: 0x725B, 0x2EA8: 0x72AD,
    0x2EA9: 0x738B, 0x2EAA: 0x758B, 0x2EAB: 0x7F52, 0x2EAC: 0x793A, 0x2EAD: 0x793B,
    0x2EAF: 0x7CF9, 0x2EB0: 0x7E9F, 0x2EB2: 0x7F52, 0x2EB6: 0x7F8A, 0x2EB7: 0x7F8A,
    0x2EB9: 0x8002, 0x2EBD: 0x81FC, 0x2EBE: 0x8279, 0x2EBF: 0x8279, 0x2EC0: 0x8279,
    0x2EC1: 0x864E, 0x2EC2: 0x8864, 0x2EC3: 0x8980, 0x2EC4: 0x897F, 0x2EC5: 0x89C1,
    0x2EC6: 0x89D2, 0x2EC8: 0x8BA0, 0x2EC9: 0x8D1D, 0x2ECB: 0x8F66, 0x2ECC: 0x8FB6,
    0x2ECD: 0x8FB6, 0x2ECE: 0x8FB6, 0x2ECF: 0x961D, 0x2ED0: 0x9485, 0x2ED1: 0x9577,
    0x2ED2: 0x9578, 0x2ED3: 0x957F, 0x2ED4: 0x95E8, 0x2ED6: 0x961D, 0x2ED7: 0x96E8,
    0x2ED8: 0x9752, 0x2ED9: 0x97E6, 0x2EDA: 0x9875, 0x2EDB: 0x98CE, 0x2EDC: 0x98DE,
    0x2EDD: 0x98DF, 0x2EDF: 0x98E0, 0x2EE0: 0x9963, 0x2EE2: 0x9A6C, 0x2EE3: 0x9AA8,
    0x2EE4: 0x9B3C, 0x2EE5: 0x9C7C, 0x2EE6: 0x9E1F, 0x2EE7: 0x5364, 0x2EE8: 0x9EA6,
    0x2EE9: 0x9EC4, 0x2EEA: 0x9EFE, 0x2EEB: 0x6589, 0x2EEC: 0x9F50, 0x2EED: 0x6B6F,
    0x2EEE: 0x9F7F, 0x2EEF: 0x7ADC, 0x2EF0: 0x9F99, 0x2EF1: 0x9F9C, 0x2EF2: 0x4E80,
    0x2EF3: 0x9F9F,
}


def _is_nfkc_lookalike(cp: int) -> bool:
    # Kangxi Radicals and the CJK Compatibility Ideographs: NFKC maps these to unified
    # ideographs. We apply NFKC to them only, so full-width punctuation in registry
    # names (（深圳）) stays as the registry writes it.
    return 0x2F00 <= cp <= 0x2FDF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F


def fold_cjk(text: str) -> str:
    """Replace CJK radical look-alikes with the unified ideographs they imitate."""
    out = []
    for ch in text:
        cp = ord(ch)
        if cp in _SUPPLEMENT:
            out.append(chr(_SUPPLEMENT[cp]))
        elif _is_nfkc_lookalike(cp):
            out.append(unicodedata.normalize("NFKC", ch))
        else:
            out.append(ch)
    return "".join(out)


def lookalikes(text: str) -> list[str]:
    """The look-alike characters in text, as 'U+2EDC ⻜' strings, in order of appearance."""
    return [f"U+{ord(ch):04X} {ch}" for ch in text if fold_cjk(ch) != ch]


def is_han(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith("CJK UNIFIED IDEOGRAPH")


# Surnames whose reading differs from the character's everyday reading.
_SURNAME_READINGS = {
    "单": "shan", "曾": "zeng", "解": "xie", "仇": "qiu", "区": "ou", "朴": "piao",
    "查": "zha", "乐": "yue", "缪": "miao", "覃": "qin", "翟": "zhai", "盖": "ge",
    "繁": "po", "员": "yun", "种": "chong", "秘": "bi", "尉": "yu", "召": "shao",
    "冼": "xian", "佘": "she", "宓": "mi", "阚": "kan", "长": "chang", "重": "chong",
}
_COMPOUND_SURNAMES = {
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙",
    "宇文", "司徒", "夏侯", "轩辕", "令狐", "钟离", "闻人", "澹台", "南宫", "独孤",
    "端木", "西门", "申屠", "太史", "万俟", "呼延", "百里", "东郭", "第五",
}

# Organization forms and business lines, longest first, used to split a company name
# into the words a romanized registry name uses: place, trade name, line, form.
_ORG_FORMS = (
    "股份有限公司", "有限责任公司", "集团有限公司", "有限合伙", "有限公司", "分公司",
    "合伙企业", "工作室", "个人独资企业", "公司", "集团", "商行", "中心", "事务所",
)
_BUSINESS_LINES = (
    "网络科技", "信息技术", "信息科技", "电子商务", "数字科技", "智能科技", "软件技术",
    "计算机", "区块链", "网络", "科技", "信息", "技术", "软件", "数字", "智能", "电子",
    "贸易", "商贸", "咨询", "投资", "实业", "发展", "文化", "传媒", "管理", "服务",
)
_PLACES = (
    "深圳市", "广州市", "北京市", "上海市", "香港", "深圳", "广州", "北京", "上海",
    "东莞", "珠海", "佛山", "惠州", "中山", "杭州", "成都", "南京", "武汉", "厦门",
)


def _syllables(text: str) -> list[str]:
    return lazy_pinyin(fold_cjk(text), errors="default")


def _word(text: str) -> str:
    return "".join(_syllables(text)).capitalize()


def _pairs(text: str) -> list[str]:
    # Two-character words are the commonest shape in business lines and forms.
    return [_word(text[i:i + 2]) for i in range(0, len(text), 2)]


def person_pinyin(name: str) -> str:
    """Romanize a Chinese personal name: surname, then given name as one word ('Ren Junfei')."""
    name = fold_cjk(name).strip()
    if not name or not all(is_han(ch) for ch in name):
        return to_pinyin(name)
    cut = 2 if name[:2] in _COMPOUND_SURNAMES and len(name) > 2 else 1
    surname, given = name[:cut], name[cut:]
    if cut == 1 and surname in _SURNAME_READINGS:
        family = _SURNAME_READINGS[surname].capitalize()
    else:
        family = _word(surname)
    return f"{family} {_word(given)}".strip()


def _company_pinyin(name: str) -> str:
    rest = name
    form = next((f for f in _ORG_FORMS if rest.endswith(f)), "")
    rest = rest[: len(rest) - len(form)]
    lines = []
    while True:
        line = next((w for w in _BUSINESS_LINES if rest.endswith(w) and len(rest) > len(w)), "")
        if not line:
            break
        lines.insert(0, line)
        rest = rest[: len(rest) - len(line)]
    place = next((p for p in _PLACES if rest.startswith(p) and len(rest) > len(p)), "")
    trade = rest[len(place):]
    words = [_word(place.removesuffix("市"))] if place else []
    words.append(_word(trade))
    for line in lines:
        words.extend(_pairs(line))
    words.extend(_pairs(form))
    return " ".join(w for w in words if w)


_HAN_RUN = re.compile(r"([\u3400-\u9fff\U00020000-\U0002ffff]+)")


def to_pinyin(text: str, *, joined: bool = False) -> str:
    """Romanize Chinese text in Title case; company names are split into registry-style words.

    '深圳小红蚁网络科技有限公司' -> 'Shenzhen Xiaohongyi Wangluo Keji Youxian Gongsi'.
    Otherwise each syllable is a word ('龙华区' -> 'Long Hua Qu'), or with joined=True
    each run of Chinese characters is one word, as for a brand ('小红蚁' -> 'Xiaohongyi').
    Non-Chinese runs are kept as written.
    """
    text = fold_cjk(text).strip()
    if any(text.endswith(f) for f in _ORG_FORMS) and all(is_han(ch) for ch in text):
        return _company_pinyin(text)
    parts = []
    for chunk in _HAN_RUN.split(text):
        if not chunk.strip():
            continue
        if not _HAN_RUN.fullmatch(chunk):
            parts.append(chunk.strip())
        elif joined:
            parts.append(_word(chunk))
        else:
            parts.extend(s.capitalize() for s in _syllables(chunk))
    return " ".join(parts)
