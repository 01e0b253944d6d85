"""The lab world's RDAP: two networks (APNIC- and ARIN-shaped answers) behind the lab HTTP server."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..http_server import Response

DATA = Path(__file__).resolve().parents[2] / "data" / "lab" / "rdap"
PREFIX = "/rdap/"

# Most specific first: the lab server answers with the first route that matches.
NETWORKS = (
    (r"100\.64\.2\.\d{1,3}", "100.64.2.0_24.json"),
    (r"100\.64\.\d{1,3}\.\d{1,3}", "100.64.0.0_16.json"),
)


def install(lab: Any) -> None:
    for pattern, filename in NETWORKS:
        body = (DATA / filename).read_bytes()
        lab.http.get(re.compile(re.escape(PREFIX) + "ip/" + pattern),
                     Response(200, body, content_type="application/rdap+json"))


def settings(lab: Any) -> dict[str, Any]:
    return {"endpoint": f"{lab.http.url}{PREFIX}"}
