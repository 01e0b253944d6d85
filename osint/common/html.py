"""The visible text of a web page (web pages, complaints saved as HTML): scripts and styles left out."""

from __future__ import annotations

import html
import re

import lxml.etree
import lxml.html

_BLOCK_TAGS = {"p", "div", "br", "li", "ul", "ol", "td", "th", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6",
               "section", "article", "header", "footer", "nav", "aside", "main", "blockquote", "pre", "dd", "dt",
               "dl", "form", "option", "title", "address", "figcaption", "hr"}
_DROP_TAGS = ("script", "style", "noscript", "template", "svg")
_TAG = re.compile(r"<[^<>]*>")
# What lxml refuses as element text: libxml2 keeps them when it parses a page, and moving such text
# (dropping a <script>, ending a block with a newline) then raises ValueError. Invisible anyway,
# so they go as soon as the page is parsed; otherwise one \x01 after a <br> would cost the whole page.
_NOT_XML_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def html_text(page: str) -> tuple[str, str | None, list[str]]:
    """(visible text, title, hrefs) of an HTML page, scripts and styles left out."""
    parser = lxml.html.HTMLParser(huge_tree=True)  # one per page: its error log is ours to read
    try:
        doc = lxml.html.document_fromstring(page, parser=parser)
    except (lxml.etree.LxmlError, ValueError):
        return rough_text(page), None, []
    for el in doc.iter():  # written raw or as &#1;: either way in the tree, and in the way below
        if el.text and _NOT_XML_TEXT.search(el.text):
            el.text = _NOT_XML_TEXT.sub("", el.text)
        if el.tail and _NOT_XML_TEXT.search(el.tail):
            el.tail = _NOT_XML_TEXT.sub("", el.tail)
    # Past libxml2's depth limit the rest of the page is mangled: read that page roughly instead.
    too_deep = any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log)
    for el in list(doc.iter(*_DROP_TAGS)):
        el.drop_tree()
    title = doc.findtext(".//title")
    hrefs = [a.get("href") for a in doc.iter("a") if a.get("href")]
    # Block elements end lines, so words in neighbouring cells do not run together.
    for el in doc.iter():
        if isinstance(el.tag, str) and el.tag in _BLOCK_TAGS:
            el.tail = "\n" + (el.tail or "")
    text = rough_text(page) if too_deep else doc.text_content()
    return text, (" ".join(title.split()) if title else None), hrefs


def rough_text(page: str) -> str:
    """Text by cutting out tags, scripts and styles in one linear pass: for pages nested deeper
    than libxml2 goes, or that it cannot read at all."""
    low, out, pos = page.lower(), [], 0
    while True:
        starts = [i for i in (low.find("<script", pos), low.find("<style", pos)) if i >= 0]
        if not starts:
            out.append(page[pos:])
            break
        start = min(starts)
        out.append(page[pos:start])
        end = low.find("</script" if low.startswith("<script", start) else "</style", start)
        end = low.find(">", end) if end >= 0 else -1
        if end < 0:
            break
        pos = end + 1
    return html.unescape(_TAG.sub(" ", " ".join(out)))
