"""The registry of sources. Built-in sources are registered exactly like third-party ones."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from .base import Parsed, ParseError, Source, SourceContext

# Built-in sources, in the order they are listed and run. Third parties add theirs under the
# "osint.sources" entry-point group.
DEFAULT_SOURCES = (
    "osint.sources.dns:DNSSource",
    "osint.sources.whois:WhoisSource",
    "osint.sources.rdap:RDAPSource",
    "osint.sources.asn:ASNSource",
    "osint.sources.pdns:PassiveDNSSource",
    "osint.sources.shodan:ShodanSource",
    "osint.sources.ct:CTSource",
    "osint.sources.web:WebSource",
    "osint.sources.cnregistry:CNRegistrySource",
    "osint.sources.archive:ArchiveSource",
    "osint.sources.icp:ICPSource",
    "osint.sources.internetdb:InternetDBSource",
    "osint.sources.otx:OTXSource",
    "osint.sources.telegram:TelegramSource",
    "osint.sources.googleplay:GooglePlaySource",
    "osint.sources.youtube:YouTubeSource",
)


def _load(spec: str) -> type[Source]:
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


def registered_sources() -> dict[str, type[Source]]:
    found: dict[str, type[Source]] = {}
    for spec in DEFAULT_SOURCES:
        cls = _load(spec)
        found[cls.name] = cls
    for ep in entry_points(group="osint.sources"):
        cls = ep.load()
        found.setdefault(cls.name, cls)
    return found


__all__ = ["DEFAULT_SOURCES", "Parsed", "ParseError", "Source", "SourceContext", "registered_sources"]
