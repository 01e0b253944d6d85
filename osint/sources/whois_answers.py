"""What a WHOIS answer means before it is read as a record: "no such domain", "slow down", or a
privacy service standing in for the registrant.

Registries say "not found" and "too many queries" in their own words. An answer that means either
must never be stored as an answered, empty record (it would be cached for days and read as "this
domain has no registrant"). The wording below was learnt from the registries' published WHOIS
documentation and from the test data of public WHOIS parsers; the fixtures in our tests are our own.
"""

from __future__ import annotations

import re

# -- not found ------------------------------------------------------------------------------------
# (who says it, pattern). Patterns are matched per line, case-insensitively, after leading
# comment characters (%, #, >, spaces).
NOT_FOUND: tuple[tuple[str, str], ...] = (
    ("Verisign (.com .net .name .cc .tv), Nominet (.uk), JPRS (.jp), Registro.br, Norid (.no), .hu, .tr",
     r"no match(?:es)?\b"),
    ("PIR (.org), auDA (.au), IEDR (.ie), AFNIC (.fr), CIRA (.ca), Identity Digital (.io .ai .me), CentralNic, "
     "SGNIC (.sg), .fi, .ee, .sk, Google Registry", r"(?:domain |object )?not found\b"),
    ("Neustar/GoDaddy Registry (.us .co .biz), NIXI (.in), .ae", r"no data found"),
    ("RIPE-style servers (.ru .su .dk .ro .si .is .ua .cz .ir .hr), NIC Chile (.cl)", r"(?:%error:\d+: )?no entries found"),
    ("ZDNS (.top), .ws, .pro", r"the queried object does not exist"),
    ("RIPE, APNIC", r"this query returned 0 objects"),
    ("SWITCH (.ch .li)", r"we do not have an entry in our database matching your query"),
    (".nz (SRS)", r"query_status:[ \t]*220 available"),
    ("TWNIC (.tw)", r"no found\b"),
    ("KISA (.kr)", r"the requested domain was not found|등록되어 있지 않습니다"),
    ("Freenom (.tk .ml .ga .cf .gq)", r"invalid query or domain name not known"),
    ("CNNIC (.cn .中国)", r"no matching record"),
    ("DENIC (.de), .lv", r"status:[ \t]*free\b"),
    ("EURid (.eu), DNS Belgium (.be), Registro.it (.it), .lt", r"status:[ \t]*available\b"),
    ("SIDN (.nl), .gg .je", r"\S+ is free\b"),
    ("HKIRC (.hk)", r"the domain has not been registered"),
    ("NASK (.pl)", r"no information available about domain name"),
    ("nic.at (.at), .kz", r"nothing found\b"),
    ("IIS (.se .nu)", r'domain "?[^"\s]+"? not found'),
    ("NIC Argentina (.ar)", r"el dominio no se encuentra registrado"),
    ("NIC México (.mx)", r"object_not_found"),
    ("MYNIC (.my), Register.bg (.bg)", r".{0,120}?does not exist in database"),
    (".by", r"object does not exist"),
    ("DNS.PT (.pt)", r"\S+ - no match"),
    ("RNIDS (.rs)", r"%error:103: domain is not registered"),
    ("generic", r"no object found|domain .{1,80} not found|domain (?:name )?(?:is )?(?:not registered|available for registration)"),
)

# -- slow down ----------------------------------------------------------------------------------------
THROTTLED: tuple[tuple[str, str], ...] = (
    ("PIR (.org)", r"whois limit exceeded"),
    ("Afilias/Identity Digital, Registro.br, Google Registry, CentralNic",
     r"(?:query |queries |request |connection |rate |whois )?(?:rate )?limit (?:has been |was )?(?:exceeded|reached)"),
    ("Nominet (.uk), auDA (.au), SWITCH (.ch)", r"(?:quota|limit)\b.{0,40}\b(?:has been |was )?exceeded|exceeded (?:the|your|this) .{0,30}(?:limit|quota)"),
    ("DENIC (.de)", r"55000000002|access control limit reached"),
    ("Verisign", r"your connection limit exceeded|please slow down"),
    ("generic, JPRS (.jp)", r"too many (?:requests|queries|connections)"),
    ("SIDN (.nl)", r"maximum number of (?:requests|queries)"),
    ("EURid (.eu), DNS Belgium (.be)", r"excessive (?:querying|queries|access)"),
    ("RIPE-style servers", r"%error:201: access denied"),
    ("CNNIC (.cn)", r"queried interval is too short"),
)

_LEAD = r"^[ \t%#>*]*"
_NOT_FOUND = re.compile("|".join(f"(?:{_LEAD}{p})" for _, p in NOT_FOUND), re.I | re.M)
_THROTTLED = re.compile("|".join(f"(?:{_LEAD}.{{0,80}}?{p})" for _, p in THROTTLED), re.I | re.M)
# Lines only a real record has: a not-found phrase in its legal footer must not hide it.
_A_RECORD = re.compile(
    r"^[ \t]*(?:registrar|creation date|created|registered(?: on)?|registrant\b[^:\n]*|domain status|"
    r"name servers?|nserver|registration time|expir\w* date)[ \t]*:[ \t]*\S", re.I | re.M)
THROTTLE_MAX_CHARS = 4000  # a throttling notice is short; a long answer holding the words is a record's footer


def is_record(text: str) -> bool:
    return bool(_A_RECORD.search(text))


def is_no_record(text: str) -> bool:
    """The registry says the domain is not registered (and the answer holds no record)."""
    return bool(_NOT_FOUND.search(text)) and not is_record(text)


def is_throttled(text: str) -> bool:
    """The server refuses to answer for now (rate or quota limits), in whatever words it uses."""
    return len(text) <= THROTTLE_MAX_CHARS and bool(_THROTTLED.search(text)) and not is_record(text)


# -- privacy and proxy services -------------------------------------------------------------------------
# What registrars write instead of the registrant's data: nothing to record.
REDACTION = re.compile(
    r"^\W*(?:redacted(?: for privacy)?|data protected|not disclosed|withheld|non-public data|statutory masking"
    r"|gdpr masked|masked|please query the rdds|contact the registrar|(?:data )?redacted|private|n/?a|none)\W*$"
    r"|please query the rdds|select request email form|contact the registrar|statutory masking|gdpr",
    re.I)
# A service that registers in its own name for its customers: a real organisation, but shared by
# thousands of unrelated domains, so it must never link two of them.
PRIVACY_SERVICE = re.compile(
    r"privacy|proxy|whoisguard|withheld for|domain protection|protection service|protected domain"
    r"|identity protect|registration private|private registration|anonymi[sz]e|whois agent|c/o\b|on behalf of"
    r"|hidden by|perfect privacy|data protection|redacted",
    re.I)
# Mailboxes of such services (forwarders): addresses at these domains are the service's, not the owner's.
PRIVACY_MAIL_DOMAINS = (
    "domainsbyproxy.com", "withheldforprivacy.com", "privacyguardian.org", "whoisguard.com", "contactprivacy.com",
    "whoisprivacyprotect.com", "anonymize.com", "domainprivacygroup.com", "privacyprotect.org", "whoisproxy.com",
    "myprivacy.ca", "protecteddomainservices.com", "proxy.dreamhost.com", "privacy-link.com", "identity-protect.org",
    "domainprotection.services", "obscure.me", "whoisprotection.cc", "privacy.dynadot.com", "namebrightprivacy.com",
)
# A registrant "name" that is a company, not a person (.cn writes the company as the registrant).
COMPANY_WORDS = re.compile(
    r"(?:有限公司|有限责任公司|股份公司|公司$|集团|工作室|事务所|研究院|中心$)"
    r"|\b(?:inc|ltd|llc|limited|corp|corporation|co|company|gmbh|s\.?a|s\.?r\.?l|b\.?v|pte|plc|ag|oy|ab)\b\.?",
    re.I)


def is_redaction(value: str) -> bool:
    return bool(REDACTION.search(value))


def is_privacy_service(value: str) -> bool:
    return bool(PRIVACY_SERVICE.search(value))


def is_privacy_mailbox(address: str) -> bool:
    host = address.rpartition("@")[2].lower()
    return any(host == d or host.endswith("." + d) for d in PRIVACY_MAIL_DOMAINS)


def looks_like_company(name: str) -> bool:
    return bool(COMPANY_WORDS.search(name.strip()))
