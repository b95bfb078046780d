from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from flows.archive import entries
from flows.chart import DESIGN_GROUPS, GROUP_OF, design_chart_png, papers_per_year
from flows.designs import LABELS
from flows.digest import PaperUpdate, build_digest
from flows.render import render_digest
from tests.test_digest import hostile_paper, paper

WEEKS = [
    (date(2026, 10, 26), date(2026, 11, 1)),
    (date(2026, 11, 2), date(2026, 11, 8)),
    (date(2026, 11, 9), date(2026, 11, 15)),
]


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    """Three weekly digests written out of order: a busy week, a quiet one, a hostile one."""
    render_digest(
        build_digest([paper("1", "rct"), paper("2", relevant=False)], *WEEKS[1]), tmp_path
    )
    render_digest(build_digest([], *WEEKS[2]), tmp_path)
    updates = [PaperUpdate(paper("1", "rct"), "erratum", "Erratum in: J Test")]
    render_digest(build_digest([hostile_paper()], *WEEKS[0], updates), tmp_path)
    return tmp_path


def test_feed_is_valid_atom_with_one_entry_per_digest(reports: Path):
    feed = feedparser.parse((reports / "feed.xml").read_bytes())

    assert feed.bozo == 0 and feed.version == "atom10"
    assert feed.feed.title == "kratom-watch: new kratom research"
    assert feed.feed.updated == "2026-11-16T00:00:00Z"
    assert [(e.title, e.updated, e.link) for e in feed.entries] == [
        (
            "kratom-watch digest 2026-11-09 to 2026-11-15: no new papers this week",
            "2026-11-16T00:00:00Z",
            "kratom-watch_2026-11-09_2026-11-15.html",
        ),
        (
            "kratom-watch digest 2026-11-02 to 2026-11-08: 2 new papers",
            "2026-11-09T00:00:00Z",
            "kratom-watch_2026-11-02_2026-11-08.html",
        ),
        (
            "kratom-watch digest 2026-10-26 to 2026-11-01: 1 new paper",
            "2026-11-02T00:00:00Z",
            "kratom-watch_2026-10-26_2026-11-01.html",
        ),
    ]
    ids = [e.id for e in feed.entries]
    assert len(set(ids)) == 3 and all(re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", i) for i in ids)
    assert feed.entries[0].summary == "No new papers this week."
    assert feed.entries[1].summary == (
        "2 new papers, 1 about depression or mood. "
        "Randomised controlled trial: 1; Cross-sectional / survey: 1."
    )
    assert feed.entries[2].summary.endswith("1 update to papers from earlier digests.")


def test_feed_entries_list_the_papers_and_show_hostile_titles_as_text(reports: Path):
    raw = (reports / "feed.xml").read_bytes()
    tree = etree.fromstring(raw)  # well-formed XML
    atom = "{http://www.w3.org/2005/Atom}"
    assert {el.tag for el in tree.iter()} == {
        f"{atom}{name}"
        for name in ("feed", "title", "subtitle", "id", "updated", "author", "name", "link")
        + ("entry", "summary", "content")
    }
    assert b"<script" not in raw and b"<img" not in raw

    feed = feedparser.parse(raw)
    busy, hostile = feed.entries[1].content[0], feed.entries[2].content[0]
    assert busy.type == "text/html"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile.value
    assert (
        '<a href="https://pubmed.ncbi.nlm.nih.gov/1/">Paper 1 on Mitragyna speciosa</a>'
        " (Randomised controlled trial)"
    ) in busy.value
    assert busy.value.index("About depression and mood") < busy.value.index("Paper 1 on")
    assert busy.value.index("Paper 1 on") < busy.value.index("Other kratom papers")
    # One level of escaping survives the XML: the reader's HTML shows the markup as text.
    hostile_html = tree.findall(f"{atom}entry")[2].find(f"{atom}content").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; kratom &lt;img src=x onerror=" in hostile_html
    assert "<script" not in hostile_html and "<img" not in hostile_html


def test_rerunning_a_window_replaces_its_entry(reports: Path):
    before = (reports / "feed.xml").read_bytes()
    render_digest(build_digest([paper("1", "rct"), paper("2", relevant=False)], *WEEKS[1]), reports)
    assert (reports / "feed.xml").read_bytes() == before

    render_digest(build_digest([paper("3", "cohort")], *WEEKS[1]), reports)
    feed = feedparser.parse((reports / "feed.xml").read_bytes())
    assert len(feed.entries) == 3
    assert feed.entries[1].title == "kratom-watch digest 2026-11-02 to 2026-11-08: 1 new paper"


def test_index_lists_every_digest_newest_first_with_counts(reports: Path):
    index = (reports / "index.html").read_text()

    windows = re.findall(r'<div class="window"><a href="([^"]+)">([^<]+)</a>', index)
    assert windows == [
        ("kratom-watch_2026-11-09_2026-11-15.html", "2026-11-09 to 2026-11-15"),
        ("kratom-watch_2026-11-02_2026-11-08.html", "2026-11-02 to 2026-11-08"),
        ("kratom-watch_2026-10-26_2026-11-01.html", "2026-10-26 to 2026-11-01"),
    ]
    assert "2 new papers, 1 about depression or mood" in index
    assert "Randomised controlled trial: 1; Cross-sectional / survey: 1" in index
    assert "No new papers this week" in index
    assert "1 new paper, 1 about depression or mood; 1 update" in index
    assert (
        '<a href="kratom-watch_2026-11-02_2026-11-08.ris">RIS</a> · '
        '<a href="kratom-watch_2026-11-02_2026-11-08.png">chart</a>'
    ) in index
    assert '<img src="kratom-watch_2026-11-09_2026-11-15.png"' in index  # the newest chart
    assert "<script" not in index and 'href="http' not in index  # nothing external


def test_archive_is_rebuilt_from_the_sidecars_alone(reports: Path):
    sidecar = json.loads((reports / "kratom-watch_2026-11-02_2026-11-08.json").read_text())
    assert sidecar == {
        "since": "2026-11-02",
        "until": "2026-11-08",
        "papers": 2,
        "relevant": 1,
        "other": 1,
        "updates": 0,
        "designs": {"rct": 1, "cross_sectional": 1},
        "items": [
            {
                "pmid": "1",
                "title": "Paper 1 on Mitragyna speciosa",
                "url": "https://pubmed.ncbi.nlm.nih.gov/1/",
                "design": "Randomised controlled trial",
                "relevant": True,
            },
            {
                "pmid": "2",
                "title": "Paper 2 on Mitragyna speciosa",
                "url": "https://pubmed.ncbi.nlm.nih.gov/2/",
                "design": "Cross-sectional / survey",
                "relevant": False,
            },
        ],
    }
    (reports / "kratom-watch_2026-01-05_2026-01-11.json").write_text("{not json")
    edited = {**sidecar, "since": "2026-01-12", "until": "2026-01-18"}
    edited["items"] = [{**sidecar["items"][0], "url": "javascript:alert(1)"}]
    (reports / "kratom-watch_2026-01-12_2026-01-18.json").write_text(json.dumps(edited))
    (reports / "notes.json").write_text("{}")
    assert [e.since for e in entries(reports)] == [w[0] for w in reversed(WEEKS)]


def test_chart_groups_cover_each_label_once():
    assert sorted(GROUP_OF) == sorted(LABELS)
    assert sum(len(labels) for labels in DESIGN_GROUPS.values()) == len(LABELS)
    assert list(DESIGN_GROUPS) == [
        "Reviews",
        "Trials",
        "Observational & qualitative",
        "Case reports",
        "Preclinical",
        "Opinion & other",
    ]


def test_chart_counts_every_year_between_first_and_last():
    papers = [
        paper("1", "systematic_review", pub_year=2019),
        paper("2", "narrative_review", pub_year=2019),
        paper("3", "animal", pub_year=2022),
        paper("4", "rct", pub_year=None),
    ]
    table = papers_per_year(papers)
    assert table.index.tolist() == [2019, 2020, 2021, 2022]
    assert table["Reviews"].tolist() == [2, 0, 0, 0]
    assert table["Preclinical"].tolist() == [0, 0, 0, 1]
    assert table.sum().sum() == 3


def test_chart_png_is_byte_identical_and_unstamped():
    papers = [paper(str(i), LABELS[i % len(LABELS)], pub_year=2000 + i % 25) for i in range(60)]
    png = design_chart_png(papers)
    assert png == design_chart_png(list(reversed(papers)))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert b"tEXt" not in png and b"tIME" not in png and b"matplotlib" not in png
    assert design_chart_png([]).startswith(b"\x89PNG")


@pytest.mark.parametrize(
    "content",
    [
        '{"since": "2026-01-05", "until": "2026-01-11", "papers": 1, "relevant": 0, "other": 1,'
        ' "updates": 0, "designs": []}',
        "[" * 100_000 + "]" * 100_000,
        '"just a string"',
        '{"since": "2026-01-05", "until": "2026-01-11", "papers": "many", "designs": {}}',
    ],
    ids=["designs-a-list", "nested-100000-deep", "not-an-object", "papers-not-a-number"],
)
def test_a_damaged_sidecar_is_skipped_with_a_warning_and_the_archive_still_written(
    reports: Path, content: str, caplog
):
    (reports / "kratom-watch_2026-01-05_2026-01-11.json").write_text(content)

    paths = render_digest(
        build_digest([paper("9")], date(2026, 11, 16), date(2026, 11, 22)), reports
    )

    assert [e.since for e in entries(reports)][0] == date(2026, 11, 16)
    assert date(2026, 1, 5) not in [e.since for e in entries(reports)]
    assert {p.name for p in paths} >= {"index.html", "feed.xml"}
    assert "skipping kratom-watch_2026-01-05_2026-01-11.json" in caplog.text
