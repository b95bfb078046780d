"""A manual run without Prefect: the steps of flows.runs called in the flow's order.

What `weekly_digest(since, until, send_email=False)` does for a window with no mail
settings, minus Prefect: search (splitting a window over ESearch's cap), fetch each batch,
read and classify it, keep the records the search listed, store them, check every listed
PMID was stored, plan and render the digest, note its updates as reported. With `ahead`,
the next batch is fetched on a thread while the current one is read and stored, as the flow
does with its task runner; without, one batch at a time. `stages` adds up where the time
went. It follows flows.pipeline's `_run` and `_collect` step for step, searching through the
same runs.search_pieces: a step added there belongs here too.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import TypeVar

from flows import runs
from flows.runs import Collected, RunOptions
from flows.settings import Settings

T = TypeVar("T")


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


def plain_digest(settings: Settings, since: date, until: date, ahead: bool = True) -> PlainRun:
    run = PlainRun()
    options = RunOptions("manual", send_email=False)
    with runs.open_store(settings) as store:
        run_id = store.start_run(options.kind, since, until, settings.query)
    collected = Collected()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fetch") as fetcher:
        fetch = fetcher.submit if ahead else _done
        _collect(settings, run_id, since, until, collected, run, fetch)
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


def _done(function: Callable[..., T], *args) -> Future[T]:
    """A fetch made now, in this thread, as a finished future."""
    future: Future[T] = Future()
    future.set_result(function(*args))
    return future


Fetch = Callable[..., Future]


def _collect(
    settings: Settings,
    run_id: int,
    since: date,
    until: date,
    collected: Collected,
    run: PlainRun,
    fetch: Fetch,
) -> None:
    with run.timed("search"):
        pieces = runs.search_pieces(partial(runs.search_window, settings), since, until)
    searches = [search for _, _, search in pieces]
    batches = [
        (search, start)
        for search in searches
        for start in range(0, search.count, settings.batch_size)
    ]
    listed = {id(search): set(search.pmids) for search in searches}
    waiting = "fetch (waiting for answers)"
    with run.timed(waiting):
        pending = fetch(runs.fetch_batch, settings, *batches[0]) if batches else None
    for i, (search, _) in enumerate(batches):
        with run.timed(waiting):
            answer = pending.result()
            if i + 1 < len(batches):
                pending = fetch(runs.fetch_batch, settings, *batches[i + 1])
        with run.timed("read"):
            papers = runs.read_answer(answer)
        with run.timed("classify"):
            runs.classify_papers(papers)
        with run.timed("read"):
            papers, _ = runs.listed_only(papers, listed[id(search)])
        with run.timed("store"):
            collected.keep(runs.store_papers(settings, papers, run_id))
    every = [pmid for search in searches for pmid in search.pmids]
    with run.timed("store"):
        missing = runs.missing_pmids(settings, every)
    if missing:
        raise runs.unfetched_error(missing, len(every), since, until)
    collected.listed(every)
