"""Synthetic PubMed records for the tests and the benchmarks, made from the corpus.

Every record is a real row of tests/fixtures/dev.jsonl under a new PMID (from FIRST_PMID),
created in PubMed on one of `days` consecutive days from FIRST_DAY, so a window of those
days (`window`) holds all of them. Copies of a row are told apart (a numbered title, and on
every other pass the abstract's first sentence moved to its end), so no two records are the
same text and nothing downstream can be served from a cache.
"""

from __future__ import annotations

import copy
from datetime import date, timedelta

from tests.eutils_server import SAMPLES, Record, article_xml, load_corpus, record_from_sample

FIRST_PMID = 90_000_000
FIRST_DAY = date(2025, 1, 6)  # a Monday, safely in the past


def varied_rows(n: int) -> list[dict]:
    """n corpus rows, no two with the same title and abstract."""
    rows = load_corpus()
    out = []
    for i in range(n):
        row = rows[i % len(rows)]
        abstract = row.get("abstract") or ""
        if (i // len(rows)) % 2:
            first, _, rest = abstract.partition(". ")
            abstract = f"{rest} {first}." if rest else abstract
        out.append({**row, "title": f"{row.get('title') or ''} ({i})", "abstract": abstract})
    return out


def synthetic_records(n: int, days: int = 28) -> list[Record]:
    """n server records from `varied_rows`: PMIDs from FIRST_PMID, created over `days` days."""
    records = []
    for i, row in enumerate(varied_rows(n)):
        pmid = str(FIRST_PMID + i)
        created = FIRST_DAY + timedelta(days=i % days)
        records.append(Record(pmid, created, article_xml({**row, "pmid": pmid}, created)))
    return records


def window(days: int) -> tuple[date, date]:
    """The created-date window that holds every synthetic record made over `days` days."""
    return FIRST_DAY, FIRST_DAY + timedelta(days=days - 1)


def after(days: int, length: int = 7) -> tuple[date, date]:
    """A window of `length` days just after `window(days)`: no synthetic record is in it."""
    start = FIRST_DAY + timedelta(days=days)
    return start, start + timedelta(days=length - 1)


# What a real efetch record carries that a corpus row does not, by parent element.
_GRAFTED = {
    "MedlineCitation": (
        "DateCompleted",
        "DateRevised",
        "ChemicalList",
        "CitationSubset",
        "CommentsCorrectionsList",
        "KeywordList",
        "CoiStatement",
        "OtherID",
        "GeneralNote",
        "NumberOfReferences",
    ),
    "MedlineCitation/Article": ("Pagination", "AuthorList", "GrantList", "ArticleDate"),
    "PubmedData": ("ReferenceList",),
}


def ncbi_shaped_records(n: int, days: int = 28) -> list[Record]:
    """`synthetic_records` as heavy as real efetch records (about 17 kB each, not 3 kB).

    Each record takes, in turn from the real NCBI records in tests/fixtures/eutils, their
    author list with affiliations, grants, keywords, chemicals, cited references and the rest
    of the History and ArticleIdList. Title, abstract, publication types, MeSH terms and the
    dates of entry stay the corpus row's, and no retraction or erratum notice is carried
    over. A parser pays for the bytes it skips, so timings of reading answers use these.
    """
    from lxml import etree

    samples = [
        etree.fromstring(record_from_sample(path, FIRST_DAY).xml)
        for path in sorted(SAMPLES.glob("pubmed*.xml"))
    ]
    shaped = []
    for i, record in enumerate(synthetic_records(n, days)):
        article = etree.fromstring(record.xml)
        sample = samples[i % len(samples)]
        for parent_path, tags in _GRAFTED.items():
            parent = article.find(parent_path)
            for tag in tags:
                for old in parent.findall(tag):
                    parent.remove(old)
                for element in sample.find(parent_path).findall(tag):
                    parent.append(copy.deepcopy(element))
        for notice in article.findall("MedlineCitation/CommentsCorrectionsList/*"):
            if notice.get("RefType") != "Cites":
                notice.getparent().remove(notice)
        history = article.find("PubmedData/History")
        for dated in sample.iterfind("PubmedData/History/PubMedPubDate"):
            if dated.get("PubStatus") not in ("pubmed", "entrez", "medline"):
                history.append(copy.deepcopy(dated))
        ids = article.find("PubmedData/ArticleIdList")
        for article_id in sample.iterfind("PubmedData/ArticleIdList/ArticleId"):
            if article_id.get("IdType") not in ("pubmed", "doi"):
                ids.append(copy.deepcopy(article_id))
        shaped.append(
            Record(record.pmid, record.created, etree.tostring(article, encoding="unicode"))
        )
    return shaped
