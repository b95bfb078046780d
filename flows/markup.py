"""Inline markup in PubMed text: kept, shown safely, never trusted.

PubMed titles and abstracts carry a few inline tags (<i>Mitragyna speciosa</i>,
<sup>2</sup>). We keep them as a fragment in which only those tags are real
markup and every other character is escaped text, and re-check that on the way
out, so a stored or hostile string can never inject HTML.
"""

from __future__ import annotations

import html
import re

from markupsafe import Markup, escape

INLINE_TAGS = ("i", "b", "u", "sup", "sub", "em", "strong")
INLINE_TAG = re.compile(r"(</?(?:{})>)".format("|".join(INLINE_TAGS)))


def fragment_from_element(element) -> str:
    """Serialise an lxml element's content: allowed inline tags kept, all text escaped."""
    parts: list[str] = []
    try:
        _collect(element, parts, 0)
    except _TooDeep:
        parts = _walk(element)
    return "".join(parts).strip()


# Real records nest inline tags a few levels deep; a hostile one nested 1,200 <i> in a
# title, past Python's recursion limit. Deeper than this, a loop walks the tree instead
# (no recursion, but about 1.5 times slower on ordinary records).
_MAX_DEPTH = 100


class _TooDeep(Exception):
    pass


def _collect(element, parts: list[str], depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise _TooDeep
    if element.text:
        parts.append(html.escape(element.text, quote=False))
    for child in element:
        tag = child.tag if isinstance(child.tag, str) else ""
        keep = tag in INLINE_TAGS
        if keep:
            parts.append(f"<{tag}>")
        _collect(child, parts, depth + 1)
        if keep:
            parts.append(f"</{tag}>")
        if child.tail:
            parts.append(html.escape(child.tail, quote=False))


def _walk(element) -> list[str]:
    """What _collect makes, at any depth: a stack of its own instead of recursion."""
    parts: list[str] = []
    pending: list = [element]  # elements still to write, or text ready to append
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            parts.append(item)
            continue
        tag = item.tag if isinstance(item.tag, str) else ""
        keep = tag in INLINE_TAGS and item is not element
        if keep:
            parts.append(f"<{tag}>")
        if item.text:
            parts.append(html.escape(item.text, quote=False))
        # Popped in this order: the children, the closing tag, the tail.
        if item is not element and item.tail:
            pending.append(html.escape(item.tail, quote=False))
        if keep:
            pending.append(f"</{tag}>")
        pending.extend(reversed(item))
    return parts


def one_line(text: str | None) -> str:
    """Whitespace collapsed to single spaces, none at the ends: a stray newline cannot start
    a new line in text, Markdown, RIS or a mail header."""
    text = text or ""
    # Most values are one line already; checking costs less than splitting an abstract into
    # words. A printable string has no whitespace but the plain space.
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text
    return " ".join(text.split())


def one_lines(values: list[str]) -> list[str]:
    """one_line of each value, checked in one pass over them all: the values of a record
    (an RIS record's thirty-odd fields) are nearly always one line already."""
    # "|" keeps a value's spaces from meeting its neighbour's: the joined text is printable,
    # without two spaces together or a space at a value's end, only if every value is.
    joined = "|".join(values)
    if (
        joined.isprintable()
        and "  " not in joined
        and " |" not in joined
        and "| " not in joined
        and joined[:1] != " "
        and joined[-1:] != " "
    ):
        return values
    return [one_line(value) for value in values]


def safe_html(fragment: str) -> Markup:
    """A fragment as HTML: the allowed inline tags render, anything else shows as text."""
    out = []
    for piece in INLINE_TAG.split(fragment or ""):
        if INLINE_TAG.fullmatch(piece):
            out.append(piece)
        else:
            out.append(str(escape(html.unescape(piece))))
    return Markup("".join(out))


def plain_text(fragment: str) -> str:
    """A fragment as plain text: inline tags dropped, entities decoded."""
    return html.unescape(INLINE_TAG.sub("", fragment or ""))
