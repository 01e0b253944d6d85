"""The lab world's AlienVault OTX: GET /otx/api/v1/indicators/{IPv4|IPv6|domain}/<value>/passive_dns."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..http_server import HTTPRequest, Response

NAME = "otx"
DATA = Path(__file__).resolve().parents[2] / "data" / "lab" / "otx"
PREFIX = "/otx/"
PATH = re.compile(r"/otx/api/v1/indicators/(IPv4|IPv6|domain|hostname)/([^/]+)/passive_dns")


def answer(request: HTTPRequest) -> Response:
    m = PATH.fullmatch(request.path)
    if not m:
        return Response(404, {"detail": "endpoint not found"})
    path = DATA / f"{m.group(1)}-{m.group(2)}.json"
    if path.is_file():
        return Response(200, path.read_bytes(), content_type="application/json")
    return Response(200, {"passive_dns": [], "count": 0})  # OTX knows the indicator, not its history


def install(lab: Any) -> None:
    lab.http.add_route("GET", PREFIX, answer, prefix=True)


def settings(lab: Any) -> dict[str, Any]:
    return {"url": f"{lab.http.url}{PREFIX}"}
