from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from flows.digest import build_digest, render_digest, short_authors, snippet
from flows.errors import KratomWatchError
from flows.models import AbstractSection, Paper

SINCE, UNTIL = date(2026, 11, 2), date(2026, 11, 8)


def paper(pmid: str, design: str = "cross_sectional", relevant: bool = True, **changes) -> Paper:
    fields = dict(
        pmid=pmid,
        title=f"Paper {pmid} on <i>Mitragyna speciosa</i>",
        abstract=[AbstractSection("", "Kratom use was surveyed. Most used it for mood. More.")],
        authors=["Smith J"],
        journal="J Test",
        pub_year=2026,
        entry_date=date(2026, 11, 3),
        doi=f"10.1000/{pmid}",
        design=design,
        depression_relevant=relevant,
        evidence=["an online survey"],
        confidence=0.9,
    )
    fields.update(changes)
    return Paper(**fields)


def test_sections_in_evidence_rank_relevant_first():
    papers = [
        paper("1", "animal"),
        paper("2", "rct"),
        paper("3", "systematic_review", relevant=False),
        paper("4", "cross_sectional"),
    ]
    digest = build_digest(papers, SINCE, UNTIL)

    assert [s.design.label for s in digest.relevant] == ["rct", "cross_sectional", "animal"]
    assert [s.design.label for s in digest.other] == ["systematic_review"]
    assert [v.paper.pmid for v in digest.papers] == ["2", "4", "1", "3"]
    assert (digest.count, digest.relevant_count) == (4, 3)


def test_low_confidence_reads_as_probably():
    (view,) = build_digest([paper("1", "cohort", confidence=0.4)], SINCE, UNTIL).papers
    assert view.label == "probably cohort study"


def test_authors_are_shortened():
    assert short_authors(["A A", "B B", "C C", "D D"]) == "A A, B B, C C et al."
    assert short_authors(["A A", "B B"]) == "A A, B B"
    assert short_authors([]) == "No authors listed"


def test_snippet_is_two_sentences_of_the_conclusion():
    structured = paper(
        "1",
        abstract=[
            AbstractSection("BACKGROUND", "Kratom is used. It is debated."),
            AbstractSection("CONCLUSIONS", "Users report better mood. Trials are needed. Also x."),
        ],
    )
    assert snippet(structured) == "Users report better mood. Trials are needed."
    assert snippet(paper("2")) == "Kratom use was surveyed. Most used it for mood."


def test_rendered_forms(tmp_path: Path):
    hostile = paper(
        "666",
        title='<script>alert(1)</script> <i>kratom</i> <img src=x onerror="alert(2)">',
        journal="<b onmouseover=alert(3)>J</b>",
        evidence=['<a href="javascript:alert(4)">x</a>'],
    )
    paths = render_digest(build_digest([paper("1"), hostile], SINCE, UNTIL), tmp_path)

    assert [p.name for p in paths] == [
        "kratom-watch_2026-11-02_2026-11-08.html",
        "kratom-watch_2026-11-02_2026-11-08.txt",
        "kratom-watch_2026-11-02_2026-11-08.csv",
    ]
    html = paths[0].read_text()
    assert "<i>Mitragyna speciosa</i>" in html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html and "<b onmouseover" not in html
    assert 'href="javascript:' not in html
    assert 'href="https://doi.org/10.1000/1"' in html
    text = paths[1].read_text()
    assert "Paper 1 on Mitragyna speciosa" in text and "<i>" not in text
    assert "https://doi.org/10.1000/1" in text
    rows = {row["pmid"]: row for row in csv.DictReader(paths[2].read_text().splitlines())}
    assert rows["1"]["title"] == "Paper 1 on Mitragyna speciosa"
    assert rows["666"]["journal"] == "<b onmouseover=alert(3)>J</b>"  # data, as it came


def test_unwritable_reports_folder_is_a_clear_error(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(KratomWatchError, match="cannot write the digest into"):
        render_digest(build_digest([], SINCE, UNTIL), blocker / "reports")
