from __future__ import annotations

import json
import logging
import re
import shutil
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from flows.archive import ARCHIVE_CHART, EVIDENCE, entries
from flows.chart import (
    DESIGN_GROUPS,
    GROUP_OF,
    design_chart_png,
    draw_chart,
    papers_per_year,
    year_ticks,
)
from flows.designs import LABELS
from flows.errors import KratomWatchError
from flows.evidence import digest_name
from flows.models import YearDesign
from flows.store import Store
from tests.factories import (
    LATEST_YEAR,
    WEEKS,
    Clock,
    archive,
    hostile_paper,
    paper,
    patch_clock,
    publish,
)


def three_weeks(folder: Path, store: Store, clock: Clock) -> None:
    """Three weekly digests written out of order: a busy week, a quiet one, a hostile one."""
    publish(store, folder, [paper("1", "rct"), paper("2", relevant=False)], WEEKS[1])
    clock.now = "2026-11-16T07:00:00+00:00"
    publish(store, folder, [], WEEKS[2])
    clock.now = "2026-11-17T07:00:00+00:00"
    publish(store, folder, [hostile_paper()], WEEKS[0])
    archive(store, folder)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """three_weeks written once for the module (each digest draws a chart): see `published`."""
    folder = tmp_path_factory.mktemp("built")
    with pytest.MonkeyPatch.context() as patch, Store(folder / "kw.sqlite") as store:
        three_weeks(folder / "reports", store, patch_clock(patch))
    return folder


@pytest.fixture
def published(built: Path, tmp_path: Path, clock: Clock) -> Iterable[tuple[Path, Store]]:
    """A copy of the three weeks' reports folder and store, with the store's clock at the end."""
    shutil.copytree(built, tmp_path / "copy")
    clock.now = "2026-11-17T07:00:00+00:00"
    with Store(tmp_path / "copy" / "kw.sqlite") as store:
        yield tmp_path / "copy" / "reports", store


def test_write_archive_writes_the_charts_the_pages_and_the_feed(tmp_path: Path, store: Store):
    paths = archive(store, tmp_path / "reports")

    assert [p.name for p in paths] == [
        "archive-chart.png",
        "evidence-chart.png",
        "evidence.html",
        "index.html",
        "feed.xml",
    ]
    assert all(p.stat().st_mode & 0o444 == 0o444 for p in paths)  # a web server reads them
    index = (tmp_path / "reports" / "index.html").read_text()
    assert "<p>No digests yet.</p>" in index


def test_index_lists_every_digest_newest_first_with_counts(published):
    reports, _ = published
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
    assert (
        '<a href="kratom-watch_2026-11-02_2026-11-08.ris">RIS</a> · '
        '<a href="kratom-watch_2026-11-02_2026-11-08.png">chart</a>'
    ) in index
    assert f'<a href="{EVIDENCE}">The evidence so far</a>' in index
    assert f'<img src="{ARCHIVE_CHART}"' in index  # the store's chart, not a digest's
    assert "<script" not in index and 'href="http' not in index  # nothing external


def test_the_feed_has_one_entry_per_paper_of_the_digests(published):
    reports, _ = published
    feed = feedparser.parse((reports / "feed.xml").read_bytes())

    assert feed.bozo == 0
    assert [(e.id, e.updated, e.links[1].href) for e in feed.entries] == [
        ("urn:kratom-watch:pmid:666", "2026-11-17T07:00:00Z", digest_name(*WEEKS[0])),
        ("urn:kratom-watch:pmid:2", "2026-11-09T07:00:00Z", digest_name(*WEEKS[1])),
        ("urn:kratom-watch:pmid:1", "2026-11-09T07:00:00Z", digest_name(*WEEKS[1])),
    ]


def test_rerunning_a_window_replaces_its_entry(published):
    reports, store = published

    def files() -> dict[str, bytes]:
        # Less the digest's own chart: it shows the whole store, which grew since that week.
        chart = f"{digest_name(*WEEKS[1]).removesuffix('.html')}.png"
        return {p.name: p.read_bytes() for p in sorted(reports.iterdir()) if p.name != chart}

    before = files()
    publish(store, reports, [paper("1", "rct"), paper("2", relevant=False)], WEEKS[1])
    archive(store, reports)
    assert files() == before

    publish(store, reports, [paper("3", "cohort")], WEEKS[1])
    archive(store, reports)
    index = (reports / "index.html").read_text()
    assert index.count("2026-11-02 to 2026-11-08</a>") == 1
    assert "1 new paper, 1 about depression or mood" in index


def test_archive_chart_is_redrawn_from_the_store_even_after_a_quiet_week(published):
    reports, store = published
    quiet_week = (reports / "kratom-watch_2026-11-09_2026-11-15.png").read_bytes()
    chart = (reports / ARCHIVE_CHART).read_bytes()

    assert chart != quiet_week  # the quiet week's chart shows no papers; the store has three
    assert chart == design_chart_png(store.years_and_designs(), "All papers in the store", 2027)

    publish(store, reports, [paper("4", "animal", pub_year=2019)], (WEEKS[2][1], WEEKS[2][1]))
    archive(store, reports)
    assert (reports / ARCHIVE_CHART).read_bytes() != chart
    assert papers_per_year(store.years_and_designs(), LATEST_YEAR).index.tolist() == list(
        range(2019, 2027)
    )


def test_a_later_archive_changes_only_the_evidence_pages_date(published):
    reports, store = published
    before = {p.name: p.read_bytes() for p in archive(store, reports)}
    after = {
        p.name: p.read_bytes()
        for p in archive(store, reports, now=datetime(2026, 12, 8, 7, 0, tzinfo=UTC))
    }

    assert [name for name in before if before[name] != after[name]] == ["evidence.html"]
    assert b"as of 2026-12-08" in after["evidence.html"]


def test_archive_is_rebuilt_from_the_sidecars_alone(published):
    reports, _ = published
    sidecar = json.loads((reports / "kratom-watch_2026-11-02_2026-11-08.json").read_text())
    assert sidecar == {
        "since": "2026-11-02",
        "until": "2026-11-08",
        "papers": 2,
        "relevant": 1,
        "other": 1,
        "updates": 0,
        "designs": {"rct": 1, "cross_sectional": 1},
    }
    (reports / "kratom-watch_2026-01-05_2026-01-11.json").write_text("{not json")
    edited = {**sidecar, "since": "2026-01-12", "until": "2026-01-18", "papers": "<b>2</b>"}
    (reports / "kratom-watch_2026-01-12_2026-01-18.json").write_text(json.dumps(edited))
    (reports / "notes.json").write_text("{}")
    assert [e.since for e in entries(reports)] == [w[0] for w in reversed(WEEKS)]


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
    published, content: str, caplog
):
    reports, store = published
    (reports / "kratom-watch_2026-01-05_2026-01-11.json").write_text(content)

    paths = archive(store, reports)

    assert [e.since for e in entries(reports)] == [w[0] for w in reversed(WEEKS)]
    assert {p.name for p in paths} >= {"index.html", "feed.xml", "evidence.html"}
    assert "2026-01-05" not in (reports / "index.html").read_text()
    assert "skipping kratom-watch_2026-01-05_2026-01-11.json" in caplog.text


def test_an_unwritable_reports_folder_or_a_bad_base_url_is_one_clear_error(
    tmp_path: Path, store: Store
):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(KratomWatchError, match="cannot write the archive into"):
        archive(store, blocker / "reports")
    for bad in ("example.org/kw", "ftp://example.org/", "https://example.org/?x=1", "https://"):
        with pytest.raises(
            KratomWatchError, match="KRATOM_WATCH_BASE_URL=.* is not the http.s. address"
        ):
            archive(store, tmp_path / "reports", base_url=bad)


# The chart


def test_chart_groups_cover_each_label_once_with_the_reviews_apart():
    assert sorted(GROUP_OF) == sorted(LABELS)
    assert sum(len(labels) for labels in DESIGN_GROUPS.values()) == len(LABELS)
    assert list(DESIGN_GROUPS) == [
        "Systematic reviews",
        "Trials",
        "Observational & qualitative",
        "Case reports",
        "Narrative reviews",
        "Preclinical",
        "Opinion & other",
    ]
    assert GROUP_OF["systematic_review"] != GROUP_OF["narrative_review"]


def test_chart_counts_every_year_between_first_and_last():
    papers = [
        paper("1", "systematic_review", pub_year=2019),
        paper("2", "narrative_review", pub_year=2019),
        paper("3", "animal", pub_year=2022),
        paper("4", "rct", pub_year=None),
    ]
    table = papers_per_year(papers, LATEST_YEAR)
    assert table.index.tolist() == [2019, 2020, 2021, 2022]
    assert table["Systematic reviews"].tolist() == [1, 0, 0, 0]
    assert table["Narrative reviews"].tolist() == [1, 0, 0, 0]
    assert table["Preclinical"].tolist() == [0, 0, 0, 1]
    assert table.sum().sum() == 3


def test_chart_leaves_implausible_years_out_and_says_how_many(caplog):
    papers = [
        YearDesign(2019, "rct", 3),
        YearDesign(2022, "animal", 1),
        YearDesign(9999, "cohort", 2),  # the record that once drew 8,000 years
        YearDesign(1066, "opinion", 1),
        YearDesign(None, "other", 1),
    ]
    with caplog.at_level(logging.WARNING, logger="flows.chart"):
        table = papers_per_year(papers, LATEST_YEAR)
        figure = draw_chart(papers, latest=LATEST_YEAR)

    # The year range, and so the drawing's cost, is that of the plausible years alone.
    assert table.index.tolist() == [2019, 2020, 2021, 2022]
    assert table.to_numpy().sum() == 4
    assert "3 papers with a publication year outside 1900 to 2027 counted as unknown year" in (
        caplog.text
    )
    assert figure.axes[0].get_title(loc="left") == (
        "4 papers; 4 without a plausible publication year not shown"
    )
    assert papers_per_year([YearDesign(LATEST_YEAR, "rct")], LATEST_YEAR).index.tolist() == [
        LATEST_YEAR
    ]


def test_chart_ticks_fall_on_round_years():
    papers = [YearDesign(year, "cross_sectional", 1) for year in range(2010, 2027)]
    axis = draw_chart(papers, latest=LATEST_YEAR).axes[0]
    labels = [t.get_text() for t in axis.get_xticklabels()]

    assert labels == [str(y) for y in range(2010, 2027, 2)]
    assert year_ticks(2010, 2026) == list(range(2010, 2027, 2))
    assert year_ticks(2019, 2022) == [2019, 2020, 2021, 2022]  # few years: every one
    assert year_ticks(1990, 2026) == list(range(1990, 2026, 5))
    assert year_ticks(1900, 2027) == list(range(1900, 2021, 20))
    for first, last in [(2003, 2026), (2011, 2027), (1999, 2020)]:
        ticks = year_ticks(first, last)
        assert len(ticks) <= 12 and all(y % 2 == 0 for y in ticks), (first, last, ticks)


def test_chart_png_is_byte_identical_and_unstamped():
    papers = [paper(str(i), LABELS[i % len(LABELS)], pub_year=2000 + i % 25) for i in range(60)]
    png = design_chart_png(papers, latest=LATEST_YEAR)
    assert png == design_chart_png(list(reversed(papers)), latest=LATEST_YEAR)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert b"tEXt" not in png and b"tIME" not in png and b"matplotlib" not in png
    assert design_chart_png([]).startswith(b"\x89PNG")
