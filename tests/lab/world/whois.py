"""The lab world's WHOIS: registrar-style records for example.com and example.net on the lab server.

One lab server plays every role: the .com/.net registries, IANA, and the registrar that the records
refer to (whois.example-registrar.test, mapped to the lab by `referral_hosts`). The referral is
untrusted, so it is only followed when enrich.allow_private is true; the records are thick, so the
registrant is known either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[2] / "data" / "lab" / "whois"
REGISTRAR_HOST = "whois.example-registrar.test"


def answers() -> dict[str, str]:
    """query -> text, from the files named after the domain they answer for."""
    return {p.name.removesuffix(".txt"): p.read_text(encoding="utf-8") for p in sorted(DATA.glob("*.txt"))}


def install(lab: Any) -> None:
    for query, text in answers().items():
        lab.whois.add_answer(query, text)


def settings(lab: Any) -> dict[str, Any]:
    here = f"{lab.whois.host}:{lab.whois.port}"
    # `server` and `iana` catch every other TLD, so that no question ever leaves the lab.
    return {"servers": {"com": here, "net": here}, "server": here, "iana": here,
            "referral_hosts": {REGISTRAR_HOST: here}}
