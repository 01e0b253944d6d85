"""A broken case file is reported line by line; duplicates are merged with a warning."""

from pathlib import Path

import pytest

from osint.case import CaseError, Problem, load_case
from osint.errors import ExitStatus, OsintError

DATA = Path(__file__).resolve().parent / "data"
BROKEN = DATA / "broken"
LAB_TEXT = (DATA / "case.yaml").read_text(encoding="utf-8")


def problems_of(path) -> list[Problem]:
    with pytest.raises(CaseError) as caught:
        load_case(path)
    return caught.value.problems


@pytest.mark.parametrize("name, line, field, words", [
    ("bad_ip.yaml", 46, "servers.ips[2]", "'203.0.113.300' is not an IP address"),
    ("bad_uscc.yaml", 53, "companies[0].uscc", "check character is X, expected T"),
    ("unknown_key.yaml", 27, "brands[0].websties", "unknown key 'websties'; did you mean 'websites'?"),
    ("syntax_error.yaml", 14, "(yaml)", "YAML syntax error"),
    ("bad_email.yaml", 28, "brands[0].emails[0]", "not an e-mail address"),
    ("bad_domain.yaml", 27, "brands[0].websites[2]", "'exa_mple.net' is not a valid domain name"),
    ("bad_url.yaml", 83, "seed_urls[1].url", "'ftp://example.net/' is not an http or https URL"),
])
def test_broken_file_names_file_line_and_field(name, line, field, words):
    path = BROKEN / name
    with pytest.raises(CaseError) as caught:
        load_case(path)
    err = caught.value
    assert len(err.problems) == 1, str(err)  # no follow-on noise
    problem = err.problems[0]
    assert (problem.file, problem.line, problem.field) == (str(path), line, field)
    assert words in problem.message
    assert str(err) == f"{path}:{line}: {field}: {problem.message}"
    assert isinstance(err, OsintError) and err.exit_status == ExitStatus.BAD_INPUT == 2


def write(tmp_path, text, name="case.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_every_problem_is_reported_not_just_the_first(tmp_path):
    text = (LAB_TEXT.replace("    - 192.0.2.10\n", "    - 192.0.2.999\n")
            .replace("business@example.com", "business.example.com")
            .replace("    standing: suspected\n", "    standing: rumoured\n", 1))
    problems = problems_of(write(tmp_path, text))
    fields = [p.field for p in problems]
    assert fields == ["brands[0].emails[0]", "servers.ips[0]", "companies[0].claim.standing"]
    assert [p.line for p in problems] == sorted(p.line for p in problems)
    assert "alleged by the victim" in problems[2].message  # the allowed standings are listed


def test_missing_required_field_points_at_its_item(tmp_path):
    text = LAB_TEXT.replace("    legal_representative: 李四\n", "").replace(
        "  - name: 深圳实验蚁信息技术有限公司\n", "  - uscc_name: 深圳实验蚁信息技术有限公司\n")
    problems = problems_of(write(tmp_path, text))
    assert [(p.field, p.message) for p in problems] == [
        ("companies[1].name", "is required"),
        ("companies[1].uscc_name", "unknown key 'uscc_name'; did you mean 'uscc'?"),
    ]
    line = text.splitlines().index("  - uscc_name: 深圳实验蚁信息技术有限公司") + 1
    assert {p.line for p in problems} == {line}


def test_claim_naming_an_unknown_brand(tmp_path):
    text = LAB_TEXT.replace("    brand: labbot\n", "    brand: antbot\n", 1)
    (problem,) = problems_of(write(tmp_path, text))
    assert problem.field == "servers.claim.brand"
    assert "no brand with id 'antbot'" in problem.message and "labbot" in problem.message


def test_time_without_utc_offset_is_refused(tmp_path):
    text = LAB_TEXT.replace("2023-03-21T01:00:00+08:00", "2023-03-21T01:00:00")
    (problem,) = problems_of(write(tmp_path, text))
    assert problem.field == "incidents[0].time" and "timezone" in problem.message


def test_duplicate_yaml_key_is_an_error(tmp_path):
    text = LAB_TEXT.replace("    exchange: ExampleExchange\n",
                            "    exchange: ExampleExchange\n    exchange: OtherExchange\n")
    (problem,) = problems_of(write(tmp_path, text))
    first = text.splitlines().index("    exchange: ExampleExchange") + 1
    assert (problem.field, problem.line) == ("incidents[0].exchange", first + 1)
    assert f"first at line {first}" in problem.message


def test_unknown_section(tmp_path):
    (problem,) = problems_of(write(tmp_path, LAB_TEXT + "\nserver:\n  ips: []\n"))
    assert problem.field == "server" and "did you mean 'servers'?" in problem.message


def test_missing_and_empty_files(tmp_path):
    (missing,) = problems_of(tmp_path / "nope.yaml")
    assert missing.line is None and "cannot read" in missing.message
    assert str(missing).startswith(f"{tmp_path / 'nope.yaml'}: (file): ")
    (empty,) = problems_of(write(tmp_path, "# nothing yet\n"))
    assert empty.line == 1 and "mapping" in empty.message


def test_empty_sections_are_allowed(tmp_path):
    case = load_case(write(tmp_path, "case: {id: empty, title: Nothing yet}\nbrands: []\ncompanies:\n"))
    assert case.indicators() == [] and case.incident is None and case.claims == []


def test_duplicates_are_merged_with_a_warning(tmp_path):
    text = (LAB_TEXT.replace("    - 100.64.2.20\n", "    - 100.64.2.20\n    - 192.0.2.010\n")
            .replace("    - 192.0.2.10\n", "    - 192.0.2.10\n    - 192.0.2.10\n")
            .replace("example.net]", "example.net, WWW.Example.COM.]"))
    path = write(tmp_path, text)
    with pytest.raises(CaseError):  # 192.0.2.010 has a leading zero: ambiguous, refused
        load_case(path)
    text = text.replace("    - 192.0.2.010\n", "")
    case = load_case(write(tmp_path, text))
    assert [i.value for i in case.servers].count("192.0.2.10") == 1
    assert len(case.servers) == 6
    assert [d.value for d in case.brand("labbot").websites] == ["example.com", "www.example.com", "example.net"]
    ip_line = text.splitlines().index("    - 192.0.2.10") + 1
    assert f"{path}:{ip_line + 1}: servers.ips[1]: duplicate of ip:192.0.2.10 (first written at line {ip_line}); merged" \
        in case.warnings
    assert any("websites[3]: duplicate of domain:www.example.com" in w for w in case.warnings)
    assert len([c for c in case.claims if c.subject == "ip:192.0.2.10"]) == 1


def test_lookalikes_in_any_text_field_are_folded_with_a_warning(tmp_path):
    text = LAB_TEXT.replace("legal_representative: 张三", "legal_representative: 张\u2ee0三") \
                   .replace("address: 深圳市南山区测试路1号\n    status: deregistered",
                            "address: 深圳市南山区测试路1号⻔\n    status: deregistered")
    case = load_case(write(tmp_path, text))
    company = case.companies[0]
    assert company.legal_representative == "张饣三"
    assert company.legal_representative_original == "张\u2ee0三"
    assert company.address.endswith("1号门")
    assert len(case.warnings) == 2 and all("CJK radical look-alikes" in w for w in case.warnings)


def test_uscc_region_not_in_address_is_a_warning(tmp_path):
    text = LAB_TEXT.replace("address: 深圳市南山区测试路1号\n    status: deregistered",
                            "address: 广州市天河区测试路1号\n    status: deregistered")
    case = load_case(write(tmp_path, text))
    assert len(case.warnings) == 1 and "深圳市" in case.warnings[0]


def test_ids_must_be_slugs(tmp_path):
    (problem,) = problems_of(write(tmp_path, LAB_TEXT.replace("  id: lab-case", "  id: Lab Case")))
    assert (problem.field, problem.line) == ("case.id", 6) and "lower-case" in problem.message


def test_unknown_platform_lists_the_known_ones(tmp_path):
    (problem,) = problems_of(write(tmp_path, LAB_TEXT.replace("- platform: x\n", "- platform: myspace\n")))
    assert problem.field == "brands[0].accounts[1].platform" and "telegram" in problem.message
