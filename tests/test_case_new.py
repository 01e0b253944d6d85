"""`osint case new --from`: a complaint's text becomes a draft case file that `case check` accepts."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from osint.case import load_case
from osint.case.model import Standing
from osint.case.uscc import make_uscc
from osint.cli import app

ROOT = Path(__file__).resolve().parents[1]
COMPLAINT = ROOT.parent.parent / "shared/case/antbot-binance-complaint.md"
if not COMPLAINT.exists():
    COMPLAINT = Path("/work/shared/case/antbot-binance-complaint.md")
runner = CliRunner()


def run(*args, **kw):
    return runner.invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "300"}, **kw)


def _ids(items):
    return {i.node_id for i in items}


def _draft(tmp_path: Path) -> Path:
    out = tmp_path / "draft.yaml"
    result = run("case", "new", "--from", str(COMPLAINT), "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


def test_the_antbot_draft_holds_every_indicator_of_the_hand_written_case(tmp_path):
    draft = load_case(_draft(tmp_path))
    seeds = load_case(ROOT / "data/seeds.yaml")
    d_brand, s_brand = draft.brands[0], seeds.brand("antbot")
    assert d_brand.name == "AntBot"
    assert _ids(draft.servers) == _ids(seeds.servers)
    assert len(draft.servers) == 8
    assert _ids(d_brand.emails) == _ids(s_brand.emails)
    assert _ids(d_brand.accounts) == _ids(s_brand.accounts)
    complaint_urls = {u.node_id for u in seeds.seed_urls if u.standing != Standing.LEAD}
    assert _ids(draft.seed_urls) == complaint_urls
    assert {r.url for r in draft.references} == {r.url for r in seeds.references}
    # Domains: the hand-written case lists www.antrade.io but not www.antbot-ai.org; the draft
    # lists the host of each of the suspects' URLs and the domain of each e-mail address.
    d_domains, s_domains = _ids(d_brand.websites), _ids(s_brand.websites)
    assert s_domains <= d_domains
    assert d_domains - s_domains == {"domain:www.antbot-ai.org"}
    key = lambda c: (c.name, c.uscc, c.legal_representative, c.address, c.status, c.founded, c.deregistered,
                     c.abnormal_operations)
    assert sorted(map(key, draft.companies)) == sorted(map(key, seeds.companies))
    assert {c.uscc for c in draft.companies} == {"91440300MA5GAKDP7P", "91440300MA5GDKFU7E"}
    assert draft.incident.time == seeds.incident.time
    # every claim the case file makes about the brand, the draft makes too (standing aside)
    seed_claims = {(c.subject, c.relation, c.object) for c in seeds.claims}
    draft_claims = {(c.subject, c.relation, c.object) for c in draft.claims}
    assert seed_claims <= draft_claims


def test_the_draft_names_section_and_line_and_passes_case_check(tmp_path):
    path = _draft(tmp_path)
    text = path.read_text(encoding="utf-8")
    lines = COMPLAINT.read_text(encoding="utf-8").split("\n")
    draft = load_case(path)
    ip = draft.servers[0]
    m = re.search(r"§(\S+) \(line (\d+)\)", ip.source)
    assert m and m.group(1) == "五"
    assert ip.value in lines[int(m.group(2)) - 1]
    account = next(a for a in draft.brands[0].accounts if a.platform == "telegram")
    m = re.search(r"§(\S+) \(line (\d+)\)", account.source)
    assert m.group(1) == "六.3" and "t.me/antbot_official" in lines[int(m.group(2)) - 1]
    assert all(i.standing == Standing.ALLEGED for i in draft.indicators())
    assert "# unsure:" in text
    result = run("case", "check", "--case", str(path))
    assert result.exit_code == 0, result.output
    assert "任俊⻜" in result.output and "look-alikes" in result.output  # the loader's warning, as for seeds.yaml


def test_a_draft_never_overwrites_a_case_file(tmp_path):
    path = _draft(tmp_path)
    before = path.read_bytes()
    result = run("case", "new", "--from", str(COMPLAINT), "--out", str(path))
    assert result.exit_code == 2
    assert "never overwrites" in result.output
    assert path.read_bytes() == before


def test_an_html_complaint_with_filings_and_wallets(tmp_path):
    code = make_uscc("91310115", "MA1LAB07")
    page = f"""<!doctype html><html><head><title>Complaint</title></head><body>
<h1>Complaint about ExampleBot</h1>
<h2>1. The company</h2>
<p>上海实验网络科技有限公司 存续</p><p>统一社会信用代码: {code}</p><p>法定代表人: 张三</p>
<h2>2. Servers of ExampleBot</h2>
<p>192.0.2.10 and 198.51.100.7</p>
<h2>3. Contacts of ExampleBot</h2>
<p>Website: <a href="https://examplebot.test/">https://examplebot.test/</a></p>
<p>Email: help@examplebot.test</p><p>Telegram: https://t.me/examplebot_team</p>
<p>沪ICP备12345678号-1, paid to 0x52908400098527886E0F7030069857D2E4169EE7</p>
</body></html>"""
    src = tmp_path / "complaint.html"
    src.write_text(page, encoding="utf-8")
    out = tmp_path / "c.yaml"
    result = run("case", "new", "--from", str(src), "--out", str(out))
    assert result.exit_code == 0, result.output
    case = load_case(out)
    assert case.brands[0].name == "ExampleBot"
    assert _ids(case.servers) == {"ip:192.0.2.10", "ip:198.51.100.7"}
    assert "domain:examplebot.test" in _ids(case.brands[0].websites)
    assert _ids(case.brands[0].accounts) == {"account:telegram:examplebot_team"}
    assert [(c.name, c.uscc, c.legal_representative, c.status) for c in case.companies] == [
        ("上海实验网络科技有限公司", code, "张三", "active")]
    assert "§2 (line" in case.servers[0].source
    text = out.read_text(encoding="utf-8")
    assert "icp_filing: 沪ICP备12345678号" in text
    assert "crypto_address: 0x52908400098527886e0f7030069857d2e4169ee7" in text


def test_a_complaint_that_is_not_text_is_one_line_and_exit_2(tmp_path):
    src = tmp_path / "c.txt"
    src.write_bytes(b"\xff\xfe\x00garbage\x81")
    result = run("case", "new", "--from", str(src), "--out", str(tmp_path / "c.yaml"))
    assert result.exit_code == 2
    assert re.search(r"error: .*c\.txt: is not UTF-8 text", result.output)
    assert not (tmp_path / "c.yaml").exists()


def test_case_check_all_lists_every_item_and_decodes_the_credit_codes():
    result = run("case", "check", "--all", "--case", str(ROOT / "data/seeds.yaml"))
    assert result.exit_code == 0, result.output
    seeds = load_case(ROOT / "data/seeds.yaml")
    for item in seeds.indicators():  # all eight IPs, not three examples
        assert item.value in result.output, item.value
    company = result.output[result.output.index("91440300MA5GDKFU7E"):]
    company = company[:company.index("standing")]
    assert "440300 广东省 深圳市" in company and "工商/市场监管 / 企业" in company
    assert "MA5GDKFU-7" in company and "valid" in company
    assert "任俊飞 (written 任俊⻜)" in company
    assert "www.youtube.com/@antradeio" in result.output  # spelling as written, beside youtube:antradeio


def test_case_check_all_shows_a_bad_check_character_is_refused(tmp_path):
    # A code whose check character is wrong stops the check (exit 2) naming what it should be.
    bad = make_uscc("91440300", "MA5LAB01")
    bad = bad[:-1] + ("0" if bad[-1] != "0" else "1")
    path = tmp_path / "c.yaml"
    path.write_text(f"case: {{id: t, title: t}}\ncompanies:\n  - name: 深圳实验科技有限公司\n    uscc: {bad}\n"
                    f"    source: test\n    standing: suspected\n", encoding="utf-8")
    result = run("case", "check", "--all", "--case", str(path))
    assert result.exit_code == 2
    assert "expected" in result.output
