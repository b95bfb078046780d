"""The evidence page: what it states for stores built to know the answer, and how it looks.

The browser tests (marked slow) open the archive and the evidence page in Debian's headless
Chromium (tests/chromium.py), and keep screenshots outside the repository
($KRATOM_WATCH_SCREENSHOTS or <temp>/kratom-watch-screenshots: archive-1200.png,
archive-375.png, evidence-1200.png, evidence-375.png).
"""

from __future__ import annotations

import html
import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from flows.designs import DESIGNS
from flows.evidence import STRONGEST_LISTED, evidence_from_store
from flows.findings import finding, study_size
from flows.models import AbstractSection, Paper
from flows.store import Store
from tests.chromium import OUTPUT
from tests.eutils_server import load_corpus
from tests.factories import FIRST_PMID, NOW, WEEKS, Clock, archive, paper, patch_clock, publish

AS_OF = NOW.date()  # 2026-12-01


def of(design: str, n: int, start: int, relevant: bool = True, **changes) -> list[Paper]:
    return [paper(str(start + i), design, relevant, **changes) for i in range(n)]


RESPIRATORY = {"depression_reason": "respiratory depression only"}


@pytest.mark.parametrize(
    "papers, statement, strongest",
    [
        (
            of("cohort", 2, 100) + of("cross_sectional", 14, 200) + of("animal", 3, 300),
            "No randomised controlled trial of kratom for depression or mood is in the store "
            "as of 2026-12-01; the strongest designs are: 2 cohort studies, 14 cross-sectional "
            "surveys or studies, 3 animal studies.",
            "cohort",
        ),
        (
            of("rct", 1, 7, title="Kratom for <i>low mood</i>: a trial")
            + of("cross_sectional", 3, 200)
            + of("systematic_review", 1, 50, relevant=False),
            "1 randomised controlled trial of kratom for depression or mood is in the store as "
            "of 2026-12-01: “Kratom for low mood: a trial”.",
            "rct",
        ),
        (
            of("rct", 2, 10, relevant=False, **RESPIRATORY) + of("case_report", 1, 400),
            "No randomised controlled trial of kratom for depression or mood is in the store "
            "as of 2026-12-01; the strongest designs are: 1 case report or series. 2 other "
            "randomised controlled trials of kratom are in the store, not about depression or "
            "mood (2: respiratory depression only).",
            "case_report",
        ),
        (
            of("rct", 3, 10, relevant=False, depression_reason=""),
            "No randomised controlled trial of kratom for depression or mood is in the store "
            "as of 2026-12-01; no paper about depression or mood is in it yet. 3 other "
            "randomised controlled trials of kratom are in the store, not about depression or "
            "mood.",
            None,
        ),
    ],
    ids=["no-rct", "one-rct", "respiratory-rcts-only", "nothing-about-mood"],
)
def test_the_page_states_the_trials_and_the_strongest_design(
    store: Store, papers: list[Paper], statement: str, strongest: str | None
):
    store.upsert_papers(papers)

    evidence = evidence_from_store(store, AS_OF)

    assert evidence.statements[0] == statement
    assert (evidence.strongest[0].design if evidence.strongest else None) == strongest
    rct = next(row for row in evidence.designs if row.design.label == "rct")
    assert (rct.relevant, rct.other) == (
        sum(p.design == "rct" and p.depression_relevant for p in papers),
        sum(p.design == "rct" and not p.depression_relevant for p in papers),
    )
    assert [row.design for row in evidence.designs] == list(DESIGNS)  # zeros stated too


def test_the_strongest_studies_come_by_design_then_size(store: Store):
    store.upsert_papers(
        [
            paper("1", "cohort", study_size=50, study_size_unit="participants"),
            # As large and as recent: the higher PMID (by number, not text) first.
            paper("10", "cohort", study_size=50, study_size_unit="participants"),
            paper("2", "cohort", study_size=None, study_size_unit="", finding="No size."),
            paper("3", "cohort", study_size=900, study_size_unit="participants"),
            paper("4", "systematic_review", study_size=12, study_size_unit="studies"),
            paper("5", "rct", relevant=False),  # not about mood: never listed
            paper("6", "animal", study_size=1, study_size_unit="animals"),
        ]
        + of("cross_sectional", STRONGEST_LISTED, 1000)
    )

    strongest = evidence_from_store(store, AS_OF).strongest

    assert [(c.pmid, c.design_line) for c in strongest[:5]] == [
        ("4", "Systematic review / meta-analysis · 12 studies"),
        ("3", "Cohort study · 900 participants"),
        ("10", "Cohort study · 50 participants"),
        ("1", "Cohort study · 50 participants"),
        ("2", "Cohort study"),
    ]
    assert len(strongest) == STRONGEST_LISTED and "6" not in [c.pmid for c in strongest]


def test_a_retracted_trial_is_said_to_be(store: Store):
    store.upsert_papers(
        [paper("7", "rct", publication_types=["Journal Article", "Retracted Publication"])]
    )
    evidence = evidence_from_store(store, AS_OF)
    assert evidence.statements[0].endswith(": “Paper 7 on Mitragyna speciosa” (retracted).")
    assert evidence.statements[-1] == (
        "1 of the strongest papers listed below has been retracted: "
        "“Paper 7 on Mitragyna speciosa”."
    )
    assert evidence.strongest[0].updates == (("Retracted", "PubMed marks it retracted"),)


def test_the_page_says_what_was_searched_and_how_to_complete_it(
    tmp_path: Path, store: Store, clock: Clock
):
    folder = tmp_path / "reports"
    assert evidence_from_store(store, AS_OF).coverage == [
        "No search has completed yet: the store holds no searched window."
    ]
    publish(store, folder, [paper("1")], WEEKS[1], render=False)
    publish(store, folder, [paper("2", pub_year=9999)], WEEKS[2], render=False)

    evidence = evidence_from_store(store, AS_OF)
    assert evidence.coverage == [
        "The store's searches covered the papers created in PubMed from 2026-11-02 to 2026-11-15.",
        "Papers created in PubMed on other days are not counted here.",
    ]
    assert evidence.backfill == (
        "kratom-watch run --since 2000-01-01 --until 2026-12-01 --no-email"
    )
    assert [(y.year, y.papers, y.designs) for y in evidence.years] == [
        ("2026", 1, "Cross-sectional / survey 1"),
        ("year unknown", 1, "Cross-sectional / survey 1"),
    ]

    publish(store, folder, [], (date(2000, 1, 1), WEEKS[1][0]), render=False)
    evidence = evidence_from_store(store, AS_OF)
    assert evidence.coverage[1] == "That is every paper since 2000-01-01 up to 2026-11-15."
    assert evidence.backfill == ""


def dev_papers() -> list[Paper]:
    """The dev corpus's 161 real records under their hand labels, sizes and findings read
    by flows.findings as a run reads them."""
    papers = []
    for i, row in enumerate(load_corpus()):
        text = row.get("abstract") or ""
        size = study_size(text, row["design"])
        papers.append(
            Paper(
                pmid=row["pmid"] or str(FIRST_PMID + i),  # some are known by DOI only
                title=row["title"],
                abstract=[AbstractSection("", text)] if text else [],
                journal=row.get("journal") or "",
                pub_year=row.get("year"),
                doi=row.get("doi") or "",
                design=row["design"],
                depression_relevant=row["depression_relevant"],
                confidence=1.0,
                finding=finding(text, row["design"]),
                study_size=size.n if size else None,
                study_size_unit=size.unit if size else "",
                study_size_phrase=size.phrase if size else "",
            )
        )
    return papers


@pytest.fixture(scope="module")
def dev_site(tmp_path_factory) -> Path:
    """The dev corpus as one week's digest, with the archive written from its store."""
    folder = tmp_path_factory.mktemp("dev-site")
    with pytest.MonkeyPatch.context() as patch, Store(folder / "kw.sqlite") as store:
        patch_clock(patch)
        publish(store, folder / "reports", dev_papers(), WEEKS[1])
        archive(store, folder / "reports")
    return folder / "reports"


def test_the_dev_corpus_page_states_what_its_labels_say(dev_site: Path):
    rows = load_corpus()
    relevant = Counter(r["design"] for r in rows if r["depression_relevant"])
    page = html.unescape((dev_site / "evidence.html").read_text())

    assert relevant["rct"] == 0  # the corpus's two trials are not about mood
    present = [d for d in DESIGNS if relevant[d.label]][:3]
    assert present[0].label == "systematic_review"
    assert (
        "No randomised controlled trial of kratom for depression or mood is in the store as of "
        f"2026-12-01; the strongest designs are: {relevant['systematic_review']} systematic "
        f"reviews or meta-analyses, {relevant['cross_sectional']} cross-sectional surveys or "
        f"studies, {relevant['qualitative']} qualitative study." in page
    )
    assert f"{len(rows)} kratom / mitragynine papers, {relevant.total()} about depression" in page
    cells = re.findall(
        r"<tr><td>Randomised controlled trial</td><td[^>]*>(\d+)</td><td[^>]*>(\d+)</td>", page
    )
    assert cells == [("0", "2")]
    assert '<img src="evidence-chart.png"' in page
    index = (dev_site / "index.html").read_text()
    assert '<a href="evidence.html">The evidence so far</a>' in index


# In the browser


def look(chromium, page: Path, width: int, shot: str) -> dict:
    visit = chromium.open(page, width=width)
    try:
        facts = visit.evaluate(
            "({page: document.documentElement.scrollWidth,"
            " inside: document.documentElement.clientWidth, view: window.innerWidth,"
            " images: [...document.images].map(i => [i.getAttribute('src'), i.naturalWidth]),"
            " scripts: document.scripts.length,"
            " text: document.body.innerText})"
        )
        visit.screenshot(OUTPUT / shot)
        facts["problems"] = visit.problems()
    finally:
        visit.close()
    return facts


@pytest.mark.slow
@pytest.mark.parametrize("width", [1200, 375])
def test_archive_and_evidence_pages_in_chromium(chromium, dev_site: Path, width: int):
    archive_page = look(chromium, dev_site / "index.html", width, f"archive-{width}.png")
    evidence_page = look(chromium, dev_site / "evidence.html", width, f"evidence-{width}.png")

    for facts in (archive_page, evidence_page):
        assert facts["problems"] == []  # no errors, no request beyond the files
        assert facts["scripts"] == 0
        assert facts["view"] == width
        assert facts["page"] == facts["inside"]  # no sideways scrolling (a scrollbar aside)
    assert archive_page["images"] == [["archive-chart.png", 800]]
    assert evidence_page["images"] == [["evidence-chart.png", 800]]
    assert "The evidence so far" in archive_page["text"]
    assert "No randomised controlled trial of kratom for depression" in evidence_page["text"]
