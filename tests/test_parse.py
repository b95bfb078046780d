"""Parsing real NCBI efetch answers (tests/fixtures/eutils, see its README)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from flows.errors import PubMedError
from flows.markup import plain_text, safe_html
from flows.parse import iter_papers, read_papers

EUTILS = Path(__file__).parent / "fixtures" / "eutils"


def parse(name: str):
    return list(iter_papers((EUTILS / name).read_bytes()))


def test_structured_abstract_keeps_labels_and_inline_markup():
    (paper,) = parse("pubmed4.xml")
    assert paper.pmid == "27797938"
    assert [s.label for s in paper.abstract] == ["OBJECTIVE", "DESIGN", "RESULTS", "CONCLUSIONS"]
    results = paper.abstract[2].text
    # Not cut at the first inline tag, and &lt; kept as text.
    assert "p<sub>trend</sub>=0.048" in results
    assert "r<sup>2</sup>&lt;0.25" in results
    assert results.endswith("associated with shorter telomere length (p=0.023).")
    assert "r2<0.25" in paper.abstract_text
    assert paper.abstract_text.startswith("OBJECTIVE: Telomere shortening")


def test_title_keeps_italics_and_quotes():
    (paper,) = parse("pubmed6.xml")
    assert paper.title.startswith('A "<i>Blood Relationship"</i> Between')
    assert str(safe_html(paper.title)).startswith("A &#34;<i>Blood Relationship&#34;</i> Between")
    assert plain_text(paper.title).startswith('A "Blood Relationship" Between')


def test_record_fields():
    (paper,) = parse("pubmed4.xml")
    assert paper.doi == "10.1136/gutjnl-2016-312510"
    assert paper.journal == "Gut"
    assert paper.pub_year == 2017
    assert paper.authors[:3] == ["Bao Y", "Prescott J", "Yuan C"]
    assert "Observational Study" in paper.publication_types
    assert "Adenocarcinoma" in paper.mesh_terms
    assert paper.entry_date == date(2016, 11, 1)


def test_reference_list_pmids_are_not_the_record_pmid():
    (paper,) = parse("pubmed5.xml")
    assert paper.pmid == "28775130"
    assert [s.label for s in paper.abstract] == ["OBJECTIVES", "METHODS", "RESULTS", "CONCLUSIONS"]


def test_one_line_multi_record_file():
    papers = parse("pubmed1.xml")
    assert [p.pmid for p in papers] == ["12091962", "9997"]
    assert papers[1].doi == "10.1016/0005-2795(76)90109-4"


@pytest.mark.parametrize(
    "body, message",
    [
        (b"<PubmedArticleSet><PubmedArticle><MedlineCitation>", "malformed XML"),
        (
            b"<eFetchResult><ERROR>Unable to obtain query #1</ERROR></eFetchResult>",
            "Unable to obtain query #1",
        ),
    ],
)
def test_bad_answers_are_errors(body, message):
    with pytest.raises(PubMedError, match=message):
        list(iter_papers(body))


def test_notices_keep_comments_and_corrections_but_not_citations():
    (paper,) = parse("pubmed4.xml")
    assert paper.notices == [("CommentIn", "Gut. 2017 Jun;66(6):1")]


def _answer_with_dtd(subset: str, title: str) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [ {subset} ]>\n'
        "<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>123</PMID><Article>"
        f"<ArticleTitle>{title}</ArticleTitle></Article></MedlineCitation></PubmedArticle>"
        "</PubmedArticleSet>"
    ).encode()


def test_an_external_entity_is_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    body = _answer_with_dtd(f'<!ENTITY xxe SYSTEM "{secret.as_uri()}">', "Title &xxe; end")

    (paper,) = read_papers(body)

    assert "TOP-SECRET-CONTENT" not in paper.title


def test_a_billion_laughs_answer_fails_in_one_line_without_expanding():
    lols = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    body = _answer_with_dtd(" ".join(lols), "&lol9;")

    with pytest.raises(PubMedError, match="efetch answered malformed XML") as caught:
        read_papers(body)
    assert "\n" not in str(caught.value)
