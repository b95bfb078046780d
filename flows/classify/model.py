"""The learned model: loading the committed file and scoring a record with plain numpy.

The model is a multinomial logistic regression over TF-IDF word 1-2-grams (l2-normalised,
sublinear term frequency) plus each label's rule score. It is trained by train.py with
scikit-learn, but nothing here needs scikit-learn: the file holds the vocabulary, the idf
weights and the coefficients as plain arrays (an .npz read with allow_pickle=False).

A record's grams are found word by word: each word is looked up once in a small dict of
the vocabulary's words, and its unigram, bigram and title grams then come from array
operations (`GramIndex`), without building or hashing a string per gram.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property
from itertools import repeat
from pathlib import Path

import numpy as np

from flows.classify.features import TITLE, TITLE_PREFIX, TYPE_PREFIX, Record
from flows.designs import LABELS

MODEL_PATH = Path(__file__).with_name("model.npz")
RULE_SCALE = 5.0  # rule scores are divided by this: a strong cue (weight 5) reads as 1


class IntTable:
    """Integer keys with a value each, looked up many at a time by binary search.

    A record's bigrams are found in one numpy call, where a dict takes one lookup (and a
    cache miss or two, on a machine other work shares) per bigram; the sorted int32 keys
    are small enough to stay in cache.
    """

    def __init__(self, keys: np.ndarray, values: np.ndarray) -> None:
        if len(keys) and (keys.min() < 0 or keys.max() >= 2**31 - 1):
            raise ValueError("IntTable keys must be in 0 .. 2**31 - 2")
        order = np.argsort(keys, kind="stable")
        self._sorted = keys[order].astype(np.int32)
        # One past the end, so that a key beyond the last one finds -1.
        self._keys = np.append(self._sorted, -1).astype(np.int32)
        self._values = np.append(values[order], -1).astype(np.int32)

    def find(self, keys: np.ndarray) -> np.ndarray:
        """The value of each key, -1 for a key not in the table."""
        # Same dtype on both sides: numpy would otherwise convert the whole table each call.
        keys = keys.astype(np.int32)
        at = np.searchsorted(self._sorted, keys)
        return np.where(self._keys[at] == keys, self._values[at], -1)


@dataclass(frozen=True)
class GramIndex:
    """The vocabulary by word."""

    word_ids: dict[str, int]  # every word of a unigram, bigram or "t:" gram; _BETWEEN is -2
    n_words: int
    unigrams: np.ndarray  # word id -> feature id or -1; the last two entries (ids -2, -1) -1
    title_words: np.ndarray  # word id -> feature id of its "t:" gram, as `unigrams`
    bigrams: IntTable  # first word id * n_words + second word id -> feature id
    others: dict[str, int]  # the rest ("pt:" publication types), by gram


def gram_index(vocabulary: dict[str, int]) -> GramIndex:
    words: dict[str, int] = {}
    unigrams: dict[int, int] = {}
    title_words: dict[int, int] = {}
    others: dict[str, int] = {}
    bigrams: list[tuple[int, int, int]] = []

    def word_id(word: str) -> int:
        return words.setdefault(word, len(words))

    for gram, i in vocabulary.items():
        if gram.startswith(TYPE_PREFIX):
            others[gram] = i
        elif gram.startswith(TITLE_PREFIX):
            title_words[word_id(gram[len(TITLE_PREFIX) :])] = i
        elif " " in gram:
            first, second = gram.split(" ")
            bigrams.append((word_id(first), word_id(second), i))
        else:
            unigrams[word_id(gram)] = i

    n = len(words)

    def by_word(features: dict[int, int]) -> np.ndarray:
        # int32 (feature ids are below 2**31): half the memory a record's lookups touch.
        array = np.full(n + 2, -1, dtype=np.int32)
        array[list(features)] = list(features.values())
        return array

    pairs = np.array(bigrams, dtype=np.int64).reshape(-1, 3)
    table = IntTable(pairs[:, 0] * n + pairs[:, 1], pairs[:, 2])
    words[_BETWEEN] = _BETWEEN_ID
    return GramIndex(words, n, by_word(unigrams), by_word(title_words), table, others)


@dataclass(frozen=True)
class Model:
    labels: tuple[str, ...]  # the columns of `coef`, in rank order
    vocabulary: dict[str, int]
    idf: np.ndarray  # (n_grams,) float32
    coef: np.ndarray  # (n_grams + n_labels, n_labels) float32: grams, then rule scores
    intercept: np.ndarray  # (n_labels,) float32
    info: dict  # how it was trained: data files, their digests, settings

    @cached_property
    def index(self) -> GramIndex:
        return gram_index(self.vocabulary)

    @cached_property
    def rule_coef(self) -> np.ndarray:
        return self.coef[len(self.idf) :]


def load_model(path: str | Path = MODEL_PATH) -> Model:
    """Read a model file written by train.save_model."""
    with np.load(path, allow_pickle=False) as arrays:
        vocabulary = bytes(arrays["vocabulary"]).decode("utf-8").split("\n")
        labels = tuple(bytes(arrays["labels"]).decode("utf-8").split("\n"))
        info = json.loads(bytes(arrays["info"]).decode("utf-8"))
        model = Model(
            labels=labels,
            vocabulary={gram: i for i, gram in enumerate(vocabulary)},
            idf=arrays["idf"].astype(np.float32),
            coef=arrays["coef"].astype(np.float32),
            intercept=arrays["intercept"].astype(np.float32),
            info=info,
        )
    if set(model.labels) - set(LABELS):
        raise ValueError(f"{path}: labels {sorted(set(model.labels) - set(LABELS))} unknown")
    return model


@dataclass(frozen=True)
class GramVector:
    """A record's TF-IDF vector: the features it has, in id order, and their values."""

    ids: np.ndarray  # (k,) intp, ascending
    values: np.ndarray  # (k,) float32, l2-normalised
    counts: np.ndarray  # (k,) intp: occurrences of each feature in the record
    occurrences: np.ndarray  # the feature id of each known gram occurrence, in gram order
    # Where the occurrences came from, for their sentences (only evidence needs them).
    word_ids: np.ndarray  # the record's words, _BETWEEN_ID between sentences
    pairs: np.ndarray  # the word positions that begin a bigram looked up
    extra: int  # the "t:" and "pt:" grams looked up after the words and bigrams
    known: np.ndarray  # the positions of the known grams among all looked up

    @property
    def sentences(self) -> np.ndarray:
        """The sentence of each occurrence (features.TITLE for title and types)."""
        # Title words come before the first _BETWEEN: sentence -1 (TITLE).
        numbers = np.cumsum(self.word_ids == _BETWEEN_ID) - 1
        return np.concatenate([numbers, numbers[self.pairs], _titles(self.extra)])[self.known]


_BETWEEN = " "  # stands between sentences in a record's words: no word is a space
_BETWEEN_ID = -2
_TITLE_ROW = np.full(4096, TITLE, dtype=np.intp)


def _titles(n: int) -> np.ndarray:
    return _TITLE_ROW[:n] if n <= len(_TITLE_ROW) else np.full(n, TITLE, dtype=np.intp)


def gram_vector(model: Model, record: Record) -> GramVector:
    """The record's TF-IDF vector (sublinear tf, idf, l2 norm), as train.py builds it.

    Grams are looked up as unigrams, then bigrams, then "t:" and "pt:" grams: within each
    sentence they keep Record.grams' order, so a sum over a sentence adds in the same order.
    """
    index = model.index
    title = record.title_words
    words = list(title)
    for sentence in record.sentence_words:
        words.append(_BETWEEN)
        words += sentence
    word_ids = np.fromiter(
        map(index.word_ids.get, words, repeat(-1)), dtype=np.intp, count=len(words)
    )
    # Bigrams: pairs of known words (not across sentences: _BETWEEN's id is negative).
    first, second = word_ids[:-1], word_ids[1:]
    pairs = np.flatnonzero(np.minimum(first, second) >= 0)
    parts = [
        index.unigrams[word_ids],
        index.bigrams.find(first[pairs] * index.n_words + second[pairs]),
        index.title_words[word_ids[: len(title)]],
    ]
    if record.publication_grams:
        types = [index.others.get(gram, -1) for gram in record.publication_grams]
        parts.append(np.array(types, dtype=np.int32))
    ids = np.concatenate(parts)
    extra = len(title) + len(record.publication_grams)
    known = np.flatnonzero(ids >= 0)
    occurrences = ids[known]
    ordered = np.sort(occurrences)
    if not len(ordered):
        empty = np.zeros(0, dtype=np.int32)
        no_values = np.zeros(0, dtype=np.float32)
        return GramVector(empty, no_values, empty, ordered, word_ids, pairs, extra, known)
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    unique = ordered[starts]
    counts = np.concatenate((starts[1:], [len(ordered)])) - starts
    values = (1.0 + np.log(counts)) * model.idf[unique]
    values /= np.sqrt(values @ values)
    values = values.astype(np.float32)
    return GramVector(unique, values, counts, occurrences, word_ids, pairs, extra, known)


def rule_vector(model: Model, record: Record) -> np.ndarray:
    return np.array(
        [min(record.scores.get(label, 0.0), 10.0) / RULE_SCALE for label in model.labels],
        dtype=np.float32,
    )


@dataclass(frozen=True)
class Scored:
    probabilities: np.ndarray  # per model label
    grams: GramVector
    rules: np.ndarray  # rule_vector's answer


def score(model: Model, record: Record) -> Scored:
    grams = gram_vector(model, record)
    rules = rule_vector(model, record)
    logits = model.intercept + grams.values @ model.coef[grams.ids] + rules @ model.rule_coef
    logits = logits - logits.max()
    odds = np.exp(logits)
    return Scored(odds / odds.sum(), grams, rules)


def sentence_contributions(
    model: Model, record: Record, scored: Scored, winner: int, runner_up: int
) -> dict[int, float]:
    """How much each sentence (features.TITLE for the title) moves the winner over the runner-up.

    Each gram occurrence carries its share of its feature's value; a rule score counts for
    the sentence of its strongest cue hit.
    """
    grams = scored.grams
    by_sentence: dict[int, float] = {}
    if len(grams.ids):
        margin = model.coef[grams.ids, winner] - model.coef[grams.ids, runner_up]
        share = grams.values / grams.counts * margin  # of one occurrence of each feature
        inverse = np.searchsorted(grams.ids, grams.occurrences)
        totals = np.bincount(grams.sentences + 1, weights=share[inverse])  # TITLE becomes 0
        by_sentence = {i - 1: float(total) for i, total in enumerate(totals) if total}
    n_grams = len(model.idf)
    starts = None
    for label, hits in record.hits.items():
        if label not in model.labels:
            continue
        k = model.labels.index(label)
        rule = model.coef[n_grams + k]
        weight = float(scored.rules[k] * (rule[winner] - rule[runner_up]))
        placed = [h for h in hits if h.text is not None]
        if not weight or not placed:
            continue
        hit = max(placed, key=lambda h: h.weight)
        if hit.source == "title":
            number = TITLE
        else:
            starts = starts or [s for s, _ in record.abstract.sentences]
            number = bisect_right(starts, hit.start) - 1
        by_sentence[number] = by_sentence.get(number, 0.0) + weight
    return by_sentence
