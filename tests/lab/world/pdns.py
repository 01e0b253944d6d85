"""The lab world's passive DNS: a CIRCL-shaped COF server (Basic auth) and a Mnemonic-shaped JSON API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..http_server import HTTPRequest, Response

NAME = "pdns"
DATA = Path(__file__).resolve().parents[2] / "data" / "lab" / "pdns"
CIRCL_PREFIX = "/circl/"
MNEMONIC_PREFIX = "/mnemonic/"
CIRCL_USER, CIRCL_PASSWORD = "lab-circl-user", "lab-circl-password"
# 203.0.113.30 is shared hosting: more names point at it than enrich.shared_infra_threshold (500).
SHARED_IP, SHARED_NAMES = "203.0.113.30", 600


def shared_hosting_answer() -> bytes:
    lines = [json.dumps({"count": 3 + i % 17, "time_first": 1640995200 + i * 3600, "time_last": 1704067200 - i * 60,
                         "rrtype": "A", "rrname": f"site{i:04d}.example.org", "rdata": SHARED_IP})
             for i in range(SHARED_NAMES)]
    return ("\n".join(lines) + "\n").encode()


def circl_answer(request: HTTPRequest) -> Response:
    name = request.path[len(CIRCL_PREFIX):]
    if name == SHARED_IP:
        return Response(200, shared_hosting_answer(), content_type="application/json")
    path = DATA / "circl" / f"{name}.ndjson"
    # CIRCL answers an unknown name with an empty 200, not a 404.
    body = path.read_bytes() if path.is_file() and "/" not in name else b""
    return Response(200, body, content_type="application/json")


def mnemonic_answer(request: HTTPRequest) -> Response:
    name = request.path[len(MNEMONIC_PREFIX):]
    path = DATA / "mnemonic" / f"{name}.json"
    if path.is_file() and "/" not in name:
        return Response(200, path.read_bytes(), content_type="application/json")
    empty = {"responseCode": 200, "limit": 1000, "offset": 0, "count": 0, "metaData": {}, "messages": [],
             "data": [], "size": 0}
    return Response(200, empty)


def install(lab: Any) -> None:
    lab.http.add_route("GET", CIRCL_PREFIX, circl_answer, prefix=True, auth=(CIRCL_USER, CIRCL_PASSWORD))
    lab.http.add_route("GET", MNEMONIC_PREFIX, mnemonic_answer, prefix=True)


def settings(lab: Any) -> dict[str, Any]:
    return {"circl_url": f"{lab.http.url}{CIRCL_PREFIX}", "circl_user": CIRCL_USER,
            "circl_password": CIRCL_PASSWORD, "mnemonic_url": f"{lab.http.url}{MNEMONIC_PREFIX}"}
