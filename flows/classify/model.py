"""The learned model: loading the committed file and scoring a record with plain numpy.

The model is a multinomial logistic regression over TF-IDF word 1-2-grams (l2-normalised,
sublinear term frequency) plus each label's rule score. It is trained by train.py with
scikit-learn, but nothing here needs scikit-learn: the file holds the vocabulary, the idf
weights and the coefficients as plain arrays (an .npz read with allow_pickle=False).
"""

from __future__ import annotations

import json
from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property
from itertools import chain, repeat
from pathlib import Path

import numpy as np

from flows.classify.features import TITLE, TITLE_PREFIX, TYPE_PREFIX, Record
from flows.designs import LABELS

MODEL_PATH = Path(__file__).with_name("model.npz")
RULE_SCALE = 5.0  # rule scores are divided by this: a strong cue (weight 5) reads as 1


@dataclass(frozen=True)
class Model:
    labels: tuple[str, ...]  # the columns of `coef`, in rank order
    vocabulary: dict[str, int]
    idf: np.ndarray  # (n_grams,) float32
    coef: np.ndarray  # (n_grams + n_labels, n_labels) float32: grams, then rule scores
    intercept: np.ndarray  # (n_labels,) float32
    info: dict  # how it was trained: data files, their digests, settings

    @cached_property
    def lookup(self) -> GramLookup:
        return gram_lookup(self.vocabulary)


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
class GramLookup:
    """The vocabulary split by kind, so a record's grams are found word by word.

    A bigram is found as the second word among the words that follow the first, and a
    `t:` gram as the title word itself: no gram string is built or hashed per record.
    """

    words: dict[str, int]
    follows: dict[str, dict[str, int]]  # first word -> second word -> bigram id
    title_words: dict[str, int]  # word -> id of its "t:" gram
    others: dict[str, int]  # the rest ("pt:" publication types) as strings


def gram_lookup(vocabulary: dict[str, int]) -> GramLookup:
    lookup = GramLookup({}, {}, {}, {})
    for gram, i in vocabulary.items():
        if gram.startswith(TYPE_PREFIX):
            lookup.others[gram] = i
        elif gram.startswith(TITLE_PREFIX):
            lookup.title_words[gram[len(TITLE_PREFIX) :]] = i
        elif " " in gram:
            first, second = gram.split(" ")
            lookup.follows.setdefault(first, {})[second] = i
        else:
            lookup.words[gram] = i
    return lookup


_NO_FOLLOWERS: dict[str, int] = {}


def gram_ids(lookup: GramLookup, record: Record) -> tuple[np.ndarray, np.ndarray]:
    """The feature id of each gram of the record (-1 if unknown), in the order of
    Record.grams, and the sentence of each (features.TITLE for title and types)."""
    words, follows, no = lookup.words.get, lookup.follows.get, repeat(-1)
    pairs = dict.get  # dict.get(followers, second word, -1)
    title = record.title_words
    parts = [
        map(words, title, no),
        map(pairs, map(follows, title, repeat(_NO_FOLLOWERS)), title[1:], no),
        map(lookup.title_words.get, title, no),
    ]
    lengths = [3 * len(title) - 1 if title else 0]
    for sentence in record.sentence_words:
        parts.append(map(words, sentence, no))
        parts.append(map(pairs, map(follows, sentence, repeat(_NO_FOLLOWERS)), sentence[1:], no))
        lengths.append(2 * len(sentence) - 1 if sentence else 0)
    parts.append(map(lookup.others.get, record.publication_grams, no))
    lengths.append(len(record.publication_grams))
    ids = np.fromiter(chain.from_iterable(parts), dtype=np.intp, count=sum(lengths))
    numbers = [TITLE, *range(len(record.sentence_words)), TITLE]
    return ids, np.repeat(np.array(numbers, dtype=np.intp), lengths)


@dataclass(frozen=True)
class GramVector:
    """A record's TF-IDF vector: the features it has, in id order, and their values."""

    ids: np.ndarray  # (k,) intp, ascending
    values: np.ndarray  # (k,) float32, l2-normalised
    counts: np.ndarray  # (k,) intp: occurrences of each feature in the record
    occurrences: np.ndarray  # the feature id of each known gram, in gram order
    sentences: np.ndarray  # the sentence of each known gram


def gram_vector(model: Model, record: Record) -> GramVector:
    """The record's TF-IDF vector (sublinear tf, idf, l2 norm), as train.py builds it."""
    ids, sentences = gram_ids(model.lookup, record)
    known = ids >= 0
    occurrences, sentences = ids[known], sentences[known]
    ordered = np.sort(occurrences)
    first = np.empty(len(ordered), dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    unique = ordered[starts]
    counts = np.diff(starts, append=len(ordered))
    if not len(unique):
        return GramVector(unique, np.zeros(0, dtype=np.float32), counts, occurrences, sentences)
    values = (1.0 + np.log(counts)) * model.idf[unique]
    values /= np.sqrt(values @ values)
    return GramVector(unique, values.astype(np.float32), counts, occurrences, sentences)


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
    n_grams = len(model.idf)
    logits = model.intercept + grams.values @ model.coef[grams.ids] + rules @ model.coef[n_grams:]
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
        inverse = np.searchsorted(grams.ids, grams.occurrences)
        shares = grams.values[inverse] / grams.counts[inverse] * margin[inverse]
        totals = np.bincount(grams.sentences + 1, weights=shares)  # TITLE (-1) becomes 0
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
