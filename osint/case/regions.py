"""Chinese administrative division codes (GB/T 2260), enough to place the companies we meet."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Division:
    code: str
    name: str | None  # the division the code itself names, if we know it
    city: str | None  # prefecture-level city
    province: str | None


@cache
def _names() -> dict[str, str]:
    text = resources.files("osint").joinpath("data/regions.json").read_text("utf-8")
    return {k: v for k, v in json.loads(text).items() if k.isdigit()}


def division(code: str) -> Division:
    """Names for a 6-digit division code: 440309 -> 龙华区 in 深圳市, 广东省.

    Parts we have no data for are None; the code itself is not judged.
    """
    names = _names()
    province = names.get(code[:2] + "0000")
    city = names.get(code[:4] + "00") if code[2:4] != "00" else None
    return Division(code=code, name=names.get(code), city=city, province=province)
