"""The Entrez client against the local E-utilities server."""

from __future__ import annotations

import traceback
from datetime import date

import pytest

from flows.errors import PubMedError
from flows.parse import read_papers
from flows.pubmed import EutilsClient
from flows.settings import Secret, Settings
from tests.eutils_server import (
    EutilsServer,
    corpus_records,
    error_body,
    http_error,
    load_corpus,
    record_from_sample,
    short,
    stall,
    truncated,
)

DAY = date(2026, 11, 3)
FAKE_KEY = "ZZfakeKEY0123456789secret"


RECORDS = len(corpus_records(lambda row: DAY)) + 1  # the corpus rows with a PMID, a sample


@pytest.fixture
def server():
    records = corpus_records(lambda row: DAY)
    records.append(record_from_sample("pubmed4.xml", DAY))
    with EutilsServer(records) as s:
        yield s


def client_for(server, **changes) -> EutilsClient:
    settings = Settings(ncbi_email="tests@example.org", eutils_url=server.base_url, timeout=2)
    for name, value in changes.items():
        object.__setattr__(settings, name, value)
    return EutilsClient(settings, backoff=0.01)


def test_search_then_fetch_in_batches(server):
    client = client_for(server)
    search = client.search_window("kratom", DAY, DAY)

    answers = [client.fetch_batch(search, start, 20) for start in range(0, search.count, 20)]

    assert all(isinstance(answer, bytes) for answer in answers)  # read by the caller
    papers = [p for answer in answers for p in read_papers(answer)]
    assert search.count == RECORDS
    assert [p.pmid for p in papers] == list(search.pmids)
    assert server.count("esearch") == 1 and server.count("efetch") == -(-RECORDS // 20)
    first = server.requests[0].params
    assert (first["tool"], first["email"], first["usehistory"]) == (
        "kratom-watch",
        "tests@example.org",
        "y",
    )


def test_window_bounds_are_inclusive(server):
    later = [{**row, "pmid": "9" + row["pmid"]} for row in load_corpus()[:10] if row["pmid"]]
    server.add(corpus_records(lambda row: date(2026, 11, 9), later))
    client = client_for(server)

    assert client.search_window("kratom", DAY, date(2026, 11, 8)).count == RECORDS
    assert client.search_window("kratom", DAY, date(2026, 11, 9)).count == RECORDS + len(later)


@pytest.mark.parametrize(
    "fault",
    [
        http_error(503),
        http_error(500),
        http_error(429),
        error_body("Search Backend failed"),
        truncated(),
        stall(5),
    ],
    ids=["503", "500", "429", "backend-error", "cut-body", "stall"],
)
def test_transient_failures_are_retried(server, fault):
    server.fail("esearch", fault)

    search = client_for(server).search_window("kratom", DAY, DAY)

    assert search.count == RECORDS
    assert server.count("esearch") == 2


def test_retry_after_is_honoured(server):
    server.fail("esearch", http_error(429, retry_after=1))

    client_for(server).search_window("kratom", DAY, DAY)

    first, second = server.requests
    assert second.time - first.time >= 1.0


def test_persistent_failure_is_one_clear_error_without_the_key(server):
    server.fail("esearch", *[http_error(503)] * 5)
    client = client_for(server, ncbi_api_key=Secret(FAKE_KEY))
    client.max_attempts = 3

    with pytest.raises(PubMedError) as raised:
        client.search_window("kratom", DAY, DAY)

    assert str(raised.value) == "PubMed search failed after 3 attempts: HTTP 503"
    assert FAKE_KEY not in "".join(traceback.format_exception(raised.value))
    assert all(r.params["api_key"] == FAKE_KEY for r in server.requests)


def test_query_error_is_not_retried(server):
    server.fail("esearch", error_body("Invalid query", status=400))

    with pytest.raises(PubMedError, match="Invalid query"):
        client_for(server).search_window("kratom", DAY, DAY)
    assert server.count("esearch") == 1


def test_short_batch_is_returned_as_is_for_the_flow_to_complete(server):
    client = client_for(server)
    search = client.search_window("kratom", DAY, DAY)
    server.fail("efetch", short(drop=2))

    assert len(read_papers(client.fetch_batch(search, 0, 10))) == 8
    by_id = read_papers(client.fetch_ids(list(search.pmids[8:10])))
    assert [p.pmid for p in by_id] == list(search.pmids[8:10])


def test_pacing_without_key_is_at_most_three_a_second(server):
    client = client_for(server)
    search = client.search_window("kratom", DAY, DAY)
    for start in range(0, 20, 5):
        client.fetch_batch(search, start, 5)

    times = [r.time for r in server.requests]
    assert max(sum(1 for u in times if t <= u < t + 1) for t in times) <= 3
