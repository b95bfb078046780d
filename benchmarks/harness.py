"""What the sections share: scratch folders, a run's settings, the Prefect server, child runs."""

from __future__ import annotations

import atexit
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from benchmarks.child import PREFECT_MODES
from tests.prefect_server import LocalPrefectServer

ROOT = Path(__file__).resolve().parent.parent
FAKE_API_KEY = "0123456789abcdef0123456789abcdef0123"  # alphanumeric, like NCBI's
# The client's pace without / with an API key (flows.pubmed), for the network floor.
INTERVAL_WITHOUT_KEY = 0.45
INTERVAL_WITH_KEY = 0.12
CHILD_TIMEOUT = 1800.0


@contextmanager
def scratch() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="kratom-bench-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_environment(
    server, folder: Path, batch_size: int, api_key: str | None = FAKE_API_KEY
) -> dict[str, str]:
    """The settings of a run against `server` that writes into `folder`.

    The pacing file lives in the temp folder (flows.pubmed), shared by every kratom-watch
    run of this user: TMPDIR is the run's own folder, so other runs on the machine (tests
    of other sessions) cannot slow this one down, nor this one them.
    """
    config = folder / "kratom-watch.toml"  # empty: no config file from the cwd applies
    config.touch()
    (folder / "tmp").mkdir(exist_ok=True)
    env = {
        "NCBI_EMAIL": "bench@example.org",
        "KRATOM_WATCH_EUTILS_URL": server.base_url,
        "KRATOM_WATCH_DB": str(folder / "store.sqlite"),
        "KRATOM_WATCH_REPORTS": str(folder / "reports"),
        "KRATOM_WATCH_BATCH_SIZE": str(batch_size),
        "KRATOM_WATCH_CONFIG": str(config),
        "TMPDIR": str(folder / "tmp"),
    }
    if api_key:
        env["NCBI_API_KEY"] = api_key
    return env


def stored_papers(folder: Path) -> int:
    from flows.store import Store

    with Store(folder / "store.sqlite") as store:
        return store.count_papers()


_prefect: list[LocalPrefectServer] = []


def start_prefect() -> LocalPrefectServer:
    """The benchmark's `prefect server start`, started on first call and stopped at exit."""
    if not _prefect:
        server = LocalPrefectServer()
        atexit.register(server.stop)
        _prefect.append(server)
    return _prefect[0]


def prefect_environment() -> dict[str, str]:
    """PREFECT_API_URL and the rest for a client of the benchmark's Prefect server, once the
    server answers (it takes 10 to 20 s to start)."""
    server = start_prefect()
    server.wait_until_ready()
    return server.env


@dataclass(frozen=True)
class ChildRun:
    wall_seconds: float  # the whole process, interpreter start and imports included
    import_seconds: float  # flows.pipeline (flow) or flows.runs and the plain steps (plain)
    run_seconds: float  # the run alone: weekly_digest(...) or plain_digest(...)
    peak_rss_mb: float
    stages: dict[str, float]


def run_child(mode: str, env: dict[str, str], since: date, until: date, folder: Path) -> ChildRun:
    """`python -m benchmarks.child MODE SINCE UNTIL` from the repository root, with `env`.

    The child sees none of this process's kratom-watch, NCBI or Prefect settings, only
    `env` (and the Prefect server's, for a flow).
    """
    own = ("KRATOM_WATCH_", "NCBI_", "PREFECT_")
    full = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    full |= {"PYTHONPATH": str(ROOT), **env}
    if mode in PREFECT_MODES:
        full |= prefect_environment()
    command = [sys.executable, "-m", "benchmarks.child", mode, str(since), str(until)]
    out, err = folder / f"child-{mode}.out", folder / f"child-{mode}.err"
    start = time.perf_counter()
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        code = subprocess.run(
            command, cwd=ROOT, env=full, stdout=stdout, stderr=stderr, timeout=CHILD_TIMEOUT
        ).returncode
    wall = time.perf_counter() - start
    if code != 0:
        tail = err.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(command[2:])} exited {code}:\n{tail}")
    result = json.loads(out.read_text().strip().splitlines()[-1])
    return ChildRun(
        wall_seconds=wall,
        import_seconds=result["import_seconds"],
        run_seconds=result["run_seconds"],
        peak_rss_mb=result["peak_rss_mb"],
        stages=result.get("stages", {}),
    )


def expected_requests(records: int, batch: int) -> int:
    """One esearch, then one efetch per batch."""
    return 1 + math.ceil(records / batch)
