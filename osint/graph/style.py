"""How the graph looks in Gephi: one colour per node kind, node size by degree, the legend."""

from __future__ import annotations

import math

# Kind -> (colour, what the node is). Related kinds share a hue family: network things are green,
# names are blue, people and organisations warm. graphs/README.md carries this table; a test checks
# that it matches (regenerate it with `python -m osint.graph.style`).
KINDS: dict[str, tuple[str, str]] = {
    "incident": ("#E41A1C", "the theft itself (time, exchange, losses)"),
    "brand": ("#FF7F00", "the product or brand the case is about (AntBot)"),
    "company": ("#A65628", "a Chinese company, by its Unified Social Credit Code"),
    "person": ("#F781BF", "a person (legal representative, WHOIS registrant)"),
    "address": ("#C2A5CF", "a postal address"),
    "region": ("#BDBDBD", "an administrative division or a country"),
    "domain": ("#377EB8", "a host or domain name"),
    "nameserver": ("#6BAED6", "a DNS name server"),
    "url": ("#9ECAE1", "a web page"),
    "ip": ("#4DAF4A", "an IP address"),
    "netblock": ("#A1D99B", "an IP range (CIDR)"),
    "asn": ("#238B45", "an autonomous system"),
    "service": ("#74C476", "an open port on an IP"),
    "org": ("#984EA3", "an organisation without a credit code (network operator, registrant)"),
    "registrar": ("#807DBA", "a domain registrar"),
    "email": ("#FFD92F", "an e-mail address"),
    "phone": ("#E5C494", "a phone number"),
    "account": ("#DD3497", "an account on a platform (Twitter, Telegram, Binance Square)"),
    "certificate": ("#1B9E77", "a TLS certificate, by SHA-256"),
    "sshkey": ("#66C2A5", "an SSH host key, by fingerprint"),
    "ct_log": ("#8DD3C7", "a Certificate Transparency log"),
    "crypto_address": ("#FB8072", "a cryptocurrency address"),
    "icp_filing": ("#BCBD22", "a Chinese ICP filing number"),
    "tracker": ("#17BECF", "an analytics or tracker id a site loads (Baidu Tongji, CNZZ, 51.la, Google)"),
    "favicon": ("#9EDAE5", "a site icon, by the hash Shodan indexes (framework defaults left out)"),
    "copyright": ("#DBDB8D", "the holder a site's copyright line names"),
    "page_title": ("#C7C7C7", "a page title (generic ones left out)"),
}
FALLBACK_COLOUR = "#969696"  # kinds a third-party source invents
CLAIM_EDGE_COLOUR = "#E41A1C"  # claims from the case file: red, so they stand out from evidence


def colour(kind: str) -> str:
    """The hex colour ('#RRGGBB') of a node kind."""
    return KINDS.get(kind, (FALLBACK_COLOUR, ""))[0]


def rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def node_size(degree: int) -> float:
    """Gephi node size: grows with the log of the degree, so hubs stand out without swamping."""
    return round(10.0 + 5.0 * math.log2(1 + max(degree, 0)), 2)


def legend() -> list[tuple[str, str, str]]:
    """(kind, colour, description) for every kind, in the order of KINDS."""
    return [(kind, hexc, text) for kind, (hexc, text) in KINDS.items()]


def legend_markdown() -> str:
    """The colour legend as the Markdown table graphs/README.md carries."""
    lines = ["| Kind | Colour | What it is |", "|---|---|---|"]
    lines += [f"| `{kind}` | `{hexc}` | {text} |" for kind, hexc, text in legend()]
    lines.append(f"| (other) | `{FALLBACK_COLOUR}` | a kind not listed here |")
    lines.append(f"| claim edge | `{CLAIM_EDGE_COLOUR}` | an edge the case file alleges, not evidence |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - regenerates the README table
    import sys

    sys.stdout.write(legend_markdown())
