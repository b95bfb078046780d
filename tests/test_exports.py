from __future__ import annotations

import re
from pathlib import Path

import pytest
import rispy
from markdown_it import MarkdownIt

from flows.designs import LABELS
from flows.digest import PaperUpdate, build_digest
from flows.exports import RIS_TYPES, digest_ris, md_escape, md_inline, md_link
from flows.render import render_digest
from tests.factories import SINCE, UNTIL, hostile_paper, paper


def ris_records(papers) -> list[dict]:
    return rispy.loads(digest_ris(build_digest(papers, SINCE, UNTIL)))


def test_ris_parses_back_with_every_field():
    (record,) = ris_records(
        [paper("1", "rct", authors=["Ahn K", "Bo L", "Cruz M", "Diaz N"], pub_year=2025)]
    )

    assert record == {
        "type_of_reference": "JOUR",
        "title": "Paper 1 on Mitragyna speciosa",
        "authors": ["Ahn K", "Bo L", "Cruz M", "Diaz N"],
        "journal_name": "J Test",
        "secondary_title": "J Test",
        "year": "2025",
        "abstract": "Kratom use was surveyed. Most used it for mood. More.",
        "doi": "10.1000/1",
        "accession_number": "1",
        "urls": ["https://pubmed.ncbi.nlm.nih.gov/1/"],
        "name_of_database": "PubMed",
        "keywords": ["Randomised controlled trial", "depression-relevant"],
        "notes": [
            "Study design (Randomised controlled trial) from: an online survey",
            "Study size: 1,118 respondents (1,118 respondents)",
            "About depression: used it for mood",
            "Finding: Most used it for mood.",
        ],
    }


def test_ris_records_follow_the_digest_order():
    records = ris_records([paper("1", "animal"), paper("2", "rct"), paper("3", relevant=False)])
    assert [r["accession_number"] for r in records] == ["2", "1", "3"]
    assert records[2]["keywords"] == ["Cross-sectional / survey"]


def test_ris_type_follows_the_design():
    assert set(RIS_TYPES) == set(LABELS)
    assert set(RIS_TYPES.values()) == {"JOUR"}  # every design is a journal item
    (opinion, untitled_journal) = ris_records(
        [paper("1", "opinion"), paper("2", "other", journal="")]
    )
    assert (opinion["type_of_reference"], untitled_journal["type_of_reference"]) == (
        "JOUR",
        "GEN",
    )


def test_ris_hostile_values_stay_in_their_field():
    forged = paper(
        "2",
        title="Real title\nER  - \n\nTY  - JOUR\nTI  - Forged",
        authors=["A B\nKW  - forged"],
    )
    records = ris_records([hostile_paper(), forged])

    assert [r["accession_number"] for r in records] == ["666", "2"]
    hostile, forged_record = records
    assert hostile["title"] == '<script>alert(1)</script> kratom <img src=x onerror="alert(2)">'
    assert hostile["journal_name"] == "<b onmouseover=alert(3)>J</b>"
    assert "doi" not in hostile
    assert forged_record["title"] == "Real title ER - TY - JOUR TI - Forged"
    assert forged_record["authors"] == ["A B KW - forged"]
    assert "forged" not in forged_record["keywords"]


def test_ris_file_uses_crlf_and_ends_each_record():
    text = digest_ris(build_digest([paper("1"), paper("2")], SINCE, UNTIL))
    assert text.count("ER  - \r\n") == 2
    assert "\n" not in text.replace("\r\n", "")
    assert text.startswith("TY  - JOUR\r\n")


@pytest.mark.parametrize(
    ("value", "markdown"),
    [
        ("plain text", "plain text"),
        ("<script>alert(1)</script>", r"\<script\>alert(1)\</script\>"),
        ("[x](javascript:alert(1))", r"\[x\](javascript:alert(1))"),
        ("a *b* _c_ `d` | e & f ~g~", r"a \*b\* \_c\_ \`d\` \| e \& f \~g\~"),
        ("two\nlines\n# heading", "two lines # heading"),
        ("back\\slash", r"back\\slash"),
    ],
)
def test_md_escape(value, markdown):
    assert md_escape(value) == markdown


def test_md_inline_keeps_italics_and_escapes_the_rest():
    assert md_inline("Effects of <i>Mitragyna speciosa</i> on mood") == (
        "Effects of *Mitragyna speciosa* on mood"
    )
    assert md_inline("m<sup>2</sup> &amp; &lt;b&gt;") == r"m2 \& \<b\>"


def test_md_link_refuses_a_target_that_could_break_out():
    assert md_link("doi:10.1/a(b", "https://doi.org/10.1/a(b") == (
        "[doi:10.1/a(b](<https://doi.org/10.1/a(b>)"
    )
    with pytest.raises(ValueError):
        md_link("x", "https://example.org/a>b")


def test_markdown_renders_hostile_content_as_text(tmp_path: Path):
    updates = [PaperUpdate(hostile_paper("7"), "retracted", "<img src=x onerror=alert(9)>")]
    papers = [paper("1"), hostile_paper()]
    markdown = render_digest(build_digest(papers, SINCE, UNTIL, updates), tmp_path)[2].read_text()

    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)

    tags = set(re.findall(r"<([a-z0-9]+)", html))
    assert tags <= {"h1", "h2", "h3", "p", "ul", "li", "a", "em", "strong", "br", "blockquote"} | {
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "hr",
    }
    assert "<em>Mitragyna speciosa</em>" in html
    assert set(re.findall(r'href="([^"]*)"', html)) == {
        "https://pubmed.ncbi.nlm.nih.gov/1/",
        "https://doi.org/10.1000/1",
        "https://pubmed.ncbi.nlm.nih.gov/7/",
        "https://pubmed.ncbi.nlm.nih.gov/666/",
    }
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
