"""The lab world's Team Cymru: origin and AS-name TXT records served by the lab DNS server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .dns import load_records

DATA = Path(__file__).resolve().parents[2] / "data" / "lab"
ZONE = DATA / "asn" / "cymru.zone"


def install(lab: Any) -> None:
    load_records(lab.dns, ZONE)


def settings(lab: Any) -> dict[str, Any]:
    return {"nameservers": [f"{lab.dns.host}:{lab.dns.port}"]}
