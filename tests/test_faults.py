"""The whole pipeline against a misbehaving E-utilities server: nothing lost, no key shown.

Every row of the fault matrix runs `kratom-watch run` in-process (click's CliRunner under
the session's Prefect test server) over a 10-record window in batches of 4, with a
recognisable fake API key, and checks: the run completes, the store holds exactly the
window's PMIDs, the server's request log shows the retry, and the key appears nowhere
(CLI output, console, log records, report files, store file, Prefect states and logs).
Runs that must fail go through a real subprocess (`run_cli`) so their stderr is the user's.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from flows.cli import cli
from flows.pubmed import EutilsClient
from flows.settings import Secret, Settings
from tests.conftest import prefect_flow_run_id
from tests.eutils_server import (
    Fault,
    error_body,
    expire_webenv,
    http_error,
    malformed,
    short,
    stall,
    truncated,
)
from tests.factories import corpus_in_window

FAKE_KEY = "FAKEKEY0123456789abcdef"
SINCE, UNTIL = date(2026, 11, 2), date(2026, 11, 8)
BATCH = 4
WINDOW_ARGS = ["run", "--since", str(SINCE), "--until", str(UNTIL)]
STEM = f"kratom-watch_{SINCE}_{UNTIL}"


EXPECTED = corpus_in_window(SINCE, UNTIL)
BATCHES = -(-len(EXPECTED) // BATCH)


def passthrough() -> Fault:
    """A queued no-op: the request is answered normally (places a fault on a later request)."""
    return Fault("pass")


@pytest.fixture
def env(kw_env, corpus_server, monkeypatch):
    values = {
        "KRATOM_WATCH_EUTILS_URL": corpus_server.base_url,
        "KRATOM_WATCH_BATCH_SIZE": str(BATCH),
        "NCBI_API_KEY": FAKE_KEY,
        "KRATOM_WATCH_RETRY_BACKOFF": "0.05",  # first retry after 0.025..0.075 s
        "KRATOM_WATCH_TIMEOUT": "1",  # the shortest the setting allows
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return {**kw_env, **values}


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.texts.append(text)


@pytest.fixture
def log_records(prefect_harness):
    """Every log record of the test, from the root and Prefect's (non-propagating) loggers."""
    import prefect  # noqa: F401  (its logging set-up first, so it cannot drop our handler)

    handler = _Records()
    loggers = [logging.getLogger(), logging.getLogger("prefect")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler.texts
    for logger in loggers:
        logger.removeHandler(handler)


def invoke(args: list[str]):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


# ---- what a run left behind


def store_pmids(db: str) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT pmid FROM papers ORDER BY pmid")]


def store_runs(db: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT status, found, stored, error FROM runs ORDER BY id").fetchall()


def window_files(reports: str) -> list[Path]:
    folder = Path(reports)
    return sorted(folder.glob(f"{STEM}*")) if folder.exists() else []


def _flush_prefect_logs() -> None:
    """Send this process's queued run logs to the Prefect API now (it batches every 2 s)."""
    from prefect.logging.handlers import APILogHandler

    for name in ("prefect.flow_runs", "prefect.task_runs"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, APILogHandler):
                handler.flush()
                return


async def _prefect_record_of(flow_run_id: str) -> tuple[object, list[str], list[str]]:
    """A flow run: (run, every state message, every log message)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        LogFilter,
        LogFilterFlowRunId,
    )

    _flush_prefect_logs()
    async with get_client() as client:
        run = await client.read_flow_run(flow_run_id)
        states = list(await client.read_flow_run_states(run.id))
        tasks = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id]))
        )
        for task_run in tasks:
            states += await client.read_task_run_states(task_run.id)
        messages = [s.message or "" for s in states]
        messages += [f"{s.name} {s.state_details}" for s in states]
        # Logs reach the API in batches: wait for the run's last line.
        logs: list[str] = []
        for _ in range(50):
            records = await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id]))
            )
            logs = [log.message for log in records]
            if any(
                log.task_run_id is None and log.message.startswith("Finished in state")
                for log in records
            ):
                break
            await asyncio.sleep(0.1)
        return run, messages, logs


def assert_key_nowhere(server, env, texts: list[str], log_texts: list[str] = ()):
    """The fake key was sent to E-utilities and shown nowhere else."""
    assert server.requests and all(r.params.get("api_key") == FAKE_KEY for r in server.requests)
    for text in [*texts, *log_texts]:
        assert FAKE_KEY not in text
    for path in Path(env["KRATOM_WATCH_REPORTS"]).rglob("*"):
        if path.is_file():
            assert FAKE_KEY.encode() not in path.read_bytes(), path
    db = Path(env["KRATOM_WATCH_DB"])
    for path in db.parent.glob(db.name + "*"):  # the store, its -wal and -shm
        assert FAKE_KEY.encode() not in path.read_bytes(), path
    run, states, logs = asyncio.run(_prefect_record_of(prefect_flow_run_id(db)))
    assert logs, "the run's Prefect logs should be readable"
    for text in [*states, *logs, repr(run.parameters), run.state.message or ""]:
        assert FAKE_KEY not in text
    return run, states, logs


def request_pairs(server, endpoint: str) -> list[tuple]:
    """(faulted request, the next request asking for the same records) for each real fault.

    The same records: the same search, or the same batch of it (the next batch may be asked
    for in between, since a run fetches one batch ahead)."""
    requests = [r for r in server.requests if r.endpoint == endpoint]

    def same(a, b) -> bool:
        return all(a.params.get(k) == b.params.get(k) for k in ("term", "retstart", "id"))

    pairs = []
    for i, r in enumerate(requests):
        if r.fault in (None, "pass"):
            continue
        retry = next((later for later in requests[i + 1 :] if same(r, later)), None)
        if retry is not None:
            pairs.append((r, retry))
    return pairs


def max_per_second(server) -> int:
    times = [r.time for r in server.requests]
    return max(sum(1 for u in times if t <= u < t + 1) for t in times)


# ---- the matrix: faults the run survives

SAME = {"esearch": ("term", "usehistory"), "efetch": ("WebEnv", "query_key", "retstart", "retmax")}

# (fault factory, endpoints it is queued on, Retry-After seconds or None)
# One case of each kind of transient answer (the client's unit tests in test_pubmed cover every
# status and message; a whole run per case costs about 1.5 s of the suite).
TRANSIENT = {
    "429": (lambda: http_error(429), None),
    "429-retry-after": (lambda: http_error(429, retry_after=1), 1),
    "500": (lambda: http_error(500), None),
    "503": (lambda: http_error(503), None),
    "200-backend-failed": (lambda: error_body("Search Backend failed", status=200), None),
    "400-pubone": (lambda: error_body("Failed to connect to PubOne service", status=400), None),
    "cut-mid-xml": (lambda: truncated(0.5), None),
    "stall-past-timeout": (lambda: stall(1.5), None),
    "malformed-xml": (lambda: malformed(), None),
}


@pytest.mark.parametrize("name", list(TRANSIENT))
def test_transient_fault_on_esearch_and_efetch_is_retried_and_nothing_lost(
    prefect_harness, env, corpus_server, log_records, capfd, name
):
    make, retry_after = TRANSIENT[name]
    corpus_server.fail("esearch", make())
    # The second batch's request, so a batch already stored precedes the fault.
    corpus_server.fail("efetch", passthrough(), make())

    result = invoke(WINDOW_ARGS)

    assert result.exit_code == 0, result.output
    assert set(store_pmids(env["KRATOM_WATCH_DB"])) == EXPECTED  # records lost: 0
    assert store_runs(env["KRATOM_WATCH_DB"]) == [("completed", len(EXPECTED), len(EXPECTED), None)]
    assert len(window_files(env["KRATOM_WATCH_REPORTS"])) > 0
    assert corpus_server.count("esearch") == 2
    assert corpus_server.count("efetch") == BATCHES + 1
    for endpoint in ("esearch", "efetch"):
        ((faulted, retry),) = request_pairs(corpus_server, endpoint)
        assert retry.fault is None
        for param in SAME[endpoint]:
            assert retry.params[param] == faulted.params[param], param
        if retry_after is not None:
            assert retry.time - faulted.time >= retry_after
        else:
            assert retry.time - faulted.time < 1 + 1.5 + 0.5  # backoff stays short
    assert max_per_second(corpus_server) <= 10
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err
    _, _, logs = assert_key_nowhere(
        corpus_server, env, [result.output, result.stderr, out, err], log_records
    )
    # The retries are in the run's Prefect log, for whoever reads the UI.
    assert sum("retrying in" in line for line in logs) == 2


def test_short_efetch_is_completed_by_fetching_the_missing_by_id(
    prefect_harness, env, corpus_server, log_records, capfd
):
    corpus_server.fail("efetch", passthrough(), short(drop=2))

    result = invoke(WINDOW_ARGS)

    assert result.exit_code == 0, result.output
    assert set(store_pmids(env["KRATOM_WATCH_DB"])) == EXPECTED
    efetches = [r for r in corpus_server.requests if r.endpoint == "efetch"]
    assert len(efetches) == BATCHES + 1
    by_id = efetches[-1]
    assert "WebEnv" not in by_id.params and len(by_id.params["id"].split(",")) == 2
    out, err = capfd.readouterr()
    assert_key_nowhere(corpus_server, env, [result.output, out, err], log_records)


def test_expired_webenv_searches_again_and_completes(
    prefect_harness, env, corpus_server, log_records, capfd
):
    corpus_server.fail("efetch", passthrough(), expire_webenv())

    result = invoke(WINDOW_ARGS)

    assert result.exit_code == 0, result.output
    assert set(store_pmids(env["KRATOM_WATCH_DB"])) == EXPECTED
    endpoints = [(r.endpoint, r.fault) for r in corpus_server.requests]
    assert endpoints[:4] == [
        ("esearch", None),
        ("efetch", "pass"),
        ("efetch", "expire_webenv"),
        ("esearch", None),
    ]
    assert corpus_server.count("efetch") == BATCHES + 1
    efetches = [r for r in corpus_server.requests if r.endpoint == "efetch"]
    before, expired, after = efetches[0], efetches[1], efetches[2:]
    assert expired.params["WebEnv"] == before.params["WebEnv"]
    # The new search's WebEnv, from the batch that expired on.
    assert len({r.params["WebEnv"] for r in after}) == 1
    assert after[0].params["WebEnv"] != before.params["WebEnv"]
    assert after[0].params["retstart"] == expired.params["retstart"] == str(BATCH)
    out, err = capfd.readouterr()
    assert_key_nowhere(corpus_server, env, [result.output, out, err], log_records)


# ---- faults the run cannot survive: one clear line, no digest


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("Error")]


def assert_one_clear_error(result, message: str | None = None):
    """Exit 1, no traceback, nothing on stdout, one "Error: ..." line (the last one).

    `result` is a subprocess's or a CliRunner's.
    """
    assert getattr(result, "returncode", getattr(result, "exit_code", None)) == 1
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    errors = error_lines(result)
    assert len(errors) == 1 and result.stderr.endswith(errors[0] + "\n"), result.stderr
    if message is not None:
        assert errors == [f"Error: {message}"]


def test_fault_that_never_clears_fails_the_run_after_bounded_retries(
    prefect_harness, env, corpus_server
):
    corpus_server.fail("efetch", *[http_error(503) for _ in range(12)])

    result = invoke(WINDOW_ARGS)

    assert_one_clear_error(result, "PubMed fetch failed after 5 attempts: HTTP 503")
    assert corpus_server.count("efetch") == 5  # bounded
    assert window_files(env["KRATOM_WATCH_REPORTS"]) == []
    ((status, _, _, error),) = store_runs(env["KRATOM_WATCH_DB"])
    assert (status, error) == ("failed", "PubMed fetch failed after 5 attempts: HTTP 503")
    run, _, _ = assert_key_nowhere(corpus_server, env, [result.stdout, result.stderr])
    assert run.state.is_failed()


def test_short_efetch_that_persists_fails_naming_the_missing_pmids(
    prefect_harness, env, corpus_server
):
    # Each batch answers one article short, and so does the fetch by id of the missing ones.
    corpus_server.fail("efetch", *[short(drop=1) for _ in range(BATCHES)], short(drop=2))

    result = invoke(WINDOW_ARGS)

    by_id = [r for r in corpus_server.requests if r.endpoint == "efetch"][-1]
    asked = by_id.params["id"].split(",")
    assert len(asked) == BATCHES
    lost = asked[-2:]
    assert_one_clear_error(result)
    (line,) = error_lines(result)
    assert line.startswith(f"Error: 2 of {len(EXPECTED)} records PubMed listed")
    assert f"(PMIDs {', '.join(lost)})" in line and "no digest was written" in line
    assert set(store_pmids(env["KRATOM_WATCH_DB"])) == EXPECTED - set(lost)
    assert window_files(env["KRATOM_WATCH_REPORTS"]) == []
    assert [r[0] for r in store_runs(env["KRATOM_WATCH_DB"])] == ["failed"]
    run, _, _ = assert_key_nowhere(corpus_server, env, [result.stdout, result.stderr])
    assert run.state.is_failed() and ", ".join(lost) in run.state.message


@pytest.mark.parametrize("status", [200, 400])
def test_real_query_error_is_reported_not_retried(
    prefect_harness, env, corpus_server, log_records, capfd, status
):
    corpus_server.fail("esearch", error_body("Invalid query syntax near '[tiab'", status=status))

    result = invoke(WINDOW_ARGS)

    assert result.exit_code == 1
    prefix = "HTTP 400: " if status == 400 else ""
    error = f"Error: PubMed rejected the search: {prefix}Invalid query syntax near '[tiab'"
    # Prefect's own log lines may precede it on stderr (when its console handler was set up
    # inside this CliRunner): the one Error line comes last.
    assert [line for line in result.stderr.splitlines() if line.startswith("Error")] == [error]
    assert result.stderr.endswith(error + "\n")
    assert corpus_server.count("esearch") == 1 and corpus_server.count("efetch") == 0
    assert window_files(env["KRATOM_WATCH_REPORTS"]) == []
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err
    assert_key_nowhere(corpus_server, env, [result.output, out, err], log_records)


def test_error_page_echoing_the_request_does_not_show_the_key(
    prefect_harness, env, corpus_server, log_records, capfd
):
    # A proxy or gateway 400 page that quotes the request line, as many do.
    page = (
        "<html><body><h1>400 Bad Request</h1><p>GET /entrez/eutils/esearch.fcgi?db=pubmed"
        f"&amp;tool=kratom-watch&amp;api_key={FAKE_KEY} HTTP/1.1</p></body></html>"
    )
    corpus_server.fail("esearch", http_error(400, body=page))

    result = invoke(WINDOW_ARGS)

    assert result.exit_code == 1
    out, err = capfd.readouterr()
    assert_key_nowhere(corpus_server, env, [result.output, out, err], log_records)


# ---- pacing


@pytest.mark.parametrize(
    "key, batch, limit", [(FAKE_KEY, 1, 10), (None, 2, 3)], ids=["api-key", "no-key"]
)
def test_run_in_small_batches_is_paced(
    prefect_harness, env, corpus_server, monkeypatch, key, batch, limit
):
    # More requests than the limit allows in a second: 11 with the key, 6 without.
    monkeypatch.setenv("KRATOM_WATCH_BATCH_SIZE", str(batch))
    if key is None:
        monkeypatch.delenv("NCBI_API_KEY")

    result = invoke(WINDOW_ARGS)

    assert result.exit_code == 0, result.output
    assert corpus_server.count() == 1 + -(-len(EXPECTED) // batch) > limit
    assert max_per_second(corpus_server) <= limit


@pytest.mark.parametrize("key, limit", [(FAKE_KEY, 10), (None, 3)], ids=["api-key", "no-key"])
def test_threads_share_one_pace(corpus_server, key, limit):
    settings = Settings(
        ncbi_email="tests@example.org",
        ncbi_api_key=Secret(key) if key else None,
        eutils_url=corpus_server.base_url,
        timeout=5,
    )
    client = EutilsClient(settings, backoff=0.01)
    search = client.search_window("kratom", SINCE, UNTIL)
    per_thread = 5 if key else 2
    threads = [
        threading.Thread(
            target=lambda: [client.fetch_batch(search, 0, 2) for _ in range(per_thread)]
        )
        for _ in range(3)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert corpus_server.count("efetch") == 3 * per_thread
    assert max_per_second(corpus_server) <= limit
    assert time.monotonic() - started < 3 * per_thread * (0.2 if key else 0.5)


# ---- the retry settings themselves


def test_retry_after_as_an_http_date_is_honoured(corpus_server):
    from email.utils import formatdate

    when = formatdate(time.time() + 3, usegmt=True)  # whole seconds: 2 to 3 s from now
    corpus_server.fail("esearch", http_error(429, headers={"Retry-After": when}))
    settings = Settings(ncbi_email="tests@example.org", eutils_url=corpus_server.base_url)

    EutilsClient(settings, backoff=0.01).search_window("kratom", SINCE, UNTIL)

    first, second = corpus_server.requests
    assert second.time - first.time >= 1.5


def test_retry_backoff_can_be_set_in_the_config_file(tmp_path):
    from flows.settings import load_settings

    config = tmp_path / "kratom-watch.toml"
    config.write_text('KRATOM_WATCH_RETRY_BACKOFF = "0.5"\n', encoding="utf-8")

    settings = load_settings(
        {"NCBI_EMAIL": "tests@example.org", "KRATOM_WATCH_CONFIG": str(config)}
    )

    assert settings.retry_backoff == 0.5
