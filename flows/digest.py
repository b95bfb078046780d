"""The digest's data model: a window's papers grouped and ordered for reading.

`digest_from_store` turns the stored papers of a window (any size: whole records are read
only for the papers listed) and the updates to earlier ones into a `Digest`. The order is
the store's (Store.in_digest_order, in SQL); `build_digest` puts papers held in memory
through the same order. The forms (HTML, text, Markdown, CSV, RIS, archive, feed) are
renderers over this model in flows.render, flows.exports and flows.archive.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import quote

from markupsafe import Markup

from flows.designs import DESIGNS, Design, design
from flows.findings import StudySize
from flows.markup import one_line, plain_text, safe_html
from flows.models import Paper
from flows.store import Store
from flows.updates import UPDATE_KINDS

# Below this confidence the label reads "probably <design>".
CONFIDENT = 0.6
# The HTML, text and Markdown digests (and the feed) list at most this many papers, the
# strongest evidence first; the counts, the CSV and the RIS cover every paper. A backfill's
# 100,000 papers make an e-mail nobody reads, and rendering them would hold them all in memory.
LIST_LIMIT = 500
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
    title_text: str
    authors: str
    design: Design
    label: str  # the design's name, "probably ..." when the classifier is unsure
    evidence: str  # the phrase that decided the design
    finding: str  # what the paper found or, for a review or opinion, claims
    size: str = ""  # "4,945 respondents", "" when the abstract states none
    depression: str = ""  # the phrase that makes it about depression (relevant papers)
    not_depression: str = ""  # why depression words do not make it so (other papers)
    journal: str = ""
    pubmed_url: str = ""
    doi_url: str = ""  # empty unless the DOI looks like one

    @property
    def title_html(self) -> Markup:
        """The title as safe HTML (inline markup kept): only the HTML forms ask for it, and
        the CSV and RIS of a backfill read 100,000 views."""
        return safe_html(one_line(self.paper.title))

    @property
    def design_line(self) -> str:
        return design_line(self.label, self.size)

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


@dataclass(frozen=True)
class SearchNote:
    """How the digest was made, so anyone can run the same search and check it."""

    query: str  # the topic query
    term: str  # what was sent to PubMed: the query AND the window on [crdt]
    generated: str  # when the digest was written (UTC, "2026-12-01 07:00 UTC")
    classifier_version: str
    kind: str = "manual"  # "scheduled": new since the last digest
    found: int = 0  # records the search found for the window
    already_sent: int = 0  # of those, in earlier digests and left out (scheduled runs)

    # Why the window is on the created date: said with every digest.
    field_note = (
        "[crdt] is the date a record was created in PubMed: publication dates miss "
        "ahead-of-print and late-entered papers, and NCBI's alert date hides records entered "
        "more than a year after publication"
    )

    @property
    def pubmed_url(self) -> str:
        return "https://pubmed.ncbi.nlm.nih.gov/?term=" + quote(self.term, safe="")

    @property
    def made(self) -> str:
        return f"Written {self.generated} by kratom-watch, classifier {self.classifier_version}."

    @property
    def since_last(self) -> str:
        """For a scheduled digest: what "new since the last digest" meant this time."""
        if self.kind != "scheduled":
            return ""
        return (
            f"New since the last digest: the window searched (it overlaps the last one, to "
            f"catch records PubMed dates late) held {self.found:,} records; "
            f"{self.already_sent:,} were in earlier digests and are left out."
        )


@dataclass
class Digest:
    since: date
    until: date
    search: SearchNote | None = None  # None for digests built outside a run (tests, tools)
    # The store the papers are read from: open until every form is written.
    store: Store | None = None
    base_url: str | None = None  # where reports/ is served: links in the e-mail
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
    def period(self) -> str:
        return period(self.since, self.until)

    @property
    def headline(self) -> str:
        """What the window held, honestly counted (the quiet-week wording is _quiet.txt's)."""
        s = "s" if self.count != 1 else ""
        found = f"{self.count} new paper{s} entered PubMed"
        if self.search is not None and self.search.already_sent:
            found = (
                f"PubMed listed {self.search.found:,} records; {self.search.already_sent:,} "
                f"were in earlier digests and are left out; {self.count} new paper{s}"
            )
        return f"{found}, {self.relevant_count} about depression or mood."

    @property
    def limit_note(self) -> str:
        """Said when the digest does not list every paper, so nobody takes it for all of them."""
        if not self.unlisted:
            return ""
        return (
            f"This digest lists the first {len(self.papers):,} papers, strongest evidence first; "
            f"the CSV and RIS files hold all {self.count:,}."
        )


def period(since: date, until: date) -> str:
    """A window as a reader names it (templates/_quiet.txt): "this week" for seven days."""
    return "this week" if (until - since).days == 6 else "in this window"


def build_digest(
    papers: Iterable[Paper],
    since: date,
    until: date,
    updates: Sequence[PaperUpdate] = (),
    limit: int = LIST_LIMIT,
) -> Digest:
    """The digest of papers held in memory (tests, one-off renders), in the store's order."""
    papers = list(papers)
    store = Store(":memory:")  # kept open by the digest, which reads records from it
    store.upsert_papers(papers)
    return digest_from_store(store, [p.pmid for p in papers], since, until, updates, limit)


def digest_from_store(
    store: Store,
    pmids: Iterable[str],
    since: date,
    until: date,
    updates: Sequence[PaperUpdate] = (),
    limit: int = LIST_LIMIT,
    search: SearchNote | None = None,
) -> Digest:
    """The digest of stored papers, reading whole records only for the ones it lists.

    The CSV and RIS read the rest from `store` in chunks while they are written, so a window
    of any size renders in bounded memory; `store` must stay open until render_digest is done.
    """
    rows = store.in_digest_order(pmids)
    digest = _assemble(rows, store.papers, since, until, updates, limit)
    digest.search, digest.store = search, store
    return digest


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
    for update in sorted(updates, key=lambda u: (kinds.index(u.kind), pmid_key(u.paper.pmid))):
        digest.updates.append(
            UpdateView(
                kind=update.kind,
                heading=UPDATE_KINDS[update.kind],
                detail=one_line(update.detail),
                view=_view(update.paper),
            )
        )
    return digest


# Records read from the store at a time while the CSV and RIS are written.
_CHUNK = 500


def pmid_key(pmid: str) -> tuple[int, str]:
    """PMIDs in number order (a non-number, which PubMed never gives, first)."""
    return (int(pmid), "") if pmid.isdigit() else (0, pmid)


def design_label(heading: str, confidence: float) -> str:
    """A design's heading, as "probably ..." when the classifier was not confident."""
    return heading if confidence >= CONFIDENT else f"probably {heading[0].lower()}{heading[1:]}"


def design_line(label: str, size: str) -> str:
    """The label and the study's size: "Cross-sectional / survey · 4,945 respondents"."""
    return f"{label} · {size}" if size else label


def _view(paper: Paper) -> PaperView:
    d = design(paper.design)
    label = design_label(d.heading, paper.confidence)
    return PaperView(
        paper=paper,
        title_text=one_line(plain_text(paper.title)),
        authors=one_line(short_authors(paper.authors)),
        design=d,
        label=label,
        evidence=one_line(paper.evidence[0]) if paper.evidence else "",
        finding=one_line(paper.finding),
        size=size_text(paper.study_size, paper.study_size_unit),
        depression=one_line(paper.depression_evidence),
        not_depression="" if paper.depression_relevant else _not_depression(paper),
        journal=one_line(paper.journal),
        pubmed_url=paper.pubmed_url,
        doi_url=doi_url(paper.doi),
    )


def _not_depression(paper: Paper) -> str:
    # The classifier names a reason when depression words occur but do not count.
    return one_line(paper.depression_reason) or "no depression or mood outcome"


def size_text(n: int | None, unit: str) -> str:
    """ "4,945 respondents", "1 patient"; "" when no size is known."""
    return str(StudySize(n, unit, "")) if n is not None and unit else ""


def doi_url(doi: str) -> str:
    """The doi.org link for a DOI, or "" when the value does not look like a DOI."""
    doi = doi.strip()
    if not _DOI.fullmatch(doi):
        return ""
    return "https://doi.org/" + quote(doi, safe=_DOI_URL_SAFE)


def short_authors(authors: list[str]) -> str:
    if not authors:
        return "No authors listed"
    if len(authors) <= 3:
        return ", ".join(authors)
    return ", ".join(authors[:3]) + " et al."
