"""The lab world's Shodan InternetDB: GET /internetdb/<ip>, 404 {"detail": "No information available"} otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..http_server import HTTPRequest, Response

NAME = "internetdb"
DATA = Path(__file__).resolve().parents[2] / "data" / "lab" / "internetdb"
PREFIX = "/internetdb/"


def answer(request: HTTPRequest) -> Response:
    ip = request.path[len(PREFIX):]
    path = DATA / f"{ip}.json"
    if "/" in ip or not path.is_file():
        return Response(404, {"detail": "No information available"})
    return Response(200, path.read_bytes(), content_type="application/json")


def install(lab: Any) -> None:
    lab.http.add_route("GET", PREFIX, answer, prefix=True)


def settings(lab: Any) -> dict[str, Any]:
    return {"url": f"{lab.http.url}{PREFIX}"}
