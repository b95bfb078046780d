"""What the model reads of a record: word 1-2-grams by sentence, and the rule scores.

The same record serves training (train.py, which reads `grams`) and classification
(model.py, which looks the same grams up word by word without building their strings), so
a model is always scored on the features it was trained on. Grams never cross a sentence
boundary, so each gram belongs to one sentence and the sentence that weighs most for a
label can be quoted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from flows.classify.rules import Hit, find_hits, rule_scores
from flows.classify.text import Text

TITLE = -1  # the sentence number of the title's grams
TITLE_PREFIX = "t:"  # title words are also features of their own: "t:review"
TYPE_PREFIX = "pt:"  # and so are publication types: "pt:review"


@dataclass
class Record:
    """A record read for classification: its texts, cue hits and rule scores.

    Its grams, in order: the title's words, its bigrams and its words again as `t:` grams;
    then each abstract sentence's words and bigrams; then the `pt:` publication types.
    """

    title: Text
    abstract: Text
    publication_grams: list[str]  # "pt:" + each publication type, lowercased
    hits: dict[str, list[Hit]]  # the cues that fired, by label, after the hard-case rules
    scores: dict[str, float]  # rule score per label

    @cached_property
    def grams(self) -> list[str]:
        """Every gram as a string, in order (what training counts)."""
        words = self.title.words
        grams = [*words, *_bigrams(words), *(TITLE_PREFIX + w for w in words)]
        for words in self.abstract.sentence_words:
            grams += words
            grams += _bigrams(words)
        return grams + self.publication_grams


def _bigrams(words: list[str]) -> list[str]:
    return list(map(" ".join, zip(words, words[1:], strict=False)))


def read_record(
    title: str,
    abstract: str = "",
    publication_types: Sequence[str] = (),
    mesh_terms: Sequence[str] = (),
) -> Record:
    title_text, abstract_text = Text(title), Text(abstract)
    hits = find_hits(title_text, abstract_text, publication_types, mesh_terms)
    scores = rule_scores(hits, abstract_text)
    types = [TYPE_PREFIX + term.strip().lower() for term in publication_types]
    return Record(title_text, abstract_text, types, hits, scores)
