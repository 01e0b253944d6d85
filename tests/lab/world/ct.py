"""The lab world's crt.sh: JSON certificate lists for the case's registrable domains."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..http_server import HTTPRequest, Response

NAME = "ct"
DATA = Path(__file__).resolve().parents[2] / "data" / "lab" / "crtsh"
PREFIX = "/crtsh/"


def search(request: HTTPRequest) -> Response:
    if request.params.get("output") != "json":
        return Response(200, "<html><body>crt.sh (lab): HTML output is not served</body></html>",
                        content_type="text/html")
    domain = request.params.get("q", "").removeprefix("%.")
    path = DATA / f"{domain}.json"
    body = path.read_bytes() if "/" not in domain and path.is_file() else b"[]"
    return Response(200, body, content_type="application/json")


def install(lab: Any) -> None:
    lab.http.get(PREFIX, search)


def settings(lab: Any) -> dict[str, Any]:
    return {"url": f"{lab.http.url}{PREFIX}"}
