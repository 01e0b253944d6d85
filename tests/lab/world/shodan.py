"""The lab world's Shodan: /shodan/host/{ip} for two servers that share an SSH host key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..http_server import HTTPRequest, Response

NAME = "shodan"
DATA = Path(__file__).resolve().parents[2] / "data" / "lab" / "shodan"
PREFIX = "/shodan/"
API_KEY = "LabShodanKey0123456789abcdefABCD"  # planted: tests grep the evidence store for it


def host_answer(request: HTTPRequest) -> Response:
    if request.params.get("key") != API_KEY:
        return Response(401, "<html><head><title>401 Unauthorized</title></head><body><h1>401 Unauthorized</h1>"
                             "<p>Please provide a valid API key.</p></body></html>", content_type="text/html")
    ip = request.path[len(PREFIX + "host/"):]
    path = DATA / f"{ip}.json"
    if "/" in ip or not path.is_file():
        return Response(404, {"error": "No information available for that IP."})
    return Response(200, path.read_bytes(), content_type="application/json; charset=utf-8")


def api_info(request: HTTPRequest) -> Response:
    """The key's own account: plan and credits (Shodan's /api-info), the cheap question a check asks."""
    if request.params.get("key") != API_KEY:
        return Response(401, "<html><head><title>401 Unauthorized</title></head><body><h1>401 Unauthorized</h1>"
                             "<p>Please provide a valid API key.</p></body></html>", content_type="text/html")
    return Response(200, {"plan": "lab", "query_credits": 100, "scan_credits": 0, "unlocked": True,
                          "https": True, "telnet": False, "monitored_ips": None, "usage_limits": {
                              "query_credits": 100, "scan_credits": 0, "monitored_ips": 0}})
def _banners() -> list[dict[str, Any]]:
    out = []
    for path in sorted(DATA.glob("*.json")):
        out += [b for b in json.loads(path.read_text(encoding="utf-8")).get("data", []) if isinstance(b, dict)]
    return out


def _matches(query: str, banner: dict[str, Any]) -> bool:
    """The three filters the source searches by, over the lab's host records."""
    name, _, value = query.partition(":")
    http = banner.get("http") or {}
    if name == "http.favicon.hash":
        return str((http.get("favicon") or {}).get("hash")) == value
    if name == "ssl.cert.fingerprint":
        fp = ((banner.get("ssl") or {}).get("cert") or {}).get("fingerprint") or {}
        return value.lower() in (fp.get("sha256"), fp.get("sha1"))
    if name == "http.title":
        return http.get("title") == value.strip('"')
    return False


def search_answer(request: HTTPRequest) -> Response:
    """/shodan/host/search?query=...: {"matches": [banners], "total": N, "facets": {}} as Shodan answers."""
    if request.params.get("key") != API_KEY:
        return Response(401, "<html><head><title>401 Unauthorized</title></head><body><h1>401 Unauthorized</h1>"
                             "<p>Please provide a valid API key.</p></body></html>", content_type="text/html")
    query = request.params.get("query", "")
    if not query:
        return Response(400, {"error": "Empty search query"})
    found = [b for b in _banners() if _matches(query, b)]
    return Response(200, json.dumps({"matches": found, "total": len(found), "facets": {}}).encode(),
                    content_type="application/json; charset=utf-8")


def install(lab: Any) -> None:
    lab.http.add_route("GET", PREFIX + "host/search", search_answer)  # before host/<ip>, which would take it
    lab.http.add_route("GET", PREFIX + "host/", host_answer, prefix=True)
    lab.http.add_route("GET", "/api-info", api_info)


def settings(lab: Any) -> dict[str, Any]:
    return {"url": lab.http.url, "api_key": API_KEY}
