"""Factories the tests share (and the benchmarks): papers, published digests, synthetic
PubMed records. One place, so no test module imports another.

Papers: `paper` is a stored, classified paper with every field a digest shows; `hostile_paper`
carries markup or a script URL in every field a reader sees. `publish` does what a run does
with a window's papers (store, record, render), `archive` writes the archive's files, `Clock`
sets the times the store records.

Synthetic PubMed records, made from the corpus:

Every record is a real row of tests/fixtures/dev.jsonl under a new PMID (from FIRST_PMID),
created in PubMed on one of `days` consecutive days from FIRST_DAY, so a window of those
days (`window`) holds all of them. Copies of a row are told apart (a numbered title, and on
every other pass the abstract's first sentence moved to its end), so no two records are the
same text and nothing downstream can be served from a cache.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from flows.archive import write_archive
from flows.digest import PaperUpdate, digest_from_store
from flows.evidence import digest_name
from flows.models import AbstractSection, Paper
from flows.render import environment, render_digest
from flows.store import Store
from tests.eutils_server import SAMPLES, Record, article_xml, load_corpus, record_from_sample

# Papers and digests


def without_write_time(path: Path) -> bytes:
    """A report's bytes less the time it was written (the one thing a rerun changes)."""
    return re.sub(rb"Written \d{4}-\d\d-\d\d \d\d:\d\d UTC", b"Written <time>", path.read_bytes())


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
        finding="Most used it for mood.",
        study_size=1118,
        study_size_unit="respondents",
        study_size_phrase="1,118 respondents",
        depression_evidence="used it for mood" if relevant else "",
        depression_reason="" if relevant else "respiratory or CNS depression only",
    )
    fields.update(changes)
    return Paper(**fields)


def hostile_paper(pmid: str = "666") -> Paper:
    """Every field a reader sees carries markup or a script URL that must stay text."""
    return paper(
        pmid,
        title='<script>alert(1)</script> <i>kratom</i> <img src=x onerror="alert(2)">',
        journal="<b onmouseover=alert(3)>J</b>",
        evidence=['<a href="javascript:alert(4)">x</a>'],
        authors=['<img src=x onerror="alert(5)">'],
        doi="javascript:alert(6)",
        abstract=[
            AbstractSection("", "<script>alert(7)</script> Results. [x](javascript:alert(8))")
        ],
        finding="<script>alert(9)</script> [y](javascript:alert(10))",
        depression_evidence="<b>mood</b>",
    )


WEEKS = [
    (date(2026, 10, 26), date(2026, 11, 1)),
    (date(2026, 11, 2), date(2026, 11, 8)),
    (date(2026, 11, 9), date(2026, 11, 15)),
]
NOW = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
LATEST_YEAR = 2027  # next year, for NOW


class Clock:
    """The store's clock: the times it records (runs started, updates noted) are the test's."""

    def __init__(self) -> None:
        self.now = "2026-11-09T07:00:00+00:00"

    def __call__(self) -> str:
        return self.now


def patch_clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr("flows.store._now", clock)
    return clock


def publish(
    store: Store,
    reports: Path,
    papers: Sequence[Paper],
    window: tuple[date, date],
    revisited: Sequence[Paper] = (),
    render: bool = True,
) -> None:
    """What a run does: store its window's papers (and earlier ones fetched again because
    they changed), record the window's, write the digest with the pending updates.

    With render=False the digest is an empty file of its name: the tests of the feed need
    only that it is there (render_digest draws a chart each time).
    """
    run_id = store.start_run("manual", *window, "kratom")
    store.upsert_papers([*papers, *revisited], run_id)
    pmids = [p.pmid for p in papers]
    store.record_run_papers(run_id, pmids)
    pending = store.pending_updates()
    known = {p.pmid: p for p in store.papers(pmid for pmid, _, _ in pending)}
    updates = [PaperUpdate(known[pmid], kind, detail) for pmid, kind, detail in pending]
    if render:
        render_digest(digest_from_store(store, pmids, *window, updates), reports)
    else:
        reports.mkdir(parents=True, exist_ok=True)
        (reports / digest_name(*window)).write_text("")
    store.finish_run(run_id, "completed", found=len(pmids), stored=len(pmids), new=len(pmids))


def archive(store: Store, reports: Path, base_url: str | None = None, now=NOW) -> list[Path]:
    return write_archive(reports, store, base_url, now, environment())


# The corpus on the tests' E-utilities server

CORPUS_FIRST_DAY = date(2026, 10, 26)  # a Monday


def corpus_created(row: dict) -> date:
    """Test dates for the corpus rows (it has none): those with a PMID spread over the four
    weeks from CORPUS_FIRST_DAY."""
    return CORPUS_FIRST_DAY + timedelta(days=int(row["pmid"]) % 28)


def corpus_in_window(since: date, until: date) -> set[str]:
    """The PMIDs corpus_created puts in since..until."""
    return {r["pmid"] for r in load_corpus() if r["pmid"] and since <= corpus_created(r) <= until}


# Synthetic PubMed records


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
