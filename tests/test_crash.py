"""Real `kratom-watch run` processes: killed halfway, run twice at once, given a bad store
(the last two in this process, through click's CliRunner).

Each run is a subprocess like `run_cli` (the network guard installed, PYTHONPATH the repo)
pointed at the session's Prefect test server through `prefect_env`.
"""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from flows.cli import cli
from flows.settings import DEFAULT_QUERY
from flows.windows import last_complete_week
from tests.conftest import ROOT, prefect_flow_run, run_cli
from tests.eutils_server import EutilsServer, corpus_records, load_corpus, stall, together
from tests.factories import CORPUS_FIRST_DAY, corpus_created, without_write_time
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.slow

SINCE, UNTIL = CORPUS_FIRST_DAY, CORPUS_FIRST_DAY + timedelta(days=27)  # the whole corpus
CODE = "from tests import netguard; netguard.install(); from flows.cli import main; main()"
TIMESTAMPS = ("first_seen", "last_updated")
KEY = "FAKEKEY0123456789abcdef"  # 10 requests a second instead of 3: shorter runs


def corpus_pmids() -> set[str]:
    return {r["pmid"] for r in load_corpus() if r["pmid"]}


def start_cli(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """`run_cli` without waiting: the process, to watch, kill or run beside another."""
    return subprocess.Popen(
        [sys.executable, "-c", CODE, *args],
        cwd=ROOT,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def environment(tmp: Path, server: EutilsServer, prefect_env: dict, **extra) -> dict[str, str]:
    env = {
        "NCBI_EMAIL": "tests@example.org",
        "NCBI_API_KEY": "",
        "KRATOM_WATCH_DB": str(tmp / "store.sqlite"),
        "KRATOM_WATCH_REPORTS": str(tmp / "reports"),
        "KRATOM_WATCH_EUTILS_URL": server.base_url,
        "KRATOM_WATCH_BATCH_SIZE": "2",
        "KRATOM_WATCH_TIMEOUT": "5",
        "KRATOM_WATCH_RETRY_BACKOFF": "0.05",
        "KRATOM_WATCH_QUERY": DEFAULT_QUERY,
        "KRATOM_WATCH_TIMEZONE": "UTC",
        **prefect_env,
    }
    return {**env, **extra}


def papers_count(db: Path) -> int:
    """Papers in a store another process is writing (0 before it exists)."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute("SELECT count(*) FROM papers").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def papers_without_timestamps(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(papers)")]
        kept = [c for c in columns if c not in TIMESTAMPS]
        return conn.execute(f"SELECT {', '.join(kept)} FROM papers ORDER BY pmid").fetchall()


def query(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def assert_sound(db: Path) -> None:
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    assert query(db, "SELECT count(*) - count(DISTINCT pmid) FROM papers") == [(0,)]


def assert_one_clear_error(result, *parts: str) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, result.stderr
    assert result.stderr.endswith(errors[0] + "\n")
    for part in parts:
        assert part in errors[0]
    return errors[0]


# ---- killed halfway, then run again


def test_backfill_killed_with_sigkill_then_rerun_equals_an_uninterrupted_run(prefect_env, tmp_path):
    records = corpus_records(corpus_created)
    args = ["run", "--since", str(SINCE), "--until", str(UNTIL)]
    expected = corpus_pmids()
    batch = 10  # a few batches: killed after the first, the rest left for the rerun
    batches = -(-len(expected) // batch)
    killed_dir, reference_dir = tmp_path / "killed", tmp_path / "reference"
    db = killed_dir / "store.sqlite"
    settings = {"NCBI_API_KEY": KEY, "KRATOM_WATCH_BATCH_SIZE": str(batch)}

    # Every batch answers 0.3 s late: well within the 5 s timeout, so just slow.
    with EutilsServer(records) as slow:
        slow.fail("efetch", *[stall(0.3) for _ in range(batches)])
        process = start_cli(args, environment(killed_dir, slow, prefect_env, **settings))
        try:
            deadline = time.monotonic() + 60
            while papers_count(db) < 10 and time.monotonic() < deadline:
                assert process.poll() is None, process.communicate()
                time.sleep(0.02)
            process.kill()  # SIGKILL
        finally:
            process.kill()
            process.wait(timeout=30)
        assert process.returncode == -9
        fetches = [r for r in slow.requests if r.endpoint == "efetch"]
        # A stall shorter than the timeout only delays: every batch asked once.
        retstarts = [r.params["retstart"] for r in fetches]
        assert len(retstarts) == len(set(retstarts))
        assert all(r.fault == "stall" for r in fetches)

    kept = papers_count(db)
    assert 10 <= kept < len(expected), "killed halfway: some papers stored, not all"
    assert_sound(db)
    assert query(db, "SELECT status, finished FROM runs") == [("running", None)]

    print(
        f"killed with {kept} of {len(expected)} papers stored; its Prefect flow run:",
        flow_run_state(db),
    )

    # The rerun and the uninterrupted reference run (into its own store) side by side.
    with EutilsServer(records) as server:
        runs = [
            start_cli(args, environment(folder, server, prefect_env, **settings))
            for folder in (killed_dir, reference_dir)
        ]
        for process in runs:
            _, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
    assert_sound(db)
    assert {row[0] for row in papers_without_timestamps(db)} == expected
    assert papers_without_timestamps(db) == papers_without_timestamps(
        reference_dir / "store.sqlite"
    )
    # The rerun marks the killed run abandoned (its process is gone) and completes the work.
    assert query(db, "SELECT status, found, stored, new FROM runs ORDER BY id") == [
        ("abandoned", None, None, None),
        ("completed", len(expected), len(expected), len(expected) - kept),
    ]
    # The digest is the one an uninterrupted run writes.
    for name in (f"kratom-watch_{SINCE}_{UNTIL}.csv", f"kratom-watch_{SINCE}_{UNTIL}.txt"):
        # The same but for the minute each was written: the two ran side by side.
        assert without_write_time(killed_dir / "reports" / name) == without_write_time(
            reference_dir / "reports" / name
        )


def flow_run_state(db: Path) -> str:
    run = prefect_flow_run(db)
    return run.state.name if run.state else "none"


# ---- two runs at once


def test_scheduled_and_manual_run_at_once_share_the_store_soundly(prefect_env, tmp_path):
    since, until = last_complete_week(datetime.now(UTC).date())
    rows = [r for r in load_corpus() if r["pmid"]][:12]
    records = corpus_records(lambda row: since + timedelta(days=int(row["pmid"]) % 7), rows)
    expected = {r.pmid for r in records}

    with EutilsServer(records) as server, SmtpServer(tmp_path) as smtp:
        # Each run's search is answered once both have asked, and so is each run's first
        # batch (a run asks for its next batch only once the last is answered, so the first
        # two fetches are one of each run); the other batches of 2 without a key are each
        # answered 0.3 s late. However late one run started, and however a busy machine
        # shares the pace between them, the two fetch side by side. Both would mail the
        # same digest: each recipient must get it once.
        searched, fetched = threading.Barrier(2), threading.Barrier(2)
        server.fail("esearch", together(searched), together(searched))
        server.fail(
            "efetch",
            together(fetched),
            together(fetched),
            *[stall(0.3) for _ in range(len(records))],
        )
        # A timeout longer than any wait for the other run to search.
        env = environment(tmp_path, server, prefect_env, KRATOM_WATCH_TIMEOUT="40", **smtp.env())
        scheduled = start_cli(["run", "--scheduled"], env)
        manual = start_cli(["run", "--since", str(since), "--until", str(until)], env)
        outcomes = {
            "scheduled": (scheduled, *scheduled.communicate(timeout=120)),
            "manual": (manual, *manual.communicate(timeout=120)),
        }
        efetches = [r for r in server.requests if r.endpoint == "efetch"]
        times = [r.time for r in server.requests]

    for name, (process, out, err) in outcomes.items():
        assert process.returncode == 0, f"{name}: {err}"
        assert "Traceback" not in err
        assert out.split()[0].endswith(f"kratom-watch_{since}_{until}.html")
    # The two runs overlapped: their batches interleave at the server.
    webenvs = [r.params["WebEnv"] for r in efetches]
    assert len(set(webenvs)) == 2
    switches = sum(a != b for a, b in zip(webenvs, webenvs[1:], strict=False))
    assert switches > 1, "the two runs did not overlap; nothing was tested"
    db = tmp_path / "store.sqlite"
    assert_sound(db)
    assert {row[0] for row in papers_without_timestamps(db)} == expected
    runs = query(db, "SELECT kind, status, found, stored FROM runs ORDER BY kind")
    assert runs == [
        ("manual", "completed", len(expected), len(expected)),
        ("scheduled", "completed", len(expected), len(expected)),
    ]
    assert query(db, "SELECT count(*) FROM sent_papers") == [(len(expected),)]
    table = (tmp_path / "reports" / f"kratom-watch_{since}_{until}.csv").read_text()
    assert {row["pmid"] for row in csv.DictReader(table.splitlines())} == expected
    # The two processes share one pace: 3 requests a second in all, as NCBI counts them.
    assert max_per_second(times) <= 3
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == [
        "reader.one@example.org",
        "reader.two@example.org",
    ]
    assert query(db, "SELECT count(*) FROM deliveries") == [(2,)]


def max_per_second(times: list[float]) -> int:
    return max(sum(1 for u in times if t <= u < t + 1) for t in times)


# ---- a store or reports folder that cannot be used


@pytest.fixture
def server():
    with EutilsServer(corpus_records(corpus_created)) as s:
        yield s


WEEK = ["run", "--since", "2026-11-02", "--until", "2026-11-08"]


def test_unwritable_reports_folder_is_one_clear_line(prefect_env, tmp_path, server):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    env = environment(tmp_path, server, prefect_env, KRATOM_WATCH_REPORTS=str(blocker / "reports"))

    result = run_cli(WEEK, env)

    assert_one_clear_error(
        result, "Error: KRATOM_WATCH_REPORTS=", f"cannot be written ({blocker} is not a folder)"
    )
    assert server.count() == 0  # refused at start-up, before any request


def in_process(args: list[str], env: dict[str, str]):
    """The CLI in this process (CliRunner): the same checks as `run_cli`, without the ~4 s
    of a new interpreter importing Prefect. Result has returncode, stdout and stderr."""
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=result.stderr)


def test_corrupt_store_is_one_clear_line(prefect_env, tmp_path, server):
    (tmp_path / "store.sqlite").write_bytes(os.urandom(8192))

    result = in_process(WEEK, environment(tmp_path, server, prefect_env))

    assert_one_clear_error(result, "Error: cannot open the store", "not a database")
    assert server.count() == 0


def test_locked_store_is_one_clear_line(prefect_env, tmp_path, server):
    db = tmp_path / "store.sqlite"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("CREATE TABLE IF NOT EXISTS other (x)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        env = environment(tmp_path, server, prefect_env, KRATOM_WATCH_STORE_TIMEOUT="2")
        result = in_process(WEEK, env)
        waited = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert_one_clear_error(result, "Error: cannot open the store", "database is locked")
    assert server.count() == 0
    assert 2 <= waited < 20  # it waited KRATOM_WATCH_STORE_TIMEOUT, then gave up
