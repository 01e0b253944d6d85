"""What attribution says, in English and Chinese: each reason and note is a message id with its
arguments, rendered in the reader's language (the terminal, Markdown and JSON in English, the
report in either). A test checks that both languages have every message."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The claim relations, as a phrase "<subject> … <object>" in each language.
CLAIM_PHRASES = {
    "en": {"website_of": "{s} is a website of {o}", "uses_email": "{s} uses the e-mail address {o}",
           "account_of": "{s} is an account of {o}", "alleged_server_of": "{s} is a server of {o}",
           "suspected_operator_of": "{s} operates {o}"},
    "zh": {"website_of": "{s} 是 {o} 的网站", "uses_email": "{s} 使用电子邮箱 {o}",
           "account_of": "{s} 是 {o} 的账号", "alleged_server_of": "{s} 是 {o} 的服务器",
           "suspected_operator_of": "{s} 运营 {o}"},
}

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "corroborated": ("{paths} evidence path(s) reach {target} itself: {lines} independent line(s) of evidence "
                         "from {n} source(s): {sources}"),
        "supported": ("no evidence names {target} itself; evidence ties it to what another claim of the complaint "
                      "attributes to {target}: {claims}"),
        "supported_linked": ("no evidence names {target} itself; evidence ties it only to claims that have no "
                             "evidence of their own: {claims}"),
        "linked": ("linked to each other: evidence ties it only to {claims}, another claim of the same complaint "
                   "with no evidence of its own; the two do not support each other"),
        "case_only": "only the case file itself connects them",
        "no_path": "no evidence path within {hops} hops",
        "contradicted": ("at the time of the incident {ip} pointed to {host} (ptr, {sources} {evidence}, "
                         "{first} .. {last}), which no evidence connects to {target}"),
        "deregistered": "{name} was deregistered on {date}, before the incident",
        "shared": "{name} is shared infrastructure (many unrelated names use it)",
        "privacy": "{name} is a privacy or proxy service: it hides the registrant and links nothing",
        "hop_under": "{host} is under {site}, which the case lists",
        "hop_case": "case file: {where}",
        "claim_ref": "the claim that {phrase} ({where})",
        "claim_ref_bare": "the claim that {phrase}",
        "gap": "no source reads {platform}: {why}",
        "and": "{first}; {then}",
    },
    "zh": {
        "corroborated": "{paths} 条证据路径直达 {target} 本身：{lines} 条相互独立的证据，来自 {n} 个数据源：{sources}",
        "supported": "没有证据直接指名 {target}；证据把它连到报案材料中另一项指控归于 {target} 的标识：{claims}",
        "supported_linked": "没有证据直接指名 {target}；证据只把它连到本身没有证据的指控：{claims}",
        "linked": "相互关联：证据只把它连到 {claims}，即同一报案材料中另一项本身没有证据的指控；两者不能互相佐证",
        "case_only": "只有案件材料本身把二者联系起来",
        "no_path": "{hops} 跳之内没有证据路径",
        "contradicted": "案发时 {ip} 的反向解析指向 {host}（ptr，{sources} {evidence}，{first} 至 {last}），"
                        "而没有任何证据把它与 {target} 联系起来",
        "deregistered": "{name} 已于 {date} 注销，早于案发",
        "shared": "{name} 是共享基础设施（许多无关域名共用）",
        "privacy": "{name} 是隐私保护或代理注册服务：它隐藏了注册人，不构成任何关联",
        "hop_under": "{host} 是案件材料所列 {site} 的下级域名",
        "hop_case": "案件材料：{where}",
        "claim_ref": "“{phrase}”这一指控（{where}）",
        "claim_ref_bare": "“{phrase}”这一指控",
        "gap": "没有数据源能读取 {platform}：{why}",
        "and": "{first}；{then}",
    },
}


@dataclass(frozen=True)
class ClaimRef:
    """Another claim a finding rests on, by its two ends (labels for display) and where the case says so."""

    subject: str
    relation: str
    object: str
    subject_label: str = ""
    object_label: str = ""
    where: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"subject": self.subject, "relation": self.relation, "object": self.object,
                "subject_label": self.subject_label, "object_label": self.object_label, "where": self.where}


@dataclass(frozen=True)
class Message:
    """A message id and its arguments; `render(lang)` gives the sentence."""

    id: str
    args: dict[str, Any] = field(default_factory=dict)

    def render(self, lang: str = "en") -> str:
        return render(self.id, self.args, lang)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "args": {k: ([c.to_dict() for c in v] if _is_refs(v) else
                                            v.to_dict() if isinstance(v, Message) else v)
                                        for k, v in self.args.items()}}


def _is_refs(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(v, ClaimRef) for v in value)


def claim_text(ref: ClaimRef, lang: str = "en") -> str:
    phrase = CLAIM_PHRASES[lang].get(ref.relation, "{s} " + ref.relation + " {o}").format(
        s=ref.subject_label or ref.subject, o=ref.object_label or ref.object)
    table = MESSAGES[lang]
    return (table["claim_ref"].format(phrase=phrase, where=ref.where) if ref.where
            else table["claim_ref_bare"].format(phrase=phrase))


def render(msg_id: str, args: dict[str, Any], lang: str = "en") -> str:
    """The message in `lang` ('en' or 'zh'); lists of claims are joined in that language."""
    table = MESSAGES.get(lang) or MESSAGES["en"]
    values = {}
    for k, v in args.items():
        if isinstance(v, Message):  # a message within a message: both in the same language
            values[k] = v.render(lang)
        elif _is_refs(v):
            values[k] = ("；" if lang == "zh" else "; ").join(claim_text(r, lang) for r in v)
        elif isinstance(v, dict) and "en" in v:  # an argument given in each language
            values[k] = v.get(lang, v["en"])
        elif isinstance(v, (list, tuple)):
            values[k] = ("、" if lang == "zh" else ", ").join(str(x) for x in v)
        else:
            values[k] = v
    return table[msg_id].format(**values)
