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
_ANY_TAG = re.compile(r"</?[A-Za-z][^>]*>")


def fragment_from_element(element) -> str:
    """Serialise an lxml element's content: allowed inline tags kept, all text escaped."""
    # A walk with a stack of its own, not recursion: a record can nest tags deeper than
    # Python's recursion limit (1,200 <i> in a title made a RecursionError).
    parts: list[str] = []
    pending: list = [element]  # elements still to write, or text ready to append
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            parts.append(item)
            continue
        tag = item.tag if isinstance(item.tag, str) else ""
        keep = item is not element and tag in INLINE_TAGS
        if keep:
            parts.append(f"<{tag}>")
        if item.text:
            parts.append(html.escape(item.text, quote=False))
        # Popped in the order: children, closing tag, tail.
        if item is not element and item.tail:
            pending.append(html.escape(item.tail, quote=False))
        if keep:
            pending.append(f"</{tag}>")
        pending.extend(reversed(item))
    return "".join(parts).strip()


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


def strip_tags(text: str) -> str:
    """Text with anything tag-shaped removed (for classifier input)."""
    return html.unescape(_ANY_TAG.sub("", text or ""))
