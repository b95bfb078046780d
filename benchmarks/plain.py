"""A manual run without Prefect: the steps of flows.runs called in the flow's order.

What `weekly_digest(since, until, send_email=False)` does for a window with no mail
settings, minus Prefect: search (splitting a window over ESearch's cap), fetch each batch,
read and classify it, keep the records the search listed, store them, check every listed
PMID was stored, plan and render the digest, note its updates as reported. With `ahead`,
the next batch is fetched on a thread while the current one is read and stored, as the flow
does with its task runner; without, one batch at a time. `stages` adds up where the time
went. Collecting is runs.Collector, as in flows.pipeline's `_run`, with timed plain
steps in place of Prefect tasks; the steps after it follow `_run`: a step added there
belongs here too.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date

from flows import runs
from flows.runs import RunOptions
from flows.settings import Settings

_log = logging.getLogger("benchmarks.plain")
WAITING = "fetch (waiting for answers)"


@dataclass
class PlainRun:
    found: int = 0  # records PubMed listed
    new: int = 0  # papers stored for the first time
    in_digest: int = 0
    stages: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stages[stage] += time.perf_counter() - start


@runs.start_up_frozen()  # as flows.pipeline's _run
def plain_digest(settings: Settings, since: date, until: date, ahead: bool = True) -> PlainRun:
    run = PlainRun()
    options = RunOptions("manual", send_email=False)
    with runs.open_store(settings) as store:
        run_id = store.start_run(options.kind, since, until, settings.query)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fetch") as fetcher:
        collector = runs.Collector(
            settings, _steps(settings, run_id, run, fetcher if ahead else None), _log
        )
        collector.window(since, until)
    collected = collector.collected
    with run.timed("plan"):
        plan = runs.plan_digest(settings, run_id, collected, options)
    with run.timed("render"):
        rendered = runs.render(settings, since, until, plan)
    with run.timed("plan"):
        runs.mark_reported(settings, plan, runs.digest_key(since, until, plan.pmids, plan.updates))
    run.found, run.new, run.in_digest = len(collected.pmids), collected.new, rendered.papers
    with runs.open_store(settings) as store:
        store.finish_run(run_id, "completed", found=run.found, stored=run.found, new=run.new)
    return run


class _Waited:
    """A fetch under way whose wait for the answer counts as the run's waiting time."""

    def __init__(self, future: Future[bytes], run: PlainRun) -> None:
        self._future, self._run = future, run

    def result(self) -> bytes:
        with self._run.timed(WAITING):
            return self._future.result()


def _steps(
    settings: Settings, run_id: int, run: PlainRun, fetcher: ThreadPoolExecutor | None
) -> runs.CollectSteps:
    """runs.plain_steps, each step timed into `run.stages`."""
    plain = runs.plain_steps(settings, run_id)

    def search(since: date, until: date):
        with run.timed("search"):
            return plain.search(since, until)

    def submit_fetch(search, start: int) -> _Waited:
        with run.timed(WAITING):  # one batch at a time, the fetch is all waiting
            if fetcher is None:
                future = plain.submit_fetch(search, start)
            else:
                future = fetcher.submit(runs.fetch_batch, settings, search, start)
        return _Waited(future, run)

    def store(answer: bytes, listed: frozenset[str]):
        # runs.store_answer, a step at a time.
        with run.timed("read"):
            papers = runs.read_answer(answer)
        with run.timed("classify"):
            runs.classify_papers(papers)
        with run.timed("read"):
            papers, extra = runs.listed_only(papers, listed)
        with run.timed("store"):
            return runs.store_papers(settings, papers, run_id), extra

    return replace(plain, search=search, submit_fetch=submit_fetch, store=store)
