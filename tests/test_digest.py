from __future__ import annotations

import csv
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows.digest import PaperUpdate, build_digest, doi_url, short_authors
from flows.errors import KratomWatchError
from flows.exports import digest_csv
from flows.models import AbstractSection
from flows.render import render_digest
from tests.factories import SINCE, UNTIL, hostile_paper, paper

NOW = datetime(2026, 11, 9, 7, 0, tzinfo=UTC)


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


def test_each_paper_shows_its_finding_size_and_why_it_is_here(tmp_path: Path):
    papers = [
        paper("1", "cross_sectional"),
        paper("2", "rct", relevant=False, study_size=None, study_size_unit=""),
        paper("3", "case_report", study_size=1, study_size_unit="patients"),
    ]
    html, text, markdown, table = (
        p.read_text() for p in render_digest(build_digest(papers, SINCE, UNTIL), tmp_path)[:4]
    )

    for form in (html, text, markdown):
        assert "Cross-sectional / survey · 1,118 respondents" in form
        assert "Case report / case series · 1 patient" in form
        assert "Most used it for mood." in form  # the finding, not the background
        assert "used it for mood" in form  # why it is about depression
        assert "respiratory or CNS depression only" in form  # why the other one is not
    rows = {r["pmid"]: r for r in csv.DictReader(table.splitlines())}
    assert (rows["1"]["study_size"], rows["1"]["study_size_unit"]) == ("1118", "respondents")
    assert rows["1"]["finding"] == "Most used it for mood."
    assert rows["1"]["depression_evidence"] == "used it for mood"
    assert rows["2"]["not_depression_reason"] == "respiratory or CNS depression only"
    assert (rows["2"]["study_size"], rows["2"]["depression_evidence"]) == ("", "")


def test_within_a_design_larger_studies_come_first():
    papers = [
        paper("1", study_size=12, study_size_unit="participants"),
        paper("2", study_size=None, study_size_unit=""),
        paper("3", study_size=4945, study_size_unit="respondents"),
    ]
    assert [v.paper.pmid for v in build_digest(papers, SINCE, UNTIL).papers] == ["3", "1", "2"]


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
        "kratom-watch_2026-11-02_2026-11-08.md",
        "kratom-watch_2026-11-02_2026-11-08.csv",
        "kratom-watch_2026-11-02_2026-11-08.ris",
        "kratom-watch_2026-11-02_2026-11-08.png",
        "archive-chart.png",
        "evidence-chart.png",
        "evidence.html",
        "index.html",
        "feed.xml",
    ]
    assert paths[5].read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    html = paths[0].read_text()
    assert "<i>Mitragyna speciosa</i>" in html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "<b onmouseover" not in html
    assert 'href="javascript:' not in html
    assert 'href="https://doi.org/10.1000/1"' in html
    text = paths[1].read_text()
    assert "Paper 1 on Mitragyna speciosa" in text and "<i>" not in text
    assert "https://doi.org/10.1000/1" in text
    rows = {row["pmid"]: row for row in csv.DictReader(paths[3].read_text().splitlines())}
    assert rows["1"]["title"] == "Paper 1 on Mitragyna speciosa"
    assert rows["666"]["journal"] == "<b onmouseover=alert(3)>J</b>"  # data, as it came


def test_html_is_inlined_for_mail_with_nothing_external(tmp_path: Path):
    html = render_digest(build_digest([paper("1")], SINCE, UNTIL), tmp_path)[0].read_text()

    assert "<style" not in html and "<script" not in html and "<link" not in html
    # The one image is the digest's chart, the file beside it; nothing is fetched.
    assert re.findall(r'src="([^"]*)"', html) == ["kratom-watch_2026-11-02_2026-11-08.png"]
    assert "url(" not in html
    assert re.search(r'<div class="wrap" style="[^"]*max-width: 640px', html)
    assert re.search(r'<span class="badge" style="[^"]*border-radius', html)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    # Every link goes to PubMed, doi.org or a page of the reports folder.
    assert set(re.findall(r'href="(https://[^/"]+/)', html)) == {
        "https://pubmed.ncbi.nlm.nih.gov/",
        "https://doi.org/",
    }
    assert set(re.findall(r'href="([^":]+)"', html)) == {"evidence.html", "index.html"}


def test_hostile_record_is_text_in_every_form(tmp_path: Path):
    paths = render_digest(
        build_digest(
            [hostile_paper()],
            SINCE,
            UNTIL,
            [PaperUpdate(hostile_paper("7"), "comment", "<script>alert(9)</script>")],
        ),
        tmp_path,
    )
    forms = {p.suffix: p.read_text(encoding="utf-8") for p in paths[:5]}
    html = forms[".html"]
    feed, index, evidence = (
        (tmp_path / name).read_text() for name in ("feed.xml", "index.html", "evidence.html")
    )
    charts = r'<img src="(?:archive-chart|evidence-chart|kratom-watch_[0-9_-]+)\.png"'
    for markup in (html, feed, index, evidence):
        markup = re.sub(charts, "", markup)
        assert "<script" not in markup and "<img" not in markup and "<b " not in markup
        assert "javascript:" not in "".join(re.findall(r'(?:href|src)="([^"]*)"', markup))
        assert "onerror=" not in "".join(re.findall(r"<[^>]*>", markup))  # only in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&#34;alert(5)&#34;&gt;" in html
    assert "doi: javascript:alert(6)" in html  # shown, not linked
    assert "&lt;script&gt;alert(9)&lt;/script&gt;" in html  # the update's detail

    text = forms[".txt"]
    assert '<script>alert(1)</script> kratom <img src=x onerror="alert(2)">' in text
    assert "doi: javascript:alert(6)" in text and "https://doi.org/javascript" not in text

    markdown = forms[".md"]
    assert r"\<script\>alert(1)\</script\> *kratom* \<img src=x onerror=" in markdown
    assert re.findall(r"\]\(<([^>]*)>\)", markdown) == [
        "https://pubmed.ncbi.nlm.nih.gov/7/",
        "https://pubmed.ncbi.nlm.nih.gov/666/",
    ]
    assert "](javascript" not in markdown.replace("\\]", "")
    assert not re.search(r"(?<![\\(])<[a-z/]", markdown)  # no raw HTML; (<url>) are links

    ris = forms[".ris"]
    assert 'TI  - <script>alert(1)</script> kratom <img src=x onerror="alert(2)">' in ris
    assert "DO  - " not in ris  # not a DOI
    assert "N1  - DOI as given by PubMed (not a DOI): javascript:alert(6)" in ris

    (row,) = csv.DictReader(forms[".csv"].splitlines())
    assert row["title"] == '<script>alert(1)</script> kratom <img src=x onerror="alert(2)">'
    assert row["doi"] == "javascript:alert(6)"


@pytest.mark.parametrize(
    ("doi", "url"),
    [
        ("10.1000/182", "https://doi.org/10.1000/182"),
        ("10.1002/(SICI)1097-4636", "https://doi.org/10.1002/(SICI)1097-4636"),
        ('10.1000/x"><b>', "https://doi.org/10.1000/x%22%3E%3Cb%3E"),
        ("10.1000/a#b?c", "https://doi.org/10.1000/a%23b%3Fc"),
        ("javascript:alert(1)", ""),
        ("https://doi.org/10.1000/182", ""),
        ("doi:10.1000/182", ""),
        ("10.1000/ spaced", ""),
        ("", ""),
    ],
)
def test_only_a_doi_is_linked(doi, url):
    assert doi_url(doi) == url


def test_quiet_week_says_so_in_every_form(tmp_path: Path):
    paths = render_digest(build_digest([], SINCE, UNTIL), tmp_path)
    by_suffix = {p.suffix: p for p in paths}

    for suffix in (".html", ".txt", ".md"):
        assert "No new papers this week" in by_suffix[suffix].read_text()
    assert by_suffix[".csv"].read_text() == digest_csv(build_digest([], SINCE, UNTIL))
    assert by_suffix[".csv"].read_text().count("\n") == 1  # the header only
    assert by_suffix[".ris"].read_text() == ""
    assert "No new papers this week" in (tmp_path / "index.html").read_text()
    assert "Updates to papers" not in by_suffix[".html"].read_text()


def test_updates_come_first_most_serious_first(tmp_path: Path):
    updates = [
        PaperUpdate(paper("12", "cohort"), "relabelled", "narrative review → cohort study"),
        PaperUpdate(paper("11"), "comment", "Comment in: Addiction 2026"),
        PaperUpdate(paper("10"), "retracted", "Retraction in: Addiction 2026"),
        PaperUpdate(paper("9"), "erratum", "Erratum in: J Test 2026"),
    ]
    digest = build_digest([paper("1")], SINCE, UNTIL, updates)

    assert [(u.kind, u.view.paper.pmid) for u in digest.updates] == [
        ("retracted", "10"),
        ("erratum", "9"),
        ("comment", "11"),
        ("relabelled", "12"),
    ]
    html, text, markdown = (p.read_text() for p in render_digest(digest, tmp_path)[:3])
    assert html.index("Updates to papers from earlier digests (4)") < html.index(
        "About depression and mood (1)"
    )
    assert "Retraction in: Addiction 2026" in html
    assert "narrative review → cohort study" in text
    assert "== UPDATES TO PAPERS FROM EARLIER DIGESTS ==" in text
    assert "- **Retracted**: Paper 10 on *Mitragyna speciosa* (Retraction in: Addiction 2026)." in (
        markdown
    )
    # A quiet week can still have updates; it still says no new papers.
    quiet = render_digest(build_digest([], SINCE, UNTIL, updates), tmp_path)[0].read_text()
    assert "No new papers this week" in quiet and "Label changed" in quiet


def test_unknown_update_kind_is_refused():
    with pytest.raises(ValueError, match="unknown update kind 'deleted'"):
        PaperUpdate(paper("1"), "deleted", "")


def test_secondary_section_is_shorter(tmp_path: Path):
    papers = [
        paper("1", "rct"),
        paper(
            "2",
            "rct",
            relevant=False,
            abstract=[AbstractSection("", "Respiratory depression was measured. It was mild.")],
        ),
    ]
    html, text, markdown = (
        p.read_text() for p in render_digest(build_digest(papers, SINCE, UNTIL), tmp_path)[:3]
    )
    for form in (html, text, markdown):
        assert "Most used it for mood." in form  # the relevant paper's finding
        assert "Respiratory depression was measured" not in form
        lower = form.lower()
        assert lower.index("about depression and mood") < lower.index("other kratom papers")
    assert "https://pubmed.ncbi.nlm.nih.gov/2/" in html and "https://doi.org/10.1000/2" in text


def test_markdown_keeps_italics_and_links(tmp_path: Path):
    markdown = render_digest(build_digest([paper("1")], SINCE, UNTIL), tmp_path)[2].read_text()
    assert "- **Paper 1 on *Mitragyna speciosa***  \n" in markdown
    assert (
        "[PubMed 1](<https://pubmed.ncbi.nlm.nih.gov/1/>) · "
        "[doi:10.1000/1](<https://doi.org/10.1000/1>)"
    ) in markdown
    assert "| Cross-sectional / survey | 1 |  |" in markdown


def test_csv_cells_never_start_a_formula():
    rows = list(
        csv.DictReader(
            digest_csv(
                build_digest([paper("1", title='=HYPERLINK("x")', journal="@J")], SINCE, UNTIL)
            ).splitlines()
        )
    )
    assert (rows[0]["title"], rows[0]["journal"]) == ('\'=HYPERLINK("x")', "'@J")


def test_rendering_is_deterministic_and_reruns_replace(tmp_path: Path):
    papers = [
        paper("1", "rct"),
        hostile_paper(),
        paper("3", "animal", relevant=False),
        paper("100", pub_year=2012),
        paper("101", pub_year=None),
    ]

    def render(folder: Path) -> dict[str, bytes]:
        render_digest(build_digest(papers, SINCE, UNTIL), folder, now=NOW)
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}

    first = render(tmp_path / "a")
    assert render(tmp_path / "b") == first
    assert render(tmp_path / "a") == first  # a rerun of the window changes nothing
    assert sorted(first) == sorted(
        [
            f"kratom-watch_2026-11-02_2026-11-08{s}"
            for s in (".html", ".txt", ".md", ".csv", ".ris", ".png", ".json")
        ]
        + ["archive-chart.png", "evidence-chart.png", "evidence.html", "index.html", "feed.xml"]
    )
    assert b"Software" not in first["kratom-watch_2026-11-02_2026-11-08.png"]


def test_unwritable_reports_folder_is_a_clear_error(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(KratomWatchError, match="cannot write the digest into"):
        render_digest(build_digest([], SINCE, UNTIL), blocker / "reports")


def test_a_large_window_lists_the_strongest_papers_and_exports_every_one(tmp_path: Path):
    from flows.archive import entries
    from flows.digest import digest_from_store
    from flows.store import Store

    papers = [paper(str(n), "animal") for n in range(1, 8)]
    papers += [paper("100", "rct"), paper("200", "cohort", relevant=False)]
    papers += [paper(str(n), "opinion", relevant=False) for n in range(300, 304)]
    with Store(tmp_path / "kw.sqlite") as store:
        store.upsert_papers(papers)
        pmids = [p.pmid for p in papers]
        digest = digest_from_store(store, pmids, SINCE, UNTIL, limit=4)
        assert [v.paper.pmid for v in build_digest(papers, SINCE, UNTIL).papers] == [
            p for p, _, _ in store.in_digest_order(pmids)
        ]
        html, txt, md, csv_path, ris = render_digest(digest, tmp_path / "reports")[:5]

    # The listed papers: the best-ranked four; counts and headings cover all thirteen.
    assert [v.paper.pmid for v in digest.papers] == ["100", "7", "6", "5"]
    assert (digest.count, digest.relevant_count, digest.unlisted) == (13, 8, 9)
    text = txt.read_text()
    assert "13 new papers entered PubMed, 8 about depression or mood." in text
    assert "lists the first 4 papers" in text and "hold all 13" in text
    assert "-- Animal study (7) --" in text
    assert "... and 4 more in this section" in text
    assert "... and 5 more, listed in the CSV and RIS files." in text
    for form in (html, txt, md):
        content = form.read_text()
        assert "Paper 5 on" in content and "Paper 4 on" not in content
        assert "Paper 300 on" not in content
    # The exports hold every paper, in digest order.
    with csv_path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["pmid"] for r in rows][:5] == ["100", "7", "6", "5", "4"]
    assert sorted(r["pmid"] for r in rows) == sorted(p.pmid for p in papers)
    assert ris.read_text(encoding="utf-8").count("ER  - ") == 13
    (entry,) = entries(tmp_path / "reports")
    assert entry.papers == 13


def test_a_digest_within_its_limit_says_nothing_about_one(tmp_path: Path):
    digest = build_digest([paper("1"), paper("2")], SINCE, UNTIL, limit=2)
    assert digest.unlisted == 0 and digest.limit_note == ""
    for form in render_digest(digest, tmp_path)[:3]:
        assert "more, listed in the CSV" not in form.read_text()
        assert "lists the first" not in form.read_text()
