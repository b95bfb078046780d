"""suite: the test suite's wall time, run as the README says (`python -m pytest`)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

from benchmarks.figures import Figure
from benchmarks.harness import ROOT

TARGET_SECONDS = 120.0


def bench_suite(quick: bool) -> Iterator[Figure]:
    """The whole suite in a subprocess, with pyproject's options (quick: one small file)."""
    selection = ["tests/test_markup.py"] if quick else []
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *selection],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    summary = (result.stdout.strip().splitlines() or ["no output"])[-1]
    what = f"pytest {' '.join(selection)}" if selection else "python -m pytest"
    yield Figure(
        f"{what} ({summary.strip('= ')})",
        f"{seconds:.0f} s",
        f"< {TARGET_SECONDS:g} s, passing",
        seconds < TARGET_SECONDS and result.returncode == 0,
    )
