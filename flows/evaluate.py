"""Measure the classifier against hand-labelled papers, and classify JSON Lines in bulk.

`evaluate` and `format_evaluation` back `kratom-watch evaluate FILE` (the committed
classifier on one file); `cross_validate`, `cv_report` and `format_cv` back
`kratom-watch evaluate --cv K` (the model retrained on each fold, the rules fixed);
`classify_jsonl` backs `kratom-watch classify`. All are plain functions so the CLI stays a
thin adapter.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from flows import corpora
from flows.classify import BATCH, CLASSIFIER_VERSION, PaperText, classify_many
from flows.designs import BY_LABEL, LABELS
from flows.errors import KratomWatchError

# Labels with fewer examples than this are left out of the macro-F1: one example makes a
# label's F1 either 0 or 1 and swamps the average.
MACRO_MIN_SUPPORT = 2


@dataclass(frozen=True)
class LabelScore:
    label: str
    precision: float
    recall: float
    f1: float
    support: int  # expected count
    predicted: int


@dataclass(frozen=True)
class Miss:
    id: str
    expected: str
    got: str
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class Evaluation:
    n: int
    accuracy: float
    per_label: tuple[LabelScore, ...]  # every label, in rank order
    macro_f1: float
    macro_labels: tuple[str, ...]  # the labels averaged: support >= MACRO_MIN_SUPPORT
    depression: LabelScore  # the positive class of depression_relevant
    labels: tuple[str, ...]  # rows and columns of the confusion matrix, in rank order
    confusion: tuple[tuple[int, ...], ...]  # confusion[expected][got]
    misses: tuple[Miss, ...]  # design misses, in input order
    depression_misses: tuple[Miss, ...]  # expected / got are "True" / "False"

    def label_score(self, label: str) -> LabelScore:
        return next(s for s in self.per_label if s.label == label)


def _ratio(numerator: int, denominator: int) -> float:
    # An empty denominator scores 0, as scikit-learn does by default.
    return numerator / denominator if denominator else 0.0


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _label_score(label: str, true_pos: int, support: int, predicted: int) -> LabelScore:
    precision = _ratio(true_pos, predicted)
    recall = _ratio(true_pos, support)
    return LabelScore(label, precision, recall, _f1(precision, recall), support, predicted)


def _row_id(row: dict[str, Any], position: int) -> str:
    for key in ("id", "pmid"):
        if row.get(key):
            return str(row[key])
    return f"row {position}"


def evaluate(rows: Iterable[dict[str, Any]]) -> Evaluation:
    """Classify labelled rows and compare with their `design` and `depression_relevant`."""
    index = {label: i for i, label in enumerate(LABELS)}
    confusion = [[0] * len(LABELS) for _ in LABELS]
    misses: list[Miss] = []
    depression_misses: list[Miss] = []
    dep_true_pos = dep_expected = dep_predicted = 0
    rows = list(rows)
    results = classify_many(
        PaperText(
            row["title"],
            row.get("abstract") or "",
            row.get("publication_types") or (),
            row.get("mesh_terms") or (),
        )
        for row in rows
    )
    n = 0
    for position, (row, result) in enumerate(zip(rows, results, strict=True), start=1):
        n += 1
        expected = row["design"]
        confusion[index[expected]][index[result.design]] += 1
        row_id = _row_id(row, position)
        if result.design != expected:
            misses.append(Miss(row_id, expected, result.design, result.evidence))
        want_dep = bool(row["depression_relevant"])
        dep_expected += want_dep
        dep_predicted += result.depression_relevant
        dep_true_pos += want_dep and result.depression_relevant
        if want_dep != result.depression_relevant:
            depression_misses.append(
                Miss(row_id, str(want_dep), str(result.depression_relevant), result.evidence)
            )

    per_label = tuple(
        _label_score(
            label,
            confusion[i][i],
            sum(confusion[i]),
            sum(confusion[r][i] for r in range(len(LABELS))),
        )
        for i, label in enumerate(LABELS)
    )
    macro = tuple(s for s in per_label if s.support >= MACRO_MIN_SUPPORT)
    correct = sum(confusion[i][i] for i in range(len(LABELS)))
    return Evaluation(
        n=n,
        accuracy=_ratio(correct, n),
        per_label=per_label,
        macro_f1=sum(s.f1 for s in macro) / len(macro) if macro else 0.0,
        macro_labels=tuple(s.label for s in macro),
        depression=_label_score("depression_relevant", dep_true_pos, dep_expected, dep_predicted),
        labels=LABELS,
        confusion=tuple(tuple(row) for row in confusion),
        misses=tuple(misses),
        depression_misses=tuple(depression_misses),
    )


def _abbreviation(label: str) -> str:
    return "".join(part[0] for part in label.split("_")) if "_" in label else label[:3]


def _format_miss(miss: Miss) -> list[str]:
    lines = [f"  {miss.id}: expected {miss.expected}, got {miss.got}"]
    lines += [f"      - {phrase}" for phrase in miss.evidence] or ["      (no evidence)"]
    return lines


def format_evaluation(ev: Evaluation, misses: bool = False) -> str:
    """A plain-text report: headline figures, per-label table, confusion matrix, misses."""
    lines = [
        f"classifier {CLASSIFIER_VERSION} on {ev.n} labelled papers",
        f"design accuracy: {ev.accuracy:.3f}",
        f"design macro-F1: {ev.macro_f1:.3f} (over the {len(ev.macro_labels)} labels with at "
        f"least {MACRO_MIN_SUPPORT} examples)",
        f"depression relevance: precision {ev.depression.precision:.3f}, recall "
        f"{ev.depression.recall:.3f}, F1 {ev.depression.f1:.3f} "
        f"({ev.depression.support} relevant, {ev.depression.predicted} predicted)",
        "",
        f"{'label':<22}{'precision':>10}{'recall':>8}{'F1':>7}{'support':>9}{'predicted':>11}",
    ]
    for s in ev.per_label:
        if s.support or s.predicted:
            marker = "" if s.label in ev.macro_labels else "  (not in macro-F1)"
            lines.append(
                f"{s.label:<22}{s.precision:>10.3f}{s.recall:>8.3f}{s.f1:>7.3f}"
                f"{s.support:>9}{s.predicted:>11}{marker}"
            )

    used = [
        i
        for i, label in enumerate(ev.labels)
        if sum(ev.confusion[i]) or sum(row[i] for row in ev.confusion)
    ]
    lines += ["", "confusion matrix (rows expected, columns predicted, labels in rank order):"]
    lines.append(" " * 22 + "".join(f"{_abbreviation(ev.labels[i]):>5}" for i in used))
    for i in used:
        cells = "".join(f"{ev.confusion[i][j] or '.':>5}" for j in used)
        lines.append(f"{ev.labels[i]:<22}{cells}")
    lines.append("key: " + ", ".join(f"{_abbreviation(ev.labels[i])}={ev.labels[i]}" for i in used))

    lines += ["", f"design misses: {len(ev.misses)}"]
    lines += [f"depression misses: {len(ev.depression_misses)}"]
    if misses:
        lines += ["", "design misses (evidence for the label given):"]
        for miss in ev.misses:
            lines += _format_miss(miss)
        lines += ["", "depression misses (evidence for the label given):"]
        for miss in ev.depression_misses:
            lines += _format_miss(miss)
    return "\n".join(lines) + "\n"


# Labelled files


_LABELLED_REQUIRED = ("title", "design", "depression_relevant")


def read_labelled(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSON Lines file of hand-labelled papers, refusing any line it cannot use."""
    rows: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{path}, line {number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{where}: not valid JSON: {e}") from None
            if not isinstance(row, dict):
                raise ValueError(f"{where}: not a JSON object")
            missing = [field for field in _LABELLED_REQUIRED if field not in row]
            if missing:
                raise ValueError(f"{where}: missing field {', '.join(missing)}")
            if row["design"] not in BY_LABEL:
                raise ValueError(
                    f"{where}: unknown design label {row['design']!r} "
                    f"(expected one of {', '.join(LABELS)})"
                )
            if not isinstance(row["depression_relevant"], bool):
                raise ValueError(f"{where}: depression_relevant must be true or false")
            problem = _record_problem(row)
            if problem:
                raise ValueError(f"{where}: {problem}")
            rows.append(row)
    return rows


# Bulk classification of JSON Lines


def _is_string_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _record_problem(record: dict[str, Any]) -> str | None:
    """What makes a record unusable, or None. Null optional fields count as empty."""
    title = record.get("title")
    if not isinstance(title, str) or not title.strip():
        return "no title" if title is None or title == "" else "title must be a non-empty string"
    if record.get("abstract") is not None and not isinstance(record["abstract"], str):
        return "abstract must be a string"
    for field in ("publication_types", "mesh_terms"):
        if record.get(field) is not None and not _is_string_list(record[field]):
            return f"{field} must be a list of strings"
    pmid = record.get("pmid")
    if pmid is not None and (isinstance(pmid, bool) or not isinstance(pmid, (str, int))):
        return "pmid must be a string or a number"
    return None


def _input_fields(record: dict[str, Any]) -> dict[str, Any]:
    pmid = record.get("pmid")
    return {
        "pmid": str(pmid) if isinstance(pmid, int) else pmid,
        "title": record["title"],
        "abstract": record.get("abstract") or "",
        "publication_types": record.get("publication_types") or [],
        "mesh_terms": record.get("mesh_terms") or [],
    }


def _write_classified(records: list[dict[str, Any]], out: TextIO) -> None:
    """Label the records as one batch and write each with its labels, in order."""
    texts = [
        PaperText(r["title"], r["abstract"], r["publication_types"], r["mesh_terms"])
        for r in records
    ]
    for record, result in zip(records, classify_many(texts), strict=True):
        labelled = record | {
            "design": result.design,
            "depression_relevant": result.depression_relevant,
            "evidence": list(result.evidence),
            "confidence": result.confidence,  # rounded by the classifier
            "depression_evidence": result.depression_evidence,
            "depression_reason": result.depression_reason,
        }
        out.write(json.dumps(labelled, ensure_ascii=False) + "\n")


# Bad lines told one by one before the rest are only counted (a file that is not JSON Lines
# at all, a README given by mistake, would otherwise print hundreds of lines).
MAX_REPORTED = 5


def classify_jsonl(lines: Iterable[str], out: TextIO, err: TextIO) -> int:
    """Classify JSON Lines records; one output line per good input line, in order.

    A bad line gets one message on `err` naming its line number (the first MAX_REPORTED;
    then a count); the good lines are still written. Blank lines are skipped. Returns the
    number of bad lines. Input that is not UTF-8 text stops with a KratomWatchError.
    """
    bad = good = 0
    pending: list[dict[str, Any]] = []  # good records not yet labelled: a batch at a time
    numbered = enumerate(lines, start=1)
    while True:
        try:
            number, line = next(numbered)
        except StopIteration:
            break
        except UnicodeDecodeError:
            raise KratomWatchError(
                f"the input is not UTF-8 text (after line {good + bad}): classify reads "
                "JSON Lines, one record a line"
            ) from None
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            problem: str | None = f"not valid JSON: {e}"
        else:
            problem = (
                "not a JSON object" if not isinstance(record, dict) else _record_problem(record)
            )
        if problem:
            bad += 1
            if bad <= MAX_REPORTED:
                err.write(f"line {number}: {problem}\n")
            continue
        good += 1
        pending.append(_input_fields(record))
        if len(pending) == BATCH:
            _write_classified(pending, out)
            pending = []
    if pending:
        _write_classified(pending, out)
    if bad > MAX_REPORTED:
        err.write(f"... and {bad - MAX_REPORTED} more bad lines\n")
    if bad:
        err.write(f"{bad} of {bad + good} lines were not records; {good} classified\n")
    return bad


# Cross-validation
#
# The model is retrained on each fold and scored on the papers it did not see; the rules stay
# as they are (they were written from dev papers and from the misses of half the external
# corpus, so those figures are optimistic for what the rules contribute: docs/classifier.md
# gives the held-out halves). Folds are grouped: a paper that is in both files, or twice in
# one, is on one side only.

CV_SEED = 0
BOOTSTRAP = 1000
CALIBRATION_BINS = (0.0, 0.5, 0.8, 0.9, 1.0)
HIGH_CONFIDENCE = 0.8


@dataclass(frozen=True)
class Prediction:
    id: str
    source: str  # "dev" or "external"
    allowed: tuple[str, ...]  # the right answers: one label, or a coarse group's labels
    group: str  # "human_non_rct", "remaining" or "" for a fine label
    design: str
    confidence: float
    depression_expected: bool | None
    depression_got: bool
    evidence: tuple[str, ...] = ()


def _normalised_title(title: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", title.lower()).split())


def paper_groups(examples: Sequence[Any]) -> list[int]:
    """A group number per example: the same PMID, DOI or normalised title is one paper."""
    parent = list(range(len(examples)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for i, e in enumerate(examples):
        keys = [f"title:{_normalised_title(e.title)}"]
        if e.id and not e.id.startswith(("local:", "dev:", "external:")):
            keys.append(f"id:{e.id.lower().removeprefix('doi:')}")
        for key in keys:
            if key in first:
                parent[find(i)] = find(first[key])
            else:
                first[key] = i
    return [find(i) for i in range(len(examples))]


def cv_folds(examples: Sequence[Any], k: int) -> list[int]:
    """A fold number per example, groups kept whole, labels spread evenly over the folds."""
    groups = paper_groups(examples)
    members: dict[int, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)

    def order(g: int) -> tuple[str, str, str]:
        e = examples[members[g][0]]
        digest = hashlib.sha256(f"{CV_SEED}:{_normalised_title(e.title)}".encode()).hexdigest()
        return (e.source, "|".join(e.allowed), digest)

    folds = [0] * len(examples)
    for n, g in enumerate(sorted(members, key=order)):
        for i in members[g]:
            folds[i] = n % k
    return folds


def cross_validate(examples: Sequence[Any], k: int = 5, settings: Any = None) -> list[Prediction]:
    """Predictions for every example from a model trained on the other folds (needs sklearn)."""
    from flows.classify.train import Settings, train_model

    if k < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    folds = cv_folds(examples, k)
    predictions: list[Prediction | None] = [None] * len(examples)
    for fold in range(k):
        model = train_model(
            [e for e, f in zip(examples, folds, strict=True) if f != fold], settings or Settings()
        )
        scored = [i for i, f in enumerate(folds) if f == fold]
        texts = [
            PaperText(e.title, e.abstract, e.publication_types, e.mesh_terms)
            for e in (examples[i] for i in scored)
        ]
        for i, result in zip(scored, classify_many(texts, model), strict=True):
            e = examples[i]
            predictions[i] = Prediction(
                e.id,
                e.source,
                e.allowed,
                e.group,
                result.design,
                result.confidence,
                e.depression_relevant,
                result.depression_relevant,
                result.evidence,
            )
    return [p for p in predictions if p is not None]


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


@dataclass(frozen=True)
class LabelFigures:
    label: str
    precision: Interval
    recall: Interval
    f1: Interval
    support: int
    predicted: int


@dataclass(frozen=True)
class SourceFigures:
    source: str
    n: int  # papers whose answer is known (a fine label or the human_non_rct group)
    accuracy: Interval
    per_label: tuple[LabelFigures, ...]  # labels with support or predictions, rank order
    group_recall: Interval | None  # human_non_rct papers labelled inside the group
    remaining_consistent: Interval | None  # `remaining` papers labelled as the group allows
    calibration: tuple[tuple[float, float, int, float], ...]  # (low, high, papers, share right)
    high_confidence: tuple[int, float]  # papers with confidence >= 0.8, share right

    def label(self, label: str) -> LabelFigures | None:
        return next((f for f in self.per_label if f.label == label), None)


@dataclass(frozen=True)
class CVReport:
    folds: int
    sources: tuple[SourceFigures, ...]
    depression: LabelFigures | None  # on dev
    # On the external papers we labelled blind for depression (corpora.EXTERNAL_RELEVANCE).
    depression_external: LabelFigures | None = None

    @property
    def external_used(self) -> bool:
        return self.source("external") is not None

    def source(self, name: str) -> SourceFigures | None:
        return next((s for s in self.sources if s.source == name), None)


def _bootstrap_counts(n: int) -> np.ndarray:
    rng = np.random.default_rng(CV_SEED)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=BOOTSTRAP).astype(np.float64)


def _interval(numerator: np.ndarray, denominator: np.ndarray, counts: np.ndarray) -> Interval:
    """A ratio of per-paper sums and its 95% percentile interval over papers resampled."""
    value = _ratio(float(numerator.sum()), float(denominator.sum()))
    num, den = counts @ numerator, counts @ denominator
    # A resample without any denominator (no paper of the label drawn) says nothing.
    ratios = np.divide(num, den, out=np.full_like(num, np.nan), where=den > 0)
    return _percentiles(value, ratios)


def _percentiles(value: float, samples: np.ndarray) -> Interval:
    samples = samples[~np.isnan(samples)]
    if not len(samples):
        return Interval(value, value, value)
    low, high = np.percentile(samples, [2.5, 97.5])
    return Interval(value, float(low), float(high))


def _f1_interval(tp, support, predicted, counts) -> Interval:
    t, s, p = counts @ tp, counts @ support, counts @ predicted
    f1 = np.divide(2 * t, s + p, out=np.full_like(t, np.nan), where=(s + p) > 0)
    value = _ratio(2 * float(tp.sum()), float(support.sum() + predicted.sum()))
    return _percentiles(value, f1)


def _label_figures(label, tp, support, predicted, counts) -> LabelFigures:
    return LabelFigures(
        label,
        _interval(tp, predicted, counts),
        _interval(tp, support, counts),
        _f1_interval(tp, support, predicted, counts),
        int(support.sum()),
        int(predicted.sum()),
    )


def _source_figures(source: str, predictions: Sequence[Prediction]) -> SourceFigures:
    known = [p for p in predictions if p.group != "remaining"]
    counts = _bootstrap_counts(len(known))
    right = np.array([p.design in p.allowed for p in known], dtype=np.float64)
    ones = np.ones(len(known))
    per_label = []
    for label in LABELS:
        tp = np.array([p.allowed == (label,) and p.design == label for p in known], float)
        support = np.array([p.allowed == (label,) for p in known], float)
        # A group paper labelled inside its group is neither right nor wrong for one label.
        predicted = np.array(
            [
                p.design == label and (p.allowed == (label,) or label not in p.allowed)
                for p in known
            ],
            float,
        )
        if support.sum() or predicted.sum():
            per_label.append(_label_figures(label, tp, support, predicted, counts))
    group = np.array([p.group == "human_non_rct" for p in known], float)
    group_recall = _interval(right * group, group, counts) if group.sum() else None
    remaining = [p for p in predictions if p.group == "remaining"]
    consistent = None
    if remaining:
        ok = np.array([p.design in p.allowed for p in remaining], float)
        consistent = _interval(ok, np.ones(len(remaining)), _bootstrap_counts(len(remaining)))
    calibration = []
    for low, high in zip(CALIBRATION_BINS, CALIBRATION_BINS[1:], strict=False):
        inside = [
            p.design in p.allowed
            for p in known
            if low <= p.confidence < high or (high == 1.0 and p.confidence == 1.0)
        ]
        calibration.append((low, high, len(inside), _ratio(sum(inside), len(inside))))
    confident = [p.design in p.allowed for p in known if p.confidence >= HIGH_CONFIDENCE]
    return SourceFigures(
        source,
        len(known),
        _interval(right, ones, counts),
        tuple(per_label),
        group_recall,
        consistent,
        tuple(calibration),
        (len(confident), _ratio(sum(confident), len(confident))),
    )


def cv_report(predictions: Sequence[Prediction], folds: int) -> CVReport:
    """Per-source figures with 95% bootstrap intervals over papers, and depression on dev."""
    sources = tuple(
        _source_figures(source, [p for p in predictions if p.source == source])
        for source in ("dev", "external")
        if any(p.source == source for p in predictions)
    )
    depression = {
        source: _depression_figures(
            [p for p in predictions if p.source == source and p.depression_expected is not None]
        )
        for source in ("dev", "external")
    }
    return CVReport(folds, sources, depression["dev"], depression["external"])


def _depression_figures(labelled: Sequence[Prediction]) -> LabelFigures | None:
    if not labelled:
        return None
    counts = _bootstrap_counts(len(labelled))
    tp = np.array([p.depression_expected and p.depression_got for p in labelled], float)
    support = np.array([bool(p.depression_expected) for p in labelled], float)
    predicted = np.array([p.depression_got for p in labelled], float)
    return _label_figures("depression_relevant", tp, support, predicted, counts)


def with_relevance_labels(examples: list, labels_path: str | Path) -> int:
    """Give external examples our depression labels from a JSON Lines file of {"pmid",
    "depression_relevant"}; returns how many were labelled. The file holds no corpus text."""
    try:
        with open(labels_path, encoding="utf-8") as lines:
            rows = [json.loads(line) for line in lines if line.strip()]
        labels = {str(row["pmid"]): row["depression_relevant"] is True for row in rows}
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise KratomWatchError(f"cannot read the relevance labels {labels_path}: {error}") from None
    labelled = 0
    for example in examples:
        if example.source == "external" and example.id in labels:
            example.depression_relevant = labels[example.id]
            labelled += 1
    return labelled


def _format_label(f: LabelFigures) -> str:
    figures = f"{f.precision!s:>24}{f.recall!s:>24}{f.f1!s:>24}"
    return f"{f.label:<22}{figures}{f.support:>6}{f.predicted:>6}"


def format_cv(report: CVReport) -> str:
    """A plain-text report of a cross-validation: per source, per label, calibration."""
    lines = [f"{report.folds}-fold grouped cross-validation, model retrained per fold, rules fixed"]
    if not report.external_used:
        lines.append("external file absent: dev papers only")
    lines.append("figures: value [95% bootstrap interval over papers]")
    for s in report.sources:
        lines += ["", f"== {s.source}: {s.n} papers with a known answer =="]
        lines.append(f"design accuracy: {s.accuracy}")
        for label in ("systematic_review", "rct"):
            f = s.label(label)
            if f is not None:
                lines.append(f"recall {label}: {f.recall} ({f.support} papers)")
        if s.group_recall is not None:
            lines.append(f"human_non_rct papers labelled inside the group: {s.group_recall}")
        if s.remaining_consistent is not None:
            lines.append(
                f"'remaining' papers labelled as the group allows: {s.remaining_consistent}"
            )
        lines.append("")
        lines.append(
            f"{'label':<22}{'precision':>24}{'recall':>24}{'F1':>24}{'supp':>6}{'pred':>6}"
        )
        lines += [_format_label(f) for f in s.per_label]
        lines += ["", "calibration (confidence bin: papers, share right):"]
        for low, high, n, share in s.calibration:
            lines.append(f"  {low:.1f}-{high:.1f}: {n:>5}  {share:.3f}")
        n, share = s.high_confidence
        lines.append(f"  confidence >= {HIGH_CONFIDENCE}: {n} papers, {share:.3f} right")
    if report.depression is not None:
        d = report.depression
        lines += [
            "",
            "depression relevance (dev; rules, not retrained, and written from dev's misses: "
            "not a held-out figure):",
            f"  precision {d.precision}, recall {d.recall}, F1 {d.f1} "
            f"({d.support} relevant, {d.predicted} predicted)",
        ]
    if report.depression_external is not None:
        d = report.depression_external
        lines += [
            "",
            "depression relevance (the external abstracts we labelled blind, "
            f"{corpora.EXTERNAL_RELEVANCE}; how blind: docs/classifier.md):",
            f"  precision {d.precision}, recall {d.recall}, F1 {d.f1} "
            f"({d.support} relevant, {d.predicted} predicted)",
        ]
    return "\n".join(lines) + "\n"


def format_cv_misses(
    predictions: Sequence[Prediction], labels: Sequence[str] = ("systematic_review", "rct")
) -> str:
    """The papers of these labels given another label, and those given one of these labels
    wrongly, each with its evidence: what `evaluate --cv K --misses` adds to the report."""
    lines = []
    for label in labels:
        missed = [p for p in predictions if p.allowed == (label,) and p.design != label]
        wrong = [
            p
            for p in predictions
            if p.design == label and label not in p.allowed and p.group != "remaining"
        ]
        for title, chosen, show in (
            (f"{label} papers labelled otherwise", missed, "got"),
            (f"papers labelled {label} wrongly", wrong, "expected"),
        ):
            lines += ["", f"{title}: {len(chosen)}"]
            for p in chosen:
                told = p.design if show == "got" else p.group or " or ".join(p.allowed)
                lines.append(f"  {p.source} {p.id}: {show} {told} ({p.confidence:.3f})")
                lines += [f"      - {phrase}" for phrase in p.evidence] or ["      (no evidence)"]
    return "\n".join(lines) + "\n"
