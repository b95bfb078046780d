"""Streaming parse of PubMed efetch XML (PubmedArticleSet) into Papers.

lxml.iterparse reads one article at a time and frees it, so memory stays flat
however large the set (Entrez.read builds the whole set first: 625 MB for
10,000 articles, see docs/field-notes.md). One small function per MEDLINE field.
The DTD is never loaded: PubMed XML uses only the predefined entities.

What a record says is not trusted to be well formed. Numbers are ASCII digits
(str.isdigit() also takes "²" and "٢", which int() then refuses or reads as
another number). A record that cannot be stored as itself (no PMID of ASCII
digits, no MedlineCitation, Article or BookDocument) fails the whole answer
with a PubMedError naming its PMID, so nothing is stored that a rerun would
stumble on and nothing is dropped unnoticed. A field that is merely implausible
(a publication year of 20 digits, a date in the year 3000) is kept as unknown,
with a warning naming the PMID: the paper itself is readable and is kept.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from datetime import date

from lxml import etree

from flows.errors import PubMedError
from flows.markup import fragment_from_element
from flows.models import NOTICE_KINDS, AbstractSection, Paper

log = logging.getLogger("kratom_watch.parse")

# PMIDs are positive numbers (about 41 million in 2026), written without leading zeros.
_PMID = re.compile(r"[1-9][0-9]{0,9}")
_YEAR = re.compile(r"[0-9]{4}")
_SMALL = re.compile(r"[0-9]{1,2}")  # a month or day
_MEDLINE_YEAR = re.compile(r"(?<![0-9])[0-9]{4}(?![0-9])")
# PubMed's oldest citations are from the late 18th century; journals date issues up to
# a year ahead, and a long-running process may be a year behind the calendar.
FIRST_YEAR = 1700
YEARS_AHEAD = 2

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}


def is_pmid(text: str) -> bool:
    """A PMID as PubMed writes one: ASCII digits, no leading zero, at most ten."""
    return _PMID.fullmatch(text) is not None


def read_papers(body: bytes) -> list[Paper]:
    """The papers of an efetch answer, unclassified."""
    return list(iter_papers(body))


def iter_papers(source: bytes | io.BufferedIOBase) -> Iterator[Paper]:
    """Yield a Paper per PubmedArticle / PubmedBookArticle in an efetch answer."""
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    events = etree.iterparse(
        stream,
        events=("end",),
        tag=("PubmedArticle", "PubmedBookArticle", "ERROR"),
        load_dtd=False,
        resolve_entities=False,
        no_network=True,
        huge_tree=True,
    )
    try:
        for number, (_, element) in enumerate(events, 1):
            if element.tag == "ERROR":
                said = " ".join((element.text or "").split())
                raise PubMedError(f"efetch answered an error: {_cut(said, 200)}")
            if element.tag == "PubmedArticle":
                yield parse_article(element, number)
            else:
                yield parse_book_article(element, number)
            # Free what is parsed: the element and the finished siblings before it.
            element.clear()
            parent = element.getparent()
            while parent is not None and element.getprevious() is not None:
                del parent[0]
    except etree.XMLSyntaxError as error:
        raise PubMedError(f"efetch answered malformed XML: {error}") from None


def parse_article(article: etree._Element, number: int = 1) -> Paper:
    """A PubmedArticle; `number` is its place in the answer, for errors about it."""
    # Lookups by plain tag name, one level at a time: lxml answers those in C, while a path
    # ("Journal/Title") goes through its Python ElementPath (about 5 us a call, and a backfill
    # makes tens of them per record; measured when the parse was written).
    data = article.find("PubmedData")
    citation = _required(article, "MedlineCitation", number, data)
    pmid = parse_pmid(citation, number)
    art = _required(citation, "Article", number, data)
    journal = art.find("Journal")
    pub_date = _child(journal, "JournalIssue", "PubDate")
    return Paper(
        pmid=pmid,
        title=parse_title(art.find("ArticleTitle"), art.find("VernacularTitle")),
        abstract=parse_abstract(art.find("Abstract")),
        authors=parse_authors(art.find("AuthorList")),
        journal=_text(_child(journal, "Title")),
        pub_year=parse_pub_year(pub_date, pmid),
        pub_date=parse_pub_date(pub_date),
        entry_date=parse_entry_date(_child(data, "History")),
        doi=parse_doi(_child(data, "ArticleIdList"), art),
        publication_types=[
            _text(t) for t in _children(art, "PublicationTypeList", "PublicationType")
        ],
        mesh_terms=[
            _text(heading.find("DescriptorName"))
            for heading in _children(citation, "MeshHeadingList", "MeshHeading")
        ],
        notices=parse_notices(citation.find("CommentsCorrectionsList")),
    )


def parse_book_article(article: etree._Element, number: int = 1) -> Paper:
    """Book chapters (NCBI Bookshelf) answer PubMed searches too; keep what they have."""
    document = _required(article, "BookDocument", number, article.find("PubmedBookData"))
    pmid = parse_pmid(document, number)
    book = document.find("Book")
    title = document.find("ArticleTitle")
    if title is None and book is not None:
        title = book.find("BookTitle")
    pub_date = book.find("PubDate") if book is not None else None
    return Paper(
        pmid=pmid,
        title=parse_title(title, None),
        abstract=parse_abstract(document.find("Abstract")),
        authors=parse_authors(document.find("AuthorList")),
        journal=_text(book.find("BookTitle")) if book is not None else "",
        pub_year=parse_pub_year(pub_date, pmid),
        pub_date=parse_pub_date(pub_date),
        entry_date=parse_entry_date(article.find("PubmedBookData/History")),
        doi=parse_doi(article.find("PubmedBookData/ArticleIdList"), None),
        publication_types=[_text(t) for t in document.findall("PublicationType")],
    )


def parse_pmid(parent: etree._Element, number: int = 1) -> str:
    # The record's own PMID is a direct child; citations in a ReferenceList
    # carry PMIDs of other papers deeper down.
    pmid = _text(parent.find("PMID"))
    if not is_pmid(pmid):
        raise PubMedError(
            f"efetch answered article {number} with PMID {_cut(pmid, 20)!r}, which is not a "
            "PMID (1 to 10 ASCII digits)"
        )
    return pmid


def _required(
    parent: etree._Element, tag: str, number: int, data: etree._Element | None
) -> etree._Element:
    found = parent.find(tag)
    if found is None:
        # The PMID is in the missing element, but also in PubmedData's ArticleIdList.
        pmid = next(
            (
                _text(i)
                for i in _children(data, "ArticleIdList", "ArticleId")
                if i.get("IdType") == "pubmed"
            ),
            "",
        )
        pmid = _cut(pmid, 20) if pmid else "unknown"
        raise PubMedError(f"efetch answered article {number} (PMID {pmid}) without its {tag}")
    return found


def parse_title(title: etree._Element | None, vernacular: etree._Element | None) -> str:
    for element in (title, vernacular):
        if element is not None:
            fragment = fragment_from_element(element)
            if fragment:
                return fragment
    return "[No title available]"


def parse_abstract(abstract: etree._Element | None) -> list[AbstractSection]:
    if abstract is None:
        return []
    return [
        AbstractSection(label=(part.get("Label") or "").strip(), text=fragment_from_element(part))
        for part in abstract.findall("AbstractText")
    ]


def parse_authors(author_list: etree._Element | None) -> list[str]:
    if author_list is None:
        return []
    names = []
    for author in author_list.iterchildren("Author"):
        if author.get("ValidYN", "Y") != "Y":
            continue
        # One pass over the name parts (a backfill has tens of authors a record, and a lookup
        # per part costs twice as much). Name parts are plain text; a collective name can
        # carry markup.
        parts: dict[str, etree._Element] = {}
        for part in author:
            parts.setdefault(part.tag, part)
        last = " ".join(_own_text(parts.get("LastName")).split())
        if last:
            initials = _own_text(parts.get("Initials")) or _own_text(parts.get("ForeName"))[:1]
            names.append(f"{last} {' '.join(initials.split())}".strip())
        else:
            collective = _text(parts.get("CollectiveName"))
            if collective:
                names.append(collective)
    return names


def parse_notices(corrections: etree._Element | None) -> list[tuple[str, str]]:
    """Retractions, errata, expressions of concern and comments linked to the record."""
    if corrections is None:
        return []
    return [
        (item.get("RefType"), _text(item.find("RefSource")))
        for item in corrections.findall("CommentsCorrections")
        if item.get("RefType") in NOTICE_KINDS
    ]


def parse_pub_year(pub_date: etree._Element | None, pmid: str = "") -> int | None:
    if pub_date is None:
        return None
    year = _text(pub_date.find("Year"))
    if not year:  # "1998 Dec-1999 Jan", "Winter 2019": the first year in it
        first = _MEDLINE_YEAR.search(_text(pub_date.find("MedlineDate")))
        year = first.group() if first else ""
    found = plausible_year(year)
    if found is None and year:
        log.warning(
            "PMID %s: the publication year %r is not a plausible year; kept as unknown",
            pmid,
            _cut(year, 20),
        )
    return found


def plausible_year(text: str) -> int | None:
    """A year of four ASCII digits from FIRST_YEAR to YEARS_AHEAD from now, else None."""
    if not _YEAR.fullmatch(text):
        return None
    year = int(text)
    return year if FIRST_YEAR <= year <= date.today().year + YEARS_AHEAD else None


def parse_pub_date(pub_date: etree._Element | None) -> str:
    if pub_date is None:
        return ""
    parts = {child.tag: _text(child) for child in pub_date}
    if parts.get("MedlineDate"):
        return parts["MedlineDate"]
    if parts.get("Year") and plausible_year(parts["Year"]) is None:
        del parts["Year"]  # said by parse_pub_year; a month alone still helps a reader
    return " ".join(parts[f] for f in ("Year", "Season", "Month", "Day") if parts.get(f))


def parse_entry_date(history: etree._Element | None) -> date | None:
    """The date the record was created in PubMed (search tag [crdt]).

    In the XML that is the PubMedPubDate with PubStatus "pubmed"; "entrez"
    (the Entrez date, [edat]) is the fallback.
    """
    if history is None:
        return None
    by_status: dict[str | None, etree._Element] = {}
    for element in history:
        by_status.setdefault(element.get("PubStatus"), element)  # the first of each status
    for status in ("pubmed", "entrez"):
        element = by_status.get(status)
        if element is not None:
            found = _date(element)
            if found:
                return found
    return None


def parse_doi(article_ids: etree._Element | None, article: etree._Element | None) -> str:
    if article_ids is not None:
        for article_id in article_ids.findall("ArticleId"):
            if article_id.get("IdType") == "doi" and _text(article_id):
                return _text(article_id)
    if article is not None:
        for location in article.findall("ELocationID"):
            if location.get("EIdType") == "doi" and _text(location):
                return _text(location)
    return ""


def _date(element: etree._Element) -> date | None:
    parts = {child.tag: _text(child) for child in element}
    year, month, day = (parts.get(f, "") for f in ("Year", "Month", "Day"))
    year_number = plausible_year(year)
    if year_number is None:
        return None
    if not month:
        month_number = 1
    elif _SMALL.fullmatch(month):
        month_number = int(month)
    else:  # a name ("Nov"), or nothing a date can be made of
        month_number = _MONTHS.get(month[:3].lower(), 0)
    if day and not _SMALL.fullmatch(day):
        return None
    try:
        return date(year_number, month_number, int(day) if day else 1)
    except ValueError:
        return None


def _cut(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 3] + "..."


def _child(element: etree._Element | None, *tags: str) -> etree._Element | None:
    """element/tag/tag..., by plain-tag lookups; None as soon as a step is missing."""
    for tag in tags:
        if element is None:
            return None
        element = element.find(tag)
    return element


def _children(element: etree._Element | None, tag: str, item: str) -> list[etree._Element]:
    """The `item` elements of element/tag (a list such as PublicationTypeList)."""
    parent = _child(element, tag)
    return [] if parent is None else parent.findall(item)


def _own_text(element: etree._Element | None) -> str:
    """The text of an element before any child (what findtext gives)."""
    return "" if element is None else element.text or ""


def _text(element: etree._Element | None) -> str:
    """All text inside an element, markup dropped, whitespace collapsed."""
    if element is None:
        return ""
    text = "".join(element.itertext()) if len(element) else element.text or ""
    return " ".join(text.split())
