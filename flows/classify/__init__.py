"""Study-design and depression-relevance classifier for kratom / mitragynine papers.

How a record is labelled (docs/classifier.md has the detail and the measured figures):

1. text.py cleans title and abstract (markup out, whitespace collapsed, lowercased) and
   keeps a map back to the record, so evidence is always quoted exactly.
2. cues.py holds the precise method phrases ("we conducted a cross-sectional survey",
   "rats were treated with"); rules.py finds them, drops negated ones ("no randomized
   trials exist") and applies the hard-case rules of docs/study-designs.md.
3. model.py scores the record with the committed model (model.npz): TF-IDF word 1-2-grams
   plus the rule scores, a logistic regression trained by train.py (`kratom-watch train`).
   The model decides the label; its probability is the confidence.
4. The evidence is the sentence that moves the winning label most over the runner-up.
5. relevance.py decides depression relevance with rules and says which phrase decided it,
   or why depression words did not count.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from flows.classify.features import TITLE, Record, read_record
from flows.classify.model import MODEL_PATH, Model, load_model, score_many, sentence_weights
from flows.classify.relevance import depression_relevance
from flows.classify.rules import rule_decision
from flows.designs import BY_LABEL
from flows.errors import KratomWatchError

__all__ = [
    "CLASSIFIER_VERSION",
    "Classification",
    "PaperText",
    "classify",
    "classify_many",
    "classify_with",
    "version_of",
]


@dataclass(frozen=True)
class Classification:
    design: str
    depression_relevant: bool
    # Phrases of the record that decided the label, the deciding one first. Each is an exact
    # substring of the title or abstract (or, when the phrase spans inline markup, of its
    # markup-free text), or a publication type / MeSH term exactly as given. When the paper
    # is depression-relevant, the last phrase is depression_evidence.
    evidence: tuple[str, ...]
    confidence: float
    depression_evidence: str = ""  # the exact phrase that made the paper relevant
    depression_reason: str = ""  # why depression words did not count (relevance.REASONS)


# The inference code: any change to these files or to the model is a new classifier version.
_SOURCES = ("text.py", "cues.py", "rules.py", "features.py", "model.py", "relevance.py")


def version_of(model_bytes: bytes, sources: Iterable[bytes]) -> str:
    """First 12 hex digits of a sha256 over the inference sources and the model file."""
    digest = hashlib.sha256()
    for source in sources:
        digest.update(hashlib.sha256(source).digest())
    digest.update(hashlib.sha256(model_bytes).digest())
    return digest.hexdigest()[:12]


def _package_version(model_path: Path) -> str:
    here = Path(__file__).parent
    sources = [(here / name).read_bytes() for name in (*_SOURCES, "__init__.py")]
    # Without a model file (before the first `kratom-watch train`) the version still differs
    # from every trained one; classify then says what to do.
    model_bytes = model_path.read_bytes() if model_path.exists() else b""
    return version_of(model_bytes, sources)


CLASSIFIER_VERSION: str = _package_version(MODEL_PATH)


@cache
def committed_model() -> Model:
    """The model file shipped in the package, read once."""
    if not MODEL_PATH.exists():
        raise KratomWatchError(f"no classifier model at {MODEL_PATH}: run `kratom-watch train`")
    return load_model(MODEL_PATH)


# Evidence past this many phrases says nothing the first ones did not.
_MAX_EVIDENCE = 3


def _sentence_phrase(record: Record, number: int) -> str:
    if number == TITLE:
        return record.title.quote(0, len(record.title.clean))
    return record.abstract.quote(*record.abstract.sentences[number])


def _best_sentence(weights: list[float]) -> int | None:
    """The sentence that weighs most for the label; the title only when nothing else does.

    `weights` is a row of model.sentence_weights: the title first, then each sentence.
    """
    if len(weights) > 1:
        best = max(range(1, len(weights)), key=weights.__getitem__)
        if weights[best] > 0:
            return best - 1
    return TITLE if weights[0] > 0 else None


def _evidence(record: Record, label: str, by_rule: bool, weights: list[float]) -> tuple[str, ...]:
    hits = sorted(record.hits.get(label, ()), key=lambda h: -h.weight)
    phrases: list[str] = []
    if by_rule:
        # The rule's own cue decided: its clause first.
        phrases += [h.phrase for h in hits[:1]]
    else:
        best = _best_sentence(weights)
        if best is not None and best != TITLE:
            phrases.append(_sentence_phrase(record, best))
        # A publication type or MeSH term for the label says more than the title repeated.
        phrases += [h.term for h in hits if h.source in ("publication type", "mesh")]
        if best == TITLE:
            phrases.append(record.title.quote(0, len(record.title.clean)))
    phrases += [h.phrase for h in hits if h.text is None or h.weight >= 3]
    if not phrases and record.title.clean:
        phrases.append(record.title.quote(0, len(record.title.clean)))
    unique = [p for p in dict.fromkeys(phrases) if p]
    # A phrase inside an earlier one adds nothing.
    kept = [p for i, p in enumerate(unique) if not any(p in q for q in unique[:i])]
    return tuple(kept[:_MAX_EVIDENCE])


# Without an abstract or a cue the model has only topic words to go on: the paper is
# "other / unclear", with the confidence that deserves.
_NOTHING_TO_GO_ON = 0.05


class PaperText(NamedTuple):
    """What the classifier reads of a paper."""

    title: str
    abstract: str = ""
    publication_types: Sequence[str] = ()
    mesh_terms: Sequence[str] = ()


# Records scored together: numpy's cost per call is shared by the batch, memory stays small.
BATCH = 256


def classify_many(
    papers: Iterable[PaperText | tuple], model: Model | None = None
) -> list[Classification]:
    """Label papers (each a PaperText or a tuple of its fields) in order, with the
    committed model unless another is given."""
    model = model if model is not None else committed_model()
    papers = [PaperText(*paper) for paper in papers]
    labelled: list[Classification] = []
    for start in range(0, len(papers), BATCH):
        with _no_collection():
            labelled += _classify_batch(model, papers[start : start + BATCH])
    return labelled


@contextmanager
def _no_collection() -> Iterator[None]:
    """No garbage collection while a batch is labelled; the collector runs as before after it.

    A batch makes some hundred thousand short-lived objects (texts, hits, matches), none in a
    reference cycle, so reference counting frees them all and a collection finds nothing: it
    only scans what is alive: up to an eighth of the time of 10,000 records in one call
    (docs/classifier.md). The switch is the process's: another thread's objects wait for the
    batch too, and a caller that had turned collection off finds it off.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True)
class _Decision:
    label: str
    confidence: float
    by_rule: bool
    winner: int  # the label's column, and the runner-up's, for weighing sentences
    runner_up: int


def _decide(model: Model, record: Record, probabilities: list[float]) -> _Decision:
    # Stable, as numpy's argsort is for so few labels: ties go to the earlier label.
    order = sorted(range(len(probabilities)), key=lambda k: -probabilities[k])
    by_model = model.labels[order[0]]
    decided = rule_decision(record.scores)
    label = decided or by_model
    confidence = probabilities[model.labels.index(label)] if label in model.labels else 0.0
    if decided is not None:
        # Rule decisions were right in 9 of 10 cross-validated cases (docs/classifier.md).
        confidence = 0.5 * (1.0 + confidence)
    elif not record.abstract.clean and not record.scores and confidence < 0.5:
        label, confidence = BY_LABEL["other"].label, _NOTHING_TO_GO_ON
    winner = model.labels.index(label) if label in model.labels else order[0]
    runner_up = order[1] if order[0] == winner else order[0]
    return _Decision(label, confidence, decided is not None, winner, runner_up)


def _classify_batch(model: Model, papers: list[PaperText]) -> list[Classification]:
    records = [
        read_record(p.title or "", p.abstract or "", p.publication_types, p.mesh_terms)
        for p in papers
    ]
    scores = score_many(model, records)
    decisions = [
        _decide(model, record, row)
        for record, row in zip(records, scores.probabilities.tolist(), strict=True)
    ]
    weights = sentence_weights(
        model,
        records,
        scores,
        np.array([d.winner for d in decisions], dtype=np.intp),
        np.array([d.runner_up for d in decisions], dtype=np.intp),
    ).tolist()
    labelled = []
    for paper, record, decision, row in zip(papers, records, decisions, weights, strict=True):
        evidence = _evidence(record, decision.label, decision.by_rule, row)
        relevance = depression_relevance(record.title, record.abstract, paper.mesh_terms)
        if relevance.relevant and relevance.evidence not in evidence:
            evidence = (*evidence, relevance.evidence)
        labelled.append(
            Classification(
                design=decision.label,
                depression_relevant=relevance.relevant,
                evidence=evidence,
                confidence=round(float(decision.confidence), 3),
                depression_evidence=relevance.evidence,
                depression_reason=relevance.reason,
            )
        )
    return labelled


def classify_with(
    model: Model,
    title: str,
    abstract: str = "",
    publication_types: Sequence[str] = (),
    mesh_terms: Sequence[str] = (),
) -> Classification:
    """Label one paper with a given model (classify uses the committed one)."""
    return classify_many([PaperText(title, abstract, publication_types, mesh_terms)], model)[0]


def classify(
    title: str,
    abstract: str = "",
    publication_types: Sequence[str] = (),
    mesh_terms: Sequence[str] = (),
) -> Classification:
    """Label one paper with its study design and depression relevance (classify_many labels
    many faster)."""
    return classify_with(committed_model(), title, abstract, publication_types, mesh_terms)
