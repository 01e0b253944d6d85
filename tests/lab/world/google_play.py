"""The lab world's Google Play: listings, a developer page and a search, in the page shapes Play serves.

A listing carries its data as AF_initDataCallback({key: 'ds:5', ..., data: [...], sideChannel: {}})
script blocks, with each field at the position google-play-scraper's ElementSpecs read it from
(title at [1][2][0][0], developer at [1][2][68][0], e-mail at [1][2][69][1][0], ...). The pages are
built here from readable records; every value is synthetic.
"""

from __future__ import annotations

import html
import json
from typing import Any

from ..http_server import HTTPRequest, Response

NAME = "google-play"
DEV_ID = "5550000000000000001"
LISTINGS = {
    "com.example.labbot": {
        "title": "LabBot 实验蚁 (synthetic)", "summary": "Quant trading bot (lab fixture)",
        "description": "LabBot binds your exchange API key.<br>Support: support@example.com",
        "installs": ["10,000+", 10000, 12345], "developer": "Shenzhen Shiyanyi Information Technology Co., Ltd.",
        "developer_link": f"/store/apps/dev?id={DEV_ID}", "email": "support@example.com",
        "website": "https://www.example.com/", "address": "深圳市南山区测试路1号\nShenzhen, Guangdong 518000\nChina",
        "privacy": "https://example.net/privacy", "genre": "Finance", "released": "Jan 5, 2021",
        "updated": 1677628800, "version": "2.3.1",
    },
    "com.example.labbot.pro": {
        "title": "LabBot Pro (synthetic)", "summary": "", "description": "Pro edition (lab fixture)",
        "installs": ["1,000+", 1000, 1500], "developer": "Shenzhen Shiyanyi Information Technology Co., Ltd.",
        "developer_link": f"/store/apps/dev?id={DEV_ID}", "email": "support@example.com",
        "website": "https://www.example.com/", "address": "", "privacy": None, "genre": "Finance",
        "released": "Jun 1, 2022", "updated": 1680307200, "version": "1.0.4",
    },
    "com.example.otherbot": {
        "title": "OtherBot (synthetic, unrelated)", "summary": "", "description": "A different developer's app.",
        "installs": ["500+", 500, 640], "developer": "Example Unrelated Apps LLC",
        "developer_link": "/store/apps/developer?id=Example+Unrelated+Apps+LLC", "email": "dev@example.org",
        "website": "https://apps.example.org/", "address": "1 Example Road\nSpringfield\nUnited States",
        "privacy": None, "genre": "Finance", "released": "Feb 2, 2020", "updated": 1650000000, "version": "3.0",
    },
}
DEVELOPER_APPS = {DEV_ID: ["com.example.labbot", "com.example.labbot.pro"]}
SEARCH = {"labbot": ["com.example.labbot", "com.example.otherbot"]}


def _put(root: list, path: list[int], value: Any) -> None:
    node = root
    for i, index in enumerate(path):
        while len(node) <= index:
            node.append(None)
        if i == len(path) - 1:
            node[index] = value
        else:
            if not isinstance(node[index], list):
                node[index] = []
            node = node[index]


def listing_data(rec: dict[str, Any]) -> list:
    d: list = []
    base = [1, 2]
    fields = {
        (0, 0): rec["title"], (72, 0, 1): rec["description"], (73, 0, 1): rec["summary"],
        (13, 0): rec["installs"][0], (13, 1): rec["installs"][1], (13, 2): rec["installs"][2],
        (68, 0): rec["developer"], (68, 1, 4, 2): rec["developer_link"], (69, 1, 0): rec["email"],
        (69, 0, 5, 2): rec["website"], (69, 2, 0): rec["address"] or None, (99, 0, 5, 2): rec["privacy"],
        (79, 0, 0, 0): rec["genre"], (79, 0, 0, 2): rec["genre"].upper(), (10, 0): rec["released"],
        (145, 0, 0): "Mar 1, 2023", (145, 0, 1, 0): rec["updated"], (140, 0, 0, 0): rec["version"],
        (57, 0, 0, 0, 0, 1, 0, 0): 0, (57, 0, 0, 0, 0, 1, 0, 1): "USD",
    }
    for path, value in fields.items():
        if value is not None:
            _put(d, base + list(path), value)
    return d


def _callback(key: str, data: Any) -> str:
    return (f"<script class=\"{key}\" nonce=\"lab\">AF_initDataCallback({{key: '{key}', hash: '1', "
            f"data:{json.dumps(data, ensure_ascii=False)}, sideChannel: {{}}}});</script>")


def listing_page(app_id: str) -> str:
    rec = LISTINGS[app_id]
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>"
            f"{html.escape(rec['title'])} - Apps on Google Play</title></head><body>"
            "<!-- Synthetic lab fixture in the shape of a Play listing. -->"
            + _callback("ds:3", [[None]]) + _callback("ds:5", listing_data(rec))
            + f"<h1 itemprop=\"name\">{html.escape(rec['title'])}</h1></body></html>")


def _app_links(ids: list[str]) -> str:
    return "".join(f"<div role=\"listitem\"><a href=\"/store/apps/details?id={i}\">"
                   f"<span>{html.escape(LISTINGS[i]['title'])}</span></a></div>" for i in ids)


def answer(request: HTTPRequest) -> Response:
    path, params = request.path, request.params
    if path == "/store/apps/details":
        app_id = params.get("id", "")
        if app_id not in LISTINGS:
            return Response(404, "<html><body>We're sorry, the requested URL was not found on this server."
                                 "</body></html>", content_type="text/html; charset=utf-8")
        return Response(200, listing_page(app_id), content_type="text/html; charset=utf-8")
    if path == "/store/apps/dev" and params.get("id") in DEVELOPER_APPS:
        body = f"<html><body><h1>Developer</h1>{_app_links(DEVELOPER_APPS[params['id']])}</body></html>"
        return Response(200, body, content_type="text/html; charset=utf-8")
    if path == "/store/search":
        ids = SEARCH.get(params.get("q", "").lower(), [])
        return Response(200, f"<html><body><section>{_app_links(ids)}</section></body></html>",
                        content_type="text/html; charset=utf-8")
    return Response(404, "<html><body>not found</body></html>", content_type="text/html; charset=utf-8")


def install(lab: Any) -> None:
    lab.http.add_route("GET", "/store/", answer, prefix=True)


def settings(lab: Any) -> dict[str, Any]:
    return {"endpoint": lab.http.url}
