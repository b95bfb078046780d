"""runs.Collector with plain steps, no Prefect: the loop the flow and the benchmark share.

Against the tests' E-utilities server with corpus records: every listed PMID stored, the
next batch fetched ahead on a thread, an expired search renewed, a cut-off answer fetched
again, a record PubMed keeps failing to send reported by PMID, and the chart libraries
imported while the first answer downloads (a failing import left to the render).
"""

from __future__ import annotations

import gc
import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta

import pytest

from flows import runs
from flows.errors import PubMedError
from flows.settings import load_settings
from tests.eutils_server import (
    Fault,
    corpus_records,
    expire_webenv,
    load_corpus,
)
from tests.factories import CORPUS_FIRST_DAY, corpus_created

SINCE, UNTIL = CORPUS_FIRST_DAY, CORPUS_FIRST_DAY + timedelta(days=27)
BATCH = 10
log = logging.getLogger("tests.runs")


EXPECTED = {r["pmid"] for r in load_corpus() if r["pmid"]}


@pytest.fixture
def settings(kw_env, corpus_server, monkeypatch):
    monkeypatch.setenv("KRATOM_WATCH_EUTILS_URL", corpus_server.base_url)
    monkeypatch.setenv("KRATOM_WATCH_BATCH_SIZE", str(BATCH))
    monkeypatch.setenv("KRATOM_WATCH_RETRY_BACKOFF", "0.05")
    return load_settings()


def collect(settings, steps=None) -> runs.Collected:
    with runs.open_store(settings) as store:
        run_id = store.start_run("manual", SINCE, UNTIL, settings.query)
    collector = runs.Collector(settings, steps or runs.plain_steps(settings, run_id), log)
    collector.window(SINCE, UNTIL)
    return collector.collected


def stored(settings) -> set[str]:
    with runs.open_store(settings) as store:
        return store.known_pmids(EXPECTED)


def test_every_listed_record_is_stored_once_in_batches(settings, corpus_server):
    collected = collect(settings)

    assert set(collected.pmids) == EXPECTED == stored(settings)
    assert len(collected.pmids) == len(EXPECTED) and collected.new == len(EXPECTED)
    assert corpus_server.count("efetch") == -(-len(EXPECTED) // BATCH)


def test_the_next_batch_is_fetched_ahead_while_one_is_stored(settings, corpus_server):
    plain = runs.plain_steps(settings, 0)
    steps: list[str] = []

    def submit(search, start):
        steps.append(f"fetch {start // BATCH}")
        return pool.submit(runs.fetch_batch, settings, search, start)

    def store(answer, listed):
        steps.append("store")
        return plain.store(answer, listed)

    with ThreadPoolExecutor(max_workers=1) as pool:
        collect(settings, replace(plain, submit_fetch=submit, store=store))

    assert stored(settings) == EXPECTED
    batches = -(-len(EXPECTED) // BATCH)
    ahead = [step for k in range(1, batches) for step in (f"fetch {k}", "store")]
    assert steps == ["fetch 0", *ahead, "store"]


def test_an_expired_search_is_run_again_and_the_window_completed(settings, corpus_server):
    corpus_server.fail("efetch", Fault("pass"), expire_webenv())

    collect(settings)

    assert stored(settings) == EXPECTED
    assert corpus_server.count("esearch") == 2


def test_an_answer_that_cannot_be_read_is_fetched_again_then_fails_in_one_line(
    settings, corpus_server
):
    broken = sorted(EXPECTED)[0]
    # Well-formed XML the client takes, but no record can be read from it.
    corpus_server.add(
        [
            replace(r, xml="<PubmedArticle><PubmedData/></PubmedArticle>")
            for r in corpus_records(corpus_created)
            if r.pmid == broken
        ]
    )

    with pytest.raises(PubMedError) as raised:
        collect(settings)

    assert "\n" not in str(raised.value)
    fetched = [r.params["retstart"] for r in corpus_server.requests if r.endpoint == "efetch"]
    # The batch holding it asked for three times, and no batch after it.
    assert fetched.count(fetched[-1]) == 1 + runs.MAX_REREADS
    assert len(set(fetched)) == len(fetched) - runs.MAX_REREADS


def test_records_efetch_never_answers_fail_the_window_naming_them(settings, corpus_server):
    missing = sorted(EXPECTED)[:2]
    corpus_server.add(
        [replace(r, xml="") for r in corpus_records(corpus_created) if r.pmid in missing]
    )

    with pytest.raises(PubMedError) as raised:
        collect(settings)

    message = str(raised.value)
    assert f"2 of {len(EXPECTED)} records" in message
    assert all(pmid in message for pmid in missing)


def _forget_chart_module(monkeypatch, importable: bool = True) -> None:
    """flows.chart as if never imported, and (importable=False) as if it cannot be."""
    import flows

    monkeypatch.delattr(flows, "chart", raising=False)
    if importable:
        monkeypatch.delitem(sys.modules, "flows.chart", raising=False)
    else:
        monkeypatch.setitem(sys.modules, "flows.chart", None)  # importing it raises ImportError


def test_collecting_imports_the_chart_libraries_for_the_render(settings, monkeypatch):
    _forget_chart_module(monkeypatch)

    collect(settings)

    assert "flows.chart" in sys.modules


def test_chart_libraries_that_cannot_be_imported_do_not_stop_the_collecting(settings, monkeypatch):
    _forget_chart_module(monkeypatch, importable=False)

    collected = collect(settings)

    assert set(collected.pmids) == EXPECTED == stored(settings)


def test_what_a_run_freezes_at_its_start_is_collectable_again_after_it_even_if_it_fails():
    with pytest.raises(RuntimeError), runs.start_up_frozen():
        assert gc.get_freeze_count() > 0
        raise RuntimeError("the run failed")

    assert gc.get_freeze_count() == 0
