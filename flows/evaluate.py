"""Measure the classifier against hand-labelled papers, and classify JSON Lines in bulk.

`evaluate` and `format_evaluation` back `kratom-watch evaluate`; `classify_jsonl` backs
`kratom-watch classify`. Both are plain functions so the CLI stays a thin adapter.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from flows.classify import CLASSIFIER_VERSION, classify
from flows.designs import BY_LABEL, LABELS

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
    n = 0
    for position, row in enumerate(rows, start=1):
        n += 1
        result = classify(
            row["title"],
            row.get("abstract") or "",
            row.get("publication_types") or (),
            row.get("mesh_terms") or (),
        )
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


def _classified_record(record: dict[str, Any]) -> dict[str, Any]:
    pmid = record.get("pmid")
    out: dict[str, Any] = {
        "pmid": str(pmid) if isinstance(pmid, int) else pmid,
        "title": record["title"],
        "abstract": record.get("abstract") or "",
        "publication_types": record.get("publication_types") or [],
        "mesh_terms": record.get("mesh_terms") or [],
    }
    result = classify(out["title"], out["abstract"], out["publication_types"], out["mesh_terms"])
    out["design"] = result.design
    out["depression_relevant"] = result.depression_relevant
    out["evidence"] = list(result.evidence)
    out["confidence"] = round(result.confidence, 3)
    return out


def classify_jsonl(lines: Iterable[str], out: TextIO, err: TextIO) -> int:
    """Classify JSON Lines records; one output line per good input line, in order.

    A bad line gets one message on `err` naming its line number; the good lines are still
    written. Blank lines are skipped. Returns the number of bad lines.
    """
    bad = 0
    for number, line in enumerate(lines, start=1):
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
            err.write(f"line {number}: {problem}\n")
            continue
        out.write(json.dumps(_classified_record(record), ensure_ascii=False) + "\n")
    return bad
