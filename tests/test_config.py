"""Configuration: the TOML file, environment overrides, and secrets that never print."""


import pytest

from osint.config import Secret, load_settings
from osint.errors import ConfigError


def test_file_and_environment_are_merged(tmp_path):
    cfg = tmp_path / "osint.toml"
    cfg.write_text('[store]\npath = "x.sqlite"\n[enrich]\ndepth = 2\n'
                   '[sources.dns]\ntimeout = 3\nnameservers = ["127.0.0.1:5353"]\n[sources.shodan]\nenabled = false\n')
    cfg.chmod(0o600)
    s = load_settings(cfg, env={"SHODAN_API_KEY": "k-123456"})
    assert s.store == "x.sqlite"
    assert s.enrich.depth == 2
    assert s.source("dns").timeout == 3
    assert s.source("dns").get("nameservers") == ["127.0.0.1:5353"]
    assert s.source("shodan").enabled is False
    assert s.source("shodan").secret("api_key") == "k-123456"
    assert "k-123456" not in repr(s)


def test_secret_prints_as_stars():
    s = Secret("super-secret-value")
    assert str(s) == "***" and "super-secret" not in repr(s) and f"{s}" == "***"
    assert s.reveal() == "super-secret-value"


def test_world_readable_config_with_a_key_draws_a_warning(tmp_path):
    cfg = tmp_path / "osint.toml"
    cfg.write_text('[sources.shodan]\napi_key = "abc-planted"\n')
    cfg.chmod(0o644)
    s = load_settings(cfg, env={})
    assert any("chmod 600" in w for w in s.warnings)
    assert all("abc-planted" not in w for w in s.warnings)
    cfg.chmod(0o600)
    assert load_settings(cfg, env={}).warnings == ()


@pytest.mark.parametrize("text, message", [
    ("[store\n", "not valid TOML"),
    ("[nonsense]\nx = 1\n", "unknown section"),
    ("[enrich]\ndepht = 1\n", "depht"),
    ("[sources.dns]\ntimeuot = 1\n", None),  # unknown source keys are source options, not errors
])
def test_bad_configuration_is_one_clear_error(tmp_path, text, message):
    cfg = tmp_path / "osint.toml"
    cfg.write_text(text)
    if message is None:
        load_settings(cfg, env={})
        return
    with pytest.raises(ConfigError, match=message) as err:
        load_settings(cfg, env={})
    assert str(cfg) in str(err.value)


def test_osint_store_environment_variable_wins(tmp_path):
    assert load_settings(None, env={"OSINT_STORE": str(tmp_path / "s.sqlite")}).store.endswith("s.sqlite")
