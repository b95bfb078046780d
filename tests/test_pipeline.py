"""End to end: the CLI and the Prefect flow against the local E-utilities server."""

from __future__ import annotations

import asyncio
import csv
import json
import math
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from flows.cli import cli
from flows.windows import last_complete_week
from tests.conftest import prefect_flow_run, prefect_flow_run_id, run_cli
from tests.eutils_server import corpus_records, error_body, load_corpus, stall
from tests.factories import corpus_in_window, without_write_time

SINCE, UNTIL = date(2026, 11, 2), date(2026, 11, 8)


def store_rows(db: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT * FROM papers ORDER BY pmid").fetchall()


def invoke(args: list[str]):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


@pytest.fixture
def env(kw_env, corpus_server, monkeypatch):
    monkeypatch.setenv("KRATOM_WATCH_EUTILS_URL", corpus_server.base_url)
    monkeypatch.setenv("KRATOM_WATCH_BATCH_SIZE", "4")
    return kw_env


def test_window_run_stores_and_reports_exactly_that_window(prefect_harness, env, corpus_server):
    expected = corpus_in_window(SINCE, UNTIL)
    assert len(expected) > 4, "the test dates should put several batches in the window"

    result = invoke(["run", "--since", str(SINCE), "--until", str(UNTIL)])

    assert result.exit_code == 0, result.output
    paths = result.stdout.split()
    assert [p.rsplit(".", 1)[1] for p in paths] == [
        "html",
        "txt",
        "md",
        "csv",
        "ris",
        "png",
        "png",
        "png",
        "html",
        "html",
        "xml",
    ]
    assert all(Path(p).exists() for p in paths)
    html, text, table = (Path(paths[i]).read_text(encoding="utf-8") for i in (0, 1, 3))
    assert {row[0] for row in store_rows(env["KRATOM_WATCH_DB"])} == expected
    rows = list(csv.DictReader(table.splitlines()))
    assert {r["pmid"] for r in rows} == expected
    for name in ("pmid", "title", "journal", "year", "doi", "design", "depression_relevant"):
        assert name in rows[0]
    for pmid in expected:
        assert f'href="https://pubmed.ncbi.nlm.nih.gov/{pmid}/"' in html
        assert f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" in text
    assert corpus_server.count("esearch") == 1
    assert corpus_server.count("efetch") == math.ceil(len(expected) / 4)
    (search,) = [r for r in corpus_server.requests if r.endpoint == "esearch"]
    assert search.params["usehistory"] == "y"
    assert '"2026/11/02"[crdt] : "2026/11/08"[crdt]' in search.params["term"]
    assert all("WebEnv" in r.params for r in corpus_server.requests if r.endpoint == "efetch")


def test_second_run_changes_nothing(prefect_harness, env, corpus_server):
    args = ["run", "--since", str(SINCE), "--until", str(UNTIL)]
    first = invoke(args)
    rows = store_rows(env["KRATOM_WATCH_DB"])
    files = {p: without_write_time(Path(p)) for p in first.stdout.split()}

    second = invoke(args)

    assert second.exit_code == 0, second.output
    assert second.stdout == first.stdout
    assert store_rows(env["KRATOM_WATCH_DB"]) == rows
    assert {p: without_write_time(Path(p)) for p in second.stdout.split()} == files
    with sqlite3.connect(env["KRATOM_WATCH_DB"]) as conn:
        runs = conn.execute("SELECT status, found FROM runs").fetchall()
    assert runs == [("completed", len(rows))] * 2


def test_run_is_visible_in_prefect(prefect_harness, env):
    result = invoke(["run", "--since", str(SINCE), "--until", str(UNTIL)])
    assert result.exit_code == 0, result.output

    run = prefect_flow_run(env["KRATOM_WATCH_DB"])
    assert run.flow_id and run.state.is_completed()
    assert run.parameters["since"] == str(SINCE) and run.parameters["until"] == str(UNTIL)
    assert run.parameters["kind"] == "manual"


def test_a_run_started_here_goes_without_prefects_heartbeat_unless_asked():
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY

    from flows.pipeline import heartbeat_updates

    assert heartbeat_updates({}) == {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
    assert heartbeat_updates({"PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "60"}) == {}


def test_no_dates_means_last_complete_week(prefect_harness, env, corpus_server, monkeypatch):
    monkeypatch.setenv("KRATOM_WATCH_TIMEZONE", "Pacific/Auckland")
    today = datetime.now(ZoneInfo("Pacific/Auckland")).date()
    since, until = last_complete_week(today)
    # Put a record in that week, and one the day after it.
    rows = [r for r in load_corpus() if r["pmid"]][:2]
    corpus_server.add(
        corpus_records(lambda row: since if row is rows[0] else until + timedelta(1), rows)
    )

    result = invoke(["run"])

    assert result.exit_code == 0, result.output
    html_path = result.stdout.split()[0]
    assert html_path.endswith(f"kratom-watch_{since}_{until}.html")
    html = Path(html_path).read_text(encoding="utf-8")
    assert f"/{rows[0]['pmid']}/" in html
    assert f"/{rows[1]['pmid']}/" not in html


def test_empty_window_says_so(prefect_harness, env):
    result = invoke(["run", "--since", "2025-01-06", "--until", "2025-01-12"])

    assert result.exit_code == 0, result.output
    paths = result.stdout.split()
    html, text, table = (Path(paths[i]).read_text(encoding="utf-8") for i in (0, 1, 3))
    assert "No new papers this week" in html
    assert "No new papers this week" in text
    assert table.count("\n") == 1  # the header alone


@pytest.mark.parametrize(
    "args, env_changes, message",
    [
        (["run", "--since", "2026-13-01"], {}, "'2026-13-01' is not a date in the form YYYY-MM-DD"),
        (["run", "--since", "2026-11-08", "--until", "2026-11-02"], {}, "the window is reversed"),
        (["run", "--since", "2999-01-01"], {}, "the window starts in the future"),
        (["run", "--until", "2026-11-02"], {}, "until 2026-11-02 needs since too"),
        (["run", "--sinse", "2026-11-02"], {}, "No such option '--sinse'"),
        (["run"], {"NCBI_EMAIL": ""}, "NCBI_EMAIL is not set"),
        (["run"], {"KRATOM_WATCH_EUTILS_URL": "ftp://x"}, "KRATOM_WATCH_EUTILS_URL='ftp://x'"),
        (["run"], {"KRATOM_WATCH_TIMEZONE": "Mars/Olympus"}, "not a known time zone"),
        (["run"], {"KRATOM_WATCH_BATCH_SIZE": "many"}, "KRATOM_WATCH_BATCH_SIZE='many'"),
    ],
)
def test_bad_input_gets_one_clear_line(kw_env, args, env_changes, message):
    result = run_cli(args, {**kw_env, **env_changes})

    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("Error")]) == 1
    assert result.stdout == ""


def test_query_rejected_by_pubmed_fails_the_run(prefect_harness, env, corpus_server):
    corpus_server.fail("esearch", error_body("Invalid query: unbalanced parentheses"))

    result = invoke(["run", "--since", str(SINCE), "--until", str(UNTIL)])

    assert result.exit_code == 1
    assert result.stderr.endswith(
        "Error: PubMed rejected the search: Invalid query: unbalanced parentheses\n"
    )
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    with sqlite3.connect(env["KRATOM_WATCH_DB"]) as conn:
        assert conn.execute("SELECT status FROM runs").fetchall() == [("failed",)]


def test_window_larger_than_esearch_lists_is_split(
    prefect_harness, env, corpus_server, monkeypatch
):
    import flows.pubmed

    monkeypatch.setattr(flows.pubmed, "ESEARCH_MAX_IDS", 4)
    expected = corpus_in_window(SINCE, UNTIL)

    result = invoke(["run", "--since", str(SINCE), "--until", str(UNTIL)])

    assert result.exit_code == 0, result.output
    assert {row[0] for row in store_rows(env["KRATOM_WATCH_DB"])} == expected
    table = Path(result.stdout.split()[3]).read_text(encoding="utf-8")
    assert {r["pmid"] for r in csv.DictReader(table.splitlines())} == expected
    searches = [r for r in corpus_server.requests if r.endpoint == "esearch"]
    assert len(searches) > 2  # the whole window, then its halves until each fits


def test_a_single_day_with_more_records_than_esearch_lists_fails_naming_it(
    prefect_harness, env, monkeypatch
):
    import flows.pubmed

    monkeypatch.setattr(flows.pubmed, "ESEARCH_MAX_IDS", 1)  # 2026-11-03 has 2 records
    day = "2026-11-03"

    result = invoke(["run", "--since", day, "--until", day])

    assert result.exit_code == 1
    last = result.stderr.splitlines()[-1]
    assert last.startswith("Error: ") and f"on the single day {day}; narrow the query" in last
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    with sqlite3.connect(env["KRATOM_WATCH_DB"]) as conn:
        assert conn.execute("SELECT status FROM runs").fetchall() == [("failed",)]


def test_run_publishes_its_summary_and_papers_as_prefect_artifacts(prefect_harness, env):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    result = invoke(["run", "--since", str(SINCE), "--until", str(UNTIL)])
    assert result.exit_code == 0, result.output
    flow_run_id = prefect_flow_run_id(env["KRATOM_WATCH_DB"])

    async def latest(key: str):
        async with get_client() as client:
            (found,) = await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    key=ArtifactFilterKey(any_=[key]),
                    flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]),
                )
            )
        return found

    summary = asyncio.run(latest("digest-summary"))
    table = asyncio.run(latest("digest-papers"))
    expected = corpus_in_window(SINCE, UNTIL)
    assert f"papers in the digest: {len(expected)}" in summary.data
    assert "| design | papers |" in summary.data
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert {row["pmid"] for row in rows} == expected
    assert all(row["pubmed"].startswith("https://pubmed.ncbi.nlm.nih.gov/") for row in rows)


def test_next_batch_is_fetched_while_the_last_one_is_read_and_stored(
    prefect_harness, env, corpus_server
):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    batches = math.ceil(len(corpus_in_window(SINCE, UNTIL)) / 4)
    assert batches >= 3
    # Every answer takes a while, as NCBI's do: a fetch run one batch ahead is still under
    # way while the batch before it is read and stored.
    corpus_server.fail("efetch", *[stall(0.4)] * batches)

    result = invoke(["run", "--since", str(SINCE), "--until", str(UNTIL), "--no-email"])
    assert result.exit_code == 0, result.output

    flow_run_id = prefect_flow_run_id(env["KRATOM_WATCH_DB"])

    async def task_runs():
        async with get_client() as client:
            return await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            )

    by_name: dict[str, list] = {}
    for run in sorted(asyncio.run(task_runs()), key=lambda r: r.start_time):
        by_name.setdefault(run.name.rsplit("-", 1)[0], []).append(run)
    fetches, stores = by_name["fetch-batch"], by_name["store-batch"]
    assert len(fetches) == len(stores) == batches
    for fetch, store in zip(fetches[1:], stores[:-1], strict=True):
        # The fetch of batch i+1 was running while batch i was stored.
        assert fetch.start_time < store.end_time and store.start_time < fetch.end_time


def test_an_unexpected_error_is_recorded_as_a_failed_run_with_its_message(
    prefect_harness, env, monkeypatch
):
    from flows import runs

    def broken(*args, **kwargs):
        raise RuntimeError("the digest plan broke")

    monkeypatch.setattr(runs, "plan_digest", broken)

    result = invoke(["run", "--since", str(SINCE), "--until", str(UNTIL), "--no-email"])

    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: unexpected RuntimeError: the digest plan broke"
    )
    with sqlite3.connect(env["KRATOM_WATCH_DB"]) as conn:
        assert conn.execute("SELECT status, error FROM runs").fetchall() == [
            ("failed", "unexpected RuntimeError: the digest plan broke")
        ]


def test_when_recording_the_failure_fails_too_the_runs_own_error_is_reported(
    prefect_harness, env, corpus_server, monkeypatch
):
    from flows.errors import StoreError
    from flows.store import Store

    corpus_server.fail("esearch", error_body("Invalid query: unbalanced parentheses"))
    real_finish = Store.finish_run

    def finish_run(self, run_id, status, **kwargs):
        if status == "failed":
            raise StoreError("cannot write the store: database or disk is full")
        return real_finish(self, run_id, status, **kwargs)

    monkeypatch.setattr(Store, "finish_run", finish_run)

    result = invoke(["run", "--since", str(SINCE), "--until", str(UNTIL)])

    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: PubMed rejected the search: Invalid query: unbalanced parentheses"
    )
