"""Platforms the case may name that no source reads, and why: a gap, not an empty answer.

`osint sources` prints these under the table of sources (and attribution says them, osint/graph/gaps.py), so that an investigator who sees an X or
Binance Square account stay uncorroborated knows nothing was asked, rather than that nothing was found.
"""

from __future__ import annotations

# platform (as the case file writes it) -> (what it is, why no source reads it, what to do instead)
GAPS: dict[str, tuple[str, str, str]] = {
    "x": ("X (Twitter) profiles and posts",
          "no public API without a paid key (the free tier cannot read other users' posts), and x.com pages "
          "need a logged-in browser running JavaScript",
          "save the profile and posts as web pages or screenshots and keep them with the case"),
    "binance_square": ("Binance Square profiles and posts",
                       "no public API; the pages are drawn by JavaScript in a browser and the data calls behind "
                       "them are undocumented and signed",
                       "save the profile pages from a browser; the profile id in the case file identifies them"),
}


# The same, in Chinese, for the zh report.
GAPS_ZH: dict[str, tuple[str, str]] = {
    "x": ("X（Twitter）的主页与帖子", "没有免费的公开接口（免费层级读不到其他用户的帖子），x.com 页面需要登录并运行 JavaScript 的浏览器"),
    "binance_square": ("币安广场的主页与帖子", "没有公开接口；页面由浏览器中的 JavaScript 绘制，背后的数据调用未公开且带签名"),
}


def gap(platform: str) -> str | None:
    """Why no source reads this platform, or None when one does (or nothing is known about it)."""
    entry = GAPS.get(platform)
    return f"{entry[0]}: {entry[1]}" if entry else None

