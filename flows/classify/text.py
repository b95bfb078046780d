"""Text handling: markup-free, lowercased text with positions that lead back to the record.

Cues and the model read `low` (lowercased, dashes and quotes folded); evidence is quoted
from the record through `quote`, so what the digest shows is an exact substring of the
title or abstract, or of its markup-free text when the phrase spans inline markup.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import cached_property

# A tag, or whitespace that is not one plain space between words.
_EDIT_RE = re.compile(r"<[^<>]{1,200}>|\s{2,}|[^\S ]")
# Block-level tags separate words; inline tags (<i>, <sup>) sit inside them.
_BLOCK_TAG_RE = re.compile(
    r"</?(?:p|br|div|li|ul|ol|h\d|tr|td|table|abstracttext|sec|title|label)\b", re.IGNORECASE
)
# Same-length replacements only, so positions in `low` are positions in `clean`.
_FOLD = str.maketrans("\u2010\u2011\u2012\u2013\u2014\u2212\u2019\u2018\u00a0", "------'' ")
# Words are runs of letters and digits; every digit reads as 0, so "52-year-old" and
# "61-year-old" are the same words to the model and the cues.
WORD_RE = re.compile(r"[a-z0-9]+")
DIGITS = str.maketrans("123456789", "000000000")

# A sentence ends at . ? ! followed by a space and a capital, digit or bracket; a structured
# abstract's heading ("METHODS:", "Results:") also starts one.
_SENTENCE_END_RE = re.compile(
    r"(?<=[.?!])\s+(?=[A-Z0-9(\[\"'])|(?<=\S)\s+(?=[A-Z][A-Za-z ]{2,30}:\s)"
)
# Clause boundaries inside a sentence, for quoting a long sentence in part.
_CLAUSE_RE = re.compile(r"[;:,] ")
LONG_SENTENCE = 240  # characters; longer sentences are quoted by their clauses


class Text:
    """A title or abstract: raw text, markup-free `clean` text and its lowercased `low` form."""

    __slots__ = ("raw", "clean", "low", "_anchors", "__dict__")

    def __init__(self, raw: str) -> None:
        self.raw = raw or ""
        # Pairs (clean position, raw position) just after each edit; empty when clean is raw.
        self._anchors: tuple[list[int], list[int]] = ([], [])
        if _EDIT_RE.search(self.raw) or self.raw[:1] == " " or self.raw[-1:] == " ":
            self.clean = self._edited()
        else:
            self.clean = self.raw
        low = self.clean.lower()
        if len(low) != len(self.clean):  # a few characters lowercase to two
            low = "".join(c if len(c.lower()) != 1 else c.lower() for c in self.clean)
        self.low = low.translate(_FOLD)

    def _edited(self) -> str:
        raw = self.raw
        pieces: list[str] = []
        clean_at, raw_at = [0], [0]
        pos = length = 0
        last_is_space = True  # drops leading whitespace
        for m in _EDIT_RE.finditer(raw):
            segment = raw[pos : m.start()]
            if segment:
                pieces.append(segment)
                length += len(segment)
                last_is_space = segment[-1] == " "
            token = m.group()
            wants_space = not token.startswith("<") or _BLOCK_TAG_RE.match(token) is not None
            if wants_space and not last_is_space:
                pieces.append(" ")
                length += 1
                last_is_space = True
            pos = m.end()
            clean_at.append(length)
            raw_at.append(pos)
        pieces.append(raw[pos:])
        self._anchors = (clean_at, raw_at)
        return "".join(pieces).strip()

    def _raw_index(self, i: int) -> int:
        clean_at, raw_at = self._anchors
        k = bisect_right(clean_at, i) - 1
        return raw_at[k] + (i - clean_at[k])

    def quote(self, start: int, end: int) -> str:
        """clean[start:end] as it stands in the raw record, or markup-free if it spans a tag."""
        phrase = self.clean[start:end].strip()
        if self.clean is self.raw or phrase in self.raw:
            return phrase
        raw = self.raw[self._raw_index(start) : self._raw_index(end - 1) + 1].strip()
        return raw if "<" not in raw and " ".join(raw.split()) == phrase else phrase

    @cached_property
    def sentences(self) -> list[tuple[int, int]]:
        """(start, end) of each sentence in `clean`, in order."""
        spans = []
        start = 0
        for m in _SENTENCE_END_RE.finditer(self.clean):
            if m.start() > start:
                spans.append((start, m.start()))
            start = m.end()
        if start < len(self.clean):
            spans.append((start, len(self.clean)))
        return spans

    @cached_property
    def _starts(self) -> list[int]:
        return [start for start, _ in self.sentences]

    def sentence_at(self, pos: int) -> tuple[int, int]:
        """The sentence holding position `pos`."""
        spans = self.sentences
        i = max(bisect_right(self._starts, pos) - 1, 0)
        return spans[i] if spans else (0, 0)

    def clause(self, start: int, end: int) -> str:
        """The sentence around clean[start:end], cut to its clauses when it is long."""
        s, e = self.sentence_at(start)
        e = max(e, end)
        if e - s > LONG_SENTENCE:
            bounds = [m.end() for m in _CLAUSE_RE.finditer(self.clean, s, e)]
            left = max((b for b in bounds if b <= start), default=s)
            right = min((b - 2 for b in bounds if b - 2 >= end), default=e)
            # Widen clause by clause while the phrase is too short to show the method.
            while right - left < 80:
                wider_right = min((b - 2 for b in bounds if b - 2 > right), default=e)
                if wider_right != right:
                    right = wider_right
                    continue
                wider_left = max((b for b in bounds if b < left), default=s)
                if wider_left == left:
                    break
                left = wider_left
            s, e = left, right
        return self.quote(s, e).rstrip(",;: ")
