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
from itertools import repeat
from pathlib import Path

import numpy as np

from flows.classify.features import Record
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


def gram_vector(model: Model, grams: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The record's TF-IDF vector: (feature ids, values, position of each known gram).

    `positions` lists, for each gram occurrence the model knows, its index in `grams`; the
    value of a feature is shared equally by its occurrences when quoting evidence.
    """
    ids = np.fromiter(
        map(model.vocabulary.get, grams, repeat(-1, len(grams))), dtype=np.intp, count=len(grams)
    )
    positions = np.flatnonzero(ids >= 0)
    if not len(positions):
        empty = np.zeros(0, dtype=np.intp)
        return empty, np.zeros(0, dtype=np.float32), np.zeros((3, 0), dtype=np.intp)
    unique, inverse, counts = np.unique(ids[positions], return_inverse=True, return_counts=True)
    values = (1.0 + np.log(counts)) * model.idf[unique]
    values /= np.sqrt(values @ values)
    return unique, values.astype(np.float32), np.stack([positions, inverse, counts[inverse]])


def rule_vector(model: Model, record: Record) -> np.ndarray:
    return np.array(
        [min(record.scores.get(label, 0.0), 10.0) / RULE_SCALE for label in model.labels],
        dtype=np.float32,
    )


@dataclass(frozen=True)
class Scored:
    probabilities: np.ndarray  # per model label
    grams: tuple[np.ndarray, np.ndarray, np.ndarray]  # gram_vector's answer
    rules: np.ndarray  # rule_vector's answer


def score(model: Model, record: Record) -> Scored:
    ids, values, positions = gram_vector(model, record.grams)
    rules = rule_vector(model, record)
    n_grams = len(model.idf)
    logits = model.intercept + values @ model.coef[ids] + rules @ model.coef[n_grams:]
    logits = logits - logits.max()
    odds = np.exp(logits)
    return Scored(odds / odds.sum(), (ids, values, positions), rules)


def sentence_contributions(
    model: Model, record: Record, scored: Scored, winner: int, runner_up: int
) -> dict[int, float]:
    """How much each sentence (features.TITLE for the title) moves the winner over the runner-up.

    Each gram occurrence carries its share of its feature's value; a rule score counts for
    the sentence of its strongest cue hit.
    """
    ids, values, (positions, inverse, counts) = scored.grams
    margin = model.coef[:, winner] - model.coef[:, runner_up]
    by_sentence: dict[int, float] = {}
    if len(ids):
        shares = values[inverse] / counts * margin[ids][inverse]
        sentences = np.asarray(record.sentence_of, dtype=np.intp)[positions]
        totals = np.bincount(sentences + 1, weights=shares)  # TITLE (-1) becomes 0
        by_sentence = {i - 1: float(total) for i, total in enumerate(totals) if total}
    n_grams = len(model.idf)
    starts = None
    for label, hits in record.hits.items():
        if label not in model.labels:
            continue
        k = model.labels.index(label)
        weight = float(scored.rules[k] * margin[n_grams + k])
        placed = [h for h in hits if h.text is not None]
        if not weight or not placed:
            continue
        hit = max(placed, key=lambda h: h.weight)
        if hit.source == "title":
            number = -1
        else:
            starts = starts or [s for s, _ in record.abstract.sentences]
            number = bisect_right(starts, hit.start) - 1
        by_sentence[number] = by_sentence.get(number, 0.0) + weight
    return by_sentence
