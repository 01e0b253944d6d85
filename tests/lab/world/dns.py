"""The lab world's DNS: the synthetic case's zone data, and the dns source pointed at the lab server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[2] / "data" / "lab"
ZONE = DATA / "dns" / "world.zone"


def nameservers(lab: Any) -> list[str]:
    return [f"{lab.dns.host}:{lab.dns.port}"]


def load_records(server: Any, path: Path) -> None:
    """Load 'name ttl IN type rdata' lines into a lab DNS server.

    Not through dns.zone: a zone file may hold one SOA only, at its origin, and the lab serves many zones.
    """
    grouped: dict[tuple[str, str], tuple[int, list[str]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith(";"):
            continue
        name, ttl, _cls, rdtype, rdata = line.split(None, 4)
        grouped.setdefault((name, rdtype.upper()), (int(ttl), []))[1].append(rdata.strip())
    for (name, rdtype), (ttl, rdatas) in grouped.items():
        server.add_records(name, rdtype, rdatas, ttl)


def install(lab: Any) -> None:
    load_records(lab.dns, ZONE)


def settings(lab: Any) -> dict[str, Any]:
    return {"nameservers": nameservers(lab)}
