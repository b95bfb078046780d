"""Reading large efetch answers with worker processes (flows.workers), and cutting them into
pieces (flows.parse.split_answer).

Whatever the workers do, a user gets what reading the answer in one process gives: the same
classified papers in the same order, or the same PubMedError. The answers are built from the
corpus records of flows/bench.py and wrapped like NCBI's (tests.eutils_server.pubmed_set).
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import re
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from flows.bench import ncbi_shaped_records, synthetic_records
from flows.classify import CLASSIFIER_VERSION
from flows.errors import PubMedError
from flows.parse import read_papers, split_answer
from flows.workers import (
    MIN_ARTICLES,
    PIECE_ARTICLES,
    read_answer,
    read_here,
    serve,
    stop_workers,
    worker_pids,
)
from tests.eutils_server import pubmed_set

EUTILS = Path(__file__).parent / "fixtures" / "eutils"

ANSWER_ARTICLES = 350  # four pieces: three of PIECE_ARTICLES and one of 50
# With one worker, pieces 0 and 2 are read in this process and pieces 1 and 3 by the worker.
IN_A_WORKERS_PIECE = PIECE_ARTICLES + 50
IN_A_PIECE_READ_HERE = 2 * PIECE_ARTICLES + 50
# Faults to put in an article: (what to replace, by what).
MALFORMED = ("</ArticleTitle>", "</ArticleTitel>")
INVALID_PMID = ('<PMID Version="1">', '<PMID Version="1">x')


@pytest.fixture(scope="module", autouse=True)
def no_workers_left():
    """No worker outlives this file, whatever another test module left running before it."""
    yield
    stop_workers()


@pytest.fixture(scope="module")
def articles() -> list[str]:
    """ANSWER_ARTICLES <PubmedArticle> elements made from the corpus, each with its own PMID."""
    return [record.xml for record in synthetic_records(ANSWER_ARTICLES)]


@pytest.fixture(scope="module")
def answer(articles) -> bytes:
    return pubmed_set(articles)


@pytest.fixture(scope="module")
def answer_papers(answer) -> list:
    """The answer read in this process: what every way of reading it must give."""
    return read_here(answer)


@pytest.fixture(scope="module")
def ncbi_records() -> list:
    """Records with everything a real efetch record carries (authors, references ...)."""
    return ncbi_shaped_records(ANSWER_ARTICLES)


@pytest.fixture(scope="module")
def ncbi_answer(ncbi_records) -> bytes:
    return pubmed_set(record.xml for record in ncbi_records)


@pytest.fixture(scope="module")
def ncbi_papers(ncbi_answer) -> list:
    return read_here(ncbi_answer)


def pmid_of(article: str) -> str:
    return re.search(r'<PMID Version="1">(\d+)</PMID>', article).group(1)


def edited(articles: list[str], index: int, old: str, new: str) -> list[str]:
    """The articles, with the first `old` in article `index` replaced by `new`."""
    assert old in articles[index]
    return [*articles[:index], articles[index].replace(old, new, 1), *articles[index + 1 :]]


def error_message(read: Callable[[bytes], list], body: bytes) -> str:
    with pytest.raises(PubMedError) as caught:
        read(body)
    return str(caught.value)


def outcome(read: Callable[[bytes], list], body: bytes) -> list | str:
    """The papers read from `body`, or the message of the PubMedError that reading it raises."""
    try:
        return read(body)
    except PubMedError as error:
        return str(error)


def with_workers(count: int) -> Callable[[bytes], list]:
    return lambda body: read_answer(body, count)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (command) "
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def kill_when_exchanging(pid: int) -> None:
    """SIGKILL a worker once read_answer's exchange threads ("kratom-watch-io...") are running,
    or after 5 s."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(
        thread.name.startswith("kratom-watch-io") for thread in threading.enumerate()
    ):
        time.sleep(0.005)
    os.kill(pid, signal.SIGKILL)


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# ---- the same papers


@pytest.mark.parametrize("workers", [1, 2])
def test_workers_read_the_same_papers_in_the_same_order(
    ncbi_records, ncbi_answer, ncbi_papers, workers
):
    papers = read_answer(ncbi_answer, workers)

    assert papers == ncbi_papers
    assert [paper.pmid for paper in papers] == [record.pmid for record in ncbi_records]
    assert {paper.classifier_version for paper in papers} == {CLASSIFIER_VERSION}
    assert len(worker_pids()) == workers


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_the_workers_do_part_of_the_reading(ncbi_answer):
    read_answer(ncbi_answer, 2)  # the workers start and settle
    before = {pid: cpu_seconds(pid) for pid in worker_pids()}

    read_answer(ncbi_answer, 2)

    assert worker_pids() == list(before)  # the same two workers read the second answer
    assert all(cpu_seconds(pid) > seconds for pid, seconds in before.items())


@pytest.mark.parametrize(
    "count, workers",
    [
        pytest.param(ANSWER_ARTICLES, 0, id="no workers asked for"),
        pytest.param(2 * PIECE_ARTICLES, 2, id="two pieces"),
        pytest.param(MIN_ARTICLES - 1, 1, id="one article short of MIN_ARTICLES"),
    ],
)
def test_a_small_answer_is_read_here_without_starting_workers(articles, count, workers):
    stop_workers()
    body = pubmed_set(articles[:count])

    assert read_answer(body, workers) == read_here(body)
    assert worker_pids() == []


def test_an_answer_of_min_articles_is_read_with_workers(articles):
    stop_workers()
    body = pubmed_set(articles[:MIN_ARTICLES])

    assert read_answer(body, 1) == read_here(body)
    assert len(worker_pids()) == 1


def test_workers_start_from_any_folder(answer, answer_papers, tmp_path, monkeypatch, caplog):
    """The worker finds the flows package itself, as when the CLI runs in a reports folder."""
    stop_workers()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYTHONPATH", raising=False)

    with caplog.at_level(logging.WARNING, logger="kratom_watch.workers"):
        assert read_answer(answer, 1) == answer_papers

    assert len(worker_pids()) == 1
    assert caplog.records == []  # a worker that cannot start would be reported and left


# ---- cutting an answer


def test_pieces_are_whole_documents_holding_the_articles_in_order(ncbi_answer):
    pieces = split_answer(ncbi_answer, PIECE_ARTICLES)

    assert [len(read_papers(bytes(piece))) for piece in pieces] == [100, 100, 100, 50]
    assert [paper for piece in pieces for paper in read_papers(bytes(piece))] == read_papers(
        ncbi_answer
    )
    whole = etree.fromstring(ncbi_answer).getroottree().docinfo
    for piece in pieces:
        root = etree.fromstring(bytes(piece))
        assert root.tag == "PubmedArticleSet"
        docinfo = root.getroottree().docinfo
        assert (docinfo.xml_version, docinfo.doctype) == (whole.xml_version, whole.doctype)


@pytest.mark.parametrize(
    "name, pmids",
    [("pubmed1.xml", ["12091962", "9997"]), ("pubmed2.xml", ["11748933", "11700088"])],
)
def test_a_real_answer_cut_into_one_article_pieces(name, pmids):
    body = (EUTILS / name).read_bytes()

    pieces = split_answer(body, 1)

    assert [[paper.pmid for paper in read_papers(bytes(piece))] for piece in pieces] == [
        [p] for p in pmids
    ]
    assert [read_papers(bytes(piece)) for piece in pieces] == [
        [paper] for paper in read_papers(body)
    ]


def test_a_real_one_article_answer_is_not_cut():
    assert split_answer((EUTILS / "pubmed4.xml").read_bytes(), 1) == []


SET_END = "</PubmedArticleSet>"

# Answers that split_answer leaves whole; reading them whole says what is in them.
NOT_CUT: dict[str, Callable[[list[str]], bytes]] = {
    "no more articles than a piece": lambda xml: pubmed_set(xml[:PIECE_ARTICLES]),
    "a comment": lambda xml: pubmed_set([*xml[:150], "<!-- <PubmedArticle> -->", *xml[150:]]),
    "a CDATA section": lambda xml: pubmed_set(
        edited(xml, 150, "<ArticleTitle>", "<ArticleTitle><![CDATA[<PubmedArticle> in a title]]>")
    ),
    "an NCBI error": lambda xml: pubmed_set([*xml, "<ERROR>Search Backend failed</ERROR>"]),
    "no closing tag": lambda xml: pubmed_set(xml).replace(SET_END.encode(), b""),
    "cut off in an article": lambda xml: pubmed_set(xml).partition(b"</ArticleTitle>")[0],
    # Valid XML; cut, the head would carry that article into every piece.
    "a first start tag written otherwise": lambda xml: pubmed_set(
        edited(xml, 0, "<PubmedArticle>", "<PubmedArticle >")
    ),
}


@pytest.mark.parametrize("make", NOT_CUT.values(), ids=NOT_CUT.keys())
def test_answers_that_are_not_cut(articles, make):
    assert split_answer(make(articles), PIECE_ARTICLES) == []


@pytest.mark.parametrize("make", NOT_CUT.values(), ids=NOT_CUT.keys())
def test_an_answer_that_is_not_cut_is_read_here_whole(articles, make):
    stop_workers()
    body = make(articles)

    assert outcome(with_workers(1), body) == outcome(read_here, body)
    assert worker_pids() == []


def test_a_title_with_cdata_is_read_in_full(articles):
    body = NOT_CUT["a CDATA section"](articles)

    assert read_here(body)[150].title_text.startswith("<PubmedArticle> in a title")


# ---- the same errors


@pytest.mark.parametrize(
    "fault, index",
    [
        pytest.param(MALFORMED, IN_A_WORKERS_PIECE, id="malformed XML in a worker's piece"),
        pytest.param(INVALID_PMID, IN_A_WORKERS_PIECE, id="an invalid PMID in a worker's piece"),
        pytest.param(INVALID_PMID, IN_A_PIECE_READ_HERE, id="an invalid PMID in a piece read here"),
        pytest.param(MALFORMED, IN_A_PIECE_READ_HERE, id="malformed XML in a piece read here"),
    ],
)
def test_a_faulty_article_gives_the_error_of_reading_the_answer_whole(articles, fault, index):
    body = pubmed_set(edited(articles, index, *fault))

    assert error_message(with_workers(1), body) == error_message(read_here, body)


def test_malformed_xml_is_named_by_its_line_in_the_whole_answer(articles):
    body = pubmed_set(edited(articles, IN_A_WORKERS_PIECE, *MALFORMED))
    line = body[: body.index(b"</ArticleTitel>")].count(b"\n") + 1

    message = error_message(with_workers(1), body)

    assert message.startswith("efetch answered malformed XML: Opening and ending tag mismatch")
    assert message.endswith(f"(<string>, line {line})")


def test_the_first_of_two_faults_is_named(articles):
    first = edited(articles, IN_A_WORKERS_PIECE, *INVALID_PMID)
    body = pubmed_set(edited(first, IN_A_PIECE_READ_HERE, *INVALID_PMID))

    message = error_message(with_workers(1), body)

    pmid = pmid_of(articles[IN_A_WORKERS_PIECE])
    assert message == f"efetch answered an article without a valid PMID ('x{pmid}')"
    assert message == error_message(read_here, body)


def test_the_worker_keeps_in_step_after_a_faulty_piece(articles, answer, answer_papers):
    read_answer(answer, 1)
    pids = worker_pids()
    # Both pieces the worker reads are faulty: the first it is sent, and the last.
    faulty = edited(articles, IN_A_WORKERS_PIECE, *INVALID_PMID)
    faulty = edited(faulty, 3 * PIECE_ARTICLES + 10, *MALFORMED)

    with pytest.raises(PubMedError):
        read_answer(pubmed_set(faulty), 1)

    assert read_answer(answer, 1) == answer_papers
    assert worker_pids() == pids


# ---- a worker's loop (flows.workers.serve), over the protocol the module docstring gives


def framed(*messages: bytes) -> bytes:
    """Messages as they go to and from a worker: each after its length in 8 bytes."""
    return b"".join(len(message).to_bytes(8, "big") + message for message in messages)


def unframed(stream: bytes) -> list[bytes]:
    messages = []
    while stream:
        size = int.from_bytes(stream[:8], "big")
        messages.append(stream[8 : 8 + size])
        stream = stream[8 + size :]
    return messages


def test_a_worker_answers_each_piece_until_its_input_ends(articles):
    good = bytes(split_answer(pubmed_set(articles), PIECE_ARTICLES)[1])
    faulty = pubmed_set(edited(articles, IN_A_WORKERS_PIECE, *INVALID_PMID))
    bad = bytes(split_answer(faulty, PIECE_ARTICLES)[1])
    pmid = pmid_of(articles[IN_A_WORKERS_PIECE])
    answers = io.BytesIO()

    serve(io.BytesIO(framed(good, bad, good)), answers)  # it returns: its input has ended

    assert [pickle.loads(message) for message in unframed(answers.getvalue())] == [
        ("ok", read_here(good)),
        ("failed", f"efetch answered an article without a valid PMID ('x{pmid}')"),
        ("ok", read_here(good)),
    ]


# ---- workers that die, and stopping them


def test_a_worker_that_died_between_answers_is_replaced(answer, answer_papers, caplog):
    read_answer(answer, 1)
    (dead,) = worker_pids()
    os.kill(dead, signal.SIGKILL)
    wait_until(lambda: worker_pids() == [])

    with caplog.at_level(logging.WARNING, logger="kratom_watch.workers"):
        assert read_answer(answer, 1) == answer_papers

    assert len(worker_pids()) == 1
    assert worker_pids() != [dead]
    assert caplog.records == []  # nothing was lost: the worker was replaced before the answer


def test_a_worker_that_dies_during_an_answer_is_reported_and_the_answer_read_here(
    answer, answer_papers, caplog
):
    read_answer(answer, 1)
    (pid,) = worker_pids()
    # Stopped, the worker still counts as running but takes no more input: the answer waits
    # for it, and it is killed once read_answer has begun to exchange pieces with it.
    os.kill(pid, signal.SIGSTOP)
    killer = threading.Thread(target=kill_when_exchanging, args=(pid,))
    killer.start()
    try:
        with caplog.at_level(logging.WARNING, logger="kratom_watch.workers"):
            papers = read_answer(answer, 1)
    finally:
        killer.join()

    assert papers == answer_papers
    [record] = [r for r in caplog.records if r.name == "kratom_watch.workers"]
    assert record.levelname == "WARNING"
    assert re.fullmatch(
        r"a worker process failed \(.+\); reading the answer here", record.getMessage()
    )
    assert worker_pids() == []  # stopped: the next answer starts a new one

    assert read_answer(answer, 1) == answer_papers
    assert len(worker_pids()) == 1
    assert worker_pids() != [pid]


def test_stop_workers_ends_the_worker_processes(answer):
    read_answer(answer, 2)
    pids = worker_pids()
    assert len(pids) == 2

    stop_workers()

    assert worker_pids() == []
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # no such process: it exited and was waited for
