"""A real HTTP server on 127.0.0.1 that answers like NCBI E-utilities, for tests.

    with EutilsServer(corpus_records(lambda row: date(2026, 11, 3))) as server:
        urlopen(server.base_url + "esearch.fcgi?db=pubmed&term=kratom&usehistory=y")

It serves PubMed XML built from the hand-labelled corpus (`article_xml`) or real
recorded NCBI records (`record_from_sample`), over `esearch.fcgi` and
`efetch.fcgi` (GET or form-encoded POST), at the same path as
https://eutils.ncbi.nlm.nih.gov/entrez/eutils/.

What it models, and where the behaviour comes from:
- esearch: Count, RetMax (= ids listed), RetStart, QueryKey and WebEnv
  (`usehistory=y`; passing a WebEnv adds the search to it as query_key 2, 3 ...),
  IdList newest first (created date, then PMID, both descending), TranslationSet,
  QueryTranslation. Shape and DOCTYPE from Biopython's recorded
  Tests/Entrez/esearch1.xml and esearch2.xml (`MCID_` + 24 hex WebEnv).
  IdList holds at most ESEARCH_MAX_IDS ids (10,000, NCBI's documented cap; a
  live check cited in a public project found 9,999) while Count stays the true
  count; the history keeps every id.
- The topic part of `term` is NOT evaluated: every record on the server matches
  it. Only date limits filter: `mindate` + `maxdate` with `datetype` crdt or
  edat, and ranges or single dates in the term tagged [crdt], [edat],
  [Date - Create] or [Date - Entry], e.g. `("2026/11/02"[crdt] : "2026/11/08"[crdt])`
  or `2026/11/02:2026/11/08[crdt]`. Dates are YYYY/MM/DD, YYYY/MM or YYYY, both
  bounds inclusive; several limits are ANDed, whatever the term's operators say.
  edat is taken to equal crdt (true for records entering PubMed within a year of
  publication). [mdat] / datetype=mdat filter on `Record.modified` (default: the
  created date), so tests can model records PubMed changed later. pdat, [dp] and
  a missing datetype (NCBI would use pdat)
  are refused with HTTP 400: this server does not model publication dates.
  reldate and esearch's query_key are refused the same way.
- An empty or missing term answers NCBI's HTTP 200
  `<ERROR>Empty term and query_key - nothing todo</ERROR>`; an unknown WebEnv
  passed to esearch answers HTTP 200 `<ERROR>Unable to obtain query #1</ERROR>`
  (seen live 2026-09-14, as JSON, by a public project's search-failure notes).
- efetch (retmode=xml; rettype abstract, medline, xml or none): by `id`
  (comma-separated; ids not on the server are silently left out, as NCBI does)
  or by WebEnv + query_key with retstart/retmax (default 20, at most 10,000;
  an id list is served whole).
  Articles come in id-list order in a PubmedArticleSet with the real
  pubmed_250101 DOCTYPE. An unknown WebEnv or query_key answers HTTP 400 with
  NCBI's error document `<eFetchResult><ERROR>Unable to obtain query #1</ERROR>`
  (body as quoted in the test data of public clients such as phylotaR; 400 as for
  efetch's `<ERROR>` envelopes in massimoaria/pubmedR#7 and
  cyanheads/pubmed-mcp-server#155), a retstart past the end answers HTTP 400
  "Cannot retrieve history data: OUT OF RANGE ..." (pubmedR#7), and an id list
  with no valid id answers HTTP 400 "ID list is empty! Possibly it has no
  correct IDs." (pubmed-mcp-server#155). Beware: Biopython does not ship the
  efetch.dtd that this error document names, so `Entrez.read` on it tries to
  download the DTD (offline: RuntimeError "Failed to access efetch.dtd"); check
  the status, or look for `<ERROR>`, before handing a body to Entrez.read.
- Not modelled: rate limits (use `server.requests` times to check pacing),
  sort orders, WebEnv lifetimes (use the `expire_webenv` fault), esummary,
  epost, elink, JSON output.

Faults queued with `server.fail(endpoint, *faults)` reproduce the failures in
field-notes.md; each is consumed by one request, an endpoint's own queue before
the "*" queue, and recorded in `Request.fault`.

Hostile modes, for the faults of issue 15 (a server that is broken or out to
harm the client, not NCBI's own failures): `drip` (the answer one byte at a time,
body only or headers too: each read is quick, the whole answer never ends in
time), `endless` (200 with no Content-Length and 1 MB chunks until the client
hangs up), `echo_request` (an error page that quotes the request, API key
included, plainly, URL-encoded, percent-encoded character by character or
inside NCBI's `<ERROR>`) and `raw_answer` (any status, headers and bytes, for
records and search answers with odd values).
"""

from __future__ import annotations

import calendar
import contextlib
import json
import re
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit
from xml.sax.saxutils import escape

CORPUS = Path(__file__).parent / "fixtures" / "dev.jsonl"
SAMPLES = Path(__file__).parent / "fixtures" / "eutils"

PUBMED_DOCTYPE = (
    '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
    '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">'
)
ESEARCH_DOCTYPE = (
    '<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch 20060628//EN" '
    '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">'
)
EFETCH_ERROR_DOCTYPE = (
    '<!DOCTYPE eEfetchResult PUBLIC "-//NLM//DTD efetch 20131226//EN" '
    '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20131226/efetch.dtd">'
)
ESEARCH_MAX_IDS = 10_000
EFETCH_MAX_RECORDS = 10_000
DEFAULT_RETMAX = 20
RATE_LIMIT_BODY = b'{"error":"API rate limit exceeded","count":"11"}'
XML_TYPE = "text/xml; charset=UTF-8"


def load_corpus(path: Path = CORPUS) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


@dataclass
class Record:
    pmid: str
    created: date
    xml: str  # one <PubmedArticle>...</PubmedArticle> element
    modified: date | None = None  # [mdat]; the created date when not set

    def date_of(self, field_name: str) -> date:
        if field_name == MODIFIED_FIELD:
            return self.modified or self.created
        return self.created


# ---- PubMed XML from a corpus row

# MeSH unique ids of the publication types in the corpus (MeSH, Publication Characteristics).
PUBLICATION_TYPE_UI = {
    "Journal Article": "D016428",
    "Review": "D016454",
    "Case Reports": "D002363",
    "Comparative Study": "D003160",
    "Systematic Review": "D000078182",
    "Meta-Analysis": "D017418",
    "Randomized Controlled Trial": "D016449",
    "Clinical Trial": "D016430",
    "Observational Study": "D064888",
    "Letter": "D016422",
    "Editorial": "D016421",
}
NLM_CATEGORY = {
    "BACKGROUND": "BACKGROUND",
    "INTRODUCTION": "BACKGROUND",
    "RATIONALE": "BACKGROUND",
    "CONTEXT": "BACKGROUND",
    "ETHNOPHARMACOLOGICAL RELEVANCE": "BACKGROUND",
    "OBJECTIVE": "OBJECTIVE",
    "OBJECTIVES": "OBJECTIVE",
    "AIM": "OBJECTIVE",
    "AIMS": "OBJECTIVE",
    "AIM OF THE STUDY": "OBJECTIVE",
    "PURPOSE": "OBJECTIVE",
    "BACKGROUND AND OBJECTIVES": "OBJECTIVE",
    "METHODS": "METHODS",
    "MATERIALS AND METHODS": "METHODS",
    "DESIGN": "METHODS",
    "RESULTS": "RESULTS",
    "FINDINGS": "RESULTS",
    "KEY FINDINGS": "RESULTS",
    "CONCLUSION": "CONCLUSIONS",
    "CONCLUSIONS": "CONCLUSIONS",
}
# A section heading: a few words and a colon, at the start or after a sentence or line end.
_HEADING = re.compile(r"(?:^|(?<=[.!?]\s)|(?<=\n))([A-Z][A-Za-z]*(?: [A-Za-z]+){0,3}):\s+")


def _attr(value: str) -> str:
    return escape(value, {'"': "&quot;"})


def abstract_sections(abstract: str) -> list[tuple[str | None, str]]:
    """(label, text) pairs: labelled sections if the abstract starts with a heading."""
    headings = list(_HEADING.finditer(abstract))
    if not headings or headings[0].start() != 0:
        return [(None, abstract.strip())]
    ends = [h.start() for h in headings[1:]] + [len(abstract)]
    return [
        (h.group(1).upper(), abstract[h.end() : end].strip())
        for h, end in zip(headings, ends, strict=True)
    ]


def _abstract_xml(abstract: str) -> str:
    parts = []
    for label, text in abstract_sections(abstract):
        attrs = ""
        if label:
            category = NLM_CATEGORY.get(label, "UNASSIGNED")
            attrs = f' Label="{_attr(label)}" NlmCategory="{category}"'
        parts.append(f"<AbstractText{attrs}>{escape(text)}</AbstractText>")
    return f"<Abstract>{''.join(parts)}</Abstract>"


def _author_xml(name: str) -> str:
    last, _, initials = name.rpartition(" ")
    if not last:
        return f'<Author ValidYN="Y"><CollectiveName>{escape(name)}</CollectiveName></Author>'
    return (
        f'<Author ValidYN="Y"><LastName>{escape(last)}</LastName>'
        f"<Initials>{escape(initials)}</Initials></Author>"
    )


def _mesh_xml(term: str) -> str:
    """'Mitragyna / adverse effects*': descriptor, qualifiers, '*' marking a major topic.

    The corpus has no MeSH unique ids and none are invented: UI is empty.
    """
    descriptor, *qualifiers = [part.strip() for part in term.split("/")]

    def name(tag: str, text: str) -> str:
        major = "Y" if text.endswith("*") else "N"
        return f'<{tag} UI="" MajorTopicYN="{major}">{escape(text.rstrip("*"))}</{tag}>'

    inner = name("DescriptorName", descriptor) + "".join(
        name("QualifierName", q) for q in qualifiers
    )
    return f"<MeshHeading>{inner}</MeshHeading>"


def _pubmed_date(status: str, day: date) -> str:
    return (
        f'<PubMedPubDate PubStatus="{status}"><Year>{day.year}</Year><Month>{day.month}</Month>'
        f"<Day>{day.day}</Day><Hour>6</Hour><Minute>0</Minute></PubMedPubDate>"
    )


def article_xml(row: dict, created: date) -> str:
    """A <PubmedArticle> for a corpus row, shaped like NCBI's efetch output.

    `created` is the record's date of entry into PubMed (pubmed, entrez and
    medline History dates). A row without a year is dated `created.year`.
    Optional `authors` ("Last Initials" strings) give an AuthorList; the corpus
    has none, so by default there is none.
    """
    pmid = escape(str(row["pmid"]))
    journal = escape(row.get("journal") or "")
    doi = row.get("doi")
    mesh = row.get("mesh_terms") or []
    pub_types = row.get("publication_types") or ["Journal Article"]
    status = "MEDLINE" if mesh else "PubMed-not-MEDLINE"
    article = [
        '<Article PubModel="Print-Electronic"><Journal>',
        '<JournalIssue CitedMedium="Internet">',
        f"<PubDate><Year>{row.get('year') or created.year}</Year></PubDate></JournalIssue>",
        f"<Title>{journal}</Title></Journal>",
        f"<ArticleTitle>{escape(row.get('title') or '')}</ArticleTitle>",
        f'<ELocationID EIdType="doi" ValidYN="Y">{escape(doi)}</ELocationID>'
        if doi
        else "<Pagination><MedlinePgn/></Pagination>",
    ]
    if row.get("abstract"):
        article.append(_abstract_xml(row["abstract"]))
    if row.get("authors"):
        authors = "".join(_author_xml(name) for name in row["authors"])
        article.append(f'<AuthorList CompleteYN="Y">{authors}</AuthorList>')
    article.append("<Language>eng</Language><PublicationTypeList>")
    article += [
        f'<PublicationType UI="{PUBLICATION_TYPE_UI.get(t, "")}">{escape(t)}</PublicationType>'
        for t in pub_types
    ]
    article.append("</PublicationTypeList></Article>")
    citation = [
        f'<MedlineCitation Status="{status}" Owner="NLM"><PMID Version="1">{pmid}</PMID>',
        *article,
        f"<MedlineJournalInfo><MedlineTA>{journal}</MedlineTA></MedlineJournalInfo>",
    ]
    if mesh:
        citation.append(f"<MeshHeadingList>{''.join(map(_mesh_xml, mesh))}</MeshHeadingList>")
    citation.append("</MedlineCitation>")
    ids = f'<ArticleId IdType="pubmed">{pmid}</ArticleId>'
    if doi:
        ids += f'<ArticleId IdType="doi">{escape(doi)}</ArticleId>'
    history = "".join(_pubmed_date(s, created) for s in ("pubmed", "medline", "entrez"))
    pubmed_data = (
        f"<PubmedData><History>{history}</History><PublicationStatus>ppublish"
        f"</PublicationStatus><ArticleIdList>{ids}</ArticleIdList></PubmedData>"
    )
    return f"<PubmedArticle>{''.join(citation)}{pubmed_data}</PubmedArticle>"


def pubmed_set(xml_articles: Iterable[str]) -> bytes:
    """An efetch answer: declaration, the real DOCTYPE, and the articles in a set."""
    body = "\n".join(xml_articles)
    return (
        f'<?xml version="1.0" ?>\n{PUBMED_DOCTYPE}\n<PubmedArticleSet>\n{body}\n'
        "</PubmedArticleSet>\n"
    ).encode()


def corpus_records(
    created_for: Callable[[dict], date], rows: list[dict] | None = None
) -> list[Record]:
    """Records for the corpus rows that have a PMID; `created_for(row)` dates each one."""
    records = []
    for row in load_corpus() if rows is None else rows:
        if row.get("pmid"):
            created = created_for(row)
            records.append(Record(str(row["pmid"]), created, article_xml(row, created)))
    return records


_ARTICLE = re.compile(r"<PubmedArticle>.*?</PubmedArticle>", re.S)


def record_from_sample(path: Path | str, created: date, pmid: str | None = None) -> Record:
    """A real recorded article served byte for byte (the first in the file, or `pmid`).

    Its own History dates stay as NCBI sent them; `created` only places it in
    the server's date windows.
    """
    path = Path(path) if Path(path).is_absolute() else SAMPLES / path
    for match in _ARTICLE.finditer(path.read_text(encoding="utf-8")):
        own = ET.fromstring(match.group()).findtext("MedlineCitation/PMID")
        if pmid is None or own == pmid:
            return Record(own, created, match.group())
    raise LookupError(f"no PubmedArticle {pmid or ''} in {path}")


# ---- faults


@dataclass(frozen=True)
class Fault:
    kind: str
    status: int = 200
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    message: str = ""
    fraction: float = 0.5
    seconds: float = 0.0
    drop: int = 0
    barrier: threading.Barrier | None = None
    size: int = 0
    query_only: bool = False


def http_error(
    status: int,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    retry_after: int | None = None,
) -> Fault:
    """An HTTP error status; 429 gets NCBI's JSON rate-limit body unless given one."""
    if body is None:
        body = RATE_LIMIT_BODY if status == 429 else f"<html><h1>Error {status}</h1></html>"
    headers = dict(headers or {})
    headers.setdefault("Content-Type", "application/json" if status == 429 else "text/html")
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    body = body.encode() if isinstance(body, str) else body
    return Fault("http_error", status=status, body=body, headers=headers)


def error_body(message: str = "Search Backend failed", status: int = 200) -> Fault:
    """NCBI's <ERROR> document for the endpoint (eSearchResult or eFetchResult)."""
    return Fault("error_body", status=status, message=message)


def truncated(fraction: float = 0.5) -> Fault:
    """Full Content-Length, part of the body, then the connection closes (IncompleteRead)."""
    return Fault("truncated", fraction=fraction)


def stall(seconds: float) -> Fault:
    """Answer normally, but only after `seconds` (longer than the client's timeout)."""
    return Fault("stall", seconds=seconds)


def together(barrier: threading.Barrier) -> Fault:
    """Answer normally, once `barrier.parties` requests are waiting for it (at most 30 s):
    queued for as many requests, it makes concurrent clients go on at the same moment."""
    return Fault("together", barrier=barrier)


def malformed() -> Fault:
    """HTTP 200 with a complete body that is broken XML (the answer cut mid-element)."""
    return Fault("malformed")


def short(drop: int = 1) -> Fault:
    """Answer normally but leave out the last `drop` articles (efetch) or ids (esearch)."""
    return Fault("short", drop=drop)


def expire_webenv() -> Fault:
    """Forget the request's WebEnv before answering, as the history server does."""
    return Fault("expire_webenv")


def drip(seconds: float, headers: bool = False) -> Fault:
    """The normal answer, one byte every `seconds` (the status line and headers too when
    `headers`): every socket read gets a byte in time, the whole answer takes ages."""
    return Fault("drip", seconds=seconds, message="headers" if headers else "body")


def endless(limit: int = 64 << 20) -> Fault:
    """HTTP 200, no Content-Length, then 1 MB chunks of XML whitespace after an opening
    <PubmedArticleSet> until the client hangs up (or `limit` bytes, so that a client that
    reads everything gets an answer instead of hanging the test)."""
    return Fault("endless", size=limit)


ECHO_FORMS = ("plain", "percent", "every-char", "double", "xml")


def echo_request(
    status: int = 400, form: str = "percent", lead: str = "", query_only: bool = False
) -> Fault:
    """An error page that quotes the request it answers (path and query, or the query
    alone; for a POST the form body is the query), after `lead`: `plain` as sent,
    `percent` URL-encoded (api_key%3D...), `every-char` each character of the query as
    %XX, `double` URL-encoded twice, `xml` URL-encoded as the message of NCBI's <ERROR>
    document, at HTTP 200 (a `lead` such as "Search Backend failed" makes that a
    transient error, retried and logged)."""
    if form not in ECHO_FORMS:
        raise ValueError(f"unknown echo form {form!r}")
    return Fault(
        "echo_request", status=status, message=form, body=lead.encode(), query_only=query_only
    )


def raw_answer(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Fault:
    """Exactly this status, these headers (an XML Content-Type unless given) and body."""
    return Fault(
        "http_error", status=status, body=body, headers=headers or {"Content-Type": XML_TYPE}
    )


def echo_page(target: str, form: str, lead: str = "", query_only: bool = False) -> str:
    """The text `echo_request` puts in its page for a request to `target` (path?query)."""
    if query_only:
        target = target.partition("?")[2]
    if form == "plain":
        quoted = target
    elif form in ("percent", "xml"):
        quoted = quote(target, safe="")
    elif form == "double":
        quoted = quote(quote(target, safe=""), safe="")
    else:  # every-char
        path, sep, query = target.rpartition("?")
        quoted = path + sep + "".join(f"%{byte:02X}" for byte in query.encode())
    return f"{lead}Bad request: {quoted}"


# ---- the server


@dataclass
class Request:
    time: float  # time.monotonic() when the connection was accepted
    endpoint: str  # "esearch", "efetch", other E-utility names, or the path
    method: str
    params: dict[str, str]
    fault: str | None = None


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": XML_TYPE})


class EutilsError(Exception):
    """An answer that is an NCBI error document."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def error_document(endpoint: str, message: str) -> bytes:
    if endpoint == "efetch":
        head, root = EFETCH_ERROR_DOCTYPE, "eFetchResult"
    else:
        head, root = ESEARCH_DOCTYPE, "eSearchResult"
    return (
        f'<?xml version="1.0" encoding="UTF-8" ?>\n{head}\n<{root}>\n'
        f"\t<ERROR>{escape(message)}</ERROR>\n</{root}>\n"
    ).encode()


_DATE = r'"?(\d{4}(?:/\d{1,2}){0,2})"?'
_TAG = r"\[([A-Za-z -]+)\]"
_RANGE = rf"{_DATE}\s*(?:{_TAG})?\s*:\s*{_DATE}\s*{_TAG}"
_BRACKETED_RANGE = re.compile(rf"\(\s*({_RANGE})\s*\)")
_TERM_DATE = re.compile(rf"{_RANGE}|{_DATE}\s*{_TAG}")
DATE_TAGS = {"crdt": "Date - Create", "date - create": "Date - Create"}
DATE_TAGS |= {"edat": "Date - Entry", "date - entry": "Date - Entry"}
MODIFIED_FIELD = "Date - Modification"
DATE_TAGS |= {"mdat": MODIFIED_FIELD, "date - modification": MODIFIED_FIELD}
OTHER_DATE_TAGS = {"dp", "pdat", "date - publication"}
OTHER_DATE_TAGS |= {"mhda", "date - mesh", "lr", "dcom", "date - completion"}


def date_bound(text: str, upper: bool) -> date:
    """'2026', '2026/11' or '2026/11/02' as the first (or last) day it covers."""
    try:
        parts = [int(p) for p in text.split("/")]
        year, month, day = parts + [None] * (3 - len(parts))
        if month is None:
            month = 12 if upper else 1
        if day is None:
            day = calendar.monthrange(year, month)[1] if upper else 1
        return date(year, month, day)
    except (ValueError, TypeError):
        raise EutilsError(f"Invalid date: {text}", 400) from None


def _split_term(term: str) -> tuple[str, list[tuple[date, date, str]]]:
    """The topic part of a term, and its [crdt]/[edat] date limits as (low, high, field)."""
    windows: list[tuple[date, date, str]] = []

    def take(match: re.Match) -> str:
        low, tag1, high, tag2, single, tag3 = match.groups()
        tag = (tag2 or tag3).lower()
        if tag in OTHER_DATE_TAGS:
            raise EutilsError(f"eutils_server: [{tag}] dates are not modelled; use [crdt]")
        if tag not in DATE_TAGS or (tag1 and tag1.lower() not in DATE_TAGS):
            return match.group()
        low, high = (low, high) if single is None else (single, single)
        windows.append((date_bound(low, False), date_bound(high, True), DATE_TAGS[tag]))
        return " "

    topic = _TERM_DATE.sub(take, _BRACKETED_RANGE.sub(r"\1", term))
    # Tidy the connectors and brackets that the removed limits leave behind.
    tidy = [(r"\(\s*\)", " "), (r"\b(AND|OR|NOT)(\s+(AND|OR|NOT)\b)+", r"\1")]
    tidy += [(r"\(\s*(AND|OR|NOT)\b\s*", "("), (r"\s*\b(AND|OR|NOT)\s*\)", ")")]
    tidy += [(r"^\s*(AND|OR|NOT)\b|\b(AND|OR|NOT)\s*$", ""), (r"\s+", " ")]
    previous = None
    while previous != topic:
        previous = topic
        for pattern, replacement in tidy:
            topic = re.sub(pattern, replacement, topic.strip(), flags=re.I)
    return topic, windows


def _int(params: dict[str, str], name: str, default: int) -> int:
    value = params.get(name, "")
    if value == "":
        return default
    if not value.isdigit():
        raise EutilsError(f"Invalid {name}: {value}", 400)
    return int(value)


def _webenv(params: dict[str, str]) -> str | None:
    # NCBI spells it WebEnv; Biopython's tutorial passes webenv= and NCBI takes both.
    return params.get("WebEnv") or params.get("webenv")


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def log_message(self, format: str, *args) -> None:
        pass  # tests stay quiet

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        self.target = self.path
        if method == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace")
            params.update(parse_qsl(body, keep_blank_values=True))
            self.target = f"{url.path}?{body}"
        # A client that gave up (a stall longer than its timeout) closed the socket.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._answer(self.server.eutils, url.path, method, params)

    def _answer(self, eutils: EutilsServer, path: str, method: str, params: dict) -> None:
        prefix = "/entrez/eutils/"
        name = path[len(prefix) :].removesuffix(".fcgi") if path.startswith(prefix) else path
        fault = eutils._take_fault(name)
        arrived = self.server.accepted.pop(self.request.fileno(), time.monotonic())
        eutils._record(Request(arrived, name, method, params, fault and fault.kind))
        kind = fault.kind if fault else None
        if kind == "http_error":
            return self._send(Response(fault.status, fault.body, fault.headers))
        if kind == "error_body":
            return self._send(Response(fault.status, error_document(name, fault.message)))
        if kind == "echo_request":
            return self._echo(name, fault)
        if kind == "endless":
            return self._endless(fault.size)
        if kind == "stall":
            eutils._stopping.wait(fault.seconds)
        if kind == "together":
            with contextlib.suppress(threading.BrokenBarrierError):
                fault.barrier.wait(timeout=30)
        if kind == "expire_webenv":
            eutils.forget(_webenv(params))
        response = eutils.respond(name, params, drop=fault.drop if kind == "short" else 0)
        if kind == "malformed":
            response.body = response.body[: max(1, len(response.body) // 2)]
        limit = int(len(response.body) * fault.fraction) if kind == "truncated" else None
        if kind == "drip":
            return self._drip(response, fault.seconds, fault.message == "headers")
        self._send(response, limit)

    def _echo(self, endpoint: str, fault: Fault) -> None:
        text = echo_page(self.target, fault.message, fault.body.decode(), fault.query_only)
        if fault.message == "xml":
            return self._send(Response(200, error_document(endpoint, text)))
        page = f"<html><body><h1>Error</h1><p>{escape(text)}</p></body></html>".encode()
        self._send(Response(fault.status, page, {"Content-Type": "text/html"}))

    def _drip(self, response: Response, seconds: float, headers: bool) -> None:
        lines = [f"{self.protocol_version} {response.status} OK"]
        lines += [f"{k}: {v}" for k, v in response.headers.items()]
        lines.append(f"Content-Length: {len(response.body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        self.close_connection = True
        if not headers:
            self.wfile.write(head)
        dripped = head + response.body if headers else response.body
        stopping = self.server.eutils._stopping
        for i in range(len(dripped)):
            if stopping.wait(seconds):
                return
            self.wfile.write(dripped[i : i + 1])

    def _endless(self, limit: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", XML_TYPE)
        self.end_headers()
        self.close_connection = True
        self.wfile.write(f'<?xml version="1.0" ?>\n{PUBMED_DOCTYPE}\n<PubmedArticleSet>\n'.encode())
        chunk = b"\n" * (1 << 20)
        sent = 0
        while sent < limit and not self.server.eutils._stopping.is_set():
            self.wfile.write(chunk)
            sent += len(chunk)

    def _send(self, response: Response, limit: int | None = None) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body if limit is None else response.body[:limit])
        self.wfile.flush()
        self.close_connection = True


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    eutils: EutilsServer

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # When each connection was accepted, by socket: a request's arrival time. The
        # handler's thread can start late on a busy machine, and the pacing tests count
        # arrivals, as NCBI does.
        self.accepted: dict[int, float] = {}

    def get_request(self):
        request, address = super().get_request()
        self.accepted[request.fileno()] = time.monotonic()
        return request, address

    def handle_error(self, request, client_address) -> None:
        pass  # a client that hung up is part of the tests; no tracebacks on stderr


class EutilsServer:
    """E-utilities on 127.0.0.1 (a free port), served from a daemon thread."""

    def __init__(self, records: Iterable[Record] = ()):
        self._lock = threading.Lock()
        self._records: dict[str, Record] = {}
        self._history: dict[str, list[list[str]]] = {}
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._stopping = threading.Event()
        self.requests: list[Request] = []
        self.add(records)
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.eutils = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/entrez/eutils/"

    def __enter__(self) -> EutilsServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if not self._stopping.is_set():
            self._stopping.set()  # wakes stalled answers
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)

    def add(self, records: Iterable[Record]) -> None:
        """Put records on the server (a record with a known PMID replaces it)."""
        with self._lock:
            self._records.update((r.pmid, r) for r in records)

    def fail(self, endpoint: str, *faults: Fault) -> None:
        """Queue faults for the next requests to `endpoint` ("esearch", "efetch" or "*")."""
        if endpoint not in ("esearch", "efetch", "*"):
            raise ValueError(f"unknown endpoint {endpoint!r}")
        with self._lock:
            self._faults[endpoint].extend(faults)

    def forget(self, webenv: str | None) -> None:
        """Drop a WebEnv from the history server, as NCBI does after some hours."""
        with self._lock:
            self._history.pop(webenv or "", None)

    def count(self, endpoint: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.requests if endpoint in (None, r.endpoint))

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def _take_fault(self, endpoint: str) -> Fault | None:
        with self._lock:
            for queue in (self._faults[endpoint], self._faults["*"]):
                if queue:
                    return queue.popleft()
        return None

    def respond(self, endpoint: str, params: dict[str, str], drop: int = 0) -> Response:
        """The normal answer to one request."""
        try:
            if params.get("db", "pubmed") != "pubmed":
                raise EutilsError(f"Invalid db name specified: {params['db']}", 200)
            if endpoint == "esearch":
                return self._esearch(params, drop)
            if endpoint == "efetch":
                return self._efetch(params, drop)
        except EutilsError as error:
            return Response(error.status, error_document(endpoint, error.message))
        return Response(404, b"Not Found\n", {"Content-Type": "text/plain"})

    def _esearch(self, params: dict[str, str], drop: int) -> Response:
        unsupported = {"reldate", "query_key"} & params.keys()
        if unsupported or params.get("retmode", "xml") != "xml":
            what = ", ".join(sorted(unsupported)) or "retmode=" + params["retmode"]
            raise EutilsError(f"eutils_server: {what} is not modelled")
        term = params.get("term", "").strip()
        if not term:
            raise EutilsError("Empty term and query_key - nothing todo", 200)
        topic, windows = _split_term(term)
        if "mindate" in params or "maxdate" in params:
            datetype = params.get("datetype", "").lower()
            if datetype not in ("crdt", "edat", "mdat"):
                raise EutilsError(f"eutils_server: datetype {datetype or '(pdat)'} not modelled")
            if not (params.get("mindate") and params.get("maxdate")):
                raise EutilsError("eutils_server: mindate and maxdate go together")
            field_name = DATE_TAGS[datetype]
            low = date_bound(params["mindate"], False)
            windows.append((low, date_bound(params["maxdate"], True), field_name))
        retstart = _int(params, "retstart", 0)
        retmax = _int(params, "retmax", DEFAULT_RETMAX)
        with self._lock:
            found = [
                r
                for r in self._records.values()
                if all(low <= r.date_of(name) <= high for low, high, name in windows)
            ]
            found.sort(key=lambda r: (r.created, int(r.pmid)), reverse=True)
            ids = [r.pmid for r in found]
            history = ""
            if params.get("usehistory") == "y":
                webenv = _webenv(params)
                if webenv is None:
                    webenv = "MCID_" + secrets.token_hex(12)
                    self._history[webenv] = []
                elif webenv not in self._history:
                    raise EutilsError("Unable to obtain query #1", 200)
                self._history[webenv].append(ids)
                query_key = len(self._history[webenv])
                history = f"<QueryKey>{query_key}</QueryKey><WebEnv>{webenv}</WebEnv>"
        if params.get("rettype") == "count":
            body = f"<eSearchResult><Count>{len(ids)}</Count></eSearchResult>"
            return Response(200, _esearch_document(body))
        listed = ids[retstart : min(retstart + retmax, ESEARCH_MAX_IDS)]
        listed = listed[: max(0, len(listed) - drop)]
        limits = [f"{low:%Y/%m/%d}:{high:%Y/%m/%d}[{name}]" for low, high, name in windows]
        translation = " AND ".join(([topic] if topic else []) + limits)
        id_list = "".join(f"<Id>{pmid}</Id>\n" for pmid in listed)
        body = (
            f"<eSearchResult><Count>{len(ids)}</Count><RetMax>{len(listed)}</RetMax>"
            f"<RetStart>{retstart}</RetStart>{history}<IdList>\n{id_list}</IdList>"
            f"<TranslationSet/><QueryTranslation>{escape(translation)}</QueryTranslation>"
            "</eSearchResult>"
        )
        return Response(200, _esearch_document(body))

    def _efetch(self, params: dict[str, str], drop: int) -> Response:
        retmode, rettype = params.get("retmode"), params.get("rettype")
        if retmode not in ("xml", None) or rettype not in ("abstract", "medline", "xml", "", None):
            raise EutilsError(f"eutils_server: retmode={retmode} rettype={rettype} not modelled")
        if retmode is None and rettype not in ("xml", "", None):
            raise EutilsError(f"eutils_server: rettype={rettype} without retmode=xml is text")
        with self._lock:
            if "id" in params:
                ids = [i for i in re.split(r"[,\s]+", params["id"]) if i]
                if not any(i.isdigit() for i in ids):
                    raise EutilsError("ID list is empty! Possibly it has no correct IDs.")
            elif _webenv(params) is not None:
                ids = self._history_page(params)
            else:
                raise EutilsError("Empty id list - nothing todo")
            articles = [self._records[i].xml for i in ids if i in self._records]
        return Response(200, pubmed_set(articles[: max(0, len(articles) - drop)]))

    def _history_page(self, params: dict[str, str]) -> list[str]:
        key = params.get("query_key", "")
        searches = self._history.get(_webenv(params) or "", [])
        if not key.isdigit() or not 1 <= int(key) <= len(searches):
            raise EutilsError(f"Unable to obtain query #{key}")
        ids = searches[int(key) - 1]
        retstart = _int(params, "retstart", 0)
        retmax = min(_int(params, "retmax", DEFAULT_RETMAX), EFETCH_MAX_RECORDS)
        if retstart >= len(ids):
            raise EutilsError(
                f"Cannot retrieve history data: OUT OF RANGE. Parameter retstart={retstart} + 1"
                f" is greater than number of records available in history."
                f" History includes {len(ids)} IDs."
            )
        return ids[retstart : retstart + retmax]


def _esearch_document(body: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8" ?>\n{ESEARCH_DOCTYPE}\n{body}\n'.encode()
