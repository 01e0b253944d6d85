"""The one vocabulary: every kind and relation anything emits is in it with colour and both names, and the
style, the report's words, the builder's confidences and attribution say what it says."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from osint import vocabulary as vocab
from osint.case.model import Relation as ClaimRelation
from osint.graph import attribute, build, paths, style
from osint.graph.fingerprints import DERIVED
from osint.report import i18n
from osint.sources import registered_sources

REPO = Path(__file__).resolve().parents[1]
HEX = re.compile(r"^#[0-9A-F]{6}$")


def _fact_relations_in_code() -> dict[str, set[str]]:
    """relation -> files, for every `….fact(subject, "relation", …)` with a literal relation under osint/."""
    found: dict[str, set[str]] = {}
    for path in sorted((REPO / "osint").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "fact"
                    and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)):
                found.setdefault(str(node.args[1].value), set()).add(str(path.relative_to(REPO)))
    return found


def test_every_kind_and_relation_has_a_colour_and_both_names():
    for entry in (*vocab.KINDS.values(), *vocab.RELATIONS.values()):
        assert HEX.match(entry.colour), entry
        assert entry.en and entry.zh and entry.zh != entry.name, entry
    assert all(k.description for k in vocab.KINDS.values())
    assert not set(vocab.KINDS) & {"", "claim"} and all(":" not in n for n in (*vocab.KINDS, *vocab.RELATIONS))


def test_everything_emitted_declared_or_derived_is_in_the_vocabulary():
    declared = {r for cls in registered_sources().values() for r in cls.emits}
    in_code = _fact_relations_in_code()
    derived = {d for _, d in DERIVED.values()} | {"same_ssh_key", "names"}
    claims = {r.value for r in ClaimRelation}
    missing = (declared | set(in_code) | derived | claims | {u for u, _ in DERIVED.values()}) - set(vocab.RELATIONS)
    assert not missing, {r: sorted(in_code.get(r, ())) for r in missing}
    assert derived == set(vocab.DERIVED_RELATIONS)
    assert {r.name for r in vocab.RELATIONS.values() if r.identity} <= claims
    kinds = {k for cls in registered_sources().values() for k in (*cls.produces, *cls.consumes)}
    assert kinds <= set(vocab.KINDS), kinds - set(vocab.KINDS)
    assert set(DERIVED) <= set(vocab.KINDS)


def test_style_i18n_build_and_attribute_read_the_vocabulary():
    assert list(style.KINDS) == list(vocab.KINDS)
    assert style.colour("ip") == vocab.KINDS["ip"].colour and style.colour("nope") == vocab.FALLBACK_COLOUR
    assert set(i18n.RELATIONS_ZH) == set(vocab.RELATIONS) and set(i18n.KINDS_ZH) == set(vocab.KINDS)
    assert i18n.relation_name("icp_filed_by", "zh") == "备案主办单位为"
    assert i18n.relation_name("icp_filed_by", "en") == "icp filed by"
    assert i18n.kind_name("page_title", "zh") == "网页标题" and i18n.kind_name("page_title", "en") == "page title"
    assert i18n.relation_name("made_up_relation", "zh") == "made up relation"  # a third party's: its id
    # the builder's confidences, as they were before the vocabulary held them
    assert build.confidence("ct", "certificate_names", {}) == 0.95
    assert build.confidence("web", "certificate_names", {}) == 0.9
    assert build.confidence("shodan", "located_in", {}) == 0.6
    assert build.confidence("web", "hosted_on", {}) == 0.9
    assert build.confidence("web", "uses_tracker", {}) == build.DEFAULT_CONFIDENCE == 0.5
    assert build.CASE_FACT_CONFIDENCE == {"legal_representative_of": 0.8, "registered_at": 0.8, "in_district": 0.9}
    assert paths.WEAK_RELATIONS == {"located_in", "in_district", "shares_district", "announced_by", "in_netblock",
                                        "operated_by", "registered_with", "caa_issuer", "abuse_contact", "has_title"}
    assert paths.HUB_KINDS == {"region", "registrar", "incident"}
    assert set(paths.IDENTITY_RELATIONS) == {"website_of", "uses_email", "account_of"}
    assert set(attribute.LEAD_KINDS) == {"ip", "domain", "email", "company", "org", "crypto_address", "icp_filing",
                                         "account"}


def test_contracts_md_carries_the_vocabulary_tables():
    text = (REPO / "docs" / "CONTRACTS.md").read_text(encoding="utf-8")
    tables = text.split("<!-- vocabulary:start -->\n", 1)[1].split("<!-- vocabulary:end -->", 1)[0]
    assert tables == vocab.tables_markdown(), (
        "docs/CONTRACTS.md has old vocabulary tables: paste the output of `python -m osint.vocabulary` "
        "between the vocabulary markers")
    shapes = text.split("## Relations")[1].split("## Parsed JSON")[0]
    undocumented = {r for r, rel in vocab.RELATIONS.items() if not rel.hop and f"`{r}`" not in shapes}
    assert not undocumented, f"say what these relations join in CONTRACTS.md's Relations section: {undocumented}"


def test_node_ids_are_written_one_way():
    assert vocab.ip_id("192.0.2.1") == vocab.node_id("ip", "192.0.2.1") == "ip:192.0.2.1"
    assert vocab.account_id("telegram", "labbot") == "account:telegram:labbot"
    assert vocab.service_id("192.0.2.1", 443, "tcp") == "service:192.0.2.1:443/tcp"
    assert vocab.asn_id(64500) == "asn:AS64500"
    assert vocab.split_node_id(vocab.tracker_id("baidu", "abc")) == ("tracker", "baidu:abc")
    assert vocab.edge_colour("resolves_to") == vocab.EVIDENCE_EDGE_COLOUR
    assert vocab.edge_colour("resolves_to", claim=True) == vocab.CLAIM_EDGE_COLOUR
