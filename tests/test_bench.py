"""The benchmark's own logic: verdicts and exit codes, the arithmetic, the slow server.

The sections themselves take minutes and are run with `python -m benchmarks`, not here (the
behaviour they measure is tested elsewhere: the request count of a window in test_pipeline,
pacing in test_faults, memory-bound rendering in test_digest).
"""

from __future__ import annotations

import time
import urllib.request

import pytest

from benchmarks import cli
from benchmarks.figures import Figure, max_in_one_second, network_floor
from benchmarks.slow_eutils import AnswerModel, SlowEutilsServer
from tests.factories import synthetic_records


def sections(*figures: Figure) -> dict:
    return {"made-up": lambda quick: list(figures)}


def test_a_missed_figure_makes_the_exit_status_non_zero(capsys):
    figures = Figure("fast", "1 s", "< 2 s", True), Figure("slow", "3 s", "< 2 s", False)

    assert cli.main(["made-up"], sections(*figures)) == 1
    lines = capsys.readouterr().out.splitlines()
    assert "fast: 1 s (target < 2 s) OK" in lines
    assert "slow: 3 s (target < 2 s) MISS" in lines


def test_figures_that_all_meet_their_targets_exit_zero(capsys):
    figures = Figure("fast", "1 s", "< 2 s", True), Figure("context", "12 requests")

    assert cli.main(["made-up"], sections(*figures)) == 0
    assert "context: 12 requests" in capsys.readouterr().out.splitlines()


def test_a_section_that_fails_to_run_counts_as_missed(capsys):
    def broken(quick: bool):
        yield Figure("first", "1 s", "< 2 s", True)
        raise RuntimeError("the E-utilities server went away")

    assert cli.main(["broken"], {"broken": broken}) == 1
    out = capsys.readouterr().out
    assert "first: 1 s (target < 2 s) OK" in out
    assert "broken: failed: RuntimeError: the E-utilities server went away" in out
    assert out.splitlines()[-2].endswith("MISS")


def test_unknown_section_exits_2_and_names_the_choices(capsys):
    assert cli.main(["nope", "--quick"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: no benchmark section nope; choose from classify, requests")


def test_no_section_named_runs_every_section_but_the_suite():
    names, quick = cli.chosen([], cli.SECTIONS)
    assert names == [n for n in cli.SECTIONS if n != "suite"]
    assert not quick
    assert cli.chosen(["suite", "--quick"], cli.SECTIONS) == (["suite"], True)


@pytest.mark.parametrize(
    ("times", "most"),
    [
        ([], 0),
        ([0.0], 1),
        ([0.0, 0.45, 0.9, 1.35, 1.8], 3),  # the pace without a key: 3 in any second
        ([0.0, 0.1, 0.2, 0.3, 5.0], 4),
        ([0.0, 1.0, 2.0], 1),  # a second is [t, t + 1): a request 1 s later is in the next
        ([2.0, 0.5, 0.0, 0.6], 3),  # unsorted
    ],
)
def test_max_in_one_second(times, most):
    assert max_in_one_second(times) == most


@pytest.mark.parametrize(
    ("answers", "interval", "floor"),
    [
        ([], 0.45, 0.0),
        ([1.0, 1.0, 1.0], 0.45, 3.0),  # answers slower than the pace: their sum
        ([0.3, 0.3, 0.3], 0.45, 0.45 + 0.45 + 0.3),  # faster: the pace between requests
        ([0.3, 1.0, 0.3], 0.45, 0.45 + 1.0 + 0.3),
    ],
)
def test_network_floor(answers, interval, floor):
    assert network_floor(answers, interval) == pytest.approx(floor)


TOLERANCE = 0.15  # seconds a busy machine may add to an answer's modelled time


def timed_get(url: str) -> tuple[float, bytes]:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=10) as answer:
        body = answer.read()
    return time.perf_counter() - start, body


@pytest.mark.parametrize("articles", [0, 40])
def test_slow_server_answers_in_the_time_its_model_gives(articles):
    model = AnswerModel(fixed=0.1, per_record=0.005)
    records = synthetic_records(40, days=7)
    ids = ",".join(r.pmid for r in records[:articles]) or "1"  # an unknown PMID: no article
    with SlowEutilsServer(records, model) as server:
        seconds, body = timed_get(f"{server.base_url}efetch.fcgi?db=pubmed&id={ids}&retmode=xml")

    assert body.count(b"<PubmedArticle>") == articles
    expected = model.seconds(articles)  # 0.1 s or 0.3 s
    assert expected <= seconds < expected + TOLERANCE
    [answer] = server.answers
    assert (answer.endpoint, answer.articles, answer.modelled) == ("efetch", articles, expected)


def test_slow_server_takes_the_fixed_time_for_a_search():
    model = AnswerModel(fixed=0.15, per_record=0.01)
    with SlowEutilsServer(synthetic_records(30, days=7), model) as server:
        seconds, body = timed_get(f"{server.base_url}esearch.fcgi?db=pubmed&term=kratom")

    assert b"<Count>30</Count>" in body
    assert 0.15 <= seconds < 0.15 + TOLERANCE
