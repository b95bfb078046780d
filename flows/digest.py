"""The digest of a window: grouping and ordering in Python, presentation in templates/."""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from flows.designs import DESIGNS, Design, design
from flows.errors import KratomWatchError
from flows.markup import plain_text, safe_html
from flows.models import Paper

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# Below this confidence the label reads "probably <design>".
CONFIDENT = 0.6
CSV_COLUMNS = (
    "pmid",
    "title",
    "authors",
    "journal",
    "year",
    "entry_date",
    "doi",
    "design",
    "design_name",
    "depression_relevant",
    "evidence",
    "confidence",
    "pubmed_url",
)


@dataclass
class PaperView:
    paper: Paper
    title_html: Markup
    title_text: str
    authors: str
    design: Design
    label: str
    evidence: str
    snippet: str


@dataclass
class Section:
    design: Design
    papers: list[PaperView]


@dataclass
class Digest:
    since: date
    until: date
    relevant: list[Section] = field(default_factory=list)
    other: list[Section] = field(default_factory=list)

    @property
    def papers(self) -> list[PaperView]:
        return [p for s in self.relevant + self.other for p in s.papers]

    @property
    def count(self) -> int:
        return len(self.papers)

    @property
    def relevant_count(self) -> int:
        return sum(len(s.papers) for s in self.relevant)

    @property
    def design_counts(self) -> list[tuple[Design, int]]:
        counts = {d.label: 0 for d in DESIGNS}
        for view in self.papers:
            counts[view.design.label] += 1
        return [(d, counts[d.label]) for d in DESIGNS if counts[d.label]]

    @property
    def stem(self) -> str:
        return f"kratom-watch_{self.since.isoformat()}_{self.until.isoformat()}"


def build_digest(papers: list[Paper], since: date, until: date) -> Digest:
    """Depression-relevant papers first, each group in sections by evidence rank."""
    digest = Digest(since=since, until=until)
    for relevant, sections in ((True, digest.relevant), (False, digest.other)):
        for d in DESIGNS:
            chosen = [
                p for p in papers if p.depression_relevant == relevant and p.design == d.label
            ]
            chosen.sort(key=lambda p: (p.entry_date or date.min, p.pmid), reverse=True)
            if chosen:
                sections.append(Section(design=d, papers=[_view(p) for p in chosen]))
    return digest


def _view(paper: Paper) -> PaperView:
    d = design(paper.design)
    name = d.heading
    label = name if paper.confidence >= CONFIDENT else f"probably {name[0].lower()}{name[1:]}"
    return PaperView(
        paper=paper,
        title_html=safe_html(paper.title),
        title_text=plain_text(paper.title),
        authors=short_authors(paper.authors),
        design=d,
        label=label,
        evidence=paper.evidence[0] if paper.evidence else "",
        snippet=snippet(paper),
    )


def short_authors(authors: list[str]) -> str:
    if not authors:
        return "No authors listed"
    if len(authors) <= 3:
        return ", ".join(authors)
    return ", ".join(authors[:3]) + " et al."


def snippet(paper: Paper, sentences: int = 2) -> str:
    """Two sentences of the abstract; for structured abstracts, of the conclusion."""
    if not paper.abstract:
        return ""
    chosen = paper.abstract
    for section in reversed(paper.abstract):
        if section.label.lower().startswith(("conclusion", "interpretation", "implication")):
            chosen = [section]
            break
    text = " ".join(plain_text(s.text) for s in chosen)
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9])", text.strip())
    return " ".join(parts[:sentences])


def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_digest(digest: Digest, reports_dir: Path) -> list[Path]:
    """Write the HTML, text and CSV forms of a digest; return their paths."""
    env = _environment()
    outputs = {
        ".html": env.get_template("digest.html").render(digest=digest),
        ".txt": env.get_template("digest.txt").render(digest=digest),
        ".csv": digest_csv(digest),
    }
    try:
        reports_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for suffix, text in outputs.items():
            path = reports_dir / f"{digest.stem}{suffix}"
            _write_atomically(path, text)
            paths.append(path)
    except OSError as error:
        raise KratomWatchError(
            f"cannot write the digest into {reports_dir}: {error.strerror or error}"
        ) from None
    return paths


def digest_csv(digest: Digest) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for view in digest.papers:
        p = view.paper
        writer.writerow(
            [
                p.pmid,
                view.title_text,
                "; ".join(p.authors),
                p.journal,
                p.pub_year or "",
                p.entry_date.isoformat() if p.entry_date else "",
                p.doi,
                p.design,
                view.design.heading,
                str(p.depression_relevant).lower(),
                view.evidence,
                f"{p.confidence:.2f}",
                p.pubmed_url,
            ]
        )
    return out.getvalue()


def _write_atomically(path: Path, text: str) -> None:
    """Readers (a mail step, a web server) never see half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
