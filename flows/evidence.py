"""The evidence so far: what the store holds on kratom and depression, whatever the week.

reports/evidence.html answers what a clinician or journalist comes to ask ("is there a
randomised trial?", "what is the strongest evidence?") from every paper in the store, not
from one digest. Every statement on it is computed here from the store's counts; the
template only lays them out. Sizes and findings are the ones flows.findings read from each
abstract (stored with the paper).

`paper_card` is a paper as the evidence page and the Atom feed (flows.archive) show it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from markupsafe import Markup

from flows.designs import BY_LABEL, DESIGNS, LABELS, Design
from flows.digest import Digest, design_label, design_line, doi_url, pmid_key, short_authors
from flows.findings import StudySize, finding, study_size
from flows.markup import one_line, plain_text, safe_html
from flows.models import Paper
from flows.store import Store
from flows.updates import UPDATE_KINDS

# How many count a reader is told of, singular and plural: the digest headings are titles
# ("Cross-sectional / survey"), these read inside a sentence ("14 cross-sectional surveys").
NOUNS: dict[str, tuple[str, str]] = {
    "systematic_review": (
        "systematic review or meta-analysis",
        "systematic reviews or meta-analyses",
    ),
    "rct": ("randomised controlled trial", "randomised controlled trials"),
    "non_randomised_trial": (
        "non-randomised or experimental human study",
        "non-randomised or experimental human studies",
    ),
    "cohort": ("cohort study", "cohort studies"),
    "case_control": ("case-control study", "case-control studies"),
    "cross_sectional": ("cross-sectional survey or study", "cross-sectional surveys or studies"),
    "qualitative": ("qualitative study", "qualitative studies"),
    "case_report": ("case report or series", "case reports or series"),
    "narrative_review": ("narrative review", "narrative reviews"),
    "animal": ("animal study", "animal studies"),
    "in_vitro": ("in vitro or laboratory study", "in vitro or laboratory studies"),
    "opinion": ("editorial, commentary or letter", "editorials, commentaries or letters"),
    "other": ("other or unclear paper", "other or unclear papers"),
}
if sorted(NOUNS) != sorted(LABELS):
    raise RuntimeError("NOUNS must name every label of flows.designs")

# What kind of evidence a design gives, for the sentence that splits the papers up.
HUMAN_DATA = frozenset(
    {"rct", "non_randomised_trial", "cohort", "case_control", "cross_sectional", "qualitative"}
    | {"case_report"}
)
PRECLINICAL = frozenset({"animal", "in_vitro"})
# The strongest depression-relevant papers listed on the page.
STRONGEST_LISTED = 20
# How many designs "the strongest designs are: ..." names, and how many trials by title.
DESIGNS_NAMED = 3
TRIALS_NAMED = 5
# Where a backfill starts: the first kratom papers in PubMed's electronic record.
BACKFILL_FROM = date(2000, 1, 1)
RETRACTED_TYPE = "Retracted Publication"


def counted(n: int, label: str) -> str:
    """ "1 cohort study", "14 cohort studies"."""
    one, many = NOUNS[label]
    return f"{n:,} {one if n == 1 else many}"


def _is(n: int) -> str:
    return "is" if n == 1 else "are"


def digest_name(since: date, until: date) -> str:
    """The file name of the HTML digest of a window."""
    return f"{Digest(since=since, until=until).stem}.html"


# A paper as the page and the feed show it


@dataclass(frozen=True)
class PaperCard:
    pmid: str
    title_html: Markup
    title_text: str
    design: str  # its label (flows.designs)
    label: str  # the design's name, "probably ..." when the classifier is unsure
    size: str  # "4,945 respondents", "" when the abstract states none
    finding: str
    relevant: bool
    why: str  # the phrase that makes it about depression, or why it is not
    authors: str
    journal: str
    year: str
    pubmed_url: str
    doi: str
    doi_url: str
    updates: tuple[tuple[str, str], ...] = ()  # (heading, detail), oldest first
    digest_href: str = ""  # the digest that first listed it, when its file is there
    digest_window: str = ""  # "2026-11-02 to 2026-11-08"

    @property
    def design_line(self) -> str:
        return design_line(self.label, self.size)

    @property
    def retracted(self) -> bool:
        return any(heading == UPDATE_KINDS["retracted"] for heading, _ in self.updates)


def size_of(paper: Paper) -> StudySize | None:
    """The stored study size, or (a paper stored before sizes were read) one read now."""
    if paper.study_size is not None:
        return StudySize(paper.study_size, paper.study_size_unit, paper.study_size_phrase)
    if paper.finding:
        return None  # read when it was stored: the abstract states none
    return study_size(paper.abstract_text, paper.design)


def finding_of(paper: Paper) -> str:
    return paper.finding or finding(paper.abstract, paper.design)


def paper_card(
    paper: Paper,
    updates: Sequence[tuple[str, str]] = (),
    digest: tuple[str, str] = ("", ""),
) -> PaperCard:
    """`updates` as (kind, detail); `digest` as (href, window) of the digest that listed it."""
    name = BY_LABEL[paper.design].heading if paper.design in BY_LABEL else "Not yet labelled"
    label = design_label(name, paper.confidence)
    size = size_of(paper)
    if RETRACTED_TYPE in paper.publication_types and not any(k == "retracted" for k, _ in updates):
        updates = [*updates, ("retracted", "PubMed marks it retracted")]
    return PaperCard(
        pmid=paper.pmid,
        title_html=safe_html(one_line(paper.title)),
        title_text=one_line(plain_text(paper.title)),
        design=paper.design,
        label=label,
        size=str(size) if size else "",
        finding=one_line(finding_of(paper)),
        relevant=paper.depression_relevant,
        why=one_line(
            paper.depression_evidence if paper.depression_relevant else paper.depression_reason
        ),
        authors=one_line(short_authors(paper.authors)),
        journal=one_line(paper.journal),
        year=str(paper.pub_year or ""),
        pubmed_url=paper.pubmed_url,
        doi=one_line(paper.doi),
        doi_url=doi_url(paper.doi),
        updates=tuple((UPDATE_KINDS[k], one_line(d)) for k, d in updates if k in UPDATE_KINDS),
        digest_href=digest[0],
        digest_window=digest[1],
    )


# The page's model


@dataclass(frozen=True)
class DesignCount:
    design: Design
    relevant: int
    other: int

    @property
    def total(self) -> int:
        return self.relevant + self.other


@dataclass(frozen=True)
class YearRow:
    year: str  # "2024", or "year unknown"
    papers: int
    designs: str  # "Cross-sectional / survey 3 · Cohort study 1", strongest first


@dataclass
class Evidence:
    as_of: date
    papers: int  # every paper in the store
    relevant: int  # of those, about depression or mood
    designs: list[DesignCount]  # every design, in evidence rank
    statements: list[str]  # the plain sentences, most asked-for first
    coverage: list[str]  # what the store's searches covered
    backfill: str  # the command that would complete the store, "" when it is complete
    strongest: list[PaperCard]  # the strongest depression-relevant papers
    years: list[YearRow] = field(default_factory=list)  # depression-relevant, newest first

    @property
    def unlisted(self) -> int:
        return self.relevant - len(self.strongest)


def evidence_from_store(
    store: Store,
    as_of: date,
    reports_dir: Path | None = None,
    searching: tuple[date, date] | None = None,
) -> Evidence:
    """The state of the evidence in `store` as of a day. With `reports_dir`, each listed paper
    links to the digest that first listed it, when that file is there. `searching` is the
    window of the run writing the page: stored by now, though the run has not completed."""
    counts = {(label, relevant): n for label, relevant, n in store.design_relevance_counts()}
    designs = [
        DesignCount(d, counts.get((d.label, True), 0), counts.get((d.label, False), 0))
        for d in DESIGNS
    ]

    @cache
    def relevant_of(label: str) -> list[Paper]:
        """The papers of a design about depression or mood, largest first: read once for the
        list and the statements."""
        return largest_first(store.papers_of_design(label, relevant=True))

    strongest = _strongest(store, designs, relevant_of, reports_dir)
    statements = [
        _trials_statement(store, designs, relevant_of, as_of),
        _reviews_statement(designs),
        _kinds_statement(designs),
        _retractions_statement(strongest),
    ]
    coverage, backfill = _coverage(store, as_of, searching)
    return Evidence(
        as_of=as_of,
        papers=sum(counts.values()),
        relevant=sum(d.relevant for d in designs),
        designs=designs,
        statements=[s for s in statements if s],
        coverage=coverage,
        backfill=backfill,
        strongest=strongest,
        years=_years(store, as_of),
    )


def _strongest(
    store: Store,
    designs: list[DesignCount],
    relevant_of: Callable[[str], list[Paper]],
    reports_dir: Path | None,
) -> list[PaperCard]:
    """Best evidence rank first; within a design, the largest study, then the newest.

    Only the designs needed to fill the list are read from the store.
    """
    chosen: list[Paper] = []
    for count in designs:
        if len(chosen) >= STRONGEST_LISTED:
            break
        if not count.relevant:
            continue
        chosen.extend(relevant_of(count.design.label)[: STRONGEST_LISTED - len(chosen)])
    return cards(store, chosen, reports_dir)


def largest_first(papers: list[Paper]) -> list[Paper]:
    """Largest study first (those stating no size last), then the newest, then the highest
    PMID (the newest record)."""
    sizes = {p.pmid: size_of(p) for p in papers}
    return sorted(
        papers,
        key=lambda p: (
            sizes[p.pmid].n if sizes[p.pmid] else -1,
            p.pub_year or 0,
            pmid_key(p.pmid),
        ),
        reverse=True,
    )


def cards(store: Store, papers: list[Paper], reports_dir: Path | None) -> list[PaperCard]:
    """Cards for papers, with their updates and the digest that first listed each."""
    pmids = [p.pmid for p in papers]
    updates: dict[str, list[tuple[str, str]]] = {}
    for pmid, kind, detail, _, _ in store.updates_of(pmids):
        updates.setdefault(pmid, []).append((kind, detail))
    links = {}
    if reports_dir is not None:
        for pmid, (since, until, _) in store.first_listings(pmids).items():
            name = digest_name(since, until)
            if (reports_dir / name).exists():
                links[pmid] = (name, f"{since} to {until}")
    return [paper_card(p, updates.get(p.pmid, ()), links.get(p.pmid, ("", ""))) for p in papers]


# The sentences


def _trials_statement(
    store: Store,
    designs: list[DesignCount],
    relevant_of: Callable[[str], list[Paper]],
    as_of: date,
) -> str:
    rct = next(d for d in designs if d.design.label == "rct")
    topic = "of kratom for depression or mood"
    if rct.relevant:
        first = relevant_of("rct")[:TRIALS_NAMED]
        named = "; ".join(
            f"“{c.title_text}”" + (" (retracted)" if c.retracted else "")
            for c in cards(store, first, None)
        )
        if rct.relevant > len(first):
            named += f"; and {rct.relevant - len(first):,} more"
        text = (
            f"{counted(rct.relevant, 'rct')} {topic} {_is(rct.relevant)} in the store as of "
            f"{as_of}: {named}."
        )
    else:
        present = [d for d in designs if d.relevant][:DESIGNS_NAMED]
        text = f"No randomised controlled trial {topic} is in the store as of {as_of}; "
        if present:
            text += "the strongest designs are: "
            text += ", ".join(counted(d.relevant, d.design.label) for d in present) + "."
        else:
            text += "no paper about depression or mood is in it yet."
    if rct.other:
        other = "other randomised controlled trial" + ("" if rct.other == 1 else "s")
        text += f" {rct.other:,} {other} of kratom {_is(rct.other)} in the store, not about "
        text += "depression or mood"
        # Why not, in the classifier's words ("respiratory or CNS depression only").
        reasons = Counter(
            one_line(p.depression_reason)
            for p in store.papers_of_design("rct", relevant=False)
            if p.depression_reason.strip()
        )
        if reasons:
            text += " (" + "; ".join(f"{n:,}: {why}" for why, n in sorted(reasons.items())) + ")"
        text += "."
    return text


def _reviews_statement(designs: list[DesignCount]) -> str:
    reviews = designs[0]  # systematic reviews rank first
    if not reviews.relevant:
        return (
            "No systematic review or meta-analysis of kratom and depression or mood is in the "
            "store."
        )
    return (
        f"{counted(reviews.relevant, 'systematic_review')} about depression or mood "
        f"{_is(reviews.relevant)} in the store: listed first below."
    )


def _kinds_statement(designs: list[DesignCount]) -> str:
    relevant = sum(d.relevant for d in designs)
    if not relevant:
        return ""
    human = sum(d.relevant for d in designs if d.design.label in HUMAN_DATA)
    preclinical = sum(d.relevant for d in designs if d.design.label in PRECLINICAL)
    rest = relevant - human - preclinical
    s = "" if relevant == 1 else "s"
    return (
        f"Of the {relevant:,} paper{s} about depression or mood, {human:,} report data on "
        f"people (trials, observational and qualitative studies, case reports), "
        f"{preclinical:,} {_is(preclinical)} animal or laboratory studies and {rest:,} "
        f"{_is(rest)} reviews, opinion or other papers."
    )


def _retractions_statement(strongest: list[PaperCard]) -> str:
    retracted = [c for c in strongest if c.retracted]
    if not retracted:
        return ""
    titles = "; ".join(f"“{c.title_text}”" for c in retracted)
    n = len(retracted)
    return (
        f"{n} of the strongest papers listed below {'has' if n == 1 else 'have'} been "
        f"retracted: {titles}."
    )


def _coverage(
    store: Store, as_of: date, searching: tuple[date, date] | None
) -> tuple[list[str], str]:
    """What the store's completed searches covered, and the backfill that would complete it
    ("" when they cover every day from BACKFILL_FROM on)."""
    windows = [(r.since, r.until) for r in store.runs() if r.status == "completed"]
    windows = sorted(windows + ([searching] if searching else []))
    merged: list[list[date]] = []
    for since, until in windows:
        if merged and since <= merged[-1][1] + timedelta(days=1):
            merged[-1][1] = max(merged[-1][1], until)
        else:
            merged.append([since, until])
    backfill = f"kratom-watch run --since {BACKFILL_FROM} --until {as_of} --no-email"
    if not merged:
        return ["No search has completed yet: the store holds no searched window."], backfill
    ranges = " and ".join(f"{a} to {b}" for a, b in merged)
    said = f"The store's searches covered the papers created in PubMed from {ranges}."
    if len(merged) == 1 and merged[0][0] <= BACKFILL_FROM:
        return [said, f"That is every paper since {BACKFILL_FROM} up to {merged[0][1]}."], ""
    return [said, "Papers created in PubMed on other days are not counted here."], backfill


def _years(store: Store, as_of: date) -> list[YearRow]:
    from flows import chart  # the plausible-year rule is the chart's

    latest = chart.latest_plausible_year(as_of)
    by_year: dict[int | None, dict[str, int]] = {}
    for row in store.years_and_designs(relevant=True):
        year = row.pub_year if chart.plausible(row.pub_year, latest) else None
        by_year.setdefault(year, {}).setdefault(row.design, 0)
        by_year[year][row.design] += row.papers
    rows = []
    for year in sorted(by_year, key=lambda y: -1 if y is None else y, reverse=True):
        labels = by_year[year]
        designs = " · ".join(f"{d.heading} {labels[d.label]}" for d in DESIGNS if d.label in labels)
        rows.append(YearRow(str(year) if year else "year unknown", sum(labels.values()), designs))
    return rows
