"""Text handling: markup-free, lowercased text with positions that lead back to the record.

Cues and the model read `low` (lowercased, dashes and quotes folded); evidence is quoted
from the record through `quote`, so what the digest shows is an exact substring of the
title or abstract, or of its markup-free text when the phrase spans inline markup.

Words are runs of ASCII letters and digits in `low`; every digit reads as 0, so
"52-year-old" and "61-year-old" are the same words to the model and the cues. `tokens`
holds them in place (everything else a space), so a word's position is its position in
`low`, and a regex is tried only where one of the words it can begin with starts
(`FirstWords`, `matches`) instead of at every character. Where those words are is found
for all of them at once: one pass of an Aho-Corasick automaton over `tokens`
(`WordScanner`), instead of one `str.find` search of the text per word.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Any, Generic, TypeVar

import ahocorasick

# A tag, or whitespace that is not one plain space between words. Written to begin with a
# character class, which the regex engine finds by a fast scan: as plain alternatives
# (<tag>|\s{2,}|[^\S ]) each would be tried at every character.
# A tag opens with a letter or "/": "p < 0.05 ... aged > 65" is text, not a tag.
_EDIT_RE = re.compile(r"[<\s](?:(?<=<)(?=/?[A-Za-z])[^<>]{1,200}>|(?<=\s)\s+|(?<=[^\S ]))")
_TAG_RE = re.compile(r"<(?=/?[A-Za-z])[^<>]{1,200}>")
_ODD_SPACE_RE = re.compile(r"[^\S ]")
# Block-level tags separate words; inline tags (<i>, <sup>) sit inside them.
_BLOCK_TAG_RE = re.compile(
    r"</?(?:p|br|div|li|ul|ol|h\d|tr|td|table|abstracttext|sec|title|label)\b", re.IGNORECASE
)
# Same-length replacements only, so positions in `low` are positions in `clean`.
_FOLD = tuple(
    zip("\u2010\u2011\u2012\u2013\u2014\u2212\u2019\u2018\u00a0", "------'' ", strict=True)
)
# Letters and digits stay (digits as 0); everything else, non-ASCII included, is a space.
_TOKEN_BYTES = bytes(
    c if 97 <= c <= 122 or c == 48 else 48 if 49 <= c <= 57 else 32 for c in range(256)
)
DIGITS = str.maketrans("123456789", "000000000")

# A sentence ends at . ? ! followed by a space and a capital, digit or bracket; a structured
# abstract's heading ("METHODS:", "Results:") also starts one.
_SENTENCE_END_RE = re.compile(
    r"(?<=[.?!])\s+(?=[A-Z0-9(\[\"'])|(?<=\S)\s+(?=[A-Z][A-Za-z ]{2,30}:\s)"
)
# Where a sentence end can be in `clean` (whose only whitespace is single spaces): just after
# . ? ! before a space, or (in a text with a colon) at a space before a heading. A scout
# that starts with a literal or a character class is found by the regex engine's fast
# scan; _SENTENCE_END_RE, which opens with a lookbehind and so is tried at every
# character, is then tried at those positions only.
_AFTER_STOP_RE = re.compile(r"[.?!] ")
_BEFORE_HEADING_RE = re.compile(r" (?=[A-Z][A-Za-z ]{2,30}:\s)")
# Without a colon there is no heading: every sentence end is the whitespace (group 1) after
# a stop, and this regex, which opens with a character class, finds each in one scan.
_END_AFTER_STOP_RE = re.compile(r"[.?!](\s+)(?=[A-Z0-9(\[\"'])")
# Clause boundaries inside a sentence, for quoting a long sentence in part.
_CLAUSE_RE = re.compile(r"[;:,] ")
LONG_SENTENCE = 240  # characters; longer sentences are quoted by their clauses


T = TypeVar("T")


class lazy(Generic[T]):  # noqa: N801 (a decorator, named like functools.cached_property)
    """functools.cached_property without its lock (Python 3.11 takes one on every first
    access, a cost paid several times a record): computed once, then a plain attribute."""

    def __init__(self, compute: Any) -> None:
        self._compute = compute
        self._name = compute.__name__
        self.__doc__ = compute.__doc__

    def __get__(self, instance: Any, owner: type | None = None) -> T:
        if instance is None:
            return self  # type: ignore[return-value]
        value = instance.__dict__[self._name] = self._compute(instance)
        return value


def _needs_editing(raw: str) -> bool:
    """Whether raw has markup or whitespace other than single spaces between words."""
    return (
        raw[:1] == " "
        or raw[-1:] == " "
        or "  " in raw
        or ("<" in raw and _TAG_RE.search(raw) is not None)
        or _has_odd_space(raw)
    )


# The whitespace characters in ASCII other than the space: \t \n \v \f \r and \x1c-\x1f.
_ODD_ASCII_SPACES = tuple(c for c in map(chr, range(128)) if _ODD_SPACE_RE.match(c))


def _has_odd_space(raw: str) -> bool:
    """Whether raw has whitespace other than the space."""
    if raw.isascii():
        # Looking for each of the nine is quicker than asking whether every character prints.
        return any(space in raw for space in _ODD_ASCII_SPACES)
    # Every whitespace character but the space is unprintable.
    return not raw.isprintable() and _ODD_SPACE_RE.search(raw) is not None


def word_tokens(low: str) -> str:
    """`low` with every character that is not an ASCII letter or digit a space, digits 0.

    One character becomes one byte ('?' for anything not ASCII), so positions stay.
    """
    return low.encode("ascii", "replace").translate(_TOKEN_BYTES).decode("ascii")


def words_within(literal: str) -> frozenset[str]:
    """The words a text holds whole wherever `low` holds `literal`: "p" for "i.p.".

    Those of its words that have a character that is not a word's on each side within it;
    its first and last words may run on into the text around it.
    """
    return frozenset(word for word in word_tokens(literal).split(" ")[1:-1] if word)


class Text:
    """A title or abstract: raw text, markup-free `clean` text and its lowercased `low` form."""

    __slots__ = (
        "raw", "clean", "low", "_anchors", "_first_starts", "_scanned_by", "_positions",
        "_common", "present", "__dict__",
    )  # fmt: skip

    def __init__(self, raw: str) -> None:
        self.raw = raw or ""
        # Pairs (clean position, raw position) just after each edit; empty when clean is raw.
        self._anchors: tuple[list[int], list[int]] = ([], [])
        # FirstWords.starts, by FirstWords: patterns of one cue often begin with the same words.
        self._first_starts: dict[FirstWords, list[int]] = {}
        # WordScanner.scan of tokens, and the scanner that made it (positions).
        self._scanned_by: WordScanner | None = None
        self._positions: dict[str, list[int]] = {}
        # Its keys, as a set: intersecting a set with a set looks up only the smaller's items.
        self.present: frozenset[str] = frozenset()
        self._common: dict[str, list[int]] = {}  # starts_of the words not scanned for
        if _needs_editing(self.raw):
            self.clean = self._edited()
        else:
            self.clean = self.raw
        low = self.clean.lower()
        if len(low) != len(self.clean):  # a few characters lowercase to two
            low = "".join(c if len(c.lower()) != 1 else c.lower() for c in self.clean)
        if not low.isascii():
            # str.replace per character present: translate with a table is slow on non-ASCII.
            for char, folded in _FOLD:
                if char in low:
                    low = low.replace(char, folded)
        self.low = low

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

    @lazy
    def tokens(self) -> str:
        """`low` with only its words left (digits as 0), padded by one space on each side."""
        return " " + word_tokens(self.low) + " "

    @lazy
    def words(self) -> list[str]:
        """The words, in order."""
        return self.tokens.split()

    @lazy
    def sentence_words(self) -> list[list[str]]:
        """The words of each sentence."""
        tokens = self.tokens
        # tokens is padded by one space: low[start:end] is tokens[start + 1 : end + 1].
        return [tokens[start + 1 : end + 1].split() for start, end in self.sentences]

    @lazy
    def word_set(self) -> frozenset[str]:
        return frozenset(self.words)

    def positions(self) -> dict[str, list[int]]:
        """Where each word and word beginning of every FirstWords starts in `low`, by word
        (a beginning as "suicid*"); a word that does not occur is not a key. `present`
        holds the keys once this has been asked."""
        scanner = _SCANNER.get(0)  # asked twenty times a record: no call to word_scanner
        if scanner is None or self._scanned_by is not scanner:
            scanner = word_scanner()
            self._positions = scanner.scan(self.tokens)
            self.present = frozenset(self._positions)
            self._scanned_by = scanner
        return self._positions

    def starts_of(self, word: str, prefix: bool = False) -> list[int]:
        """Positions in `low` where the word starts (or a word beginning with it, `prefix`)."""
        key = word + "*" if prefix else word
        found = self.positions().get(key)
        if found is not None:
            return found
        if key in self._scanned_by.keys:
            return _NOWHERE
        found = self._common.get(key)
        if found is None:
            # A word too common to scan for (UNSCANNED), or one no FirstWords names: searched
            # for on its own, once a text.
            tokens, needle = self.tokens, " " + word if prefix else " " + word + " "
            found = []
            i = tokens.find(needle)
            while i != -1:
                found.append(i)  # the padding space: tokens[i + 1] is low[i]
                i = tokens.find(needle, i + 1)
            self._common[key] = found
        return found

    @lazy
    def sentences(self) -> list[tuple[int, int]]:
        """(start, end) of each sentence in `clean`, in order."""
        spans = []
        start = 0
        for end_start, end_end in _sentence_end_spans(self.clean):
            if end_start > start:
                spans.append((start, end_start))
            start = end_end
        if start < len(self.clean):
            spans.append((start, len(self.clean)))
        return spans

    @lazy
    def _starts(self) -> list[int]:
        return [start for start, _ in self.sentences]

    def sentence_number(self, pos: int) -> int:
        """The number of the sentence holding position `pos`."""
        return max(bisect_right(self._starts, pos) - 1, 0)

    def sentence_at(self, pos: int) -> tuple[int, int]:
        """The sentence holding position `pos`."""
        spans = self.sentences
        return spans[self.sentence_number(pos)] if spans else (0, 0)

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


def _sentence_end_spans(clean: str) -> list[tuple[int, int]]:
    """The spans of _SENTENCE_END_RE.finditer(clean)."""
    if ":" not in clean:
        return [m.span(1) for m in _END_AFTER_STOP_RE.finditer(clean)]
    return [m.span() for m in _sentence_ends(clean)]


def _sentence_ends(clean: str) -> Iterator[re.Match]:
    """_SENTENCE_END_RE.finditer(clean), tried only where a scout says an end can be."""
    candidates = [m.end() - 1 for m in _AFTER_STOP_RE.finditer(clean)]
    if ":" in clean:
        candidates += [m.start() for m in _BEFORE_HEADING_RE.finditer(clean)]
        candidates.sort()
    pos = 0
    for start in candidates:
        if start < pos:
            continue
        m = _SENTENCE_END_RE.match(clean, start)
        if m is not None:
            yield m
            pos = m.end()


# Words (and word beginnings, "0*": any number) that most abstracts hold many times and that
# only begin patterns gated by rarer words ("a / cohort"): scanning for them would double
# the matches the scanner reports, so Text.starts_of finds them on their own, and only in
# the texts where a pattern they begin is tried. No cue index is gated on one (cues.py).
UNSCANNED = frozenset({"the", "and", "a", "0*"})

# Every FirstWords parsed, by its spec: one spec, one object, so a text can keep the starts
# of each (Text._first_starts) and patterns written with the same words share them.
_PARSED: dict[str, FirstWords] = {}


@dataclass(frozen=True, eq=False)
class FirstWords:
    """The words a regex's matches can begin with.

    Written as one string: "randomised randomized" (whole words, digits as 0 like the
    words), "suicid*" (any word beginning so), and "µg" or "~i.p." (text found in `low` as
    written: a match that begins with a character that is not a word's, or with a word
    and what follows it). Compared and hashed by identity: `parse` gives one object a spec.
    """

    words: frozenset[str]
    prefixes: tuple[str, ...] = ()
    literals: tuple[str, ...] = ()
    only: str = ""  # the one word, when that is all there is and it is scanned for
    prefix_keys: tuple[str, ...] = ()  # the prefixes scanned for, as keys: "suicid*"
    common: tuple[str, ...] = ()  # the words in UNSCANNED (Text.starts_of finds them)
    common_prefixes: tuple[str, ...] = ()  # and the prefixes

    @classmethod
    def parse(cls, spec: str) -> FirstWords:
        parsed = _PARSED.get(spec)
        if parsed is None:
            parsed = _PARSED[spec] = cls._parse(spec)
            _SCANNER.clear()  # the next text searched is scanned for its words too
        return parsed

    @classmethod
    def _parse(cls, spec: str) -> FirstWords:
        words, prefixes, literals = set(), [], []
        for item in spec.split():
            if item.startswith("~"):
                literals.append(item[1:])
            elif not ("a" <= item[0] <= "z" or "0" <= item[0] <= "9"):
                literals.append(item)
            elif item.endswith("*"):
                prefixes.append(item[:-1].translate(DIGITS))
            else:
                words.add(item.translate(DIGITS))
        only = next(iter(words)) if len(words) == 1 and not prefixes and not literals else ""
        return cls(
            frozenset(words),
            tuple(prefixes),
            tuple(literals),
            only if only not in UNSCANNED else "",
            tuple(p + "*" for p in prefixes if p + "*" not in UNSCANNED),
            tuple(sorted(words & UNSCANNED)),
            tuple(p for p in prefixes if p + "*" in UNSCANNED),
        )

    def starts(self, text: Text) -> list[int]:
        """Every position in `low` where one of the words begins, in order."""
        if self.only:
            return text.positions().get(self.only, _NOWHERE)
        found = text._first_starts.get(self)
        if found is None:
            found = text._first_starts[self] = self._starts(text)
        return found

    def _starts(self, text: Text) -> list[int]:
        # Every FirstWords is in the scanner (word_scanner): its words' positions are known.
        positions = text.positions()
        found = [positions[w] for w in self.words & text.present]
        if self.common:
            found += [p for p in map(text.starts_of, self.common) if p]
        if not self.prefixes and not self.literals:
            if not found:
                return _NOWHERE
            if len(found) == 1:
                return found[0]
            # Two words never start at one position: no duplicates to drop.
            return sorted(chain.from_iterable(found))
        found += [positions[p] for p in self.prefix_keys if p in positions]
        found += [text.starts_of(p, prefix=True) for p in self.common_prefixes]
        for literal in self.literals:
            i = text.low.find(literal)
            while i != -1:
                found.append([i])
                i = text.low.find(literal, i + 1)
        if len(found) == 1:
            return found[0]
        return sorted(set(chain.from_iterable(found)))


_NOWHERE: list[int] = []  # the positions of a word that does not occur (never changed)


class WordScanner:
    """Finds where every word and word beginning of the given FirstWords starts, in one pass.

    An Aho-Corasick automaton (pyahocorasick) over `tokens`, where each word is " word "
    and each beginning " begin": the positions of all of them cost about what a
    `str.find` search of the text for two words did, and a record's cues and mentions ask
    for the positions of twenty to forty. The words that literals hold whole
    (`words_within`) are scanned for too, so a cue index can gate a literal on them.
    """

    def __init__(self, firsts: Iterator[FirstWords] | list[FirstWords]) -> None:
        keys: dict[str, str] = {}  # needle in tokens -> key of Text.positions
        for first in firsts:
            for word in chain(first.words, *map(words_within, first.literals)):
                keys[" " + word + " "] = word
            for prefix in first.prefixes:
                keys[" " + prefix] = prefix + "*"
        keys = {needle: key for needle, key in keys.items() if key not in UNSCANNED}
        self.keys = frozenset(keys.values())
        self._automaton = ahocorasick.Automaton()
        for needle, key in keys.items():
            # A match ends at the needle's last character; it starts at the padding space
            # before the word, whose position in tokens is the word's position in low.
            self._automaton.add_word(needle, (key, len(needle) - 1))
        self._automaton.make_automaton()

    def scan(self, tokens: str) -> dict[str, list[int]]:
        """The positions in `low` of each key that occurs, ascending (Text.positions)."""
        found: dict[str, list[int]] = {}
        if not self.keys:
            return found
        for end, (key, length) in self._automaton.iter(tokens):
            at = found.get(key)
            if at is None:
                found[key] = [end - length]
            else:
                at.append(end - length)
        return found


# The scanner for every FirstWords parsed so far; made anew when one more is parsed.
_SCANNER: dict[int, WordScanner] = {}


def word_scanner() -> WordScanner:
    scanner = _SCANNER.get(0)
    if scanner is None:
        scanner = _SCANNER[0] = WordScanner(list(_PARSED.values()))
    return scanner


def matches(regex: re.Pattern[str], first: FirstWords, text: Text) -> Iterator[re.Match]:
    """regex.finditer(text.low), trying regex only where one of its first words begins."""
    return matches_at(regex, first.starts(text), text.low)


def matches_at(regex: re.Pattern[str], starts: list[int], low: str) -> Iterator[re.Match]:
    """regex.finditer(low) when every match begins at one of `starts` (ascending)."""
    pos = 0
    for start in starts:
        if start >= pos and (m := regex.match(low, start)) is not None:
            yield m
            pos = m.end() if m.end() > start else start + 1
