"""memory: a large backfill holds no more memory than a small run, give or take a little."""

from __future__ import annotations

from collections.abc import Iterator

from benchmarks.figures import Figure
from benchmarks.harness import ChildRun, run_child, run_environment, scratch

TARGET_MB = 100
LABELS = {"flow": "weekly_digest (Prefect)"}


def bench_memory(quick: bool) -> Iterator[Figure]:
    """Peak RSS of a fresh process running a 100,000-record backfill vs a 100-record run.

    Batches of 2,000 (four times the default), so each answer in memory is large; the
    window spans 200 days, 500 records a day, so the run splits it under ESearch's cap.
    Through `weekly_digest` only: Prefect is what could hold on to a run's batches, and a
    second 100,000-record run would double the section's minutes.
    """
    from tests.eutils_server import EutilsServer
    from tests.factories import synthetic_records, window

    small, large, batch, days = (20, 2_000, 200, 20) if quick else (100, 100_000, 2_000, 200)
    modes = ("flow",)
    records = synthetic_records(large, days)
    runs: dict[tuple[str, int], ChildRun] = {}
    for n in (small, large):
        # The small run's records are the first of the large one's, over the same days.
        with EutilsServer(records[:n]) as server:
            for mode in modes:
                with scratch() as folder:
                    env = run_environment(server, folder, batch)
                    runs[mode, n] = run_child(mode, env, *window(days), folder)
    for mode in modes:
        base, peak = runs[mode, small].peak_rss_mb, runs[mode, large].peak_rss_mb
        yield Figure(
            f"peak RSS, {LABELS[mode]}",
            f"{base:.0f} MB for {small:,} records, {peak:.0f} MB for {large:,} (batch {batch:,}, "
            f"{runs[mode, large].run_seconds:.0f} s): +{peak - base:.0f} MB",
            f"+{TARGET_MB} MB at most",
            peak - base <= TARGET_MB,
        )
