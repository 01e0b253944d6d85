"""Property-based tests (hypothesis) over everything that reads text someone else wrote: the case
loader, the normalizers, the USCC decoder, the sources' parsers and every exporter.

What each must never do: raise anything but its own documented error, hand on text the evidence
store cannot hold, or write an export that an independent reader cannot read back. Examples are
few per property (the whole file runs in well under a minute on 2 cores); hypothesis remembers
failures in .hypothesis/ and tries them first next time.
"""

from __future__ import annotations

import csv
import json
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import networkx as nx
import pytest
import yaml
from dns.rdtypes.ANY.CNAME import CNAME
from dns.rdtypes.ANY.MX import MX
from dns.rdtypes.ANY.NS import NS
from dns.rdtypes.ANY.PTR import PTR
from dns.rdtypes.ANY.TXT import TXT
from dns.rdtypes.IN.A import A
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from osint.case import CaseError, load_case
from osint.case import normalize as norm
from osint.case.schema import ALL_KEYS
from osint.case.model import Case
from osint.case.uscc import AUTHORITIES, CHARSET, USCCError, check_char, clean_uscc, decode_uscc, org_check_char
from osint.transport.pipeline import parse_stored, record
from osint.errors import ExitStatus, OsintError
from osint.export import FORMATS, export
from osint.facts import NODE_KINDS
from osint.sources import Parsed, ParseError
from osint.sources.asn import ASNSource
from osint.sources.cnregistry import CNRegistrySource
from osint.sources.ct import CTSource
from osint.sources.dns import DNSSource
from osint.case.indicators import CONTEXT_MAX, context, find_indicators, possible_homograph
from osint.sources.pdns import PassiveDNSSource
from osint.sources.rdap import RDAPSource
from osint.sources.shodan import ShodanSource
from osint.common.html import html_text, rough_text
from osint.sources.web import WebSource, decode_page
from osint.sources.whois import WhoisSource, whois_text
from osint.store import EvidenceStore, Outcome
from osint.textnorm import fold_cjk, lookalikes, person_pinyin, to_pinyin
from osint.transport.base import Fetched, Query
from source_helpers import make_source
from test_export_gexf import SCHEMA
from test_export_formats import counts_of

DATA = Path(__file__).resolve().parent / "data"
LAB_TEXT = (DATA / "case.yaml").read_text(encoding="utf-8")

# Few examples each, no per-example deadline (a cold import or a 2-core CI box is not a failure).
FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SOME = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- hostile text -------------------------------------------------------------------------------

# What hostile WHOIS, web and certificate text carries: controls, NUL, BOMs, bidi overrides, lone
# surrogates (from JSON "\ud800" escapes), markup, spreadsheet formulas, CJK, RTL scripts, emoji.
HOSTILE_BITS = (
    "\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\x9f", "\t", "\r", "\n", "\r\n",
    "\u200b", "\u200e", "\u200f", "\u202e", "\u2028", "\u2066", "\ufeff", "\ufffe", "\uffff", "\ud800", "\udfff",
    "<script>alert(1)</script>", "]]>", "<!--", "&amp;", "&#0;", "\"", "'", "\\", "%s", "{}",
    "=cmd|' /C calc'!A0", "=HYPERLINK(\"http://example.test\")", "+1", "-1", "@SUM(A1)",
    "深圳实验蚁信息技术有限公司", "任俊⻜", "\u2ee0", "\u2f00", "\uf900", "مرحبا", "\u05d0\u05d1", "exаmple.com",
    "\U0001F4A3", "\U0010FFFF", " ", "  ", "", "None", "NaN", "192.0.2.1", "ops@example.net", "a" * 300,
)
# Hypothesis's own text never holds surrogates; the bits above do.
hostile_text = st.lists(st.one_of(st.sampled_from(HOSTILE_BITS), st.text(max_size=6)), max_size=6).map("".join)
# Text a UTF-8 file or YAML emitter can hold (no lone surrogates).
encodable_text = hostile_text.map(lambda s: re.sub("[\ud800-\udfff]", "", s))


def storable(value: Any) -> None:
    """What the evidence store needs of a parse: JSON it can write as UTF-8."""
    json.dumps(value, sort_keys=True, ensure_ascii=False).encode("utf-8")


# --- the case loader ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def case_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cases")


def load_or_refuse(path: Path, content: str | bytes) -> Case | None:
    """Load `content` written to `path`: a Case, or CaseError whose every line names the file."""
    if isinstance(content, str):
        content = content.encode("utf-8", "surrogatepass")
    path.write_bytes(content)
    try:
        return load_case(path)
    except CaseError as err:
        message = str(err)
        assert err.problems, "a CaseError lists its problems"
        assert isinstance(err, OsintError) and err.exit_status == ExitStatus.BAD_INPUT
        assert message.splitlines() == [str(p) for p in err.problems], "one line per problem"
        for line in message.splitlines():
            assert line.startswith(f"{path}:"), line
        message.encode("utf-8")  # printable to any terminal: no lone surrogates
        return None


@FEW
@given(text=st.one_of(hostile_text, st.text(max_size=200)))
@example(text="incidents:\n  - time: 2023-02-30T01:00:00+08:00\n")  # a date that does not exist
@example(text="case: {id: a, title: b}\ncompanies:\n  - {name: x, founded: 2021-13-01}\n")
@example(text="[" * 3000 + "]" * 3000)  # nesting deeper than the YAML parser recurses
@example(text="{a: " * 3000 + "}" * 3000)
@example(text="case: {id: a, title: b}\n\"a\\nb\": 1\n\"\\ud800\": 2\n")  # odd keys in messages
@example(text="a: \x00\n")
@example(text="a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(  # a "billion laughs": 9^9 values from 300 bytes
    f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi")))
def test_the_case_loader_loads_or_names_the_file_for_any_text(case_dir, text):
    load_or_refuse(case_dir / "any.yaml", text)


@FEW
@given(content=st.binary(max_size=200))
@example(content=b"\xff\xfe\x00c\x00a\x00s\x00e")
def test_the_case_loader_loads_or_names_the_file_for_any_bytes(case_dir, content):
    load_or_refuse(case_dir / "bytes.yaml", content)


yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                         encodable_text, st.dates(), st.sampled_from(["192.0.2.10", "example.com", "labbot",
                                                                      "suspected", "alleged_server_of",
                                                                      "91440300MA5LAB018T", "ops@example.net"]))
yaml_keys = st.one_of(st.sampled_from(ALL_KEYS), encodable_text, st.integers())
yaml_docs = st.recursive(yaml_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(yaml_keys, inner, max_size=5)), max_leaves=25)


@FEW
@given(doc=st.dictionaries(st.sampled_from(["case", "incidents", "brands", "servers", "companies",
                                            "references", "seed_urls", "extra"]), yaml_docs, max_size=6),
       unicode=st.booleans())
def test_the_case_loader_loads_or_names_the_file_for_any_yaml_structure(case_dir, doc, unicode):
    text = yaml.safe_dump(doc, allow_unicode=unicode, sort_keys=False)
    load_or_refuse(case_dir / "structure.yaml", text)


@st.composite
def lab_case_mutations(draw) -> str:
    """The valid lab case with a few lines changed the way a careless edit or a paste would."""
    lines = LAB_TEXT.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["value", "quoted", "delete", "duplicate", "insert", "truncate", "indent"]))
        line = lines[i]
        if how in ("value", "quoted") and ":" in line:
            key, _, _ = line.partition(":")
            value = draw(encodable_text)
            value = json.dumps(value) if how == "quoted" else value.replace("\n", " ")
            lines[i] = f"{key}: {value}\n"
        elif how == "delete":
            del lines[i]
        elif how == "duplicate":
            lines.insert(i, line)
        elif how == "insert":
            lines.insert(i, draw(encodable_text) + "\n")
        elif how == "truncate":
            lines[i] = line[:draw(st.integers(0, len(line)))]
        elif how == "indent":
            lines[i] = draw(st.sampled_from([" ", "\t", ""])) + line.lstrip(" ")
        if not lines:
            break
    return "".join(lines)


@SOME
@given(text=lab_case_mutations())
def test_the_lab_case_edited_carelessly_loads_or_names_the_file(case_dir, text):
    load_or_refuse(case_dir / "edited.yaml", text)


def test_the_unedited_lab_case_loads(case_dir):
    assert load_or_refuse(case_dir / "lab.yaml", LAB_TEXT) is not None


cjk = st.text(alphabet=st.one_of(st.characters(min_codepoint=0x2E80, max_codepoint=0x2EF3),
                                 st.characters(min_codepoint=0x2F00, max_codepoint=0x2FD5),
                                 st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
                                 st.characters(min_codepoint=0xF900, max_codepoint=0xFAFF),
                                 st.characters(min_codepoint=0x2F800, max_codepoint=0x2FA1F)),
              min_size=1, max_size=6)


@FEW
@given(name=cjk.filter(lambda s: s.strip() and ":" not in s and "#" not in s))
def test_a_legal_representative_keeps_its_original_spelling(case_dir, name):
    text = LAB_TEXT.replace("legal_representative: 张三", f"legal_representative: {json.dumps(name)}")
    case = load_or_refuse(case_dir / "rep.yaml", text)
    assume(case is not None)
    company = case.companies[0]
    assert company.legal_representative_original == name  # as written, look-alikes and all
    assert company.legal_representative == fold_cjk(name)
    assert (company.legal_representative != name) == bool(lookalikes(name))


# --- normalizers --------------------------------------------------------------------------------

LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_äöüßéçñаеорсхуαορκ深圳ⅫＡ"
labels = st.text(alphabet=LETTERS, min_size=1, max_size=12)
domainish = st.builds(lambda ls, tld, dot: ".".join(ls + [tld]) + dot,
                      st.lists(labels, min_size=1, max_size=3),
                      st.sampled_from(["example", "test", "com", "Example", "xn--p1ai", "中国", "1", ""]),
                      st.sampled_from(["", ".", ".."]))
_L = "a-zA-Z0-9äöüéçаеорсхуαοκ"
good_domains = st.builds(lambda ls, tld: ".".join(ls + [tld]),
                         st.lists(st.from_regex(rf"[{_L}]([{_L}-]{{0,10}}[{_L}])?", fullmatch=True), min_size=1,
                                  max_size=3),
                         st.sampled_from(["example", "test", "Example", "TEST"]))
urlish = st.builds(lambda scheme, host, port, path, query: f"{scheme}{host}{port}{path}{query}",
                   st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "", "//", "javascript:"]),
                   st.one_of(domainish, st.sampled_from(["192.0.2.1", "[2001:db8::1]", "[::ffff:192.0.2.1]",
                                                         "user:pw@example.com", "example.com:99999"])),
                   st.sampled_from(["", ":80", ":443", ":8080", ":0", ":x"]),
                   st.one_of(st.just(""), st.just("/"), encodable_text.map(lambda s: "/" + s)),
                   st.one_of(st.just(""), encodable_text.map(lambda s: "?" + s)))
candidates = st.one_of(hostile_text, domainish, urlish, domainish.map(lambda d: f"Ops.Team@{d}"),
                       st.sampled_from(["192.0.2.010", "2001:DB8::1", " 198.51.100.7 ", "@AntRade_IO",
                                        "Support@Example.NET", "http://Bücher.example/ä?x=%e4"]))


def accept_or_refuse(fn, text: str, **kwargs: Any) -> str | None:
    try:
        out = fn(text, **kwargs)
    except norm.NormalizeError as exc:
        str(exc).encode("utf-8", "backslashreplace")
        return None
    assert type(out) is str and out
    return out


@SOME
@given(text=candidates)
@example(text="Bücher.Example.")
@example(text="http://Bücher.example/ä?x=%e4")
def test_every_normalizer_accepts_or_refuses_and_normalising_twice_changes_nothing(text):
    for fn in (norm.normalize_ip, norm.normalize_domain, norm.normalize_email, norm.normalize_url,
               norm.normalize_handle):
        once = accept_or_refuse(fn, text)
        if once is not None:
            assert fn(once) == once, fn.__name__
    url = accept_or_refuse(norm.normalize_url, text, default_scheme="https")
    if url is not None:
        assert norm.normalize_url(url) == url


@SOME
@given(text=st.one_of(good_domains, domainish))
def test_a_domain_and_its_display_form_are_the_same_domain(text):
    name = accept_or_refuse(norm.normalize_domain, text)
    assume(name is not None)
    assert name == name.lower() and name.isascii() and not name.endswith(".")
    display = norm.domain_display(name)
    assert norm.normalize_domain(display) == name
    email = f"Ops@{name}"
    assert norm.email_display(norm.normalize_email(email)) == f"ops@{display}"
    url = norm.normalize_url(f"http://{display}/")
    assert norm.url_display(url) == f"http://{display}/"


@SOME
@given(local=st.text(alphabet="abcXYZ019._%+-!#$&'*/=?^`{|}~äß", min_size=1, max_size=20), domain=good_domains)
def test_an_email_is_one_address_whatever_its_case(local, domain):
    text = f"  {local}@{domain} "
    email = accept_or_refuse(norm.normalize_email, text)
    if email is not None:
        assert email.rpartition("@")[0] == local.lower()
        assert norm.normalize_email(email) == email
        if local.isascii():
            assert norm.normalize_email(f"{local.upper()}@{domain}") == email
        assert email.rpartition("@")[2] == norm.normalize_domain(domain)


@SOME
@given(text=st.one_of(hostile_text, cjk, st.text()))
@example(text="任俊⻜")
@example(text="深圳小红蚁网络科技有限公司")
def test_folding_look_alikes_is_one_for_one_and_idempotent(text):
    folded = fold_cjk(text)
    assert fold_cjk(folded) == folded
    assert len(folded) == len(text)  # each look-alike becomes the one character it imitates
    assert lookalikes(folded) == []
    assert (folded != text) == bool(lookalikes(text))
    for text_in in (text, folded):
        assert isinstance(to_pinyin(text_in), str) and isinstance(to_pinyin(text_in, joined=True), str)
        assert isinstance(person_pinyin(text_in), str)


@SOME
@given(text=st.text(alphabet=st.characters(max_codepoint=0x2000, exclude_categories=["Cs"])))
def test_text_without_chinese_is_romanized_as_written(text):
    assert to_pinyin(text) == text.strip()
    assert to_pinyin(text, joined=True) == text.strip()


# --- the USCC decoder ---------------------------------------------------------------------------


@st.composite
def valid_usccs(draw) -> str:
    """A code built by GB 32100's own algorithm: defined authority/kind, any division, any body."""
    authority = draw(st.sampled_from(sorted(AUTHORITIES)))
    kind = draw(st.sampled_from(sorted(AUTHORITIES[authority][1])))
    division = draw(st.text(alphabet="0123456789", min_size=6, max_size=6))
    body = draw(st.text(alphabet=CHARSET, min_size=8, max_size=8))
    first17 = authority + kind + division + body + org_check_char(body)
    return first17 + check_char(first17)


@SOME
@given(text=st.one_of(hostile_text, st.text(alphabet=CHARSET + "IOZSVabc -", min_size=16, max_size=20)))
def test_the_uscc_decoder_decodes_or_refuses_anything(text):
    for strict in (True, False):
        try:
            info = decode_uscc(text, strict=strict)
        except USCCError as exc:
            assert str(exc)
            continue
        assert len(info.code) == 18 and set(info.code) <= set(CHARSET)
        assert info.valid == (not info.problems)
        assert info.valid or not strict


@SOME
@given(code=valid_usccs())
def test_a_code_built_by_the_algorithm_decodes(code):
    info = decode_uscc(code)
    assert info.valid and info.problems == () and info.code == code
    assert info.authority == AUTHORITIES[code[0]][0] and info.entity_kind == AUTHORITIES[code[0]][1][code[1]]
    assert info.org_code == code[8:17] and info.division_code == code[2:8]
    # People type codes in lower case, with spaces and hyphens: the same code.
    typed = f" {code[:8].lower()}-{code[8:16]} {code[16:]} "
    assert clean_uscc(typed) == code and decode_uscc(typed).code == code


@SOME
@given(code=valid_usccs(), data=st.data())
def test_any_one_character_changed_is_caught(code, data):
    # What the algorithm guarantees: the 18th character is a weighted sum mod 31 with weights
    # 3^i mod 31, all non-zero mod the prime 31, so any single substitution within the 31-character
    # alphabet changes the sum. (An adjacent swap is caught too: 3 is a primitive root mod 31, so no
    # two neighbouring weights are equal.)
    pos = data.draw(st.integers(0, 17), label="position")
    new = data.draw(st.sampled_from(CHARSET.replace(code[pos], "")), label="character")
    changed = code[:pos] + new + code[pos + 1:]
    with pytest.raises(USCCError):
        decode_uscc(changed)
    assert not decode_uscc(changed, strict=False).valid


@SOME
@given(code=valid_usccs(), pos=st.integers(0, 16))
def test_two_neighbouring_characters_swapped_are_caught(code, pos):
    assume(code[pos] != code[pos + 1])
    swapped = code[:pos] + code[pos + 1] + code[pos] + code[pos + 2:]
    assert not decode_uscc(swapped, strict=False).valid


# --- the indicator extractor --------------------------------------------------------------------

CYRILLIC_TWINS = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у"}


def assert_clean_context(text: str) -> None:
    assert len(text) <= CONTEXT_MAX
    assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text), repr(text)
    assert "  " not in text and all(ch == " " or not ch.isspace() for ch in text)  # one line, runs collapsed


@SOME
@given(text=st.one_of(hostile_text, st.text(max_size=300),
                      st.lists(st.one_of(hostile_text, good_domains, urlish), max_size=8).map(" ".join)))
@example(text="x" * 64 + ".example " + "0x" + "8c1bb3d014fcfe283805275af10c824d9175f818 粤ICP备00000000号-1")
def test_the_indicator_extractor_finds_well_formed_indicators_in_any_text(text):
    for found in find_indicators(text):
        kind, _, value = found.node.partition(":")
        assert kind == found.kind and kind in NODE_KINDS and value
        assert 0 <= found.start < found.end <= len(text)
        assert text[found.start:found.end] == found.text
        assert_clean_context(context(text, found.start, found.end))
        storable([found.node, found.attrs, found.fact_attrs])
        if kind == "domain":
            assert norm.normalize_domain(value) == value


@SOME
@given(label=st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=12),
       data=st.data(), noise=encodable_text)
def test_a_latin_name_with_one_cyrillic_twin_is_a_possible_homograph(label, data, noise):
    assert possible_homograph(label + ".example") is False
    spots = [i for i, ch in enumerate(label) if ch in CYRILLIC_TWINS]
    assume(spots)
    i = data.draw(st.sampled_from(spots), label="replaced")
    fake = label[:i] + CYRILLIC_TWINS[label[i]] + label[i + 1:] + ".example"
    assert possible_homograph(fake) is True
    found = {f.node: f for f in find_indicators(f"{noise} visit {fake} now ")}
    node = f"domain:{norm.normalize_domain(fake)}"
    assert found[node].attrs == {"label": fake, "possible_homograph": True}


@SOME
@given(text=st.one_of(hostile_text, st.text()))
def test_possible_homograph_answers_for_any_text(text):
    assert possible_homograph(text) in (True, False)
    if text.isascii():
        assert possible_homograph(text) is False


# --- the sources' parsers -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with EvidenceStore(str(tmp_path_factory.mktemp("store") / "evidence.sqlite")) as s:
        yield s


def check_parse(store: EvidenceStore, source: Any, query: Query, raw: bytes, meta: dict[str, Any]) -> Parsed | None:
    """One answer the way the engine takes it: classify (never raises), store the untouched bytes,
    parse into facts or ParseError (stored as a parse failure), store the parse. Returns the parse."""
    fetched = source.classify(query, Fetched(Outcome.ANSWERED, raw=raw, meta=dict(meta), endpoint=query.endpoint))
    assert isinstance(fetched.outcome, Outcome)
    oid = record(store, "properties", source, query, fetched)
    assert store.get(oid).raw == raw  # byte for byte, whatever the text said
    try:
        parsed = parse_stored(source, query, raw, meta)
    except ParseError as exc:
        store.record_parse(oid, source.parser_id(), {"error": str(exc)})
        return None
    store.record_parse(oid, source.parser_id(), parsed.to_json())
    assert store.latest_parse(oid) is not None
    for fact in parsed.facts:
        assert all(type(x) is str and x for x in (fact.subject, fact.relation, fact.object)), fact
        assert ":" in fact.subject and ":" in fact.object
    assert all(type(n) is str and ":" in n for n in [*parsed.nodes, *parsed.leads])
    return parsed


def strings_in(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings_in(k)
            yield from strings_in(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from strings_in(v)


def json_of(keys: list[str]):
    """JSON documents whose keys a source looks for, holding hostile values at any depth."""
    scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70), st.floats(),
                        hostile_text, st.sampled_from(["192.0.2.10", "2001:db8::1", "example.com", "*.example.com",
                                                       "ops@example.net", "2024-01-01T00:00:00Z", "AS64500",
                                                       "192.0.2.0/24", "A", "CNAME", "NS", "MX", "PTR", "tcp"]))
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(keys), st.text(max_size=4)), inner, max_size=6)),
        max_leaves=30)


def encode_json(doc: Any, ascii_only: bool) -> bytes:
    """JSON as a server might send it: \\u escapes (lone surrogates too) or raw UTF-8."""
    text = json.dumps(doc, ensure_ascii=ascii_only)
    return text.encode("utf-8", "surrogatepass")


@pytest.fixture(scope="module")
def lab_case():
    return load_case(DATA / "case.yaml")


def http_query(source: str, key: str, subject: str, **request: Any) -> Query:
    request.setdefault("url", "http://192.0.2.80/")
    return Query(source, key, subject, "http", request, "http://192.0.2.80/", (), True)


RDAP_KEYS = ["objectClassName", "handle", "startAddress", "endAddress", "ipVersion", "name", "type", "country",
             "parentHandle", "status", "entities", "roles", "vcardArray", "events", "eventAction", "eventDate",
             "remarks", "description", "links", "href", "cidr0_cidrs", "v4prefix", "v6prefix", "length", "port43",
             "errorCode", "notices", "title", "rdapConformance", "fn", "email", "adr", "kind", "org"]
SHODAN_KEYS = ["ip_str", "ipv6", "hostnames", "domains", "org", "isp", "asn", "country_code", "country_name",
               "city", "os", "tags", "ports", "vulns", "last_update", "data", "port", "transport", "product",
               "version", "timestamp", "_shodan", "module", "http", "title", "server", "host", "favicon", "hash",
               "cpe", "cpe23", "ssl", "cert", "fingerprint", "sha256", "sha1", "subject", "issuer", "CN", "O",
               "issued", "expires", "serial", "sig_alg", "expired", "extensions", "name", "data", "ssh", "type",
               "key", "hassh", "opts", "error", "chain"]
CT_KEYS = ["id", "issuer_ca_id", "issuer_name", "common_name", "name_value", "serial_number", "not_before",
           "not_after", "entry_timestamp", "result_count"]
PDNS_KEYS = ["rrname", "rrtype", "rdata", "time_first", "time_last", "zone_time_first", "zone_time_last", "count",
             "data", "query", "answer", "firstSeenTimestamp", "lastSeenTimestamp", "times", "count", "responseCode"]


def shaped(required: dict[str, Any], optional: dict[str, Any] | None = None):
    """A JSON object of a source's shape: its fields present, each holding a right or a wrong value."""
    return st.fixed_dictionaries(required, optional=optional or {})


def json_sources(case: Any) -> list[tuple[Any, Query, Any]]:
    """(source, query, strategy for its answers) for each JSON source: answers of the right shape
    with hostile values, and JSON of any shape built from the names the source looks for."""
    rdap = make_source(RDAPSource, {"endpoint": "http://192.0.2.80/rdap/"})
    shodan = make_source(ShodanSource, {"url": "http://192.0.2.80"})
    ct = make_source(CTSource, {"url": "http://192.0.2.80/"})
    pdns = make_source(PassiveDNSSource, {"mnemonic_url": "http://192.0.2.80/"})
    v = json_of(RDAP_KEYS + SHODAN_KEYS + CT_KEYS + PDNS_KEYS)
    ip_text = st.one_of(st.sampled_from(["192.0.2.10", "198.51.100.0/24", "2001:db8::/32", "192.0.2.0/33"]), v)
    vcard = st.one_of(st.just(["vcard", [["fn", {}, "text", "Lab Org"], ["email", {}, "text", "abuse@example.net"],
                                         ["kind", {}, "text", "org"]]]), v)
    entity = shaped({"roles": st.one_of(st.lists(st.sampled_from(["registrant", "abuse", "technical"])), v)},
                    {"handle": v, "vcardArray": vcard, "entities": st.lists(v, max_size=2), "objectClassName": v})
    rdap_doc = shaped({"objectClassName": st.one_of(st.just("ip network"), v), "startAddress": ip_text,
                       "endAddress": ip_text},
                      {"handle": v, "name": v, "type": v, "country": v, "parentHandle": v, "ipVersion": v,
                       "cidr0_cidrs": st.one_of(st.lists(shaped({"v4prefix": ip_text, "length": v}), max_size=2), v),
                       "entities": st.one_of(st.lists(entity, max_size=3), v),
                       "events": st.one_of(st.lists(shaped({"eventAction": v, "eventDate": v}), max_size=2), v),
                       "remarks": st.one_of(st.lists(shaped({"title": v, "description": v}), max_size=2), v),
                       "port43": v, "errorCode": v})
    cert = shaped({}, {"fingerprint": st.one_of(shaped({"sha256": v, "sha1": v}), v), "subject": v, "issuer": v,
                       "issued": v, "expires": v, "serial": v, "sig_alg": v, "expired": v,
                       "extensions": st.one_of(st.lists(shaped({"name": st.just("subjectAltName"), "data": v})), v)})
    banner = shaped({"port": st.one_of(st.integers(0, 65535), v)},
                    {"transport": v, "product": v, "version": v, "timestamp": v, "_shodan": st.one_of(
                        shaped({"module": v}), v), "http": st.one_of(shaped({}, {"title": v, "server": v, "host": v,
                                                                                 "favicon": v}), v),
                     "ssl": st.one_of(shaped({}, {"cert": st.one_of(cert, v), "chain": v}), v),
                     "ssh": st.one_of(shaped({}, {"fingerprint": v, "type": v, "key": v, "hassh": v}), v),
                     "vulns": v, "opts": st.one_of(shaped({"vulns": v}), v), "cpe": v, "cpe23": v})
    shodan_doc = shaped({"ip_str": st.one_of(st.just("192.0.2.10"), v)},
                        {"hostnames": v, "domains": v, "org": v, "isp": v, "asn": v, "country_code": v,
                         "country_name": v, "city": v, "os": v, "tags": v, "ports": v, "vulns": v,
                         "last_update": v, "data": st.one_of(st.lists(banner, max_size=3), v), "error": v})
    ct_doc = st.lists(st.one_of(shaped({"id": st.one_of(st.integers(), v)},
                                       {k: v for k in CT_KEYS if k != "id"}), v), max_size=4)
    record = {"rrname": st.one_of(st.just("example.com"), v), "rrtype": st.one_of(st.sampled_from(
        ["A", "AAAA", "CNAME", "NS", "MX", "PTR"]), v), "rdata": st.one_of(st.sampled_from(
            ["192.0.2.1", "mail.example.net", "10 mx.example.net", "1.2.0.192.in-addr.arpa"]), v)}
    cof_doc = shaped(record, {"time_first": v, "time_last": v, "zone_time_first": v, "count": v})
    mnemonic_doc = shaped({"data": st.one_of(st.lists(shaped(
        {"query": record["rrname"], "rrtype": record["rrtype"], "answer": record["rdata"]},
        {"firstSeenTimestamp": v, "lastSeenTimestamp": v, "times": v}), max_size=4), v)}, {"count": v})
    anything = json_of(RDAP_KEYS + SHODAN_KEYS + CT_KEYS + PDNS_KEYS)
    return [
        (rdap, http_query("rdap", "ip 192.0.2.10", "ip:192.0.2.10", address="192.0.2.10"),
         st.one_of(rdap_doc, anything)),
        (shodan, shodan.queries("ip:192.0.2.10", 0)[0], st.one_of(shodan_doc, anything)),
        (ct, ct.queries("domain:example.com", 0)[0], st.one_of(ct_doc, anything)),
        (pdns, pdns.queries("domain:example.com", 0)[0], st.one_of(mnemonic_doc, anything)),
        (pdns, http_query("pdns", "circl example.com", "domain:example.com"),
         st.one_of(st.lists(cof_doc, min_size=1, max_size=3), anything)),
        (pdns, http_query("pdns", "import file.ndjson", "import:file.ndjson"),
         st.one_of(st.lists(cof_doc, min_size=1, max_size=3), anything)),
    ]


@SOME
@given(pick=st.integers(0, 5), data=st.data(), ascii_only=st.booleans(),
       status=st.sampled_from([200, 200, 404, 500]))
def test_every_json_source_reads_any_json_or_says_it_cannot(store, lab_case, pick, data, ascii_only, status):
    source, query, answers = json_sources(lab_case)[pick]
    doc = data.draw(answers, label="answer")
    raw = encode_json(doc, ascii_only)
    if query.key.startswith(("circl", "import")) and isinstance(doc, list) and data.draw(st.booleans(), "ndjson"):
        raw = b"\n".join(encode_json(d, ascii_only) for d in doc)  # COF: one object per line
    check_parse(store, source, query, raw, {"status": status, "headers": {"content-type": "application/json"}})


@pytest.mark.parametrize("pick, raw", [
    (3, b'{"data": [], "count": 1e999}'),  # Mnemonic's total as an infinite number
    (4, b'{"rrname": "example.com", "rrtype": "A", "rdata": "192.0.2.1", "count": 1e999}'),  # COF count
    (1, b'{"ip_str": "192.0.2.10", "org": "Evil \\ud800 \\u0000 Org", "os": "\\udfff"}'),  # lone surrogates
    (2, b'[{"id": 1, "name_value": "\\ud800.example.com", "issuer_name": "C=\\ud800"}]'),
    (1, b'{"ip_str": "192.0.2.10", "data": [{"port": 0, "_shodan": [null]}]}'),  # a list where a dict goes
    (1, b'{"ip_str": "192.0.2.10", "data": [{"port": 443, "ssl": {"cert": [], "chain": [7]}}]}'),
], ids=["mnemonic-infinite-count", "cof-infinite-count", "shodan-lone-surrogate", "ct-lone-surrogate",
        "shodan-list-for-object", "shodan-wrong-certificate-types"])
def test_json_answers_found_to_break_a_parser_once(store, lab_case, pick, raw):
    source, query, _ = json_sources(lab_case)[pick]
    check_parse(store, source, query, raw, {"status": 200, "headers": {"content-type": "application/json"}})


@FEW
@given(pick=st.integers(0, 5), raw=st.binary(max_size=300), ctype=st.sampled_from(["", "application/json",
                                                                                     "text/html", "\x00;;"]))
@example(pick=0, raw=b"[" * 100_000, ctype="application/json")  # nested deeper than the JSON parser goes
@example(pick=1, raw=b"[" * 100_000, ctype="application/json")
@example(pick=2, raw=b"[" * 100_000, ctype="application/json")
@example(pick=3, raw=b'{"data": ' + b"[" * 100_000, ctype="application/json")
@example(pick=4, raw=b"[" * 100_000, ctype="application/json")
def test_every_json_source_reads_any_bytes_or_says_it_cannot(store, lab_case, pick, raw, ctype):
    source, query, _ = json_sources(lab_case)[pick]
    check_parse(store, source, query, raw, {"status": 200, "headers": {"content-type": ctype}})


WHOIS_FIELDS = ["Domain Name", "Registrar", "Registrar WHOIS Server", "Registrar URL", "Registrar IANA ID",
                "Registrar Abuse Contact Email", "Creation Date", "Updated Date", "Registry Expiry Date",
                "Registrar Registration Expiration Date", "Domain Status", "Name Server", "DNSSEC",
                "Registrant Name", "Registrant Organization", "Registrant State/Province", "Registrant Country",
                "Registrant Email", "Admin Email", "Tech Email", "Billing Email", "refer", "whois", "ReferralServer",
                "org", "country", "registrant", "No match for", "% Note", ">>> Last update of WHOIS database"]
whois_answers = st.lists(st.tuples(st.sampled_from(WHOIS_FIELDS), st.sampled_from([": ", ":", ":\t", " : "]),
                                   st.one_of(hostile_text, domainish, st.sampled_from(
                                       ["2020-09-28T06:12:45Z", "in the spring", "9999-99-99", "ops@example.net",
                                        "REDACTED FOR PRIVACY", "ns1.example.net 192.0.2.53", "127.0.0.1",
                                        "whois://192.0.2.43/", "clientTransferProhibited https://icann.org/epp"]))),
                         max_size=12).map(lambda rows: "\n".join(f"{k}{sep}{v}" for k, sep, v in rows))
_WHOIS_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@SOME
@given(text=whois_answers, junk=st.binary(max_size=40), iana=st.booleans(), encoding=st.sampled_from(
    ["utf-8", "utf-16", "latin-1", "gb18030"]))
def test_whois_answers_are_read_without_a_control_character_left(store, text, junk, iana, encoding):
    source = make_source(WhoisSource, {"server": "192.0.2.43:43", "referral_hosts": {}})
    [query] = source.queries("domain:example.com", 0)
    if iana:
        query = Query("whois", "example.com @iana", "domain:example.com", "whois",
                      {"query": "com", "domain": "example.com", "server": "whois.iana.org", "via": [], "iana": True},
                      "whois.iana.org")
    raw = text.encode(encoding, "replace") + junk
    assert not _WHOIS_CONTROL.search(whois_text(raw))
    parsed = check_parse(store, source, query, raw, {})
    if parsed is not None:
        data = parsed.to_json()
        for s in strings_in({k: v for k, v in data.items() if k != "followups"}):
            assert not _WHOIS_CONTROL.search(s), repr(s)
        for follow in parsed.followups:
            assert follow.trusted is False  # a referral is the answer's choice: the policy applies


# Web pages: markup around hostile text, indicators, links and look-alikes.
page_parts = st.one_of(hostile_text, domainish, urlish, st.sampled_from([
    "<p>", "</p>", "<div>", "<br>", "<title>", "</title>", "<script>var ip='198.51.100.250';</script>",
    "<style>x{}</style>", "<a href='", "'>", "</a>", "<a href=\"mailto:ops@example.net\">mail</a>",
    "<meta charset='gbk'>", "<!DOCTYPE html>", "<html>", "<body>", "<![CDATA[", "<?xml version='1.0'?>",
    "<svg><text>203.0.113.5</text></svg>", "<table><tr><td>", "&#x0;", "&#1;", "&#xD800;", "&nbsp;",
    "exаmple.com", "192.0.2.55", "深圳实验蚁信息技术有限公司", "粤ICP备00000000号-1", "91440300MA5LAB026M",
    "0x8c1bb3d014fcfe283805275af10c824d9175f818", "<div>" * 50]))
pages = st.lists(page_parts, max_size=15).map("".join)


@SOME
@given(page=pages, encoding=st.sampled_from(["utf-8", "gb18030", "utf-16", "latin-1", "shift_jis"]),
       ctype=st.sampled_from(["text/html", "text/html; charset=gbk", "text/plain", "", "application/xhtml+xml",
                              "text/html; charset=x-nonsense", "image/png"]),
       status=st.sampled_from([200, 200, 200, 301, 404]), final=st.sampled_from([None, "http://example.net/x",
                                                                                   "javascript:alert(1)", "\x00"]))
@example(page="<p>ops@example.net<br>\x01 192.0.2.55", encoding="utf-8", ctype="text/html", status=200, final=None)
@example(page="<svg><text>203.0.113.5</text></svg>&#1;", encoding="utf-8", ctype="text/html", status=200, final=None)
def test_web_pages_give_clean_contexts_whatever_their_markup(store, page, encoding, ctype, status, final):
    source = make_source(WebSource, {})
    [query] = source.queries("url:http://www.example.com/guide/", 0)
    raw = page.encode(encoding, "replace")
    meta = {"status": status, "headers": {"content-type": ctype}, "final_url": final,
            "redirects": [{"from": "http://www.example.com/old", "to": final or "", "status": 301}]}
    parsed = check_parse(store, source, query, raw, meta)
    assert parsed is not None  # a web page always reads: there is no malformed HTML, only odd pages
    for fact in parsed.facts:
        if "context" in fact.attrs:
            assert_clean_context(fact.attrs["context"])


@FEW
@given(raw=st.binary(max_size=400), charset=st.one_of(st.none(), st.text(max_size=12),
                                                     st.sampled_from(["gbk", "utf-16", "utf-7", "rot13", "base64",
                                                                      "idna", "punycode", "zlib", "hex"])))
@example(raw=b"\xff\xfe<\x00p\x00>\x00", charset=None)
@example(raw=b"<meta charset='zlib'>x", charset=None)
@example(raw=b"x", charset="zlib_codec")
def test_any_bytes_decode_to_page_text(raw, charset):
    meta = {"headers": {"content-type": f"text/html; charset={charset}"}} if charset is not None else {}
    text = decode_page(raw, meta)
    assert isinstance(text, str)
    body, title, hrefs = html_text(text)
    assert isinstance(body, str) and (title is None or isinstance(title, str))
    assert all(isinstance(h, str) for h in hrefs)
    assert isinstance(rough_text(text), str)


# DNS answers built with dnspython: the question's name, records with hostile names and TXT strings.
dns_labels = st.binary(min_size=1, max_size=20)
dns_names = st.lists(dns_labels, min_size=1, max_size=4).map(lambda ls: dns.name.Name([*ls, b""]))
IN = dns.rdataclass.IN


@st.composite
def dns_answers(draw, qname: str, rdtype: str) -> bytes:
    response = dns.message.make_response(dns.message.make_query(qname, rdtype))
    for _ in range(draw(st.integers(0, 6))):
        owner = draw(st.one_of(st.just(dns.name.from_text(qname)), dns_names))
        kind = draw(st.sampled_from(["TXT", "CNAME", "MX", "NS", "PTR", "A"]))
        if kind == "TXT":
            rdata = TXT(IN, dns.rdatatype.TXT, draw(st.lists(st.one_of(
                st.binary(max_size=60), hostile_text.map(lambda s: s.encode("utf-8", "surrogatepass")[:255]),
                st.sampled_from([b"v=spf1 ip4:192.0.2.0/24 include:_spf.example.com a:mail.example.com -all",
                                 b"v=DMARC1; p=reject; rua=mailto:dmarc@example.net",
                                 b"64500 | 192.0.2.0/24 | ZZ | lab | 2020-01-01",
                                 b"64500 | ZZ | lab | 2020-01-01 | LAB-AS Example Lab, ZZ"])), min_size=1, max_size=3)))
        elif kind == "A":
            rdata = A(IN, dns.rdatatype.A, draw(st.sampled_from(["192.0.2.1", "127.0.0.1", "10.0.0.1"])))
        elif kind == "MX":
            rdata = MX(IN, dns.rdatatype.MX, draw(st.integers(0, 65535)), draw(st.one_of(dns_names,
                                                                                       st.just(dns.name.root))))
        else:
            cls = {"CNAME": CNAME, "NS": NS, "PTR": PTR}[kind]
            rdata = cls(IN, dns.rdatatype.from_text(kind), draw(dns_names))
        try:
            response.answer.append(dns.rrset.from_rdata(owner, 300, rdata))
        except dns.exception.DNSException:
            continue
    try:
        return response.to_wire()
    except dns.exception.DNSException:  # a name over 255 octets once compressed
        return b""


@SOME
@given(data=st.data(), which=st.sampled_from(["A example.com", "TXT example.com", "TXT _dmarc.example.com",
                                              "MX example.com", "PTR 192.0.2.10", "origin", "asname"]))
def test_dns_and_asn_answers_with_hostile_records_are_read(store, data, which):
    if which in ("origin", "asname"):
        source = make_source(ASNSource, {"nameservers": ["192.0.2.53:53"]})
        if which == "origin":
            query = Query("asn", "origin 192.0.2.10", "ip:192.0.2.10", "dns",
                          {"qname": "10.2.0.192.origin.asn.cymru.com", "rdtype": "TXT", "address": "192.0.2.10"},
                          "192.0.2.53:53")
        else:
            query = Query("asn", "asname AS64500", "asn:AS64500", "dns",
                          {"qname": "AS64500.asn.cymru.com", "rdtype": "TXT", "asn": "AS64500"}, "192.0.2.53:53")
    else:
        source = make_source(DNSSource, {"nameservers": ["192.0.2.53:53"]})
        node = "ip:192.0.2.10" if which.startswith("PTR") else "domain:example.com"
        query = next(q for q in source.queries(node, 0) if q.key == which)
    raw = data.draw(st.one_of(dns_answers(query.request["qname"], query.request["rdtype"]), st.binary(max_size=80)))
    check_parse(store, source, query, raw, {})


@FEW
@given(node=st.one_of(hostile_text.map(lambda s: "company:" + s), hostile_text.map(lambda s: "org:" + s),
                      st.sampled_from(["company:91440300MA5LAB018T", "company:91440300MA5LAB01XX",
                                       "org:Shenzhen Shiyanyi Network Technology Co., Ltd."])))
def test_the_offline_registry_answers_any_company_or_org_it_is_asked_about(store, lab_case, node):
    # Its questions come from what other sources found (a company named on a page, a WHOIS org).
    source = make_source(CNRegistrySource, {}, case=lab_case)
    for query in source.queries(node, 1):
        try:
            raw = source.local_answer(query)
        except ValueError:  # the transport records it as a bad answer
            continue
        check_parse(store, source, query, raw, {})


# --- every exporter -----------------------------------------------------------------------------

export_values = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70), st.floats(),
                          hostile_text, st.dates(), st.lists(st.one_of(hostile_text, st.integers()), max_size=3),
                          st.dictionaries(st.text(max_size=3), hostile_text, max_size=2))
attr_names = st.one_of(st.sampled_from(["label", "kind", "context", "title", "first_seen", "last_seen",
                                        "confidence", "evidence", "sources", "id", "source", "target", "key",
                                        "Id", "Label", "weight", "color", "size", "x", "in_case"]), hostile_text)


@st.composite
def hostile_graphs(draw) -> nx.MultiDiGraph:
    """Small multigraphs with hostile ids, kinds and values; parallel edges and self-loops."""
    g = nx.MultiDiGraph()
    ids = draw(st.lists(st.one_of(hostile_text, hostile_text.map(lambda s: "org:" + s)), min_size=1, max_size=6,
                        unique=True))
    g.graph.update(draw(st.dictionaries(st.sampled_from(["case_id", "title", "x"]), export_values, max_size=2)))
    for nid in ids:
        g.add_node(nid)
        g.nodes[nid].update(draw(st.dictionaries(attr_names, export_values, max_size=4)))
        g.nodes[nid]["kind"] = draw(st.one_of(st.sampled_from(NODE_KINDS), hostile_text))
    for _ in range(draw(st.integers(0, 8))):
        u, v = draw(st.sampled_from(ids)), draw(st.sampled_from(ids))
        key = g.add_edge(u, v, key=draw(st.one_of(hostile_text, st.integers())))
        g.edges[u, v, key].update(draw(st.dictionaries(attr_names, export_values, max_size=4)))
    return g


GRAPH_FORMATS = tuple(f for f in FORMATS if f in ("gexf", "graphml", "json", "csv"))  # graph files, not pictures
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")


@pytest.mark.parametrize("fmt", GRAPH_FORMATS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=hostile_graphs())
def test_every_export_of_a_hostile_graph_reads_back_whole(fmt, graph):
    with tempfile.TemporaryDirectory() as tmp:
        files = export(graph, fmt, Path(tmp) / f"g.{fmt}")
        assert counts_of(fmt, files) == (graph.number_of_nodes(), graph.number_of_edges())
        for path in files:
            text = path.read_bytes().decode("utf-8")  # strict: nothing unencodable was written
            assert not _CONTROLS.search(text), repr(_CONTROLS.search(text).group())
        if fmt == "gexf" and SCHEMA.exists():
            from test_export_gexf import assert_valid

            assert_valid(files[0])
        if fmt == "csv":
            for path in files:
                with path.open(encoding="utf-8", newline="") as fh:
                    for row in csv.reader(fh):
                        for cell in row:
                            assert not cell.startswith(("=", "@", "\t", "\r")), cell
                            if cell.startswith(("+", "-")):
                                float(cell)  # only numbers may start with a sign
        if fmt == "json":
            doc = json.loads(files[0].read_text("utf-8"))
            assert len({link["id"] for link in doc["links"]}) == len(doc["links"])
            assert len({node["id"] for node in doc["nodes"]}) == len(doc["nodes"])
