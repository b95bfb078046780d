"""The learned model: loading the committed file and scoring records with plain numpy.

The model is a multinomial logistic regression over TF-IDF word 1-2-grams (l2-normalised,
sublinear term frequency) plus each label's rule score. It is trained by train.py with
scikit-learn, but nothing here needs scikit-learn: the file holds the vocabulary, the idf
weights and the coefficients as plain arrays (an .npz read with allow_pickle=False).

Records are scored in batches (`score_many`): each word is looked up once in a small dict
of the vocabulary's words, and the unigram, bigram and title grams of the whole batch then
come from a few array operations (`GramIndex`), without building or hashing a string per
gram, and without paying numpy's cost per call once per record.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import repeat
from pathlib import Path

import numpy as np

from flows.classify.features import TITLE, TITLE_PREFIX, TYPE_PREFIX, Record
from flows.designs import LABELS

MODEL_PATH = Path(__file__).with_name("model.npz")
RULE_SCALE = 5.0  # rule scores are divided by this: a strong cue (weight 5) reads as 1
_BETWEEN = "|"  # stands between sentences (and records) in the words: no word is a "|"
_BETWEEN_ID = -2


class IntTable:
    """Integer keys with a value each, looked up many at a time in a hash table.

    A record's bigrams are found in a few numpy calls, where a dict takes one lookup (and a
    cache miss or two, on a machine other work shares) per bigram. The table is open
    addressing with linear probing, at most a quarter full, so most keys are settled by
    the first probe and each further round looks up only the keys still unsettled: 2.6
    against 6.6 ms for a batch's 50,000 lookups by binary search in the sorted keys.
    """

    def __init__(self, keys: np.ndarray, values: np.ndarray) -> None:
        keys = np.asarray(keys, dtype=np.int64)
        if len(keys) and (keys.min() < 0 or keys.max() >= 2**31 - 1):
            raise ValueError("IntTable keys must be in 0 .. 2**31 - 2")
        if len(np.unique(keys)) != len(keys):
            raise ValueError("IntTable keys must be distinct")
        self._bits = max(4, (4 * len(keys)).bit_length())
        size = 1 << self._bits
        self._keys = np.full(size, -1, dtype=np.int32)  # int32: half the memory it reads
        self._values = np.full(size, -1, dtype=np.int32)
        # Insert in rounds: each key still waiting tries its next slot; of the keys that try
        # one free slot, the first takes it.
        slots = self._slots(keys)
        waiting = np.arange(len(keys))
        self._probes = 0  # the longest probe sequence: a lookup never needs more rounds
        while len(waiting):
            self._probes += 1
            tried = slots[waiting]
            free = self._keys[tried] == -1
            _, first = np.unique(tried[free], return_index=True)
            placed = waiting[free][first]
            self._keys[slots[placed]] = keys[placed]
            self._values[slots[placed]] = values[placed]
            waiting = np.setdiff1d(waiting, placed, assume_unique=True)
            slots[waiting] = (slots[waiting] + 1) & (size - 1)

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        # Fibonacci hashing: the top bits of the key times 2**32 / golden ratio, mod 2**32.
        return ((keys * 2654435769) & 0xFFFFFFFF) >> (32 - self._bits)

    def find(self, keys: np.ndarray) -> np.ndarray:
        """The value of each key, -1 for a key not in the table."""
        keys = keys.astype(np.int64)
        found = np.full(len(keys), -1, dtype=np.int32)
        slots = self._slots(keys)
        todo = np.arange(len(keys))
        mask = len(self._keys) - 1
        for _ in range(self._probes):
            held = np.take(self._keys, slots)
            hit = held == keys
            found[todo[hit]] = np.take(self._values, slots[hit])
            # A key is absent once its probe meets an empty slot.
            going = np.flatnonzero(~hit & (held != -1))
            if not len(going):
                break
            todo, keys = todo[going], keys[going]
            slots = (slots[going] + 1) & mask
        return found


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
class Scores:
    """A batch of records scored together.

    Besides each record's label probabilities it keeps where every gram occurrence came
    from, so that the sentence weighing most for a label can be found (`sentence_weights`).
    """

    probabilities: np.ndarray  # (records, labels) float32
    rules: np.ndarray  # (records, labels) float32: the rule-score features
    # One row per distinct (record, feature) pair, record by record, features ascending.
    record: np.ndarray  # the record of each pair
    feature: np.ndarray  # its feature id
    values: np.ndarray  # its TF-IDF value (sublinear tf, idf, l2-normalised per record)
    counts: np.ndarray  # how often the feature occurs in the record
    # One entry per gram occurrence the vocabulary knows.
    pair: np.ndarray  # the pair row it counts towards
    sentence: np.ndarray  # its sentence (features.TITLE for title words and types)


def score_many(model: Model, records: Sequence[Record]) -> Scores:
    """Score records together: one numpy pass for the batch instead of one per record.

    Grams are looked up word by word as train.py counts them (Record.grams): each word's
    unigram, each pair of neighbouring words in a sentence as a bigram, each title word
    again as a "t:" gram, and each publication type as a "pt:" gram.
    """
    index, n_features = model.index, len(model.idf)
    words: list[str] = []
    lengths = []
    for record in records:
        # The title's words, then each sentence's words after a marker, as Record.grams
        # counts them, and a marker at the end (a record's last word is no bigram with the
        # next one's first): one split a record instead of one a sentence. `tokens` holds
        # only words and spaces, padded by one space: low[s:e] is tokens[s + 1 : e + 1].
        tokens = record.abstract.tokens
        marked = [f" {_BETWEEN} {tokens[s + 1 : e + 1]}" for s, e in record.abstract.sentences]
        record_words = (record.title.tokens + "".join(marked) + f" {_BETWEEN}").split()
        words += record_words
        lengths.append(len(record_words))
    n = len(records)
    ids = np.fromiter(map(index.word_ids.get, words, repeat(-1)), dtype=np.intp, count=len(words))
    record_of = np.repeat(np.arange(n), lengths)
    # A word's sentence is the number of markers before it in its record, less one: title
    # words (before the first marker) are TITLE.
    markers = np.cumsum(ids == _BETWEEN_ID)
    before = np.concatenate(([0], markers))[np.cumsum([0, *lengths[:-1]])]
    sentence_of = markers - np.repeat(before, lengths) - 1
    in_title = np.flatnonzero(sentence_of == TITLE)
    # Bigrams: neighbouring known words (a marker's id is negative, so never across one).
    first, second = ids[:-1], ids[1:]
    pairs = np.flatnonzero(np.minimum(first, second) >= 0)
    types = [
        (r, index.others.get(gram, -1))
        for r, record in enumerate(records)
        for gram in record.publication_grams
    ]
    typed = np.array(types, dtype=np.intp).reshape(-1, 2)
    feature = np.concatenate(
        [
            index.unigrams[ids],
            index.bigrams.find(first[pairs] * index.n_words + second[pairs]),
            index.title_words[ids[in_title]],
            typed[:, 1],
        ]
    )
    record = np.concatenate([record_of, record_of[pairs], record_of[in_title], typed[:, 0]])
    sentence = np.concatenate(
        [sentence_of, sentence_of[pairs], np.full(len(in_title) + len(typed), TITLE)]
    )
    known = np.flatnonzero(feature >= 0)
    keys = record[known].astype(np.int64) * n_features + feature[known]
    unique, pair, counts = _distinct(keys)
    pair_record, pair_feature = unique // n_features, unique % n_features
    values = (1.0 + np.log(counts)) * model.idf[pair_feature]
    norms = np.sqrt(np.bincount(pair_record, weights=values * values, minlength=n))
    values = (values / norms[pair_record]).astype(np.float32)

    # A record has scores for two or three labels: only those are written.
    columns = {label: k for k, label in enumerate(model.labels)}
    rules = np.zeros((n, len(model.labels)), dtype=np.float32)
    for r, record in enumerate(records):
        for label, score in record.scores.items():
            if label in columns:
                rules[r, columns[label]] = min(score, 10.0) / RULE_SCALE
    logits = np.zeros((n, len(model.labels)), dtype=np.float32)
    # Each record's gram part is the sum of its rows' value * coefficients; pairs are sorted
    # by record, so each record's rows are one run (records with no known gram have none).
    has_grams = np.flatnonzero(np.bincount(pair_record, minlength=n))
    if len(has_grams):
        # np.take and an in-place product: a fancy-indexed gather and a new array for the
        # product took five times as long (8.8 against 1.5 ms a batch, same values).
        rows = np.take(model.coef, pair_feature, axis=0)
        np.multiply(rows, values[:, None], out=rows)
        runs = np.searchsorted(pair_record, has_grams)
        logits[has_grams] = np.add.reduceat(rows, runs, axis=0)
    logits += model.intercept + rules @ model.rule_coef
    logits -= logits.max(axis=1, keepdims=True)
    odds = np.exp(logits)
    probabilities = odds / odds.sum(axis=1, keepdims=True)
    return Scores(
        probabilities, rules, pair_record, pair_feature, values, counts, pair,
        sentence[known],
    )  # fmt: skip


def _distinct(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """np.unique(keys, return_inverse=True, return_counts=True), at two thirds of its cost
    here (3.0 against 4.6 ms a batch): a stable argsort is fast on keys that come in runs
    sorted by record."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    new = np.empty(len(ordered), dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    inverse = np.empty(len(keys), dtype=np.intp)
    inverse[order] = np.cumsum(new) - 1
    return ordered[starts], inverse, np.diff(np.append(starts, len(ordered)))


def sentence_weights(
    model: Model,
    records: Sequence[Record],
    scores: Scores,
    winners: np.ndarray,
    runners_up: np.ndarray,
) -> np.ndarray:
    """How much each sentence moves each record's winner over its runner-up.

    Row r, column s + 1 is record r's sentence s; column 0 its title (and publication
    types). Each gram occurrence carries its share of its feature's value; a rule score
    counts for the sentence of its label's strongest cue hit.
    """
    n = len(records)
    width = 1 + max((len(r.abstract.sentences) for r in records), default=0)
    pair_record, pair_feature = scores.record, scores.feature
    # coef[pair_feature, winners[pair_record]], as np.take of flat positions: a third of
    # the time of indexing with two arrays.
    flat, row = model.coef.ravel(), pair_feature * model.coef.shape[1]
    margin = np.take(flat, row + np.take(winners, pair_record)) - np.take(
        flat, row + np.take(runners_up, pair_record)
    )
    share = scores.values / scores.counts * margin  # of one occurrence of each pair
    cells = pair_record[scores.pair] * width + scores.sentence + 1
    weights = np.bincount(cells, weights=share[scores.pair], minlength=n * width)
    weights = weights.reshape(n, width)

    n_grams = len(model.idf)
    for r, record in enumerate(records):
        winner, runner_up = winners[r], runners_up[r]
        for label, hits in record.hits.items():
            if label not in model.labels:
                continue
            k = model.labels.index(label)
            rule = model.coef[n_grams + k]
            weight = float(scores.rules[r, k] * (rule[winner] - rule[runner_up]))
            placed = [h for h in hits if h.text is not None]
            if not weight or not placed:
                continue
            hit = max(placed, key=lambda h: h.weight)
            number = TITLE if hit.source == "title" else record.abstract.sentence_number(hit.start)
            weights[r, number + 1] += weight
    return weights
