"""The digest of a window: grouping and ordering in Python, presentation in templates/.

`build_digest` (papers in memory) or `digest_from_store` (a window of any size) turns a
window's papers and the updates to earlier ones into a `Digest`;
`render_digest` writes every form of it into the reports folder and rebuilds the archive
(flows.archive). Markdown and RIS helpers live in flows.exports, the chart in flows.chart.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING
from urllib.parse import quote

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from flows import archive, chart, exports
from flows.designs import DESIGNS, Design, design
from flows.errors import KratomWatchError
from flows.markup import plain_text, safe_html
from flows.models import Paper, YearDesign

if TYPE_CHECKING:
    from flows.store import Store

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# Below this confidence the label reads "probably <design>".
CONFIDENT = 0.6
# The HTML, text and Markdown digests (and the feed) list at most this many papers, the
# strongest evidence first; the counts, the CSV and the RIS cover every paper. A backfill's
# 100,000 papers make an e-mail nobody reads, and rendering them would hold them all in memory.
LIST_LIMIT = 500
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
    total: int  # papers of this design in the window
    papers: list[PaperView]  # the ones listed: all of them, unless the digest hit its limit

    @property
    def unlisted(self) -> int:
        return self.total - len(self.papers)


def _no_papers() -> Iterator[Paper]:
    return iter(())


@dataclass
class Digest:
    since: date
    until: date
    relevant: list[Section] = field(default_factory=list)
    other: list[Section] = field(default_factory=list)
    updates: list[UpdateView] = field(default_factory=list)
    # Every paper of the window in digest order, read when the CSV and RIS are written
    # (from the store in chunks, for a digest built by digest_from_store).
    every_paper: Callable[[], Iterator[Paper]] = _no_papers

    @property
    def papers(self) -> list[PaperView]:
        """The papers listed, in digest order (at most LIST_LIMIT of them)."""
        return [p for s in self.relevant + self.other for p in s.papers]

    def every_view(self) -> Iterator[PaperView]:
        """Every paper of the window, listed or not, in digest order (for the CSV and RIS)."""
        return (_view(p) for p in self.every_paper())

    @property
    def count(self) -> int:
        return sum(s.total for s in self.relevant + self.other)

    @property
    def relevant_count(self) -> int:
        return sum(s.total for s in self.relevant)

    @property
    def other_count(self) -> int:
        return self.count - self.relevant_count

    @property
    def other_unlisted(self) -> int:
        return sum(s.unlisted for s in self.other)

    @property
    def unlisted(self) -> int:
        return sum(s.unlisted for s in self.relevant + self.other)

    @property
    def design_counts(self) -> list[tuple[Design, int]]:
        counts = {d.label: 0 for d in DESIGNS}
        for section in self.relevant + self.other:
            counts[section.design.label] += section.total
        return [(d, counts[d.label]) for d in DESIGNS if counts[d.label]]

    @property
    def design_table(self) -> list[tuple[Design, int, int]]:
        """(design, about depression, other) for each design present, in evidence rank."""
        relevant = {s.design.label: s.total for s in self.relevant}
        other = {s.design.label: s.total for s in self.other}
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

    @property
    def limit_note(self) -> str:
        """Said when the digest does not list every paper, so nobody takes it for all of them."""
        if not self.unlisted:
            return ""
        return (
            f"This digest lists the first {len(self.papers):,} papers, strongest evidence first; "
            f"the CSV and RIS files hold all {self.count:,}."
        )


def digest_order(papers: Iterable[Paper]) -> list[Paper]:
    """Depression-relevant first, then by evidence rank; newest entry (then PMID) first.

    Store.in_digest_order sorts stored papers the same way in SQL.
    """
    ordered = sorted(
        papers, key=lambda p: (p.entry_date or date.min, _pmid_key(p.pmid)), reverse=True
    )
    ordered.sort(key=lambda p: (not p.depression_relevant, design(p.design).rank))
    return ordered


def build_digest(
    papers: Iterable[Paper],
    since: date,
    until: date,
    updates: Sequence[PaperUpdate] = (),
    limit: int = LIST_LIMIT,
) -> Digest:
    """The digest of papers in memory: depression-relevant first, in sections by evidence rank."""
    ordered = digest_order(papers)
    by_pmid = {p.pmid: p for p in ordered}
    rows = ((p.pmid, p.design, p.depression_relevant) for p in ordered)
    return _assemble(rows, lambda pmids: [by_pmid[p] for p in pmids], since, until, updates, limit)


def digest_from_store(
    store: Store,
    pmids: Iterable[str],
    since: date,
    until: date,
    updates: Sequence[PaperUpdate] = (),
    limit: int = LIST_LIMIT,
) -> Digest:
    """The digest of stored papers, reading whole records only for the ones it lists.

    The CSV and RIS read the rest from `store` in chunks while they are written, so a window
    of any size renders in bounded memory; `store` must stay open until render_digest is done.
    """
    return _assemble(store.in_digest_order(pmids), store.papers, since, until, updates, limit)


def _assemble(
    rows: Iterable[tuple[str, str, bool]],
    whole: Callable[[Sequence[str]], Iterable[Paper]],
    since: date,
    until: date,
    updates: Sequence[PaperUpdate],
    limit: int,
) -> Digest:
    """The digest of (pmid, design, relevant) rows in digest order; `whole` reads records."""
    order: list[str] = []
    groups: list[tuple[bool, str, int, list[str]]] = []  # relevant, design, total, listed
    for (label, relevant), group in itertools.groupby(rows, key=lambda row: row[1:]):
        first = len(order)
        order.extend(pmid for pmid, _, _ in group)
        groups.append((relevant, label, len(order) - first, order[first : min(len(order), limit)]))

    def every_paper() -> Iterator[Paper]:
        for start in range(0, len(order), _CHUNK):
            yield from whole(order[start : start + _CHUNK])

    listed = {p.pmid: p for p in whole(order[:limit])}
    digest = Digest(since=since, until=until, every_paper=every_paper)
    for relevant, label, total, pmids in groups:
        sections = digest.relevant if relevant else digest.other
        views = [_view(listed[p]) for p in pmids]
        sections.append(Section(design=design(label), total=total, papers=views))
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


# Records read from the store at a time while the CSV and RIS are written.
_CHUNK = 500


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
    env.filters["thousands"] = "{:,}".format  # 12345 -> "12,345"
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
        chart_papers, chart_title = digest.every_paper(), "Papers in this digest"
    else:
        chart_papers, chart_title = list(store_papers), "All papers in the store"
    # Rendered one at a time, and the CSV and RIS straight into their files: a backfill's
    # digest is large, and holding all its forms at once multiplied the peak memory
    # (flows/bench.py memory).
    writers: dict[str, Callable[[IO], None]] = {
        ".html": lambda f: f.write(render_html(digest)),
        ".txt": lambda f: f.write(env.get_template("digest.txt").render(digest=digest)),
        ".md": lambda f: f.write(
            _markdown_environment().get_template("digest.md").render(digest=digest)
        ),
        ".csv": lambda f: write_csv(digest, f),
        ".ris": lambda f: exports.write_ris(digest, f),
        ".png": lambda f: f.write(chart.design_chart_png(chart_papers, chart_title)),
    }
    try:
        reports_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for suffix, write in writers.items():
            path = reports_dir / f"{digest.stem}{suffix}"
            _write_atomically(path, write, binary=suffix == ".png")
            paths.append(path)
        # The sidecar last: the archive lists a digest only once all its files are there.
        sidecar = archive.sidecar(digest)
        _write_atomically(reports_dir / f"{digest.stem}.json", lambda f: f.write(sidecar))
        index, feed = archive.render_archive(reports_dir, env)
        for path, content in (
            (reports_dir / "index.html", index),
            (reports_dir / "feed.xml", feed),
        ):
            _write_atomically(path, lambda f, content=content: f.write(content))
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
    write_csv(digest, out)
    return out.getvalue()


def write_csv(digest: Digest, out: IO[str]) -> None:
    """Every paper of the digest, listed or not, one row each in digest order."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for view in digest.every_view():
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


def _write_atomically(path: Path, write: Callable[[IO], None], binary: bool = False) -> None:
    """Readers (a mail step, a web server) never see half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        if binary:
            with os.fdopen(fd, "wb") as f:
                write(f)
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                write(f)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a web server must be able to read reports
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
