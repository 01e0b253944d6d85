"""Settings: one TOML file plus environment overrides, with secrets that never print."""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import platformdirs

from .errors import ConfigError

CONFIG_FILENAME = "osint.toml"

# Environment variables that carry credentials, and where they go.
SECRET_ENV = {
    "SHODAN_API_KEY": ("shodan", "api_key"),
    "CIRCL_PDNS_USER": ("pdns", "circl_user"),
    "CIRCL_PDNS_PASSWORD": ("pdns", "circl_password"),
    "MNEMONIC_API_KEY": ("pdns", "mnemonic_api_key"),
}
SECRET_KEYS = {"api_key", "password", "circl_password", "mnemonic_api_key", "token", "secret"}


class Secret:
    """A credential. It prints as *** wherever it ends up by mistake."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = lambda self: "***"  # noqa: E731

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class SourceSettings:
    """How one source may talk to the world. Unset fields fall back to the source's defaults."""

    enabled: bool = True
    timeout: float | None = None
    rate: float | None = None  # requests per second, per server
    burst: int | None = None
    concurrency: int | None = None
    ttl: float | None = None  # seconds an answer is reused from the store
    retries: int | None = None
    max_bytes: int | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)

    def secret(self, key: str) -> str | None:
        value = self.options.get(key)
        if isinstance(value, Secret):
            return value.reveal() or None
        return value or None


@dataclass(frozen=True)
class EnrichSettings:
    depth: int = 1
    concurrency: int = 32
    max_new_per_pivot: int = 50
    shared_infra_threshold: int = 500
    allow_private: bool = False  # may we connect to loopback/private addresses (labs, intranets)?
    egress: str | None = None  # local address outgoing connections leave from; rate budgets are per egress
    lease: float = 30.0  # seconds a shared run's question stays leased to a worker that stopped renewing it


@dataclass(frozen=True)
class Settings:
    store: str = ""  # a path to a SQLite file or an SQLAlchemy URL
    enrich: EnrichSettings = EnrichSettings()
    sources: dict[str, SourceSettings] = field(default_factory=dict)
    config_path: Path | None = None
    warnings: tuple[str, ...] = ()

    def source(self, name: str) -> SourceSettings:
        return self.sources.get(name, SourceSettings())

    def with_store(self, store: str) -> "Settings":
        return replace(self, store=store)


_GENERIC = {"enabled", "timeout", "rate", "burst", "concurrency", "ttl", "retries", "max_bytes"}


def find_config(explicit: str | Path | None = None) -> Path | None:
    if explicit:
        p = Path(explicit)
        if not p.is_file():
            raise ConfigError(f"{p}: configuration file not found")
        return p
    env = os.environ.get("OSINT_CONFIG")
    if env:
        return find_config(env)
    local = Path.cwd() / CONFIG_FILENAME
    if local.is_file():
        return local
    user = Path(platformdirs.user_config_dir("osint")) / CONFIG_FILENAME
    return user if user.is_file() else None


def default_store_path() -> str:
    return str(Path.cwd() / ".osint" / "evidence.sqlite")


def load_settings(path: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Read the TOML file (if any) and apply environment overrides."""
    env = dict(os.environ if env is None else env)
    cfg_path = find_config(path)
    raw: dict[str, Any] = {}
    warnings: list[str] = []
    if cfg_path:
        try:
            raw = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{cfg_path}: not valid TOML: {exc}") from None
    unknown = set(raw) - {"store", "enrich", "sources"}
    if unknown:
        raise ConfigError(f"{cfg_path}: unknown section(s): {', '.join(sorted(unknown))}")

    store_cfg = raw.get("store", {})
    store = env.get("OSINT_STORE") or store_cfg.get("url") or store_cfg.get("path") or default_store_path()

    enrich_raw = raw.get("enrich", {})
    try:
        enrich = EnrichSettings(**enrich_raw)
    except TypeError as exc:
        raise ConfigError(f"{cfg_path}: [enrich]: {exc}") from None

    sources: dict[str, dict[str, Any]] = {k: dict(v) for k, v in raw.get("sources", {}).items()}
    has_secret_in_file = False
    for name, conf in sources.items():
        for key in list(conf):
            if key in SECRET_KEYS and conf[key]:
                has_secret_in_file = True
    for var, (src, key) in SECRET_ENV.items():
        if env.get(var):
            sources.setdefault(src, {})[key] = env[var]
    if _url_has_password(store_cfg.get("url")):
        has_secret_in_file = True
    if has_secret_in_file and cfg_path and _readable_by_others(cfg_path):
        warnings.append(
            f"{cfg_path} holds credentials and can be read by other users; run: chmod 600 {cfg_path}"
        )

    built: dict[str, SourceSettings] = {}
    for name, conf in sources.items():
        generic = {k: v for k, v in conf.items() if k in _GENERIC}
        options = {k: (Secret(str(v)) if k in SECRET_KEYS and v else v) for k, v in conf.items() if k not in _GENERIC}
        try:
            built[name] = SourceSettings(**generic, options=options)
        except TypeError as exc:
            raise ConfigError(f"{cfg_path}: [sources.{name}]: {exc}") from None
    return Settings(store=store, enrich=enrich, sources=built, config_path=cfg_path, warnings=tuple(warnings))


def _url_has_password(url: Any) -> bool:
    """A store URL such as postgresql://user:password@host/db holds a credential."""
    if not isinstance(url, str) or "://" not in url:
        return False
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        return bool(parts.password) or "password=" in parts.query
    except ValueError:
        return "@" in url


def _readable_by_others(path: Path) -> bool:
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_IRGRP | stat.S_IROTH))
