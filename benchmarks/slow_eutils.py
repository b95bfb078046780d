"""The tests' E-utilities server, answering as slowly as NCBI does.

A local server answers a 500-record efetch in milliseconds, so against it the time a run
spends reading and storing looks like the whole run. NCBI takes about a second for such an
answer (issue 14; field-notes.md). The model here: every answer takes a fixed time (the
round trip and NCBI's own look-up) plus a transfer time per article it carries:

    answer seconds = fixed + per_record * articles

NCBI_LIKE is 0.3 s + 1.4 ms a record, so a 500-record answer takes 1.0 s and an esearch
(no articles) or a one-paper efetch 0.3 s. These are chosen to match "about a second per
500-record answer", not measured here: the benchmark has no internet. Concurrent requests
each take their own time, as at NCBI; the server does not enforce the rate limit (the
pacing section checks the client keeps to it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from tests.eutils_server import EutilsServer, Record, Response


@dataclass(frozen=True)
class AnswerModel:
    fixed: float  # seconds every answer takes
    per_record: float  # seconds more for each article in the answer

    def seconds(self, articles: int) -> float:
        return self.fixed + self.per_record * articles


NCBI_LIKE = AnswerModel(fixed=0.3, per_record=0.0014)


@dataclass(frozen=True)
class Answer:
    endpoint: str
    articles: int
    modelled: float  # what the model says this answer takes
    took: float  # how long the server took to hand it over, as measured here


class SlowEutilsServer(EutilsServer):
    """EutilsServer whose every answer takes `model.seconds(articles)`; `answers` lists them."""

    def __init__(self, records: Iterable[Record] = (), model: AnswerModel = NCBI_LIKE):
        self.model = model
        self.answers: list[Answer] = []
        self._answers_lock = threading.Lock()
        self._closing = threading.Event()
        super().__init__(records)

    def respond(self, endpoint: str, params: dict[str, str], drop: int = 0) -> Response:
        start = time.monotonic()
        response = super().respond(endpoint, params, drop)
        articles = response.body.count(b"<PubmedArticle>") if endpoint == "efetch" else 0
        modelled = self.model.seconds(articles)
        # Building the answer counts towards its time, as NCBI's own work does.
        self._closing.wait(max(0.0, modelled - (time.monotonic() - start)))
        with self._answers_lock:
            self.answers.append(Answer(endpoint, articles, modelled, time.monotonic() - start))
        return response

    def answers_since(self, first: int) -> list[Answer]:
        """The answers given after the first `first` (those of the runs since then)."""
        with self._answers_lock:
            return self.answers[first:]

    def stop(self) -> None:
        self._closing.set()  # answers still waiting go out at once
        super().stop()
