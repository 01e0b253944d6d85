"""The lab world: every lab server started and loaded with the synthetic case's answers.

Each module beside this one (dns.py, whois.py, ...) knows one source: `install(lab)` loads its answers
into the running servers and `settings(lab)` returns that source's configuration pointing at them.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..dns_server import LabDNSServer
from ..http_server import LabHTTPServer
from ..proxy import LabHTTPProxy
from ..whois_server import LabWhoisServer

CASE = Path(__file__).resolve().parents[2] / "data" / "case.yaml"


@dataclass
class Lab:
    dns: LabDNSServer
    whois: LabWhoisServer
    http: LabHTTPServer
    proxy: LabHTTPProxy
    modules: list[Any] = field(default_factory=list)

    def servers(self) -> list[Any]:
        return [self.dns, self.whois, self.http, self.proxy]

    def total_requests(self) -> int:
        return sum(s.count() for s in self.servers())

    def reset_counts(self) -> None:
        for s in self.servers():
            s.reset_counts()

    def source_settings(self) -> dict[str, dict[str, Any]]:
        return {getattr(m, "NAME", m.__name__.rsplit(".", 1)[1]): m.settings(self) for m in self.modules}

    def env(self) -> dict[str, str]:
        """Environment for a run against the lab: web pages through the lab proxy, APIs direct."""
        return {"HTTP_PROXY": self.proxy.url, "http_proxy": self.proxy.url,
                "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}

    def write_config(self, path: Path, store: Path, **enrich: Any) -> Path:
        conf = {"store": {"path": str(store)},
                "enrich": {"allow_private": False, **enrich},
                "sources": self.source_settings()}
        path.write_text(to_toml(conf), encoding="utf-8")
        path.chmod(0o600)
        return path


def world_modules() -> list[Any]:
    mods = []
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda i: i.name):
        mods.append(importlib.import_module(f"{__name__}.{info.name}"))
    return mods


def start_lab(**http_options: Any) -> Lab:
    lab = Lab(LabDNSServer().start(), LabWhoisServer(trickle_interval=0.05).start(),
              LabHTTPServer(trickle_interval=0.05, **http_options).start(), LabHTTPProxy().start())
    lab.modules = world_modules()
    for m in lab.modules:
        m.install(lab)
    return lab


def stop_lab(lab: Lab) -> None:
    for s in reversed(lab.servers()):
        s.stop()


def to_toml(data: dict[str, Any], prefix: str = "") -> str:
    """Just enough TOML for lab configurations: tables of scalars, lists and inline tables."""
    lines, tables = [], []
    for key, value in data.items():
        if isinstance(value, dict) and (not value or any(isinstance(v, dict) for v in value.values()) or prefix == ""
                                        or prefix == "sources."):
            tables.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    out = "\n".join(lines) + ("\n" if lines else "")
    for key, value in tables:
        name = f"{prefix}{_key(key)}"
        out += f"\n[{name}]\n" + to_toml(value, prefix=f"{name}.")
    return out


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else json.dumps(k)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")
