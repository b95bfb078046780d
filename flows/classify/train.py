"""Training the model: `kratom-watch train` (scikit-learn is needed here and only here).

Data: our hand-labelled kratom papers (tests/fixtures/dev.jsonl, every one of our labels) and,
when present, the StudyTypeTeller train split (shared/corpus/external/studytypeteller-
train.jsonl: psychiatry / CNS abstracts labelled by another team). Its coarse labels are used
as what they are: `human_non_rct` says only that the paper is one of five human designs and
`remaining` that it is none of the labels the corpus maps (an observational study, an
opinion piece or something else). Such a row is a partial label: the model learns from it
by expectation-maximisation, each round spreading the row over its allowed labels by the
model's current probabilities. Dev papers weigh more: kratom is our domain.

Everything is fixed (sorted vocabulary, lbfgs from zeros, one BLAS thread, fixed zip dates),
so the same files give the same model bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from flows import corpora
from flows.classify.cues import CC, COH, CS, NRT, OPINION, OTHER, QUAL
from flows.classify.features import Record, read_record
from flows.classify.model import RULE_SCALE, Model
from flows.designs import BY_LABEL, LABELS
from flows.errors import KratomWatchError

# What a coarse external label allows.
GROUPS: dict[str, tuple[str, ...]] = {
    "human_non_rct": (NRT, COH, CC, CS, QUAL),
    "remaining": (COH, CC, CS, QUAL, OPINION, OTHER),
}
DEFAULT_DEV = corpora.DEV
DEFAULT_EXTERNAL = corpora.EXTERNAL


class TrainingError(KratomWatchError):
    """A training file is missing or has rows that cannot be used."""


@dataclass(frozen=True)
class Settings:
    min_df: int = 2  # a gram in fewer training papers than this is not a feature
    c: float = 20.0  # inverse regularisation strength of the logistic regression
    dev_weight: float = 3.0  # a dev paper counts this many times an external one
    partial_weight: float = 0.5  # a coarse-labelled paper counts this much in all
    em_rounds: int = 2
    max_iter: int = 300


@dataclass
class Example:
    """A labelled paper: the labels it may have (one, or a coarse group's)."""

    id: str
    source: str  # "dev" or "external"
    allowed: tuple[str, ...]
    title: str
    abstract: str = ""
    publication_types: tuple[str, ...] = ()
    mesh_terms: tuple[str, ...] = ()
    depression_relevant: bool | None = None
    group: str = ""  # the coarse label, when the paper has one
    record: Record | None = field(default=None, repr=False)

    def read(self) -> Record:
        if self.record is None:
            self.record = read_record(
                self.title, self.abstract, self.publication_types, self.mesh_terms
            )
        return self.record


def read_examples(path: str | Path, source: str) -> list[Example]:
    """Labelled papers from a JSON Lines file: ours (`design`) or the external corpus."""
    examples = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise TrainingError(f"cannot read {path}: {error.strerror}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            design, group = row.get("design"), row.get("design_group") or ""
            if design:
                allowed: tuple[str, ...] = (BY_LABEL[design].label,)
            else:
                allowed = GROUPS[group]
            title = row["title"]
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
            raise TrainingError(
                f"{path}, line {number}: not a labelled paper (needs a title and a design or "
                f"a design_group of {', '.join(GROUPS)})"
            ) from None
        examples.append(
            Example(
                id=str(row.get("id") or row.get("pmid") or f"{source}:{number}"),
                source=source,
                allowed=allowed,
                title=title,
                abstract=row.get("abstract") or "",
                publication_types=tuple(row.get("publication_types") or ()),
                mesh_terms=tuple(row.get("mesh_terms") or ()),
                depression_relevant=row.get("depression_relevant"),
                group=group if not design else "",
            )
        )
    return examples


def _vocabulary(records: Sequence[Record], min_df: int) -> tuple[list[str], np.ndarray]:
    df: dict[str, int] = {}
    for record in records:
        for gram in set(record.grams):
            df[gram] = df.get(gram, 0) + 1
    grams = sorted(g for g, n in df.items() if n >= min_df)
    n = len(records)
    idf = np.array([math.log((1 + n) / (1 + df[g])) + 1.0 for g in grams], dtype=np.float32)
    return grams, idf


def _matrix(records: Sequence[Record], vocabulary: dict[str, int], idf: np.ndarray, labels):
    """The sparse feature matrix, built exactly as model.score reads a record."""
    from scipy import sparse

    rows, cols, values = [], [], []
    n_grams = len(vocabulary)
    for r, record in enumerate(records):
        counts: dict[int, int] = {}
        for gram in record.grams:
            i = vocabulary.get(gram)
            if i is not None:
                counts[i] = counts.get(i, 0) + 1
        ids = np.array(sorted(counts), dtype=np.intp)
        if len(ids):
            tf = np.array([counts[i] for i in ids], dtype=np.float64)
            v = ((1.0 + np.log(tf)) * idf[ids]).astype(np.float32)
            v /= np.sqrt(v @ v)
            rows.extend([r] * len(ids))
            cols.extend(ids.tolist())
            values.extend(v.tolist())
        for k, label in enumerate(labels):
            value = min(record.scores.get(label, 0.0), 10.0) / RULE_SCALE
            if value:
                rows.append(r)
                cols.append(n_grams + k)
                values.append(np.float32(value))
    shape = (len(records), n_grams + len(labels))
    return sparse.csr_matrix((np.array(values, dtype=np.float32), (rows, cols)), shape=shape)


def _fit(x, y, weights, labels, settings: Settings):
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=settings.c, max_iter=settings.max_iter, tol=1e-5)
    lr.fit(x, y, sample_weight=weights)
    # Columns in our label order, zero for a label the data never had.
    coef = np.zeros((x.shape[1], len(labels)), dtype=np.float64)
    intercept = np.full(len(labels), -30.0)
    for j, label in enumerate(lr.classes_):
        k = labels.index(label)
        coef[:, k] = lr.coef_[j] if len(lr.classes_) > 2 else (lr.coef_[0] * (1 if j else -1))
        intercept[k] = lr.intercept_[j] if len(lr.classes_) > 2 else 0.0
    return coef, intercept


def _probabilities(x, coef, intercept) -> np.ndarray:
    logits = np.asarray(x @ coef) + intercept
    logits -= logits.max(axis=1, keepdims=True)
    odds = np.exp(logits)
    return odds / odds.sum(axis=1, keepdims=True)


def train_model(examples: Sequence[Example], settings: Settings = Settings()) -> Model:
    """Fit the model on labelled papers; partial labels by expectation-maximisation."""
    from threadpoolctl import threadpool_limits

    if not examples:
        raise TrainingError("no labelled papers to train on")
    records = [e.read() for e in examples]
    labels = tuple(label for label in LABELS if any(label in e.allowed for e in examples))
    grams, idf = _vocabulary(records, settings.min_df)
    vocabulary = {g: i for i, g in enumerate(grams)}
    x = _matrix(records, vocabulary, idf, labels)
    base = np.array([settings.dev_weight if e.source == "dev" else 1.0 for e in examples])
    fine = [i for i, e in enumerate(examples) if len(e.allowed) == 1]
    partial = [i for i, e in enumerate(examples) if len(e.allowed) > 1]
    # The first round spreads a partial row evenly over its labels.
    spread = {i: {label: 1.0 / len(examples[i].allowed) for label in examples[i].allowed}
              for i in partial}  # fmt: skip
    with threadpool_limits(1):
        for round_ in range(settings.em_rounds + 1 if partial else 1):
            rows = list(fine)
            y = [examples[i].allowed[0] for i in fine]
            w = [base[i] for i in fine]
            for i in partial:
                for label, share in spread[i].items():
                    if share >= 0.05:
                        rows.append(i)
                        y.append(label)
                        w.append(base[i] * settings.partial_weight * share)
            coef, intercept = _fit(x[rows], np.array(y), np.array(w), labels, settings)
            if round_ == settings.em_rounds or not partial:
                break
            p = _probabilities(x[partial], coef, intercept)
            for row, i in zip(p, partial, strict=True):
                allowed = examples[i].allowed
                mass = np.array([row[labels.index(label)] for label in allowed])
                mass = (
                    mass / mass.sum() if mass.sum() > 0 else np.full(len(allowed), 1 / len(allowed))
                )
                spread[i] = dict(zip(allowed, mass.tolist(), strict=True))
    return Model(
        labels=labels,
        vocabulary=vocabulary,
        idf=idf,
        coef=coef.astype(np.float16).astype(np.float32),
        intercept=intercept.astype(np.float32),
        info={"settings": settings.__dict__, "papers": len(examples)},
    )


def _npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array(out, np.ascontiguousarray(array), allow_pickle=False)
    return out.getvalue()


def _text_array(lines: Iterable[str]) -> np.ndarray:
    return np.frombuffer("\n".join(lines).encode("utf-8"), dtype=np.uint8)


def save_model(model: Model, path: str | Path, info: dict) -> None:
    """Write the model as an .npz of plain arrays, byte-identical for the same model."""
    arrays = {
        "labels": _text_array(model.labels),
        "vocabulary": _text_array(sorted(model.vocabulary, key=model.vocabulary.__getitem__)),
        "idf": model.idf.astype(np.float32),
        "coef": model.coef.astype(np.float16),
        "intercept": model.intercept.astype(np.float32),
        "info": _text_array([json.dumps(info, sort_keys=True, indent=1)]),
    }
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            entry = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            zf.writestr(entry, _npy(array), compresslevel=9)
    tmp.replace(path)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def train(
    dev: str | Path = DEFAULT_DEV,
    external: str | Path | None = DEFAULT_EXTERNAL,
    out: str | Path | None = None,
    settings: Settings = Settings(),
    limit: int | None = None,
) -> tuple[Model, dict]:
    """Train from the named files and write the model (default: the committed model file).

    A missing external file is an error when it was asked for by name; `external=None`
    trains on dev alone. `limit` keeps the first papers of each file (for quick tests).
    """
    from flows.classify.model import MODEL_PATH

    sources = [("dev", Path(dev))]
    if external is not None:
        sources.append(("external", Path(external)))
    examples: list[Example] = []
    described = []
    for source, path in sources:
        rows = read_examples(path, source)[:limit]
        examples.extend(rows)
        described.append(
            {"source": source, "file": path.name, "sha256": _digest(path), "papers": len(rows)}
        )
    model = train_model(examples, settings)
    command = "kratom-watch train --dev " + str(dev)
    command += f" --external {external}" if external is not None else " --no-external"
    info = {
        "data": described,
        "settings": settings.__dict__,
        "rebuild": command,
        "features": len(model.vocabulary),
        "terms": "external rows are not in this repository (their terms); only the weights "
        "learned from them are",
    }
    save_model(model, out or MODEL_PATH, info)
    return model, info
