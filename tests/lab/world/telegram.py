"""The lab world's Telegram: public channel previews at /s/<channel>, older posts at ?before=<id>."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from ..http_server import HTTPRequest, Response

NAME = "telegram"
DATA = Path(__file__).resolve().parents[2] / "data" / "lab" / "telegram"
CHANNELS = {"labbot_example"}  # channels with a public preview; any other name gets the contact page
EXTRA: dict[str, bytes] = {}  # name -> page, for tests that need a channel of their own (hostile pages)


def channel_page(request: HTTPRequest) -> Response:
    name = request.path[len("/s/"):].strip("/")
    before = request.params.get("before")
    if name.lower() in EXTRA:
        return Response(200, EXTRA[name.lower()], content_type="text/html; charset=utf-8")
    if name.lower() not in CHANNELS:
        text = (DATA / "no_preview.html").read_text(encoding="utf-8").replace("{name}", html.escape(name))
        return Response(200, text, content_type="text/html; charset=utf-8")
    page = DATA / (f"{name.lower()}.before-{before}.html" if before else f"{name.lower()}.html")
    if not page.is_file():  # before= an id older than the first post: an empty history
        page = DATA / f"{name.lower()}.before-101.html"
    return Response(200, page.read_bytes(), content_type="text/html; charset=utf-8")


def install(lab: Any) -> None:
    lab.http.add_route("GET", "/s/", channel_page, prefix=True)


def settings(lab: Any) -> dict[str, Any]:
    return {"endpoint": lab.http.url}
