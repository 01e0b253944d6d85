"""Google Play: an app's public listing, its developer's other apps, and searches by the brand's names.

The listing page (play.google.com/store/apps/details?id=<app id>) carries its data in
AF_initDataCallback script blocks; google-play-scraper's own page parser (`parse_dom`) reads a page
we fetched through our transport, so the field positions are that maintained library's, not ours.
The developer page and search results are read for their links to listings (/store/apps/details?id=).

An app is `account:google_play:<app id>`. A case that names an app without its id (`name: AntBot`)
gets a search: the apps found are recorded on the account as candidates and followed as leads, never
tied to the brand by an edge; only evidence in their own listings can do that.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, quote, urljoin, urlsplit

import lxml.etree
import lxml.html

from ..case.normalize import NormalizeError, normalize_email, normalize_url
from ..common.timefmt import english_date, epoch_iso
from ..transport.base import Outcome
from ..transport.base import Fetched, Query
from ..vocabulary import account_id, address_id, email_id, org_id, region_id, url_id
from .base import Parsed, ParseError, Source
from .telegram import require_html
from .web import _host_node, decode_page, well_known

APP_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
MAX_APPS = 100  # listings kept from one developer page or search
MAX_CANDIDATES = 10  # search results offered as candidates
# The last part of a developer's postal address, as Play shows it, to a country code.
COUNTRIES = {"china": "CN", "中国": "CN", "people's republic of china": "CN", "prc": "CN", "hong kong": "HK",
             "香港": "HK", "taiwan": "TW", "singapore": "SG", "united states": "US", "usa": "US",
             "united kingdom": "GB", "uk": "GB", "japan": "JP", "korea": "KR", "south korea": "KR",
             "malaysia": "MY", "thailand": "TH", "vietnam": "VN", "philippines": "PH", "indonesia": "ID",
             "india": "IN", "cyprus": "CY", "seychelles": "SC", "british virgin islands": "VG",
             "cayman islands": "KY", "united arab emirates": "AE", "estonia": "EE", "lithuania": "LT",
             "canada": "CA", "australia": "AU", "germany": "DE", "france": "FR", "russia": "RU"}


def app_ids_in(doc: Any, base: str) -> list[str]:
    """Listing links on a page (developer page, search results), in page order, each once."""
    found: dict[str, None] = {}
    for a in doc.iter("a"):
        href = a.get("href") or ""
        if "/store/apps/details" not in href:
            continue
        ids = parse_qs(urlsplit(urljoin(base, href)).query).get("id") or []
        if ids and APP_ID.match(ids[0].lower()):
            found.setdefault(ids[0].lower(), None)
        if len(found) >= MAX_APPS:
            break
    return list(found)


def country_of(address: str) -> str | None:
    parts = [p.strip().strip(".").lower() for p in re.split(r"[\n,，]", address) if p.strip()]
    for part in reversed(parts[-2:]):
        if part in COUNTRIES:
            return COUNTRIES[part]
    return None


def _epoch_iso(value: Any) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 10**11:
        return epoch_iso(value)
    return None


class GooglePlaySource(Source):
    name = "google-play"
    description = "Google Play: an app's listing (developer, e-mail, website, address), the developer's apps"
    consumes = ("account",)
    produces = ("account", "org", "email", "url", "domain", "address", "region")
    emits = ("developed_by", "links_to", "hosted_on", "uses_email", "registered_at", "located_in")
    needs_key = False
    key_env = None
    default_endpoint = "https://play.google.com"
    default_rate = 0.5
    default_burst = 2
    default_concurrency = 2
    default_timeout = 20.0
    default_max_bytes = 5_000_000
    ttl = 7 * 86400.0
    version = "1"
    credential_keys = ()

    @property
    def lang(self) -> str:
        return str(self.settings.get("lang", "en"))

    @property
    def country(self) -> str:
        return str(self.settings.get("country", "us"))

    def queries(self, node: str, depth: int) -> list[Query]:
        kind, _, value = node.partition(":")
        platform, _, ident = value.partition(":")
        if kind != "account" or platform != "google_play" or not ident:
            return []
        if APP_ID.match(ident):
            return [self._listing(node, ident, depth)]
        # A name, not an app id: search for it; what is found is a candidate, never the app itself.
        return [self._get(node, f"search {ident}", f"/store/search?q={quote(ident)}&c=apps&hl={self.lang}"
                                                  f"&gl={self.country}", "search", depth, query=ident)]

    def _get(self, node: str, key: str, path: str, page: str, depth: int, **extra: Any) -> Query:
        base = str(self.endpoint).rstrip("/")
        request = {"url": base + path, "headers": {"Accept": "text/html", "Accept-Language": self.lang},
                   "page": page, **extra}
        return Query(self.name, key, node, "http", request, base, (), True, depth)

    def _listing(self, node: str, app_id: str, depth: int) -> Query:
        return self._get(node, f"app {app_id}", f"/store/apps/details?id={quote(app_id)}&hl={self.lang}"
                                               f"&gl={self.country}", "listing", depth, app_id=app_id)

    def classify(self, query: Query, fetched: Fetched) -> Fetched:
        if fetched.outcome is not Outcome.ANSWERED or not require_html(query, fetched):
            return fetched
        if query.request.get("page") == "listing":
            if b"AF_initDataCallback" not in (fetched.raw or b""):
                fetched.outcome = Outcome.BAD_ANSWER
                fetched.error = f"{query.request['url']}: not a Play listing (no embedded data)"
        return fetched

    def parse(self, query: Query, raw: bytes, meta: dict[str, Any]) -> Parsed:
        if not raw or (meta.get("status") or 200) >= 400:
            return Parsed()
        text = decode_page(raw, meta)
        page = query.request.get("page")
        if page == "listing":
            return self._parse_listing(query, text)
        try:
            doc = lxml.html.document_fromstring(text, parser=lxml.html.HTMLParser(huge_tree=True))
        except (lxml.etree.LxmlError, ValueError) as exc:
            raise ParseError(f"google-play: {query.key}: unreadable page: {exc}") from None
        ids = app_ids_in(doc, query.request["url"])
        out = Parsed()
        if page == "developer":
            org = query.request["org"]
            for app_id in ids:
                app = account_id("google_play", app_id)
                out.fact(app, "developed_by", org, via="Google Play developer page")
                out.leads.append(app)
            out.node(org, play_apps=len(ids))
        else:  # search: candidates only
            out.node(query.subject, search_candidates=ids[:MAX_CANDIDATES],
                     search_note=f"apps Google Play lists for {query.request.get('query')!r}: candidates to "
                                 "check, not the case's app")
            out.leads.extend(account_id("google_play", i) for i in ids[:MAX_CANDIDATES])
        return out

    def _parse_listing(self, query: Query, text: str) -> Parsed:
        from google_play_scraper.features.app import parse_dom

        app_id = query.request["app_id"]
        try:
            data = parse_dom(dom=text, app_id=app_id, url=query.request["url"])
        except (ValueError, KeyError, IndexError, TypeError, AttributeError, json.JSONDecodeError) as exc:
            raise ParseError(f"google-play: {app_id}: cannot read the listing's data: {exc}") from None
        if not data.get("title"):
            raise ParseError(f"google-play: {app_id}: the listing names no app")
        out = Parsed()
        app = query.subject
        released, updated = english_date(data.get("released"), ("%Y-%m-%d",)), _epoch_iso(data.get("updated"))
        out.node(app, label=str(data["title"]), title=data.get("title"), package=app_id,
                 developer=data.get("developer"), developer_id=_scalar(data.get("developerId")),
                 installs=data.get("installs"), min_installs=_scalar(data.get("minInstalls")),
                 released=released, updated=updated, version=_scalar(data.get("version")),
                 genre=data.get("genre"), listing_url=f"https://play.google.com/store/apps/details?id={app_id}")
        developer = _clean(data.get("developer"))
        org = org_id(developer) if developer else None
        if org:
            out.fact(app, "developed_by", org, via="Google Play listing", first_seen=released)
            out.node(org, play_developer_id=_scalar(data.get("developerId")))
            out.leads.append(org)
        email = _clean(data.get("developerEmail"))
        if email:
            try:
                node = email_id(normalize_email(email))
            except NormalizeError:
                node = None
            if node:
                out.fact(app, "uses_email", node, role="developer contact (Google Play)")
                out.leads.append(node)
        for role, value in (("developer website", data.get("developerWebsite")),
                            ("privacy policy", data.get("privacyPolicy"))):
            self._site(out, app, _clean(value), role)
        address = _clean(data.get("developerAddress"), keep_lines=True)
        if address and org:
            addr = address_id(' '.join(address.split()))
            out.node(addr, label=address)
            out.fact(org, "registered_at", addr, via="Google Play listing")
            if code := country_of(address):
                out.fact(addr, "located_in", region_id(code), via="Google Play listing address")
        dev_id = _scalar(data.get("developerId"))
        if dev_id and org:
            path = (f"/store/apps/dev?id={quote(str(dev_id))}" if str(dev_id).isdigit()
                    else f"/store/apps/developer?id={quote(str(dev_id))}")
            out.followups.append(self._get(app, f"developer {dev_id}", f"{path}&hl={self.lang}", "developer",
                                           query.depth, org=org))
        out.leads = sorted(set(out.leads))
        return out

    def _site(self, out: Parsed, app: str, value: str | None, role: str) -> None:
        if not value:
            return
        try:
            url = url_id(normalize_url(value))
        except NormalizeError:
            return
        out.fact(app, "links_to", url, role=role)
        if host := _host_node(value):
            out.fact(url, "hosted_on", host)
            if not well_known(host):
                out.leads.append(host)


def _clean(value: Any, keep_lines: bool = False) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip() if keep_lines else " ".join(value.split())
    return text[:500] or None


def _scalar(value: Any) -> Any:
    return value if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None


__all__ = ["GooglePlaySource", "app_ids_in", "country_of"]
