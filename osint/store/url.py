"""Store addresses: a SQLite path or a database URL, normalised, and never shown with its password."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

from ..errors import StoreError

HIDDEN = "***"


def is_url(target: str) -> bool:
    return "://" in target


def hide_password(target: str) -> str:
    """The store address as it may be printed or stored: the password, if any, as ***."""
    if not is_url(target):
        return target
    try:
        url = sa.engine.make_url(target)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown without anything after the scheme's user
        return re.sub(r"(://[^:/@]*:)[^@]*@", rf"\g<1>{HIDDEN}@", target)
    shown = url.render_as_string(hide_password=True)
    # A password passed as a query parameter (?password=...) is hidden too.
    return re.sub(r"([?&]password=)[^&]*", rf"\g<1>{HIDDEN}", shown)


def scrub(message: str, target: str) -> str:
    """A message with the store's password, wherever it appears, replaced by ***."""
    if not is_url(target):
        return message
    try:
        url = sa.engine.make_url(target)
    except Exception:  # noqa: BLE001
        return message
    secrets = {str(url.password)} if url.password else set()
    secrets |= {v for k, v in url.query.items() if k == "password" and isinstance(v, str)}
    for s in sorted(secrets, key=len, reverse=True):
        if s:
            message = message.replace(s, HIDDEN)
    return message.replace(target, hide_password(target))


def engine_url(target: str) -> sa.URL:
    """The SQLAlchemy URL for a store: `postgres://` and `postgresql://` mean psycopg 3."""
    if not is_url(target):
        return sa.engine.make_url(f"sqlite:///{Path(target)}")
    try:
        url = sa.engine.make_url(target)
    except Exception:  # noqa: BLE001 - sqlalchemy's message repeats the URL, password included
        raise StoreError(f"{hide_password(target)}: not a database URL") from None
    name = url.drivername
    if name in ("postgres", "postgresql", "postgresql+psycopg", "postgres+psycopg"):
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise StoreError(f"{hide_password(target)}: PostgreSQL needs the psycopg driver: "
                             "pip install 'osint[postgres]'") from None
        return url.set(drivername="postgresql+psycopg")
    if name.startswith("postgres"):
        raise StoreError(f"{hide_password(target)}: driver {name.partition('+')[2]!r} is not supported; "
                         "use postgresql:// (psycopg 3)")
    if name.startswith("sqlite"):
        return url
    raise StoreError(f"{hide_password(target)}: unsupported database {name!r}; use a SQLite path or postgresql://")
