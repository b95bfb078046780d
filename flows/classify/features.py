"""What the model reads of a record: word 1-2-grams by sentence, and the rule scores.

The same function serves training (train.py) and classification, so a model is always
scored on the features it was trained on. Grams never cross a sentence boundary, so each
gram belongs to one sentence and the sentence that weighs most for a label can be quoted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flows.classify.rules import Hit, find_hits, rule_scores
from flows.classify.text import DIGITS, WORD_RE, Text

TITLE = -1  # the sentence number of the title's grams
TITLE_PREFIX = "t:"  # title words are also features of their own: "t:review"


@dataclass
class Record:
    """A record read for classification: its texts, grams, cue hits and rule scores."""

    title: Text
    abstract: Text
    grams: list[str]
    sentence_of: list[int]  # per gram: its abstract sentence number, or TITLE
    hits: dict[str, list[Hit]]  # the cues that fired, by label, after the hard-case rules
    scores: dict[str, float]  # rule score per label


def _sentence_grams(words: list[str], grams: list[str]) -> None:
    grams.extend(words)
    grams.extend(map(" ".join, zip(words, words[1:], strict=False)))


def read_record(
    title: str,
    abstract: str = "",
    publication_types: Sequence[str] = (),
    mesh_terms: Sequence[str] = (),
) -> Record:
    title_text, abstract_text = Text(title), Text(abstract)
    grams: list[str] = []
    sentence_of: list[int] = []
    title_words = WORD_RE.findall(title_text.low.translate(DIGITS))
    _sentence_grams(title_words, grams)
    grams.extend([TITLE_PREFIX + w for w in title_words])
    sentence_of.extend([TITLE] * len(grams))
    low = abstract_text.low.translate(DIGITS)
    abstract_words: set[str] = set()
    for number, (start, end) in enumerate(abstract_text.sentences):
        words = WORD_RE.findall(low, start, end)
        abstract_words.update(words)
        before = len(grams)
        _sentence_grams(words, grams)
        sentence_of.extend([number] * (len(grams) - before))
    for term in publication_types:
        grams.append("pt:" + term.strip().lower())
        sentence_of.append(TITLE)
    hits = find_hits(
        title_text, abstract_text, title_words, abstract_words, publication_types, mesh_terms
    )
    scores = rule_scores(hits, abstract_text)
    return Record(title_text, abstract_text, grams, sentence_of, hits, scores)
