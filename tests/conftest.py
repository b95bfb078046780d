"""Shared fixtures: the network guard, the E-utilities server, Prefect, settings."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests import netguard
from tests.eutils_server import CORPUS

ROOT = Path(__file__).resolve().parent.parent
TEST_API_KEY = "TESTKEY0000000000000000000000000000"

# Before Prefect is imported anywhere: no telemetry, no Cloud, quiet logs.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
netguard.install()

# pytest-xdist runs the tests in several worker processes, each with its own E-utilities
# servers. kratom-watch paces requests per user through a file in the temp folder (as NCBI
# counts them), so each worker gets its own temp folder: a worker's pacing tests are not
# slowed by requests that went to another worker's server. Subprocesses inherit it.
if worker := os.environ.get("PYTEST_XDIST_WORKER"):
    _worker_tmp = Path(tempfile.gettempdir()) / f"kratom-watch-tests-{os.getuid()}-{worker}"
    _worker_tmp.mkdir(exist_ok=True)
    os.environ["TMPDIR"] = str(_worker_tmp)
    tempfile.tempdir = None  # gettempdir() reads TMPDIR again


# One `prefect server start` for every xdist worker, started by the controller as the session
# begins (each server costs 12 to 14 s of CPU to start, most of it migrating its database;
# one per worker was a tenth of the suite's CPU). Workers find it through this variable.
SHARED_PREFECT = "TESTS_SHARED_PREFECT_API_URL"  # not KRATOM_WATCH_: runs refuse unknown ones
_SHARED_SERVER = pytest.StashKey()


def pytest_configure(config):
    workers = config.getoption("numprocesses", None)
    if workers and not hasattr(config, "workerinput") and SHARED_PREFECT not in os.environ:
        from tests.prefect_server import LocalPrefectServer

        server = LocalPrefectServer()
        config.stash[_SHARED_SERVER] = server
        os.environ[SHARED_PREFECT] = server.url  # the workers, started after this, inherit it


def pytest_unconfigure(config):
    server = config.stash.get(_SHARED_SERVER, None)
    if server is not None:
        server.stop()
        del os.environ[SHARED_PREFECT]


def pytest_sessionfinish(session, exitstatus):
    if netguard.violations:
        print("\nOutbound network use during the tests:", *netguard.violations, sep="\n  ")
        session.exitstatus = 1


@pytest.fixture(scope="session")
def prefect_harness():
    """A Prefect server for the session: the one the xdist workers share, or (without
    xdist) Prefect's test harness. It takes 10 to 20 s to start. Tests find their own flow
    runs by id (prefect_flow_run_id), never as "the newest".

    Flow-run heartbeats are off for flows the tests call directly, as `kratom-watch run`
    has them off (flows.pipeline.run_here): the heartbeat thread sleeps in 1-second steps and
    each run waits for it to stop (up to 1 s a run). The server does not register Prefect's
    block types, which kratom-watch does not use (1.5 s of CPU a server).
    """
    from prefect.settings import (
        PREFECT_API_BLOCKS_REGISTER_ON_START,
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        temporary_settings,
    )
    from prefect.testing.utilities import prefect_test_harness

    no_heartbeats = temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})
    if shared := os.environ.get(SHARED_PREFECT):
        from tests.prefect_server import wait_for

        wait_for(shared)
        with temporary_settings(updates={PREFECT_API_URL: shared}), no_heartbeats:
            yield
        return
    with (
        temporary_settings(updates={PREFECT_API_BLOCKS_REGISTER_ON_START: False}),
        prefect_test_harness(server_startup_timeout=120),
        no_heartbeats,
    ):
        yield


@pytest.fixture
def prefect_env(prefect_harness) -> dict[str, str]:
    """Environment that points a CLI subprocess at the session's Prefect test server."""
    from prefect.settings import PREFECT_API_URL

    return {"PREFECT_API_URL": PREFECT_API_URL.value()}


@pytest.fixture
def kw_env(tmp_path, monkeypatch):
    """Environment of a kratom-watch run with its own store and reports folder.

    With an API key (a made-up one: the test server accepts any), so runs are paced at 10
    requests a second instead of 3; the pacing tests set their own.
    """
    env = {
        "NCBI_EMAIL": "tests@example.org",
        "NCBI_API_KEY": TEST_API_KEY,
        "KRATOM_WATCH_DB": str(tmp_path / "store.sqlite"),
        "KRATOM_WATCH_REPORTS": str(tmp_path / "reports"),
    }
    for name in (
        "KRATOM_WATCH_EUTILS_URL",
        "KRATOM_WATCH_QUERY",
        "KRATOM_WATCH_TIMEZONE",
        "KRATOM_WATCH_BATCH_SIZE",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def prefect_flow_run_id(db: str | Path) -> str:
    """The Prefect flow run of the store's latest run. The Prefect server is shared by the
    test workers, so "the newest flow run" may be another test's: ask by id."""
    with sqlite3.connect(db) as conn:
        (flow_run,) = conn.execute("SELECT prefect_flow_run FROM runs ORDER BY id DESC LIMIT 1")
    assert flow_run[0], "the run should record its Prefect flow run"
    return flow_run[0]


def prefect_flow_run(db: str | Path):
    """The Prefect flow run of the store's latest run, read from the session's server."""
    import asyncio

    from prefect.client.orchestration import get_client

    async def read():
        async with get_client() as client:
            return await client.read_flow_run(prefect_flow_run_id(db))

    return asyncio.run(read())


@pytest.fixture
def corpus_server():
    """The tests' E-utilities server with the corpus records, dated by corpus_created."""
    from tests.eutils_server import EutilsServer, corpus_records
    from tests.factories import corpus_created

    with EutilsServer(corpus_records(corpus_created)) as server:
        yield server


@pytest.fixture(scope="session")
def dev_rows() -> list[dict]:
    """tests/fixtures/dev.jsonl, the hand-labelled papers, as labelled rows."""
    from flows.evaluate import read_labelled

    return read_labelled(CORPUS)


def run_cli(
    args: list[str], env: dict[str, str], timeout: float = 120, input_text: str | None = None
) -> subprocess.CompletedProcess:
    """kratom-watch in a subprocess, with the network guard installed in it too."""
    code = "from tests import netguard; netguard.install(); from flows.cli import main; main()"
    full_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input_text,
    )


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    """Headless Chromium (tests/chromium.py), one a test module."""
    from tests.chromium import start_chromium

    yield from start_chromium(tmp_path_factory)


@pytest.fixture
def clock(monkeypatch):
    """The store's clock: the times it records are the test's (tests.factories.Clock)."""
    from tests.factories import patch_clock

    return patch_clock(monkeypatch)


@pytest.fixture
def store(tmp_path: Path):
    """An empty store in the test's folder."""
    from flows.store import Store

    with Store(tmp_path / "kw.sqlite") as store:
        yield store
