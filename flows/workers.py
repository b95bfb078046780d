"""Reading efetch answers (parse, then classify) on more than one core.

Reading a record costs about 0.4 ms of CPU, nearly all of it Python, so one
process reads about 2,500 records a second (flows/bench.py throughput). A large
answer is cut at article boundaries (flows.parse.split_answer); this process
reads some of the pieces while worker processes read the others and send back
the classified papers (pickling a paper costs a few percent of reading it).

An answer of fewer than MIN_ARTICLES articles (every weekly run) is read here:
a worker takes about half a second to start. A worker is `python -m
flows.workers`, which imports only the parser and the classifier. (A
multiprocessing pool would import the program's main module into every
worker: for the CLI or a Prefect deployment that is all of Prefect, hundreds
of MB and seconds per worker.) Workers live as long as this process; a run
starts them while its first answer is on its way (start_workers).

The protocol, over the worker's stdin and stdout: each message is an 8-byte
length, then the message. Pieces (bytes) go one way; for each, in order, a
pickled ("ok", papers) or ("failed", message) comes back.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from flows.classify import CLASSIFIER_VERSION, classify
from flows.errors import PubMedError
from flows.models import Paper
from flows.parse import Piece, iter_papers, split_answer

log = logging.getLogger("kratom_watch.workers")

PIECE_ARTICLES = 100
MIN_ARTICLES = 300
_LENGTH = 8

_workers: list[_Worker] = []
_in_use = threading.Lock()


def classify_papers(papers: list[Paper]) -> list[Paper]:
    """Label each paper in place (flows.classify); returns the same list."""
    for paper in papers:
        result = classify(
            paper.title_text, paper.abstract_text, paper.publication_types, paper.mesh_terms
        )
        paper.design = result.design
        paper.depression_relevant = result.depression_relevant
        paper.evidence = list(result.evidence)
        paper.confidence = result.confidence
        paper.classifier_version = CLASSIFIER_VERSION
    return papers


def read_here(body: bytes) -> list[Paper]:
    """The classified papers of an efetch answer, read in this process."""
    return classify_papers(list(iter_papers(body)))


def read_answer(body: bytes, workers: int) -> list[Paper]:
    """The classified papers of an efetch answer, in its order, read with `workers` helpers.

    Fails as reading it here would: when a piece fails, the whole answer is read again
    here, and that names the fault in the answer's own terms (line numbers, PMIDs).
    """
    pieces = split_answer(body, PIECE_ARTICLES, MIN_ARTICLES) if workers > 0 else []
    if not pieces:
        return read_here(body)
    with _in_use:  # one answer at a time: the workers answer in the order they were asked
        return _read_shared(body, pieces, start_workers(workers))


def _read_shared(body: bytes, pieces: list[Piece], helpers: list[_Worker]) -> list[Paper]:
    # Piece n is read here when n % share == 0, else by helper n % share - 1.
    share = len(helpers) + 1
    read: list[list[Paper]] = [[] for _ in pieces]
    try:
        with ThreadPoolExecutor(2 * len(helpers), thread_name_prefix="kratom-watch-io") as io:
            exchanges = [
                helper.exchange(pieces[k + 1 :: share], io) for k, helper in enumerate(helpers)
            ]
            for n in range(0, len(pieces), share):
                read[n] = read_here(bytes(pieces[n]))
            for k, exchange in enumerate(exchanges):
                theirs = range(k + 1, len(pieces), share)
                for n, papers in zip(theirs, exchange(), strict=True):
                    read[n] = papers
    except (PubMedError, _PieceFailed):
        return read_here(body)
    except (OSError, EOFError) as error:
        log.warning("a worker process failed (%s); reading the answer here", error)
        stop_workers()
        return read_here(body)
    return [paper for papers in read for paper in papers]


def start_workers(count: int) -> list[_Worker]:
    """`count` running worker processes, started now if they are not running."""
    global _workers
    if len(_workers) != count or not all(w.alive() for w in _workers):
        stop_workers()
        _workers = [_Worker() for _ in range(count)]
    return _workers


def worker_pids() -> list[int]:
    """The running worker processes (flows/bench.py measures their memory)."""
    return [w.pid for w in _workers if w.alive()]


@atexit.register
def stop_workers() -> None:
    global _workers
    for worker in _workers:
        worker.stop()
    _workers = []


class _PieceFailed(Exception):
    pass


class _Worker:
    def __init__(self) -> None:
        root = str(Path(__file__).resolve().parent.parent)
        path = os.environ.get("PYTHONPATH")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "flows.workers"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{path}" if path else root},
        )

    @property
    def pid(self) -> int:
        return self._process.pid

    def alive(self) -> bool:
        return self._process.poll() is None

    def exchange(
        self, pieces: list[Piece], io: ThreadPoolExecutor
    ) -> Callable[[], list[list[Paper]]]:
        """Send `pieces` and take back their papers, each way in a thread of `io`; returns
        what waits for the papers.

        Both ways at once: a worker blocks writing a large answer until it is read, and
        stops reading pieces meanwhile.
        """
        sent = io.submit(self._send, pieces)
        received = io.submit(self._receive, len(pieces))

        def papers() -> list[list[Paper]]:
            sent.result()
            return received.result()

        return papers

    def _send(self, pieces: list[Piece]) -> None:
        for piece in pieces:
            _write(self._process.stdin, *piece.parts())

    def _receive(self, count: int) -> list[list[Paper]]:
        # Every answer is taken, even after a failed one, so the next answer starts afresh.
        answers = [pickle.loads(_read(self._process.stdout)) for _ in range(count)]
        for status, value in answers:
            if status != "ok":
                raise _PieceFailed(value)
        return [papers for _, papers in answers]

    def stop(self) -> None:
        with contextlib.suppress(BrokenPipeError):  # a dead worker's pipe, still ours to close
            self._process.stdin.close()  # the worker's end of input: it exits
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process.stdout.close()


def _write(stream: BinaryIO, *parts: bytes | memoryview) -> None:
    stream.write(sum(map(len, parts)).to_bytes(_LENGTH, "big"))
    for part in parts:
        stream.write(part)
    stream.flush()


def _read(stream: BinaryIO) -> bytes:
    header = stream.read(_LENGTH)
    if len(header) < _LENGTH:
        raise EOFError("the worker process ended")
    size = int.from_bytes(header, "big")
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("the worker process ended mid-answer")
    return data


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """The worker's loop: read pieces until the input ends."""
    while True:
        try:
            piece = _read(stdin)
        except EOFError:
            return
        try:
            answer = ("ok", read_here(piece))
        except Exception as error:  # noqa: BLE001 - the main process reads it again and says
            answer = ("failed", str(error))
        _write(stdout, pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":
    # Quietly, when the main process is interrupted or has gone.
    with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
        serve(sys.stdin.buffer, sys.stdout.buffer)
