"""`python -m benchmarks [section ...] [--quick]`: run sections, print figures, judge them.

Each figure prints its measurement next to its target and OK or MISS (context lines carry no
verdict). The exit status is 0 when nothing missed, 1 when a figure missed or a section
failed to run, 2 for a section that does not exist. `--quick` runs small sizes: a check
that the sections work, not figures to quote.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

from benchmarks.backfill import bench_backfill
from benchmarks.classifying import bench_classify
from benchmarks.eutils_use import bench_pacing, bench_requests, bench_split
from benchmarks.figures import Figure
from benchmarks.harness import start_prefect
from benchmarks.memory import bench_memory
from benchmarks.suite import bench_suite
from benchmarks.weekly import bench_weekly

Section = Callable[[bool], Iterable[Figure]]

SECTIONS: dict[str, Section] = {
    "classify": bench_classify,
    "requests": bench_requests,
    "split": bench_split,
    "pacing": bench_pacing,
    "memory": bench_memory,
    "backfill": bench_backfill,
    "weekly": bench_weekly,
    "suite": bench_suite,
}
NOT_BY_DEFAULT = ("suite",)  # minutes of the whole test suite: run it by name
USES_PREFECT = ("requests", "split", "pacing", "memory", "backfill", "weekly")


def chosen(args: Sequence[str], sections: Mapping[str, Section]) -> tuple[list[str], bool]:
    """The sections named (every default one if none is) and whether --quick was given."""
    quick = "--quick" in args
    names = [a for a in args if a != "--quick"]
    return names or [n for n in sections if n not in NOT_BY_DEFAULT], quick


def machine() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{datetime.now():%Y-%m-%d %H:%M}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, load average {load}, Python {platform.python_version()}"
    )


def main(argv: Sequence[str] | None = None, sections: Mapping[str, Section] = SECTIONS) -> int:
    names, quick = chosen(list(sys.argv[1:] if argv is None else argv), sections)
    unknown = [n for n in names if n not in sections]
    if unknown:
        print(
            f"Error: no benchmark section {', '.join(unknown)}; choose from "
            f"{', '.join(sections)} (and --quick)",
            file=sys.stderr,
        )
        return 2
    if any(n in USES_PREFECT for n in names):
        start_prefect()  # it migrates its database while the first sections run
    print(f"# {machine()}{'; --quick: sizes too small to quote' if quick else ''}", flush=True)
    missed, start = 0, time.perf_counter()
    for name in names:
        print(f"## {name}", flush=True)
        try:
            for figure in sections[name](quick):
                print(figure, flush=True)
                missed += figure.ok is False
        except Exception as error:  # a section that cannot run has missed its figures
            print(Figure(name, f"failed: {type(error).__name__}: {error}", "to run", False))
            missed += 1
    took = time.perf_counter() - start
    print(f"# {took:.0f} s in all, {missed} missed; load average now {os.getloadavg()[0]:.2f}")
    return 1 if missed else 0
