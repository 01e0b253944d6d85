"""RDAP for IP addresses: the registered network, who holds it, where, and its abuse contact."""

from __future__ import annotations

import json
from ipaddress import ip_address, ip_network
from typing import Any, Iterator

from ipwhois.exceptions import BaseIpwhoisException, InvalidEntityObject
from ipwhois.rdap import RDAP, RIR_RDAP, _RDAPEntity
from ipwhois.whois import RIR_WHOIS

from ..common.timefmt import iso_utc_text
from ..transport.base import Outcome
from ..transport.base import Fetched, Query
from ..vocabulary import netblock_id, org_id, region_id
from .base import Parsed, ParseError
from .netcommon import AddressSource, OfflineNet, email_node, ip_node, reserved_nodes

START_REGISTRY = "arin"  # ARIN answers for any address: it redirects to the registry that holds it
MAX_ENTITY_DEPTH = 4


def registry_templates(settings) -> dict[str, str]:
    """Registry -> URL template for an IP ('...{0}'): ipwhois's defaults, `registries` option on top."""
    templates = {name: urls["ip_url"] for name, urls in RIR_RDAP.items()}
    for name, base in (settings.get("registries") or {}).items():
        templates[name] = base.rstrip("/") + "/ip/{0}"
    return templates


class RDAPSource(AddressSource):
    name = "rdap"
    description = "RDAP (RFC 9083) for IP addresses at the regional registries: netblock, holder, abuse contact"
    consumes = ("ip",)
    produces = ("netblock", "org", "email", "region")
    emits = ("in_netblock", "operated_by", "located_in", "abuse_contact", "uses_email")
    default_endpoint = RIR_RDAP[START_REGISTRY]["ip_url"].removesuffix("ip/{0}")
    default_rate = 1.0  # the RIRs rate-limit RDAP per client address
    default_burst = 3
    default_concurrency = 4
    default_timeout = 20.0
    default_retries = 2
    default_max_bytes = 2_000_000
    ttl = 7 * 86400.0
    version = "1"

    def address_queries(self, node: str, addr: str, depth: int) -> list[Query]:
        if self.settings.get("endpoint"):
            template = self.settings.get("endpoint").rstrip("/") + "/ip/{0}"
        else:
            template = registry_templates(self.settings)[self.settings.get("registry", START_REGISTRY)]
        url = template.format(addr)
        request = {"url": url, "headers": {"Accept": "application/rdap+json"}, "address": addr}
        return [Query(self.name, f"ip {addr}", node, "http", request, url.removesuffix(f"ip/{addr}"), depth=depth)]

    def classify(self, query: Query, fetched: Fetched) -> Fetched:
        if fetched.outcome is not Outcome.ANSWERED or query.transport == "local":
            return fetched
        ctype = (fetched.meta.get("headers") or {}).get("content-type", "")
        if ctype and "json" not in ctype.lower():
            return _bad(fetched, f"answered {ctype}, not RDAP JSON")
        try:
            data = json.loads(fetched.raw or b"")
        except (ValueError, RecursionError) as exc:
            return _bad(fetched, f"answered unreadable JSON ({exc.__class__.__name__})")
        if not isinstance(data, dict):
            return _bad(fetched, "answered JSON that is not an RDAP object")
        if data.get("errorCode") == 404:
            fetched.outcome = Outcome.NO_RECORD
        return fetched

    def parse(self, query: Query, raw: bytes, meta: dict[str, Any]) -> Parsed:
        if query.transport == "local":
            return Parsed(nodes=reserved_nodes(raw))
        if meta.get("status") in (404, 410):
            return Parsed()
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("errorCode") == 404:
            return Parsed()
        addr = query.request["address"]
        try:
            # ipwhois parses only: bootstrap=True just spares it a registry name, root_ent_check=False and
            # depth=0 stop it fetching entities, and OfflineNet refuses if it tried anyway.
            result = RDAP(OfflineNet(addr)).lookup(response=data, bootstrap=True, depth=0, retry_count=0,
                                                   rate_limit_timeout=0, root_ent_check=False)
        except (BaseIpwhoisException, AttributeError) as exc:
            raise ParseError(f"rdap: not an RDAP network object for {addr}: {exc}") from exc
        return self._read(addr, result["network"], data, meta)

    def _read(self, addr: str, network: dict[str, Any], data: dict[str, Any], meta: dict[str, Any]) -> Parsed:
        out = Parsed()
        cidrs = [c.strip() for c in (network.get("cidr") or "").split(",") if c.strip()]
        if not cidrs:
            raise ParseError(f"rdap: the answer for {addr} names no address range")
        blocks = [netblock_id(ip_network(c, strict=False)) for c in cidrs]
        ip = ip_address(addr)
        for cidr, block in zip(cidrs, blocks):
            if ip in ip_network(cidr, strict=False):
                out.fact(ip_node(addr), "in_netblock", block)
        events = {e.get("action"): _iso(e.get("timestamp")) for e in network.get("events") or []}
        registry = self._registry(data, meta)
        for block in blocks:
            out.node(block, handle=network.get("handle"), name=network.get("name"), type=network.get("type"),
                     registry=registry, parent_handle=network.get("parent_handle"),
                     range=f"{network.get('start_address')} - {network.get('end_address')}",
                     registration_date=events.get("registration"), last_changed=events.get("last changed"),
                     status=network.get("status"))
            if network.get("country"):
                out.fact(block, "located_in", region_id(network['country'].upper()))
        holder = None
        contacts: list[tuple[str, str]] = []  # (role, email)
        for ent in _entities(data):
            try:
                parsed = _RDAPEntity(ent)
                parsed.parse()
            except (InvalidEntityObject, AttributeError, KeyError, TypeError):
                continue
            roles = [r.lower() for r in parsed.vars.get("roles") or [] if isinstance(r, str)]
            contact = parsed.vars.get("contact") or {}
            if "registrant" in roles and contact.get("name") and holder is None:
                holder = contact["name"]
            for e in contact.get("email") or []:
                email = email_node(e.get("value") or "")
                if email:
                    contacts += [(role, email) for role in roles or ["contact"]]
        holder = holder or _description(network)
        org = org_id(holder) if holder else None
        for block in blocks:
            if org:
                out.fact(block, "operated_by", org, source="rdap registrant")
        # Abuse desks and NOCs of hosting companies are shared by thousands of customers: recorded, not chased.
        for role, email in dict.fromkeys(contacts):
            if role == "abuse":
                for block in blocks:
                    out.fact(block, "abuse_contact", email)
            elif org:
                out.fact(org, "uses_email", email, role=role)
        return out

    def _registry(self, data: dict[str, Any], meta: dict[str, Any]) -> str | None:
        port43 = str(data.get("port43") or "").lower()
        for name, conf in RIR_WHOIS.items():
            if port43 and port43 == conf["server"]:
                return name
        url = str(meta.get("final_url") or meta.get("url") or "")
        for name, template in registry_templates(self.settings).items():
            if url.startswith(template.removesuffix("{0}")):
                return name
        return None


def _bad(fetched: Fetched, why: str) -> Fetched:
    fetched.outcome = Outcome.BAD_ANSWER
    fetched.error = f"{fetched.endpoint}: {why}"
    return fetched


def _entities(obj: dict[str, Any], depth: int = 0) -> Iterator[dict[str, Any]]:
    """Every entity, nested ones too (ARIN puts the abuse contact inside the organisation)."""
    for ent in obj.get("entities") or []:
        if isinstance(ent, dict):
            yield ent
            if depth < MAX_ENTITY_DEPTH:
                yield from _entities(ent, depth + 1)


def _description(network: dict[str, Any]) -> str | None:
    """APNIC/RIPE name the holder in a 'description' remark rather than a registrant entity."""
    for remark in network.get("remarks") or []:
        if (remark.get("title") or "").lower() == "description" and remark.get("description"):
            return remark["description"].splitlines()[0].strip() or None
    return None


def _iso(value: Any) -> str | None:
    """An RDAP event date as ISO UTC with Z; text that is no date is kept as written."""
    return (iso_utc_text(value) or value) if isinstance(value, str) else None
