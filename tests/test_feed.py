"""The Atom feed as feed readers see it (feedparser): one entry per paper, from the store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from flows import archive
from flows.archive import feed_xml
from flows.evidence import digest_name
from flows.render import environment
from flows.store import Store
from tests.factories import NOW, WEEKS, Clock, hostile_paper, paper, publish

ATOM = "{http://www.w3.org/2005/Atom}"
LATER = datetime(2026, 12, 8, 7, 0, tzinfo=UTC)


def write_feed(store: Store, reports: Path, base_url: str | None = None, now=NOW) -> bytes:
    """feed.xml written as write_archive writes it (without drawing the charts)."""
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "feed.xml").write_text(feed_xml(reports, store, base_url, now, environment()))
    return (reports / "feed.xml").read_bytes()


@pytest.fixture
def reports(tmp_path: Path, store: Store, clock: Clock) -> Path:
    """Two weeks: papers 1 (an RCT about mood) and 2 (not about depression), then paper 3
    with paper 1 again (the windows overlap)."""
    folder = tmp_path / "reports"
    clock.now = "2026-11-09T07:00:00+00:00"
    publish(store, folder, [paper("1", "rct"), paper("2", relevant=False)], WEEKS[1], render=False)
    clock.now = "2026-11-16T07:00:00+00:00"
    publish(store, folder, [paper("3", "cohort"), paper("1", "rct")], WEEKS[2], render=False)
    return folder


def test_one_entry_per_paper_linking_pubmed_and_the_digest_that_first_listed_it(
    reports: Path, store: Store
):
    feed = feedparser.parse(write_feed(store, reports))

    assert feed.bozo == 0 and feed.version == "atom10"
    assert feed.feed.title == "kratom-watch: new kratom research"
    assert feed.feed.updated == "2026-12-01T07:00:00Z"  # when it was written
    week1, week2 = digest_name(*WEEKS[1]), digest_name(*WEEKS[2])
    assert [
        (e.id, e.title, e.published, e.updated, [(link.rel, link.href) for link in e.links])
        for e in feed.entries
    ] == [
        (
            "urn:kratom-watch:pmid:3",
            "Paper 3 on Mitragyna speciosa",
            "2026-11-16T07:00:00Z",
            "2026-11-16T07:00:00Z",
            [("alternate", "https://pubmed.ncbi.nlm.nih.gov/3/"), ("related", week2)],
        ),
        (
            "urn:kratom-watch:pmid:2",
            "Paper 2 on Mitragyna speciosa",
            "2026-11-09T07:00:00Z",
            "2026-11-09T07:00:00Z",
            [("alternate", "https://pubmed.ncbi.nlm.nih.gov/2/"), ("related", week1)],
        ),
        (
            "urn:kratom-watch:pmid:1",  # listed again in week 2: still one entry, week 1's
            "Paper 1 on Mitragyna speciosa",
            "2026-11-09T07:00:00Z",
            "2026-11-09T07:00:00Z",
            [("alternate", "https://pubmed.ncbi.nlm.nih.gov/1/"), ("related", week1)],
        ),
    ]
    rct = feed.entries[2]
    assert [t.term for t in rct.tags] == ["rct", "depression"]
    assert [t.term for t in feed.entries[1].tags] == ["cross_sectional"]
    assert rct.summary == (
        "Randomised controlled trial · 1,118 respondents. About depression or mood. J Test 2026."
    )
    content = rct.content[0]
    assert content.type == "text/html"
    assert "<strong>Found:</strong> Most used it for mood." in content.value
    assert f'<a href="{week1}">digest of 2026-11-02 to 2026-11-08</a>' in content.value


def test_reruns_keep_ids_and_times_and_an_unchanged_feed_byte_identical(
    reports: Path, store: Store, clock: Clock
):
    first = write_feed(store, reports)
    assert write_feed(store, reports, now=LATER) == first  # nothing changed: same bytes

    clock.now = "2026-12-07T07:00:00+00:00"
    publish(store, reports, [paper("4", "animal")], (WEEKS[2][1], WEEKS[2][1]), render=False)
    before, after = feedparser.parse(first), feedparser.parse(write_feed(store, reports, now=LATER))

    assert after.feed.updated == "2026-12-08T07:00:00Z"
    assert [e.id for e in after.entries] == ["urn:kratom-watch:pmid:4"] + [
        e.id for e in before.entries
    ]
    assert [(e.id, e.updated) for e in after.entries[1:]] == [
        (e.id, e.updated) for e in before.entries
    ]


def test_a_retraction_updates_the_papers_entry(reports: Path, store: Store, clock: Clock):
    clock.now = "2026-11-23T07:00:00+00:00"
    retracted = paper("2", relevant=False, notices=[("RetractionIn", "Addiction. 2026;1:5")])
    publish(store, reports, [], (WEEKS[2][1], WEEKS[2][1]), revisited=[retracted], render=False)

    feed = feedparser.parse(write_feed(store, reports))

    entry = feed.entries[0]  # changed last, so first
    assert (entry.id, entry.title, entry.published, entry.updated) == (
        "urn:kratom-watch:pmid:2",
        "Retracted: Paper 2 on Mitragyna speciosa",
        "2026-11-09T07:00:00Z",
        "2026-11-23T07:00:00Z",
    )
    assert entry.summary.endswith("Retracted: Retraction in: Addiction. 2026;1:5.")
    assert "<strong>Retracted:</strong> Retraction in: Addiction. 2026;1:5" in (
        entry.content[0].value
    )
    assert len(feed.entries) == 3


def test_links_are_absolute_with_a_base_url_and_relative_without(reports: Path, store: Store):
    relative = write_feed(store, reports)
    absolute = write_feed(store, reports, base_url="https://example.org/kw")
    tree = etree.fromstring(relative)

    hrefs = [link.get("href") for link in tree.iter(f"{ATOM}link")]
    assert hrefs[:3] == ["index.html", "feed.xml", "evidence.html"]
    assert not any(h.startswith("http") for h in hrefs if "pubmed" not in h)
    assert "{http://www.w3.org/XML/1998/namespace}base" not in tree.attrib  # none needed
    # A reader resolves them against where it fetched the feed from.
    served = feedparser.parse(
        relative, response_headers={"content-location": "https://example.org/kw/feed.xml"}
    )
    assert served.entries[0].links[1].href == f"https://example.org/kw/{digest_name(*WEEKS[2])}"

    feed = feedparser.parse(absolute)
    assert feed.feed.links[0].href == "https://example.org/kw/index.html"
    assert [link.href for link in feed.feed.links if link.rel == "self"] == [
        "https://example.org/kw/feed.xml"
    ]
    assert feed.entries[0].links[1].href == f"https://example.org/kw/{digest_name(*WEEKS[2])}"
    assert f'href="https://example.org/kw/{digest_name(*WEEKS[1])}"' in (
        feed.entries[2].content[0].value
    )
    assert [e.id for e in feed.entries] == [e.id for e in feedparser.parse(relative).entries]


def test_the_feed_holds_the_papers_that_changed_last(reports: Path, store: Store, monkeypatch):
    monkeypatch.setattr(archive, "FEED_LIMIT", 2)
    feed = feedparser.parse(write_feed(store, reports))
    assert [e.id for e in feed.entries] == ["urn:kratom-watch:pmid:3", "urn:kratom-watch:pmid:2"]


def test_a_digest_whose_file_is_gone_is_not_linked(reports: Path, store: Store):
    (reports / digest_name(*WEEKS[1])).unlink()
    feed = feedparser.parse(write_feed(store, reports))
    assert [len(e.links) for e in feed.entries] == [2, 1, 1]
    assert "digest of" not in feed.entries[2].content[0].value


def test_hostile_records_are_text_in_the_feed(tmp_path: Path, store: Store, clock: Clock):
    reports = tmp_path / "reports"
    publish(store, reports, [hostile_paper()], WEEKS[0], render=False)
    raw = write_feed(store, reports)
    tree = etree.fromstring(raw)  # well-formed XML

    assert {el.tag for el in tree.iter()} == {
        f"{ATOM}{name}"
        for name in ("feed", "title", "subtitle", "id", "updated", "author", "name", "link")
        + ("entry", "published", "category", "summary", "content")
    }
    assert b"<script" not in raw and b"<img" not in raw
    (entry,) = feedparser.parse(raw).entries
    assert entry.title == '<script>alert(1)</script> kratom <img src=x onerror="alert(2)">'
    html = tree.find(f"{ATOM}entry").find(f"{ATOM}content").text  # the HTML a reader shows
    assert "&lt;script&gt;alert(1)&lt;/script&gt; <i>kratom</i> &lt;img src=x" in html
    assert "<script" not in html and "<img" not in html and "<b " not in html
    assert 'href="javascript:' not in html and "doi: javascript:alert(6)" in html
