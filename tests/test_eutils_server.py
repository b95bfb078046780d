"""The test E-utilities server, checked with plain urllib and with Biopython's Bio.Entrez."""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
import urllib.error
import urllib.request
from datetime import date, timedelta
from io import BytesIO
from urllib.parse import urlencode

import Bio.Entrez
import pytest
from Bio import Entrez
from Bio.Entrez.Parser import CorruptedXMLError
from lxml import etree

from tests.eutils_server import (
    ESEARCH_MAX_IDS,
    PUBMED_DOCTYPE,
    EutilsServer,
    Record,
    abstract_sections,
    article_xml,
    corpus_records,
    error_body,
    expire_webenv,
    http_error,
    load_corpus,
    malformed,
    pubmed_set,
    record_from_sample,
    short,
    stall,
    together,
    truncated,
)

NCBI = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
API_KEY = "test-api-key-0123456789"
FIRST_DAY = date(2026, 10, 26)
WEEK = (date(2026, 11, 2), date(2026, 11, 8))


def created_for(row: dict, _order={}) -> date:  # noqa: B006 (a deliberate cache)
    """Corpus rows with a PMID enter PubMed one a day from FIRST_DAY, in file order."""
    if not _order:
        pmids = [r["pmid"] for r in load_corpus() if r["pmid"]]
        _order.update((pmid, i) for i, pmid in enumerate(pmids))
    return FIRST_DAY + timedelta(days=_order[row["pmid"]])


@pytest.fixture(scope="module")
def records() -> list[Record]:
    return corpus_records(created_for)


@pytest.fixture
def server(records):
    with EutilsServer(records) as server:
        yield server


@pytest.fixture
def entrez(server, monkeypatch):
    """Bio.Entrez pointed at the server: its base URL is hard-coded, so rewrite each request."""
    real_urlopen = urllib.request.urlopen

    def urlopen(request, *args, **kwargs):
        request.full_url = request.full_url.replace(NCBI, server.base_url)
        return real_urlopen(request, *args, **kwargs)

    monkeypatch.setattr(Entrez, "urlopen", urlopen)
    monkeypatch.setattr(Entrez, "email", "tests@example.org")
    monkeypatch.setattr(Entrez, "api_key", API_KEY)  # also shortens Biopython's pause to 0.1 s
    monkeypatch.setattr(Entrez, "max_tries", 3)  # Biopython's default; the project sets 1
    return Entrez


def in_window(records, low: date, high: date) -> list[str]:
    chosen = [r for r in records if low <= r.created <= high]
    return [r.pmid for r in sorted(chosen, key=lambda r: (r.created, int(r.pmid)), reverse=True)]


def call(server, endpoint: str, method: str = "GET", timeout: float = 5, **params):
    """One request with urllib: (status, headers, body), HTTP errors included."""
    url = f"{server.base_url}{endpoint}.fcgi"
    data = urlencode(params).encode()
    if method == "GET":
        request = urllib.request.Request(f"{url}?{data.decode()}")
    else:
        request = urllib.request.Request(url, data=data)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def read(body: bytes):
    return Entrez.read(BytesIO(body))


def titles(body: bytes) -> list[str]:
    return [str(a["MedlineCitation"]["PMID"]) for a in read(body)["PubmedArticle"]]


# ---- XML built from the corpus


def test_corpus_records_are_valid_pubmed_xml_that_biopython_reads(records):
    dtd_path = os.path.join(os.path.dirname(Bio.Entrez.__file__), "DTDs", "pubmed_250101.dtd")
    body = pubmed_set(r.xml for r in records)
    assert body.startswith(b'<?xml version="1.0" ?>\n' + PUBMED_DOCTYPE.encode())
    dtd = etree.DTD(dtd_path)
    assert dtd.validate(etree.fromstring(body.split(b"\n", 2)[2])), dtd.error_log
    articles = read(body)["PubmedArticle"]
    assert [str(a["MedlineCitation"]["PMID"]) for a in articles] == [r.pmid for r in records]
    assert len(records) == sum(1 for row in load_corpus() if row["pmid"])


def test_article_xml_carries_the_row():
    row = next(r for r in load_corpus() if r["pmid"] == "23083922")
    article = read(pubmed_set([article_xml(row, date(2026, 11, 4))]))["PubmedArticle"][0]
    citation, data = article["MedlineCitation"], article["PubmedData"]
    assert citation["Article"]["ArticleTitle"] == row["title"]
    assert citation["Article"]["Journal"]["JournalIssue"]["PubDate"] == {"Year": "2013"}
    sections = citation["Article"]["Abstract"]["AbstractText"]
    assert [s.attributes["Label"] for s in sections] == [
        "BACKGROUND",
        "METHODS",
        "RESULTS",
        "CONCLUSIONS",
    ]
    assert sections[0].startswith("Krathom is currently")
    assert citation["Article"]["ELocationID"] == [row["doi"]]
    assert citation["Article"]["PublicationTypeList"] == ["Journal Article"]
    assert "AuthorList" not in citation["Article"]
    history = {d.attributes["PubStatus"]: d for d in data["History"]}
    assert {s: (d["Year"], d["Month"], d["Day"]) for s, d in history.items()} == {
        "pubmed": ("2026", "11", "4"),
        "medline": ("2026", "11", "4"),
        "entrez": ("2026", "11", "4"),
    }
    assert [(i.attributes["IdType"], str(i)) for i in data["ArticleIdList"]] == [
        ("pubmed", "23083922"),
        ("doi", row["doi"]),
    ]


def test_article_xml_escapes_text_and_adds_authors_and_mesh_when_given():
    row = {
        "pmid": "99000001",
        "doi": None,
        "title": 'Kratom & "depression" <i>in vivo</i>',
        "abstract": "Dose < 4 μM & more; see Results: not a heading.",
        "journal": "J <Test>",
        "year": None,
        "publication_types": ["Review", "Case Reports"],
        "mesh_terms": ["Mitragyna / adverse effects*", "Humans"],
        "authors": ["van der Berg JA", "Smith J"],
    }
    article = read(pubmed_set([article_xml(row, date(2026, 1, 5))]))["PubmedArticle"][0]
    cited = article["MedlineCitation"]["Article"]
    assert cited["ArticleTitle"] == row["title"]
    assert cited["Abstract"]["AbstractText"] == [row["abstract"]]
    assert cited["Journal"]["JournalIssue"]["PubDate"] == {"Year": "2026"}
    assert [(a["LastName"], a["Initials"]) for a in cited["AuthorList"]] == [
        ("van der Berg", "JA"),
        ("Smith", "J"),
    ]
    assert [t.attributes["UI"] for t in cited["PublicationTypeList"]] == ["D016454", "D002363"]
    mesh = article["MedlineCitation"]["MeshHeadingList"]
    assert mesh[0]["DescriptorName"] == "Mitragyna"
    assert mesh[0]["QualifierName"][0].attributes["MajorTopicYN"] == "Y"
    assert article["MedlineCitation"].attributes["Status"] == "MEDLINE"


@pytest.mark.parametrize(
    ("abstract", "labels"),
    [
        ("Plain text. With sentences.", [None]),
        ("Background: a. Methods: b.\n\nResults: c. Conclusion: d.", ["BACKGROUND", "METHODS"]),
        ("We saw (ICD 10: F33.2) cases. Note: none.", [None]),
        ("OBJECTIVE This review ... METHODS An electronic search.", [None]),
    ],
)
def test_abstract_sections(abstract, labels):
    assert [label for label, _ in abstract_sections(abstract)][: len(labels)] == labels


def test_record_from_sample_serves_the_real_article_unchanged():
    record = record_from_sample("pubmed2.xml", date(2026, 11, 3))
    assert record.pmid == "11748933"
    assert record.xml.startswith("<PubmedArticle><MedlineCitation")
    assert record.xml in (record_from_sample.__globals__["SAMPLES"] / "pubmed2.xml").read_text()
    second = record_from_sample("pubmed2.xml", date(2026, 11, 3), pmid="11700088")
    assert second.pmid == "11700088"
    # Reference lists hold their own <PMID>s; the record's own is the MedlineCitation's.
    assert record_from_sample("pubmed5.xml", date(2026, 11, 3)).pmid == "28775130"
    with pytest.raises(LookupError):
        record_from_sample("pubmed2.xml", date(2026, 11, 3), pmid="1")


# ---- esearch


@pytest.mark.parametrize(
    "window",
    [
        {"term": 'kratom AND ("2026/11/02"[crdt] : "2026/11/08"[crdt])'},
        {"term": "(kratom OR mitragynine) AND 2026/11/02:2026/11/08[crdt]"},
        {"term": "kratom", "mindate": "2026/11/02", "maxdate": "2026/11/08", "datetype": "crdt"},
        {"term": "kratom", "mindate": "2026/11/02", "maxdate": "2026/11/08", "datetype": "edat"},
        {"term": "kratom AND 2026/11/02:2026/11/08[Date - Entry]"},
    ],
)
def test_esearch_with_history_returns_exactly_the_window(entrez, server, records, window):
    result = entrez.read(entrez.esearch(db="pubmed", usehistory="y", retmax=100, **window))
    expected = in_window(records, *WEEK)
    assert len(expected) == 7
    assert result["IdList"] == expected
    assert result["Count"] == "7"
    assert result["RetMax"] == "7"
    assert result["RetStart"] == "0"
    assert result["QueryKey"] == "1"
    assert result["WebEnv"].startswith("MCID_")
    assert "2026/11/02:2026/11/08[Date - " in result["QueryTranslation"]
    assert "kratom" in result["QueryTranslation"]


def test_esearch_bounds_are_inclusive_and_coarse_dates_cover_their_period(server, records):
    status, headers, body = call(server, "esearch", term="2026/11[crdt]", retmax=100)
    assert status == 200
    assert headers["Content-Type"] == "text/xml; charset=UTF-8"
    assert read(body)["IdList"] == in_window(records, date(2026, 11, 1), date(2026, 11, 30))
    _, _, body = call(server, "esearch", term='"2026/10/26"[crdt]')
    assert read(body)["IdList"] == [records[0].pmid]
    _, _, body = call(server, "esearch", term="kratom")  # no window: everything, 20 listed
    result = read(body)
    assert result["Count"] == str(len(records))
    assert result["IdList"] == in_window(records, date.min, date.max)[:20]
    assert "WebEnv" not in result


def test_esearch_retstart_and_a_second_search_in_the_same_webenv(server, records):
    _, _, body = call(server, "esearch", term="k", usehistory="y", retstart=5, retmax=3)
    first = read(body)
    assert first["IdList"] == in_window(records, date.min, date.max)[5:8]
    _, _, body = call(
        server, "esearch", "POST", term="2026/11/02:2026/11/08[crdt]", usehistory="y",
        WebEnv=first["WebEnv"],
    )  # fmt: skip
    second = read(body)
    assert (second["WebEnv"], second["QueryKey"]) == (first["WebEnv"], "2")
    assert server.requests[-1].method == "POST"
    week = in_window(records, date(2026, 11, 2), date(2026, 11, 8))
    for key, count in (("1", len(records)), ("2", len(week))):
        _, _, body = call(
            server, "efetch", WebEnv=first["WebEnv"], query_key=key, retmax=100, retmode="xml"
        )
        assert len(titles(body)) == count


def test_esearch_lists_at_most_10000_ids_but_counts_them_all():
    day = date(2026, 11, 3)
    many = [Record(str(40_000_000 + i), day, "<PubmedArticle/>") for i in range(10_050)]
    with EutilsServer(many) as server:
        _, _, body = call(server, "esearch", term="kratom", retmax=100_000, usehistory="y")
        result = read(body)
        assert (result["Count"], len(result["IdList"])) == ("10050", ESEARCH_MAX_IDS)
        assert result["IdList"][0] == "40010049"  # same day: highest PMID first
        _, _, body = call(server, "esearch", term="kratom", retstart=9_990, retmax=20)
        assert len(read(body)["IdList"]) == 10
        _, _, body = call(server, "esearch", term="kratom", retstart=10_000)
        assert read(body)["IdList"] == []


def test_empty_term_is_answered_like_ncbi(server, entrez):
    status, _, body = call(server, "esearch", term=" ")
    assert status == 200
    assert b"<ERROR>Empty term and query_key - nothing todo</ERROR>" in body
    with pytest.raises(RuntimeError, match="Empty term"):
        entrez.read(entrez.esearch(db="pubmed", term=""))


@pytest.mark.parametrize(
    "params",
    [
        {"term": "kratom AND 2026[dp]"},
        {"term": "kratom", "mindate": "2026", "maxdate": "2026", "datetype": "pdat"},
        {"term": "kratom", "mindate": "2026", "maxdate": "2026"},  # NCBI would use pdat
        {"term": "kratom", "mindate": "2026"},
        {"term": "kratom", "reldate": "7"},
        {"term": "kratom AND 2026/13[crdt]"},
    ],
)
def test_esearch_refuses_what_it_does_not_model(server, params):
    status, _, body = call(server, "esearch", **params)
    assert status == 400
    assert b"<eSearchResult>" in body and b"<ERROR>" in body


def test_records_added_later_appear_in_new_searches_only(server, records):
    _, _, body = call(server, "esearch", term="2026/11/02:2026/11/08[crdt]", usehistory="y")
    before = read(body)
    late_row = {"pmid": "41999999", "title": "Late kratom paper", "abstract": "Text."}
    late = Record("41999999", date(2026, 11, 5), article_xml(late_row, date(2026, 11, 5)))
    server.add([late])
    _, _, body = call(server, "esearch", term="2026/11/02:2026/11/08[crdt]")
    assert read(body)["IdList"] == in_window([*records, late], *WEEK)
    assert read(body)["Count"] == "8"
    _, _, body = call(server, "efetch", WebEnv=before["WebEnv"], query_key="1", retmax=50)
    assert "41999999" not in titles(body)


# ---- efetch


def test_efetch_by_webenv_in_batches(entrez, server, records):
    search = entrez.read(
        entrez.esearch(db="pubmed", term="2026/11/02:2026/11/08[crdt]", usehistory="y")
    )
    fetched = []
    for start in range(0, int(search["Count"]), 3):
        handle = entrez.efetch(
            db="pubmed", retmode="xml", rettype="abstract", retstart=start, retmax=3,
            WebEnv=search["WebEnv"], query_key=search["QueryKey"],
        )  # fmt: skip
        fetched += entrez.read(handle)["PubmedArticle"]
    assert [str(a["MedlineCitation"]["PMID"]) for a in fetched] == search["IdList"]
    by_pmid = {r["pmid"]: r for r in load_corpus() if r["pmid"]}
    for article in fetched:
        row = by_pmid[str(article["MedlineCitation"]["PMID"])]
        assert article["MedlineCitation"]["Article"]["ArticleTitle"] == row["title"]
        if row["doi"]:
            assert article["MedlineCitation"]["Article"]["ELocationID"] == [row["doi"]]
    assert server.count("esearch") == 1
    assert server.count("efetch") == 3
    assert server.count() == 4
    assert [r.params.get("retstart") for r in server.requests[1:]] == ["0", "3", "6"]


def test_efetch_by_id_list_get_and_post(entrez, server, records):
    wanted = ["33232183", "99999999", "14969718"]  # the middle one is not in PubMed
    status, _, body = call(server, "efetch", id=",".join(wanted), retmode="xml")
    assert status == 200
    assert titles(body) == ["33232183", "14969718"]
    status, _, body = call(server, "efetch", "POST", id=",".join(wanted), retmode="xml")
    assert (status, titles(body)) == (200, ["33232183", "14969718"])
    assert [r.method for r in server.requests] == ["GET", "POST"]
    # Biopython POSTs long id lists itself.
    ids = [str(10_000_000 + i) for i in range(250)] + [r.pmid for r in records]
    articles = entrez.read(entrez.efetch(db="pubmed", id=ids, retmode="xml"))["PubmedArticle"]
    assert len(articles) == len(records)
    structured = articles[[r.pmid for r in records].index("33232183")]
    labels = [
        t.attributes["Label"]
        for t in structured["MedlineCitation"]["Article"]["Abstract"]["AbstractText"]
    ]
    assert labels == ["BACKGROUND", "OBJECTIVE", "METHODS", "RESULTS", "CONCLUSIONS"]
    assert server.requests[-1].method == "POST"
    assert server.requests[-1].params["api_key"] == API_KEY


def test_efetch_serves_real_sample_records(server):
    server.add([record_from_sample("pubmed4.xml", date(2026, 11, 4))])
    _, _, body = call(server, "efetch", id="27797938", retmode="xml")
    article = read(body)["PubmedArticle"][0]["MedlineCitation"]["Article"]
    assert [t.attributes["Label"] for t in article["Abstract"]["AbstractText"]] == [
        "OBJECTIVE",
        "DESIGN",
        "RESULTS",
        "CONCLUSIONS",
    ]


def test_requests_are_recorded_with_every_parameter(entrez, server):
    entrez.read(entrez.esearch(db="pubmed", term="kratom", tool="kratom-watch"))
    (request,) = server.requests
    assert request.endpoint == "esearch"
    assert request.method == "GET"
    assert request.fault is None
    assert request.params == {
        "db": "pubmed",
        "term": "kratom",
        "tool": "kratom-watch",
        "email": "tests@example.org",
        "api_key": API_KEY,
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"WebEnv": "MCID_0123456789abcdef", "query_key": "1"}, b"Unable to obtain query #1"),
        ({"id": "abc,def"}, b"ID list is empty! Possibly it has no correct IDs."),
        ({}, b"Empty id list - nothing todo"),
    ],
)
def test_efetch_errors_are_ncbi_error_documents_with_http_400(server, params, message):
    status, _, body = call(server, "efetch", retmode="xml", **params)
    assert status == 400
    assert b"<!DOCTYPE eEfetchResult" in body
    assert b"<eFetchResult>\n\t<ERROR>" + message in body


def test_unknown_query_key_and_out_of_range_retstart(server):
    _, _, body = call(server, "esearch", term="2026/11/02:2026/11/08[crdt]", usehistory="y")
    webenv = read(body)["WebEnv"]
    status, _, body = call(server, "efetch", WebEnv=webenv, query_key="2")
    assert (status, b"Unable to obtain query #2" in body) == (400, True)
    status, _, body = call(server, "efetch", WebEnv=webenv, query_key="1", retstart=7)
    assert status == 400
    assert b"OUT OF RANGE. Parameter retstart=7 + 1" in body
    assert b"History includes 7 IDs." in body
    status, _, body = call(server, "efetch", webenv=webenv, query_key="1", retstart=6)
    assert (status, len(titles(body))) == (200, 1)


def test_unknown_webenv_through_biopython_is_an_http_400_not_retried(entrez, server):
    with pytest.raises(urllib.error.HTTPError) as raised:
        entrez.efetch(db="pubmed", retmode="xml", WebEnv="MCID_gone", query_key="1")
    assert raised.value.code == 400
    assert server.count("efetch") == 1


# ---- faults


def test_rate_limit_429_with_retry_after(server):
    server.fail("esearch", http_error(429, retry_after=2))
    status, headers, body = call(server, "esearch", term="kratom")
    assert status == 429
    assert headers["Retry-After"] == "2"
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"error": "API rate limit exceeded", "count": "11"}
    assert call(server, "esearch", term="kratom")[0] == 200  # the queue is empty again
    assert [r.fault for r in server.requests] == ["http_error", None]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors(server, status):
    server.fail("efetch", http_error(status))
    assert call(server, "efetch", id="14969718")[0] == status
    assert call(server, "esearch", term="kratom")[0] == 200  # another endpoint's queue


def test_biopython_retries_a_5xx_at_once(entrez, server):
    server.fail("esearch", http_error(503))
    result = entrez.read(entrez.esearch(db="pubmed", term="kratom"))
    assert result["Count"] == str(sum(1 for row in load_corpus() if row["pmid"]))
    assert [r.fault for r in server.requests] == ["http_error", None]


def test_error_body_in_a_200_and_in_a_400(server, entrez):
    server.fail("esearch", error_body("Search Backend failed"))
    status, _, body = call(server, "esearch", term="kratom")
    assert status == 200
    with pytest.raises(RuntimeError, match="Search Backend failed"):
        read(body)
    server.fail("efetch", error_body("Failed to connect to PubOne service", status=400))
    status, _, body = call(server, "efetch", id="14969718")
    assert status == 400
    assert b"<eFetchResult>\n\t<ERROR>Failed to connect to PubOne service</ERROR>" in body
    assert [r.fault for r in server.requests] == ["error_body", "error_body"]


def test_truncated_body_is_an_incomplete_read(server):
    server.fail("efetch", truncated(0.5))
    with urllib.request.urlopen(f"{server.base_url}efetch.fcgi?id=14969718", timeout=5) as response:
        length = int(response.headers["Content-Length"])
        with pytest.raises(http.client.IncompleteRead) as raised:
            response.read()
    assert len(raised.value.partial) == length // 2
    assert server.requests[0].fault == "truncated"


def test_stall_outlasts_a_short_client_timeout(server, capfd):
    server.fail("*", stall(3))
    with pytest.raises(TimeoutError):
        call(server, "esearch", timeout=0.3, term="kratom")
    assert call(server, "esearch", term="kratom")[0] == 200  # the server still answers
    assert [r.fault for r in server.requests] == ["stall", None]
    server.stop()  # wakes the stalled answer, whose client is gone
    assert capfd.readouterr() == ("", "")


def test_together_answers_concurrent_requests_at_once(server):
    barrier = threading.Barrier(2)
    server.fail("esearch", together(barrier), together(barrier))
    answered: list[float] = []

    def search() -> None:
        assert call(server, "esearch", term="kratom")[0] == 200
        answered.append(time.monotonic())

    first = threading.Thread(target=search)
    first.start()
    time.sleep(0.5)
    assert not answered  # held until a second request arrives
    asked_again = time.monotonic()
    search()
    first.join(timeout=5)
    assert len(answered) == 2 and min(answered) >= asked_again
    assert [r.fault for r in server.requests] == ["together", "together"]


def test_malformed_xml_with_200(server):
    server.fail("efetch", malformed())
    status, headers, body = call(server, "efetch", id="14969718,33232183")
    assert status == 200
    assert int(headers["Content-Length"]) == len(body)
    with pytest.raises(CorruptedXMLError):
        read(body)


def test_short_batch_leaves_articles_out(server):
    server.fail("efetch", short(drop=2))
    _, _, body = call(server, "efetch", id="14969718,33232183,23083922")
    assert titles(body) == ["14969718"]
    _, _, body = call(server, "efetch", id="14969718,33232183,23083922")
    assert len(titles(body)) == 3


def test_expired_webenv(server, entrez):
    search = read(call(server, "esearch", term="kratom", usehistory="y")[2])
    server.fail("efetch", expire_webenv())
    status, _, body = call(server, "efetch", WebEnv=search["WebEnv"], query_key="1")
    assert status == 400
    assert b"Unable to obtain query #1" in body
    # Forgotten for good: a later search in that WebEnv fails as NCBI's does.
    status, _, body = call(server, "esearch", term="k", usehistory="y", WebEnv=search["WebEnv"])
    assert status == 200
    with pytest.raises(RuntimeError, match="Unable to obtain query #1"):
        read(body)
    assert server.requests[1].fault == "expire_webenv"


def test_faults_queue_in_order_endpoint_first_then_any(server):
    server.fail("*", http_error(502))
    server.fail("efetch", http_error(500), http_error(503))
    statuses = [call(server, "efetch", id="14969718")[0] for _ in range(4)]
    assert statuses == [500, 503, 502, 200]
    with pytest.raises(ValueError):
        server.fail("esummary", http_error(500))


def test_stop_closes_the_port(records):
    server = EutilsServer(records[:1])
    url = server.base_url
    server.stop()
    server.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url}esearch.fcgi?term=kratom", timeout=2)
