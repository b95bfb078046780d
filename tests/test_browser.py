"""The HTML digest as a reader's browser shows it: Debian's headless Chromium (tests/chromium.py,
the `chromium` fixture of conftest.py), loading only local files. Screenshots are kept outside
the repository (digest-1200.png on a desktop, digest-375.png as a phone sees it; the archive
and the evidence page likewise, from tests/test_evidence.py), for a person to look at.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from flows.digest import PaperUpdate, build_digest
from flows.render import render_digest
from tests.chromium import OUTPUT
from tests.factories import SINCE, UNTIL, hostile_paper, paper

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, list]:
    papers = [
        paper("41001", "systematic_review", title="A systematic review of <i>kratom</i> and mood"),
        paper("41002", "rct", authors=["Ahn K", "Bo L", "Cruz M", "Diaz N"]),
        paper(
            "41003",
            "cross_sectional",
            doi="10.1016/j.drugalcdep.2026.112233(very)-long-suffix-for-narrow-screens",
            abstract=[],
        ),
        hostile_paper(),
        paper("41005", "animal", relevant=False, evidence=["respiratory depression in rats"]),
        paper("41006", "case_report", relevant=False),
    ]
    updates = [
        PaperUpdate(paper("39000", "narrative_review"), "retracted", "Retraction in: Addiction"),
        PaperUpdate(paper("39001"), "relabelled", "narrative review → systematic review"),
    ]
    folder = tmp_path_factory.mktemp("reports")
    paths = render_digest(build_digest(papers, SINCE, UNTIL, updates), folder)
    return paths[0], papers


def test_digest_renders_in_chromium_with_every_link_and_no_errors(chromium, report):
    html_path, papers = report
    visit = chromium.open(html_path, width=1200)
    try:
        hrefs = visit.evaluate("[...document.querySelectorAll('a[href]')].map(a => a.href)")
        text = visit.evaluate("document.body.innerText")
        facts = visit.evaluate(
            "({scripts: document.scripts.length, images: document.images.length,"
            " styles: document.querySelectorAll('style, link').length,"
            " column: document.querySelector('body > div').getBoundingClientRect().width,"
            " firstSection: document.querySelector('h2').textContent,"
            " italic: document.querySelector('.title i') !== null})"
        )
        visit.screenshot(OUTPUT / "digest-1200.png")
        problems = visit.problems()
    finally:
        visit.close()

    assert problems == []
    for p in papers:
        assert f"https://pubmed.ncbi.nlm.nih.gov/{p.pmid}/" in hrefs
    # PubMed, doi.org, and the archive's pages beside the digest.
    beside = {(html_path.parent / name).as_uri() for name in ("evidence.html", "index.html")}
    outside = [h for h in hrefs if not h.startswith(("https://pubmed.", "https://doi.org/10."))]
    assert set(outside) == beside
    assert "<script>alert(1)</script>" in text  # shown, not run
    assert facts == {
        "scripts": 0,
        "images": 1,  # the chart beside it
        "styles": 0,  # everything inlined
        "column": 640,
        "firstSection": "Updates to papers from earlier digests (2)",
        "italic": True,
    }


def test_digest_fits_a_phone_screen(chromium, report):
    html_path, _ = report
    visit = chromium.open(html_path, width=375)
    try:
        widths = visit.evaluate(
            "({page: document.documentElement.scrollWidth, view: window.innerWidth})"
        )
        visit.screenshot(OUTPUT / "digest-375.png")
        problems = visit.problems()
    finally:
        visit.close()

    assert problems == []
    assert widths == {"page": 375, "view": 375}  # no sideways scrolling


def test_quiet_week_in_chromium(chromium, tmp_path):
    html_path = render_digest(build_digest([], date(2026, 11, 9), date(2026, 11, 15)), tmp_path)[0]
    visit = chromium.open(html_path, width=800)
    try:
        text = visit.evaluate("document.body.innerText")
        problems = visit.problems()
    finally:
        visit.close()
    assert problems == []
    assert "No new papers this week:" in text


def test_archive_index_shows_the_chart(chromium, report):
    html_path, _ = report
    visit = chromium.open(html_path.parent / "index.html", width=800)
    try:
        chart = visit.evaluate(
            "(() => { const img = document.querySelector('img');"
            " return {loaded: img.complete, width: img.naturalWidth}; })()"
        )
        links = visit.evaluate("[...document.querySelectorAll('a')].map(a => a.textContent)")
        visit.screenshot(OUTPUT / "index.png")
        problems = visit.problems()
    finally:
        visit.close()
    assert problems == []
    assert chart == {"loaded": True, "width": 800}
    assert links == ["Atom feed", "The evidence so far", "2026-11-02 to 2026-11-08"] + [
        "HTML",
        "text",
        "Markdown",
        "CSV",
        "RIS",
        "chart",
    ]


def test_the_checks_see_errors_scripts_and_requests(chromium, tmp_path):
    """A page that does everything the digest must not: the checks above would notice."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><title>bad</title>"
        "<script>console.error('broken'); alert('ran'); undefinedFunction();</script>"
        '<img src="http://127.0.0.1:9/pixel.png">'  # loopback only: refused, never leaves
    )
    visit = chromium.open(page, width=800)
    try:
        visit.evaluate("1")  # let the pending events arrive
        problems = visit.problems()
    finally:
        visit.close()
    assert any(p.startswith("console.error") for p in problems)
    assert "dialog: ran" in problems
    assert any(p.startswith("exception:") for p in problems)
    assert "request: http://127.0.0.1:9/pixel.png" in problems
