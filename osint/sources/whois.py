"""WHOIS for domains: registrar, registrant, contacts, name servers and dates, following referrals."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from whois.exceptions import WhoisDomainNotFoundError, WhoisError
from whois.parser import WhoisEntry, cast_date
from whois.whois import NICClient

from ..common.timefmt import as_utc, iso_utc
from ..transport.base import Outcome
from ..transport.base import Fetched, Query
from ..vocabulary import domain_id, nameserver_id, org_id, person_id, region_id, registrar_id
from .base import Parsed, Source
from .netcommon import domain_name, email_node, is_hostname, registrable_domain
from .whois_answers import (
    is_no_record,
    is_privacy_mailbox,
    is_privacy_service,
    is_redaction,
    is_throttled,
    looks_like_company,
)

DEFAULT_MAX_REFERRALS = 2
IANA = NICClient.IANAHOST

# Some registries only answer usefully when asked in their own dialect (as python-whois asks them).
_DIALECTS = {NICClient.DENICHOST: "-T dn,ace -C UTF-8 {}", NICClient.DK_HOST: " --show-handles {}"}

# Fields python-whois's generic regexes leave out, read with its own machinery (WhoisEntry + regexes).
_EXTRA_FIELDS = {
    "registrant_name": r"Registrant(?: Contact)?\s*Name: *(.+)",
    "registrant_org": r"Registrant(?: Contact)?\s*Organi[sz]ation: *(.+)",
    "registrant_state": r"Registrant(?: Contact)?\s*State/Province: *(.+)",
    "registrant_country": r"Registrant(?: Contact)?\s*Country(?: Code)?: *(.+)",
    "registrant_email": r"Registrant(?: Contact)?\s*E-?mail: *(.+)",
    "admin_email": r"Admin(?:istrative)?(?: Contact)?\s*E-?mail: *(.+)",
    "tech_email": r"Tech(?:nical)?(?: Contact)?\s*E-?mail: *(.+)",
    "billing_email": r"Billing(?: Contact)?\s*E-?mail: *(.+)",
    "registrar_abuse_email": r"Registrar Abuse Contact Email: *(.+)",
    "registrar_iana_id": r"Registrar IANA ID: *(.+)",
    # .io and other registrar-operated records give only the registrar's own expiry date.
    # (not named *_date: python-whois would cast it, and one odd date would cost the whole record)
    "registrar_expiry_when": r"Registrar Registration Expiration Date: *(.+)",
}
_ROLES = ("registrant", "admin", "tech", "billing")

_REFERRAL = re.compile(r"^[ \t]*(?:registrar whois server|whois server|referralserver|refer|whois)[ \t]*:[ \t]*(\S+)",
                       re.I | re.M)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class _ServerChoice(NICClient):
    """python-whois's choice of server, with its one network step (asking IANA) left to our transport."""

    def findwhois_iana(self, tld: str) -> None:
        return None


def whois_text(raw: bytes) -> str:
    """The answer as text: UTF-8 (bad bytes replaced) without NULs and other control characters."""
    return _CONTROL.sub("", raw.decode("utf-8", errors="replace"))


def looks_binary(raw: bytes) -> bool:
    text = raw.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") + len(_CONTROL.findall(text))
    return bool(text) and bad / len(text) > 0.2


class WhoisSource(Source):
    name = "whois"
    wire = "whois"
    description = "Domain WHOIS (RFC 3912): registrar, registrant, contacts, name servers, dates"
    consumes = ("domain",)
    produces = ("registrar", "org", "person", "email", "nameserver", "region")
    emits = ("registered_with", "registrant", "uses_email", "abuse_contact", "nameserver", "located_in")
    default_endpoint = IANA
    default_rate = 0.5  # WHOIS servers throttle hard and ban eagerly
    default_burst = 2
    default_concurrency = 2
    default_timeout = 15.0
    default_retries = 2
    default_max_bytes = 1_000_000
    ttl = 7 * 86400.0
    version = "2"  # 2: privacy services marked, company registrants as org, registrar expiry, names as IDNA
    default_throttle_wait = 5.0  # seconds before asking a server again that said "slow down"

    # -- asking ----------------------------------------------------------------------------------

    def queries(self, node: str, depth: int) -> list[Query]:
        kind, _, value = node.partition(":")
        domain = registrable_domain(value) if kind == "domain" else None
        if not domain:
            return []  # special-use names (.test) and bare suffixes have no registry
        subject = domain_id(domain)
        server = self._configured_server(domain)
        if server:
            return [self._ask(subject, domain, server, server, [], depth, key=domain)]
        host = self._library_choice(domain)
        if host:
            return [self._ask(subject, domain, host, host, [], depth, key=domain)]
        tld = domain.rsplit(".", 1)[-1]
        request = {"query": tld, "domain": domain, "server": IANA, "via": [], "iana": True}
        endpoint = self.settings.get("iana") or IANA
        return [Query(self.name, f"{domain} @iana", subject, "whois", request, endpoint, depth=depth)]

    def _configured_server(self, domain: str) -> str | None:
        servers = self.settings.get("servers") or {}
        labels = domain.split(".")
        for i in range(1, len(labels)):  # the longest configured suffix wins: co.uk before uk
            if (found := servers.get(".".join(labels[i:]))):
                return found
        return self.settings.get("server")

    @staticmethod
    def _library_choice(domain: str) -> str | None:
        host = _ServerChoice().choose_server(domain)
        tld = domain.rsplit(".", 1)[-1]
        # python-whois tests the whole name with endswith("id")/("hr"): keep those for .id/.hr only.
        if host in (NICClient.PANDIHOST, NICClient.HR_HOST) and tld not in ("id", "hr"):
            return None
        return host

    def _ask(self, subject: str, domain: str, server: str, endpoint: str, via: list[str], depth: int, *,
             key: str, trusted: bool = True) -> Query:
        text = _DIALECTS.get(server.split(":")[0], "{}").format(domain)
        if server.split(":")[0].endswith(".jp"):
            text += "/e"  # JPRS answers in Japanese unless asked for English
        request = {"query": text, "domain": domain, "server": server, "via": via, "iana": False}
        return Query(self.name, key, subject, "whois", request, endpoint, trusted=trusted, depth=depth)

    def classify(self, query: Query, fetched: Fetched) -> Fetched:
        if fetched.outcome is not Outcome.ANSWERED or not fetched.raw:
            return fetched
        text = whois_text(fetched.raw)
        if looks_binary(fetched.raw):
            fetched.outcome = Outcome.BAD_ANSWER
            fetched.error = f"{fetched.endpoint or query.endpoint} answered with binary data, not WHOIS text"
        elif is_throttled(text):
            # "Slow down" is no answer about the domain: stored as rate_limited, retried later, never cached.
            fetched.outcome = Outcome.RATE_LIMITED
            first = next((line.strip() for line in text.splitlines() if line.strip()), "")[:120]
            fetched.error = f"{fetched.endpoint or query.endpoint} is throttling: {first}"
            fetched.retry_after = float(self.settings.get("throttle_wait", self.default_throttle_wait))
        elif not query.request.get("iana") and (is_no_record(text) or self._library_says_no(query, text)):
            fetched.outcome = Outcome.NO_RECORD
        return fetched

    @staticmethod
    def _library_says_no(query: Query, text: str) -> bool:
        """python-whois's own per-registry parsers know more "not found" texts than any list."""
        try:
            WhoisEntry.load(query.request["domain"], text)
        except WhoisDomainNotFoundError:
            return True
        except Exception:  # noqa: BLE001 - any other complaint of the parser is for parse() to handle
            return False
        return False

    # -- reading ---------------------------------------------------------------------------------

    def parse(self, query: Query, raw: bytes, meta: dict[str, Any]) -> Parsed:
        text = whois_text(raw)
        out = Parsed()
        req = query.request
        domain = req["domain"]
        node = domain_id(domain)
        if not req.get("iana") and is_no_record(text):
            out.node(node, whois_no_match=True)
            return out
        out.followups = self._referrals(query, text)
        if req.get("iana"):
            return out
        try:
            entry = WhoisEntry.load(domain, text)
        except WhoisDomainNotFoundError:
            out.node(node, whois_no_match=True)
            return out
        except (WhoisError, ValueError, OverflowError):
            entry = _undated_entry(domain, text)  # an odd date must not cost us the rest
        extra = WhoisEntry(domain, text, regex=_EXTRA_FIELDS)
        self._read(out, node, entry, extra, req["server"])
        return out

    def _read(self, out: Parsed, node: str, entry: WhoisEntry, extra: WhoisEntry, server: str) -> None:
        redacted: list[str] = []

        def clean(field: str, *values: Any) -> str | None:
            for v in values:
                for s in _strings(v):
                    if is_redaction(s):
                        redacted.append(field)
                        return None
                    return s
            return None

        def org_node(name: str) -> str:
            org = org_id(name)
            if is_privacy_service(name):
                # A proxy registers thousands of unrelated domains: kept (it holds the real
                # registrant's data), never a link between them.
                out.node(org, privacy_service=True)
                out.node(node, registrant_hidden_by=name)
            return org

        registrar = _first(entry.get("registrar"))
        if registrar:
            reg = registrar_id(registrar)
            out.fact(node, "registered_with", reg)
            out.node(reg, iana_id=_first(extra.get("registrar_iana_id")), url=_first(entry.get("registrar_url")))
            # Registrar abuse desks serve millions of domains: recorded, never chased.
            abuse = email_node(_first(extra.get("registrar_abuse_email")) or "")
            if abuse:
                out.fact(reg, "abuse_contact", abuse)
        org = clean("registrant_org", extra.get("registrant_org"), entry.get("org"))
        person = clean("registrant_name", extra.get("registrant_name"), entry.get("name"))
        country = clean("registrant_country", extra.get("registrant_country"), entry.get("country"))
        state = clean("registrant_state", extra.get("registrant_state"), entry.get("state"))
        if person and (looks_like_company(person) or is_privacy_service(person)):
            # .cn and others write the registrant company (or the proxy) in the name field: it is
            # an organisation, which cn-registry can compare with the case's companies.
            if not org:
                org = person
            elif person != org:
                out.fact(node, "registrant", org_node(person))
            person = None
        if org:
            out.fact(node, "registrant", org_node(org))
            if country and len(country) == 2 and not is_privacy_service(org):
                out.fact(org_id(org), "located_in", region_id(country.upper()), source="whois registrant country")
        if person and person != org:
            out.fact(node, "registrant", person_id(person))
        for role in _ROLES:
            value = clean(f"{role}_email", extra.get(f"{role}_email"))
            if value is None:
                continue
            email = email_node(value)
            if email is None:  # a web form's URL in place of an address
                redacted.append(f"{role}_email")
                continue
            out.fact(node, "uses_email", email, role=role)
            if is_privacy_mailbox(email):
                out.node(email, privacy_service=True)  # a proxy's forwarder: leads to the proxy, not the owner
                continue
            out.leads.append(email)
        for ns in _strings(entry.get("name_servers")):
            host = domain_name(ns.split()[0])
            if is_hostname(host):
                out.fact(node, "nameserver", nameserver_id(host))
                out.leads.append(nameserver_id(host))
        out.node(node,
                 creation_date=_iso(entry.get("creation_date"), min),
                 updated_date=_iso(entry.get("updated_date"), max),
                 expiration_date=_iso(entry.get("expiration_date"), max)
                 or _iso(_dates(extra.get("registrar_expiry_when")), max),
                 statuses=sorted({s.split()[0] for s in _strings(entry.get("status"))}),
                 registrant_country=country.upper() if country else None,
                 registrant_state=state,
                 dnssec=_first(entry.get("dnssec")),
                 whois_server=server,
                 redacted=sorted(set(redacted)))

    def _referrals(self, query: Query, text: str) -> list[Query]:
        """A referral to the registry (from IANA) or to the registrar (from a thin registry)."""
        req = query.request
        via = [*req.get("via", []), req["server"]]
        if len(via) > int(self.settings.get("max_referrals", DEFAULT_MAX_REFERRALS)):
            return []
        hosts = self.settings.get("referral_hosts") or {}
        for value in _REFERRAL.findall(text):
            value = value.lower().rstrip(".")
            if value.startswith("rwhois://"):
                continue  # another protocol
            target = value.removeprefix("whois://").rstrip("/")
            if not target or "/" in target or target in via:
                continue
            domain = req["domain"]
            # Learnt from an answer, so untrusted: the policy refuses internal addresses.
            return [self._ask(query.subject, domain, target, hosts.get(target, target), via, query.depth,
                              key=f"{domain} @{target}", trusted=False)]
        return []


def _undated_entry(domain: str, text: str) -> WhoisEntry:
    """The generic parse with each date read on its own, so one odd date loses only itself."""
    regex = {k.replace("_date", "_when"): v for k, v in WhoisEntry._regex.items()}
    entry = WhoisEntry(domain, text, regex=regex)
    for k in ("creation", "updated", "expiration"):
        dates = []
        for value in _strings(entry.pop(f"{k}_when", None)):
            try:
                dates.append(cast_date(value))
            except (WhoisError, ValueError, OverflowError):
                continue
        entry[f"{k}_date"] = [d for d in dates if isinstance(d, datetime)] or None
    return entry


def _dates(value: Any) -> list[datetime]:
    dates = []
    for text in _strings(value):
        try:
            d = cast_date(text)
        except (WhoisError, ValueError, OverflowError):
            continue
        if isinstance(d, datetime):
            dates.append(d)
    return dates


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    values = value if isinstance(value, (list, tuple)) else [value]
    return [str(v).strip() for v in values if str(v).strip()]


def _first(value: Any) -> str | None:
    found = _strings(value)
    return found[0] if found else None


def _iso(value: Any, pick) -> str | None:
    dates = [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, datetime)]
    if not dates:
        return None
    return iso_utc(as_utc(pick(dates)))
