"""The lab world's crt.sh: JSON certificate lists for the case's registrable domains."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..http_server import HTTPRequest, Response

NAME = "ct"
DATA = Path(__file__).resolve().parents[2] / "data" / "lab" / "crtsh"
PREFIX = "/crtsh/"


# Subject organisations crt.sh's O= search knows in the lab.
ORGS = {"Shenzhen Shiyanyi Information Technology Co., Ltd.": "org-shiyanyi.json"}


def search(request: HTTPRequest) -> Response:
    if request.params.get("output") != "json":
        return Response(200, "<html><body>crt.sh (lab): HTML output is not served</body></html>",
                        content_type="text/html")
    if "O" in request.params:
        name = ORGS.get(request.params["O"])
        return Response(200, (DATA / name).read_bytes() if name else b"[]", content_type="application/json")
    domain = request.params.get("q", "").removeprefix("%.")
    path = DATA / f"{domain}.json"
    body = path.read_bytes() if "/" not in domain and path.is_file() else b"[]"
    return Response(200, body, content_type="application/json")


def install(lab: Any) -> None:
    lab.http.get(PREFIX, search)


def settings(lab: Any) -> dict[str, Any]:
    return {"url": f"{lab.http.url}{PREFIX}"}
