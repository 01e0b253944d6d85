"""The lab world's web sites (www.example.com, example.com, example.net), served through the lab proxy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..http_server import Response

NAME = "web"
DATA = Path(__file__).resolve().parents[2] / "data" / "lab" / "web"
# host -> {path: (file under DATA/host, content type as the site sends it)}
SITES = {
    "www.example.com": {"/": ("index.html", "text/html; charset=utf-8"),
                        "/guide/bind/": ("guide/bind/index.html", "text/html; charset=utf-8")},
    "example.com": {"/": ("index.html", "text/html; charset=utf-8")},
    # GBK bytes and only a <meta> to say so, as older Chinese sites do.
    "example.net": {"/": ("index.html", "text/html")},
}


def install(lab: Any) -> None:
    # The sites live on the lab HTTP server as virtual hosts; the proxy forwards to it by Host.
    for host, pages in SITES.items():
        table = {path: Response(200, (DATA / host / name).read_bytes(), content_type=ctype)
                 for path, (name, ctype) in pages.items()}
        lab.http.add_site(host, table)
        lab.proxy.add_site(host, lab.http)


def settings(lab: Any) -> dict[str, Any]:
    return {}  # pages are fetched where they are; the environment's HTTP_PROXY reaches the lab
