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
    # Sites beyond the case, for the fingerprint tests: shop and mirror share a Baidu Tongji id; mirror and
    # panel show the same framework favicon (the lab's stand-in for one, see FRAMEWORK_ICON); cdn shows
    # shop's own icon.
    "shop.example.org": {"/": ("index.html", "text/html; charset=utf-8"),
                         "/static/labbot.png": ("../icons/labbot.png", "image/png")},
    "mirror.example.org": {"/": ("index.html", "text/html; charset=utf-8"),
                           "/favicon.ico": ("../icons/framework.ico", "image/x-icon")},
    "panel.example.org": {"/": ("index.html", "text/html; charset=utf-8"),
                          "/favicon.ico": ("../icons/framework.ico", "image/vnd.microsoft.icon")},
    "cdn.example.org": {"/": ("index.html", "text/html; charset=utf-8")},
}
FRAMEWORK_ICON = DATA / "icons" / "framework.ico"


def install(lab: Any) -> None:
    # The sites live on the lab HTTP server as virtual hosts; the proxy forwards to it by Host.
    for host, pages in SITES.items():
        table = {path: Response(200, (DATA / host / name).read_bytes(), content_type=ctype)
                 for path, (name, ctype) in pages.items()}
        lab.http.add_site(host, table)
        lab.proxy.add_site(host, lab.http)


def settings(lab: Any) -> dict[str, Any]:
    # Pages are fetched where they are; the environment's HTTP_PROXY reaches the lab. The lab's framework
    # icon is declared a default, as Spring Boot's or Tomcat's is built in.
    from osint.sources.fingerprints import favicon_hash

    return {"default_favicons": [favicon_hash(FRAMEWORK_ICON.read_bytes())]}
