"""The digest of a window: grouping and ordering in Python, presentation in templates/.

`build_digest` turns a window's papers (and updates to earlier ones) into a `Digest`;
`render_digest` writes every form of it into the reports folder and rebuilds the archive
(flows.archive). Markdown and RIS helpers live in flows.exports, the chart in flows.chart.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import quote

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from flows import archive, chart, exports
from flows.designs import DESIGNS, Design, design
from flows.errors import KratomWatchError
from flows.markup import plain_text, safe_html
from flows.models import Paper, YearDesign

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
# What can happen to a paper after an earlier digest listed it, most serious first.
UPDATE_KINDS: dict[str, str] = {
    "retracted": "Retracted",
    "erratum": "Erratum",
    "comment": "Comment",
    "relabelled": "Label changed",
}
# A DOI as registered: "10.<registrant>/<suffix>", no scheme, no spaces. Anything else in the
# doi field is shown as text and never linked.
_DOI = re.compile(r"10\.\d{4,9}/\S+")
# Characters a DOI may keep in a URL; everything else (quotes, <, >, #, ?, %) is percent-encoded.
_DOI_URL_SAFE = "/:;()[]._-~!$*+,=@"


@dataclass(frozen=True)
class PaperUpdate:
    """News about a paper an earlier digest listed (produced by the pipeline from the store)."""

    paper: Paper
    kind: str  # one of UPDATE_KINDS
    detail: str  # "narrative review → systematic review", "Retraction in: Addiction 2026"

    def __post_init__(self) -> None:
        if self.kind not in UPDATE_KINDS:
            raise ValueError(f"unknown update kind {self.kind!r}")


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
    journal: str = ""
    pubmed_url: str = ""
    doi_url: str = ""  # empty unless the DOI looks like one

    @property
    def authors_sentence(self) -> str:
        """The authors ending in one full stop ("... et al." has its own)."""
        return self.authors if self.authors.endswith(".") else f"{self.authors}."


@dataclass
class UpdateView:
    kind: str
    heading: str
    detail: str
    view: PaperView


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
    updates: list[UpdateView] = field(default_factory=list)

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
    def other_count(self) -> int:
        return self.count - self.relevant_count

    @property
    def design_counts(self) -> list[tuple[Design, int]]:
        counts = {d.label: 0 for d in DESIGNS}
        for view in self.papers:
            counts[view.design.label] += 1
        return [(d, counts[d.label]) for d in DESIGNS if counts[d.label]]

    @property
    def design_table(self) -> list[tuple[Design, int, int]]:
        """(design, about depression, other) for each design present, in evidence rank."""
        relevant = {s.design.label: len(s.papers) for s in self.relevant}
        other = {s.design.label: len(s.papers) for s in self.other}
        return [(d, relevant.get(d.label, 0), other.get(d.label, 0)) for d, _ in self.design_counts]

    @property
    def stem(self) -> str:
        return f"kratom-watch_{self.since.isoformat()}_{self.until.isoformat()}"

    @property
    def title(self) -> str:
        return f"kratom-watch: new kratom research, {self.since} to {self.until}"

    @property
    def headline(self) -> str:
        """One line that tells a quiet week from a broken run."""
        if not self.count:
            return "No new papers this week."
        s = "s" if self.count != 1 else ""
        return (
            f"{self.count} new paper{s} entered PubMed, "
            f"{self.relevant_count} about depression or mood."
        )


def build_digest(
    papers: Iterable[Paper], since: date, until: date, updates: Sequence[PaperUpdate] = ()
) -> Digest:
    """Depression-relevant papers first, each group in sections by evidence rank."""
    papers = list(papers)
    digest = Digest(since=since, until=until)
    for relevant, sections in ((True, digest.relevant), (False, digest.other)):
        for d in DESIGNS:
            chosen = [
                p for p in papers if p.depression_relevant == relevant and p.design == d.label
            ]
            chosen.sort(key=lambda p: (p.entry_date or date.min, _pmid_key(p.pmid)), reverse=True)
            if chosen:
                sections.append(Section(design=d, papers=[_view(p) for p in chosen]))
    kinds = list(UPDATE_KINDS)
    for update in sorted(updates, key=lambda u: (kinds.index(u.kind), _pmid_key(u.paper.pmid))):
        digest.updates.append(
            UpdateView(
                kind=update.kind,
                heading=UPDATE_KINDS[update.kind],
                detail=_one_line(update.detail),
                view=_view(update.paper),
            )
        )
    return digest


def _pmid_key(pmid: str) -> tuple[int, str]:
    return (int(pmid), "") if pmid.isdigit() else (0, pmid)


def _view(paper: Paper) -> PaperView:
    d = design(paper.design)
    name = d.heading
    label = name if paper.confidence >= CONFIDENT else f"probably {name[0].lower()}{name[1:]}"
    return PaperView(
        paper=paper,
        title_html=safe_html(_one_line(paper.title)),
        title_text=_one_line(plain_text(paper.title)),
        authors=_one_line(short_authors(paper.authors)),
        design=d,
        label=label,
        evidence=_one_line(paper.evidence[0]) if paper.evidence else "",
        snippet=snippet(paper),
        journal=_one_line(paper.journal),
        pubmed_url=f"https://pubmed.ncbi.nlm.nih.gov/{quote(paper.pmid, safe='')}/",
        doi_url=doi_url(paper.doi),
    )


def doi_url(doi: str) -> str:
    """The doi.org link for a DOI, or "" when the value does not look like a DOI."""
    doi = doi.strip()
    if not _DOI.fullmatch(doi):
        return ""
    return "https://doi.org/" + quote(doi, safe=_DOI_URL_SAFE)


def _one_line(text: str) -> str:
    """Whitespace collapsed: a stray newline cannot start a new line in text, Markdown or RIS."""
    return " ".join(text.split())


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
    return _one_line(" ".join(parts[:sentences]))


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    exports.add_markdown_filters(env)
    return env


def _markdown_environment() -> Environment:
    """Markdown has no autoescape in Jinja: every value is escaped unless marked as Markdown."""
    env = _environment()
    env.finalize = exports.markdown_finalize
    return env


def render_html(digest: Digest) -> str:
    """The HTML digest with its CSS inlined, as mail clients want it.

    The <style> block is dropped after inlining: the layout is a fluid single column that
    needs no media query, so the inline styles are the whole design and a client that
    strips <style> (Gmail apps, Outlook) shows the same page as a browser.
    """
    html = _environment().get_template("digest.html").render(digest=digest)
    inlined = css_inline.CSSInliner(load_remote_stylesheets=False).inline(html)
    return _TAG_OR_TEXT.sub(_quote_text, inlined)


# A tag (quoted attribute values may hold ">") or a run of text between tags.
_TAG_OR_TEXT = re.compile(r"""<(?:[^>"']|"[^"]*"|'[^']*')*>|[^<]+""")


def _quote_text(match: re.Match) -> str:
    """Put back the &#34; that css-inline's serializer decodes in text.

    Harmless to a browser either way, but a record's `href="javascript:..."` shown as text
    should not appear verbatim in the file, where a mail filter or a grep would take it for
    markup.
    """
    piece = match.group()
    return piece if piece.startswith("<") else piece.replace('"', "&#34;")


def render_digest(
    digest: Digest, reports_dir: Path, store_papers: Iterable[Paper | YearDesign] | None = None
) -> list[Path]:
    """Write every form of a digest, then rebuild the archive; return the paths written.

    The window's files come first (html, txt, md, csv, ris, png), then reports/index.html and
    reports/feed.xml. `store_papers` (every paper in the store, or just its year and design)
    feeds the chart; without it the chart shows the digest's own papers. Same inputs,
    byte-identical files.
    """
    reports_dir = Path(reports_dir)
    env = _environment()
    if store_papers is None:
        chart_papers, chart_title = [v.paper for v in digest.papers], "Papers in this digest"
    else:
        chart_papers, chart_title = list(store_papers), "All papers in the store"
    # Rendered one at a time and written at once: a backfill's digest is large, and holding
    # all six forms together multiplied the peak memory (flows/bench.py memory).
    renderers: dict[str, Callable[[], str | bytes]] = {
        ".html": lambda: render_html(digest),
        ".txt": lambda: env.get_template("digest.txt").render(digest=digest),
        ".md": lambda: _markdown_environment().get_template("digest.md").render(digest=digest),
        ".csv": lambda: digest_csv(digest),
        ".ris": lambda: exports.digest_ris(digest),
        ".png": lambda: chart.design_chart_png(chart_papers, chart_title),
    }
    try:
        reports_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for suffix, render in renderers.items():
            path = reports_dir / f"{digest.stem}{suffix}"
            _write_atomically(path, render())
            paths.append(path)
        # The sidecar last: the archive lists a digest only once all its files are there.
        _write_atomically(reports_dir / f"{digest.stem}.json", archive.sidecar(digest))
        index, feed = archive.render_archive(reports_dir, env)
        for path, content in (
            (reports_dir / "index.html", index),
            (reports_dir / "feed.xml", feed),
        ):
            _write_atomically(path, content)
            paths.append(path)
    except OSError as error:
        raise KratomWatchError(
            f"cannot write the digest into {reports_dir}: {error.strerror or error}"
        ) from None
    return paths


def _csv_cell(value: str) -> str:
    # A spreadsheet runs a cell starting with = + - @ as a formula; a leading ' keeps it text.
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def digest_csv(digest: Digest) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for view in digest.papers:
        p = view.paper
        row = [
            p.pmid,
            view.title_text,
            "; ".join(p.authors),
            p.journal,
            str(p.pub_year or ""),
            p.entry_date.isoformat() if p.entry_date else "",
            p.doi,
            p.design,
            view.design.heading,
            str(p.depression_relevant).lower(),
            view.evidence,
            f"{p.confidence:.2f}",
            view.pubmed_url,
        ]
        writer.writerow([_csv_cell(cell) for cell in row])
    return out.getvalue()


def _write_atomically(path: Path, content: str | bytes) -> None:
    """Readers (a mail step, a web server) never see half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        if isinstance(content, bytes):
            with os.fdopen(fd, "wb") as f:
                f.write(content)
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                f.write(content)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a web server must be able to read reports
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
