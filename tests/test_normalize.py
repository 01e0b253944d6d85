"""Canonical forms of indicators, look-alike folding and romanization."""

import pytest

from osint.case.normalize import (
    NormalizeError, domain_display, email_display, fold_cjk, normalize_domain, normalize_email,
    normalize_handle, normalize_ip, normalize_url, person_pinyin, to_pinyin, url_display,
)
from osint.textnorm import lookalikes


def test_radical_lookalikes_fold_to_real_characters():
    assert fold_cjk("任俊\u2edc") == "任俊飞"  # CJK Radicals Supplement, needs the table
    assert fold_cjk("人\u2ea0币") == "人民币"
    assert fold_cjk("\u2f08民币") == "人民币"  # Kangxi radical, NFKC
    assert fold_cjk("深圳（龙华）") == "深圳（龙华）"  # full-width punctuation is not touched
    assert lookalikes("任俊\u2edc") == ["U+2EDC \u2edc"]


def test_fold_table_targets_are_unified_ideographs():
    import unicodedata

    from osint.textnorm import _SUPPLEMENT
    for source, target in _SUPPLEMENT.items():
        assert 0x2E80 <= source <= 0x2EFF
        assert unicodedata.name(chr(target)).startswith("CJK UNIFIED IDEOGRAPH"), hex(source)


@pytest.mark.parametrize("text, value", [
    ("101.36.108.79", "101.36.108.79"),
    (" 2001:DB8:0::1 ", "2001:db8::1"),
])
def test_ip(text, value):
    assert normalize_ip(text) == value


@pytest.mark.parametrize("text", ["101.36.108.256", "101.36.108", "101.036.108.79", "antrade.io", ""])
def test_bad_ip(text):
    with pytest.raises(NormalizeError):
        normalize_ip(text)


def test_domain_lowercase_idna_no_trailing_dot():
    assert normalize_domain("WWW.AnTrade.IO.") == "www.antrade.io"
    assert normalize_domain("Bücher.Example") == "xn--bcher-kva.example"
    assert domain_display("xn--bcher-kva.example") == "bücher.example"
    assert normalize_domain("例え.テスト") == "xn--r8jz45g.xn--zckzah"


@pytest.mark.parametrize("text, words", [
    ("localhost", "no dot"),
    ("http://antrade.io", "host name only"),
    ("exa_mple.com", "not a valid domain"),
    ("-bad.com", "not a valid domain"),
    ("1.2.3.4", "IP address"),
    ("a" * 64 + ".com", "not a valid domain"),
])
def test_bad_domain(text, words):
    with pytest.raises(NormalizeError, match=words):
        normalize_domain(text)


def test_one_mailbox_one_canonical_address_whatever_the_case():
    # The complaint writes Support@antbot-ai.org, the site support@antbot-ai.org: one mailbox, one node.
    assert normalize_email("Support@AntBot-AI.org") == normalize_email("support@antbot-ai.org") == "support@antbot-ai.org"
    assert normalize_email("a@Bücher.Example") == "a@xn--bcher-kva.example"
    assert email_display("a@xn--bcher-kva.example") == "a@bücher.example"


@pytest.mark.parametrize("text", ["business@@antrade.io", "business.antrade.io", "@antrade.io",
                                  "bu siness@antrade.io", "x@localhost", "a..b@antrade.io"])
def test_bad_email(text):
    with pytest.raises(NormalizeError):
        normalize_email(text)


def test_url_normal_form():
    assert normalize_url("http://www.antrade.io") == "http://www.antrade.io/"
    assert normalize_url("HTTPS://WWW.Binance.com:443/zh-CN/link#top") == "https://www.binance.com/zh-CN/link"
    assert normalize_url("http://example.com:8080/a?b=c") == "http://example.com:8080/a?b=c"
    assert normalize_url("https://www.binance.com/%e5%b8%81") == "https://www.binance.com/%E5%B8%81"
    assert normalize_url("https://www.binance.com/币") == "https://www.binance.com/%E5%B8%81"
    assert normalize_url("http://[2001:DB8::1]/") == "http://[2001:db8::1]/"
    assert normalize_url("www.youtube.com/@antradeio", default_scheme="https") == \
        "https://www.youtube.com/@antradeio"
    assert url_display("http://xn--bcher-kva.example/") == "http://bücher.example/"


@pytest.mark.parametrize("text", ["ftp://example.com/", "www.youtube.com/@antradeio", "http://",
                                  "http://exa mple.com/", "http://user:pw@example.com/",
                                  "http://example.com:99999/"])
def test_bad_url(text):
    with pytest.raises(NormalizeError):
        normalize_url(text)


def test_handles():
    assert normalize_handle("@AntRade_IO") == "antrade_io"
    with pytest.raises(NormalizeError):
        normalize_handle("two words")


def test_pinyin():
    assert to_pinyin("深圳小红蚁网络科技有限公司") == "Shenzhen Xiaohongyi Wangluo Keji Youxian Gongsi"
    assert to_pinyin("深圳小红蚁信息技术有限公司") == "Shenzhen Xiaohongyi Xinxi Jishu Youxian Gongsi"
    assert person_pinyin("任俊\u2edc") == "Ren Junfei"
    assert person_pinyin("李根生") == "Li Gensheng"
    assert person_pinyin("欧阳修") == "Ouyang Xiu"
    assert person_pinyin("单雄信") == "Shan Xiongxin"  # surname reading, not dān
    assert to_pinyin("龙华区 A座") == "Long Hua Qu A Zuo"


def test_one_canonical_host_name_from_any_source():
    from osint.case.normalize import canonical_host
    from osint.sources.netcommon import domain_node, email_node

    assert canonical_host("Bücher.Example.") == normalize_domain("bücher.example") == "xn--bcher-kva.example"
    assert domain_node("BÜCHER.example") == "domain:xn--bcher-kva.example"
    assert email_node("Support@Bücher.Example") == f"email:{normalize_email('support@bücher.example')}"
    assert canonical_host("_DMARC.Example.com") == "_dmarc.example.com"  # not IDNA-encodable: kept, lowercased
