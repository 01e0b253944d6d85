"""The graph's vocabulary: every node kind and relation, with its colour, names, confidence and linking.

Adding a node kind or a relation is an edit here only: the Gephi colours and legend (graph/style.py),
the report's words in both languages (report/i18n.py), the graph builder's confidences (graph/build.py)
and the attribution rules (graph/attribute.py) read these tables. docs/CONTRACTS.md describes each
relation's shape; a test checks it names every relation listed here.

The node-id constructors below only write the id (``ip_id("192.0.2.1")`` -> ``"ip:192.0.2.1"``):
the value must already be canonical. Reading untrusted text into a node id (an IP written with
upper-case hex, a host name with a trailing dot, an e-mail address) is `osint.sources.netcommon`'s
`ip_node`, `domain_node` and `email_node`, which normalise and then call these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

EVIDENCE_EDGE_COLOUR = "#9E9E9E"  # edges the evidence shows: grey, under the coloured nodes
CLAIM_EDGE_COLOUR = "#E41A1C"  # claims from the case file: red, so they stand out from evidence
FALLBACK_COLOUR = "#969696"  # kinds a third-party source invents
DEFAULT_CONFIDENCE = 0.5  # a relation with no confidence of its own


@dataclass(frozen=True)
class Kind:
    """A node kind. `hub`: no evidence path passes through it (a region, a registrar: many unrelated
    things share it). `lead`: found by enrichment and not in the case, it is reported as a new lead.
    `enrichable`: the engine can ask sources about it."""

    name: str
    colour: str
    description: str  # what the node is, in English (the legend)
    zh: str
    hub: bool = False
    lead: bool = False
    enrichable: bool = False

    @property
    def en(self) -> str:
        return self.name.replace("_", " ")


@dataclass(frozen=True)
class Relation:
    """An edge kind. `confidence`: how far one source's word on it goes (None: DEFAULT_CONFIDENCE),
    `by_source` overrides it for one source; `case_confidence`: as a fact the case file copies from
    the registry. `weak`: places and plumbing, never a link in an evidence path. `identity`: a claim
    that an identifier (site, mailbox, account) is the brand's. `derived`: the graph builder makes it
    from other edges. `hop`: a step an evidence path may take that is not an edge."""

    name: str
    zh: str
    confidence: float | None = None
    by_source: Mapping[str, float] = field(default_factory=dict)
    case_confidence: float | None = None
    weak: bool = False
    identity: bool = False
    derived: bool = False
    hop: bool = False
    colour: str = EVIDENCE_EDGE_COLOUR

    @property
    def en(self) -> str:
        return self.name.replace("_", " ")


# Related kinds share a hue family: network things are green, names are blue, people and
# organisations warm. The order is the legend's (graphs/README.md carries it).
_KINDS = (
    Kind("incident", "#E41A1C", "the theft itself (time, exchange, losses)", "事件", hub=True),
    Kind("brand", "#FF7F00", "the product or brand the case is about (AntBot)", "品牌"),
    Kind("company", "#A65628", "a Chinese company, by its Unified Social Credit Code", "公司",
         lead=True, enrichable=True),
    Kind("person", "#F781BF", "a person (legal representative, WHOIS registrant)", "人员"),
    Kind("address", "#C2A5CF", "a postal address", "地址"),
    Kind("region", "#BDBDBD", "an administrative division or a country", "行政区", hub=True),
    Kind("domain", "#377EB8", "a host or domain name", "域名", lead=True, enrichable=True),
    Kind("nameserver", "#6BAED6", "a DNS name server", "域名服务器", enrichable=True),
    Kind("url", "#9ECAE1", "a web page", "网页", enrichable=True),
    Kind("ip", "#4DAF4A", "an IP address", "IP 地址", lead=True, enrichable=True),
    Kind("netblock", "#A1D99B", "an IP range (CIDR)", "IP 段"),
    Kind("asn", "#238B45", "an autonomous system", "自治系统"),
    Kind("service", "#74C476", "an open port on an IP", "开放服务"),
    Kind("org", "#984EA3", "an organisation without a credit code (network operator, registrant)", "组织",
         lead=True),
    Kind("registrar", "#807DBA", "a domain registrar", "注册商", hub=True),
    Kind("email", "#FFD92F", "an e-mail address", "电子邮箱", lead=True, enrichable=True),
    Kind("phone", "#E5C494", "a phone number", "电话"),
    Kind("account", "#DD3497", "an account on a platform (Twitter, Telegram, Binance Square)", "账号", lead=True),
    Kind("certificate", "#1B9E77", "a TLS certificate, by SHA-256", "证书"),
    Kind("sshkey", "#66C2A5", "an SSH host key, by fingerprint", "SSH 主机密钥"),
    Kind("ct_log", "#8DD3C7", "a Certificate Transparency log", "证书透明度日志"),
    Kind("crypto_address", "#FB8072", "a cryptocurrency address", "加密货币地址", lead=True),
    Kind("icp_filing", "#BCBD22", "a Chinese ICP filing number", "ICP 备案号", lead=True),
    Kind("tracker", "#17BECF", "an analytics or tracker id a site loads (Baidu Tongji, CNZZ, 51.la, Google)",
         "统计跟踪代码"),
    Kind("favicon", "#9EDAE5", "a site icon, by the hash Shodan indexes (framework defaults left out)", "网站图标"),
    Kind("copyright", "#DBDB8D", "the holder a site's copyright line names", "版权声明"),
    Kind("page_title", "#C7C7C7", "a page title (generic ones left out)", "网页标题"),
)

# Places and plumbing are weak: two servers at the same hosting company, in the same city, with the
# same registrar, say nothing about who runs them. has_title: two sites with the same title (a
# copycat, a template) are not one operator; a title that names the brand counts through `names`.
_RELATIONS = (
    Relation("resolves_to", "解析到", 0.9, {"dns": 0.9, "pdns": 0.9}),
    Relation("ptr", "反向解析为", 0.8, {"dns": 0.8, "pdns": 0.8, "shodan": 0.7}),
    Relation("nameserver", "使用域名服务器", 0.9, {"whois": 0.85}),
    Relation("mail_server", "邮件服务器", 0.9),
    Relation("spf_includes", "SPF 包含", 0.85),
    Relation("spf_allows", "SPF 允许", 0.85),
    Relation("dmarc_reports_to", "DMARC 报告发往", 0.85),
    Relation("caa_issuer", "CAA 签发机构", 0.85, weak=True),
    Relation("registered_with", "注册商为", 0.9, weak=True),
    Relation("registrant", "注册人为", 0.7, {"whois": 0.7}),
    Relation("uses_email", "使用邮箱", 0.7, {"whois": 0.7, "rdap": 0.7}, identity=True),
    Relation("abuse_contact", "滥用投诉邮箱", 0.8, weak=True),
    Relation("phone_of", "电话属于", 0.7),
    Relation("in_netblock", "属于 IP 段", 0.9, weak=True),
    Relation("announced_by", "由自治系统宣告", 0.9, weak=True),
    Relation("operated_by", "运营方为", 0.8, {"shodan": 0.6}, weak=True),
    Relation("located_in", "位于", 0.6, {"shodan": 0.6}, weak=True),
    Relation("has_service", "开放服务", 0.8),
    Relation("serves_certificate", "提供证书", 0.85),
    Relation("certificate_names", "证书包含域名", 0.9, {"ct": 0.95, "shodan": 0.9}),
    Relation("serves_ssh_key", "提供 SSH 密钥", 0.9),
    Relation("same_ssh_key", "相同 SSH 主机密钥", derived=True),
    Relation("mentions", "提及", 0.5),
    Relation("links_to", "链接到", 0.6),
    Relation("hosted_on", "托管于", 0.9),
    Relation("legal_representative_of", "担任法定代表人", 0.9, case_confidence=0.8),
    Relation("registered_at", "注册地址为", 0.9, case_confidence=0.8),
    Relation("in_district", "位于行政区", 0.9, case_confidence=0.9, weak=True),
    Relation("similar_name", "名称相似"),  # its confidence is the name-match score (graph/build.py)
    Relation("shares_name_stem", "字号相同", 0.4),
    Relation("shares_district", "同一行政区", 0.2, weak=True),
    Relation("alleged_server_of", "被指为其服务器"),
    Relation("suspected_operator_of", "涉嫌运营"),
    Relation("website_of", "为其网站", identity=True),
    Relation("account_of", "为其账号", identity=True),
    Relation("names", "指名", 0.8, derived=True),
    Relation("under", "属于其下级域名", hop=True),
    Relation("redirects_to", "重定向到"),
    Relation("missing_from", "已从该站点消失"),
    Relation("icp_filed_by", "备案主办单位为"),
    Relation("icp_covers", "备案包含域名"),
    Relation("uses_tracker", "使用统计代码"),
    Relation("has_favicon", "网站图标为"),
    Relation("shows_copyright", "版权声明为"),
    Relation("has_title", "标题为", weak=True),
    Relation("shares_tracker", "共用统计代码", derived=True),
    Relation("same_favicon", "相同网站图标", derived=True),
    Relation("certificate_subject", "证书主体为"),
    Relation("signed_with", "签名证书为"),
    Relation("developed_by", "开发者为"),
)

KINDS: Mapping[str, Kind] = MappingProxyType({k.name: k for k in _KINDS})
RELATIONS: Mapping[str, Relation] = MappingProxyType({r.name: r for r in _RELATIONS})

NODE_KINDS: tuple[str, ...] = tuple(KINDS)
ENRICHABLE_KINDS: tuple[str, ...] = tuple(k.name for k in _KINDS if k.enrichable)
HUB_KINDS = frozenset(k.name for k in _KINDS if k.hub)
LEAD_KINDS: tuple[str, ...] = tuple(k.name for k in _KINDS if k.lead)
WEAK_RELATIONS = frozenset(r.name for r in _RELATIONS if r.weak)
IDENTITY_RELATIONS: tuple[str, ...] = tuple(r.name for r in _RELATIONS if r.identity)
DERIVED_RELATIONS = frozenset(r.name for r in _RELATIONS if r.derived)


def kind_colour(kind: str) -> str:
    """The hex colour ('#RRGGBB') of a node kind; FALLBACK_COLOUR for a kind not listed."""
    found = KINDS.get(kind)
    return found.colour if found else FALLBACK_COLOUR


def edge_colour(relation: str, *, claim: bool = False) -> str:
    """The colour of an edge: red for any claim of the case file, else its relation's colour."""
    if claim:
        return CLAIM_EDGE_COLOUR
    found = RELATIONS.get(relation)
    return found.colour if found else EVIDENCE_EDGE_COLOUR



def tables_markdown() -> str:
    """The kind and relation tables docs/CONTRACTS.md carries (regenerate: `python -m osint.vocabulary`)."""
    def flags(*pairs: tuple[bool, str]) -> str:
        return ", ".join(word for on, word in pairs if on)

    lines = ["| Kind | 中文 | Colour | Role in attribution |", "|---|---|---|---|"]
    lines += [f"| `{k.name}` | {k.zh} | `{k.colour}` | "
              f"{flags((k.hub, 'hub: no path passes through'), (k.lead, 'reported as a lead'), (k.enrichable, 'enrichable'))} |"
              for k in _KINDS]
    lines += ["", "| Relation | 中文 | Confidence | Role in attribution |", "|---|---|---|---|"]
    for r in _RELATIONS:
        conf = "" if r.confidence is None else f"{r.confidence:g}"
        if r.by_source:
            conf += " (" + ", ".join(f"{s} {c:g}" for s, c in sorted(r.by_source.items())) + ")"
        role = flags((r.weak, "weak: never a link"), (r.identity, "identity claim"), (r.derived, "derived by the graph"),
                     (r.hop, "path hop, not an edge"))
        lines.append(f"| `{r.name}` | {r.zh} | {conf} | {role} |")
    return "\n".join(lines) + "\n"

# -- node ids ------------------------------------------------------------------------------------

def node_id(kind: str, value: str) -> str:
    return f"{kind}:{value}"


def split_node_id(nid: str) -> tuple[str, str]:
    kind, _, value = nid.partition(":")
    return kind, value


def incident_id(case_id: str) -> str:
    return f"incident:{case_id}"


def brand_id(brand: str) -> str:
    return f"brand:{brand}"


def company_id(uscc_or_name: str) -> str:
    return f"company:{uscc_or_name}"


def person_id(name: str) -> str:
    return f"person:{name}"


def address_id(text: str) -> str:
    return f"address:{text}"


def region_id(code: str) -> str:
    """A 6-digit division code or an ISO country code (upper case, as the caller gives it)."""
    return f"region:{code}"


def domain_id(host: str) -> str:
    return f"domain:{host}"


def nameserver_id(host: str) -> str:
    return f"nameserver:{host}"


def url_id(url: str) -> str:
    return f"url:{url}"


def ip_id(ip: object) -> str:
    return f"ip:{ip}"


def netblock_id(cidr: object) -> str:
    return f"netblock:{cidr}"


def asn_id(number: object) -> str:
    """'asn:AS<number>' from the number alone (no 'AS')."""
    return f"asn:AS{number}"


def service_id(ip: object, port: object, transport: str) -> str:
    return f"service:{ip}:{port}/{transport}"


def org_id(name: str) -> str:
    return f"org:{name}"


def registrar_id(name: str) -> str:
    return f"registrar:{name}"


def email_id(address: str) -> str:
    return f"email:{address}"


def phone_id(number: str) -> str:
    return f"phone:{number}"


def account_id(platform: str, handle: str) -> str:
    return f"account:{platform}:{handle}"


def certificate_id(sha256: str) -> str:
    return f"certificate:{sha256}"


def sshkey_id(fingerprint: str) -> str:
    return f"sshkey:{fingerprint}"


def crypto_address_id(address: str) -> str:
    return f"crypto_address:{address}"


def icp_filing_id(number: str) -> str:
    return f"icp_filing:{number}"


def tracker_id(kind: str, ident: str) -> str:
    return f"tracker:{kind}:{ident}"


def favicon_id(mmh3: object) -> str:
    return f"favicon:{mmh3}"


def copyright_id(holder: str) -> str:
    return f"copyright:{holder}"


def page_title_id(title: str) -> str:
    return f"page_title:{title}"


def ct_log_id(name: str) -> str:
    return f"ct_log:{name}"


if __name__ == "__main__":  # pragma: no cover - regenerates the tables of docs/CONTRACTS.md
    import sys

    sys.stdout.write(tables_markdown())
