"""backfill: how close a large backfill comes to the time the network alone needs (issue 14).

Against an E-utilities server that answers at NCBI's pace (slow_eutils.NCBI_LIKE), with no
API key (at most 3 requests a second, as most users run), a 10,000-record backfill takes
T_run and a quiet run (a window with no records, same server) T_quiet. Each is the run
alone (`weekly_digest(...)` or the plain steps) in a fresh process, best of a few. The
network floor F is the time the backfill's own answers need one after another at the
client's pace (figures.network_floor), less the quiet run's. Efficiency = F / (T_run -
T_quiet): 1.0 would mean reading, classifying and storing hid completely behind the
downloads. Records are NCBI-shaped (17 kB each), since parsing cost grows with the bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from benchmarks.figures import Figure, network_floor
from benchmarks.harness import (
    INTERVAL_WITHOUT_KEY,
    ChildRun,
    run_child,
    run_environment,
    scratch,
    stored_papers,
)
from benchmarks.slow_eutils import NCBI_LIKE, Answer, SlowEutilsServer

RECORDS = 10_000
DAYS = 20  # 500 records a day
BATCH = 500  # the default KRATOM_WATCH_BATCH_SIZE
TARGET = 0.9
LABELS = {
    "flow": "weekly_digest (Prefect, next batch fetched ahead)",
    "plain": "plain functions, next batch fetched ahead",
    "plain-sequential": "plain functions, one batch at a time",
}


@dataclass(frozen=True)
class Measured:
    child: ChildRun
    answers: list[Answer]

    @property
    def floor(self) -> float:
        return network_floor([a.modelled for a in self.answers], INTERVAL_WITHOUT_KEY)


def bench_backfill(quick: bool) -> Iterator[Figure]:
    from tests.factories import after, ncbi_shaped_records, window

    n = 1_000 if quick else RECORDS
    repeats = {"flow": 1 if quick else 2, "plain": 1, "plain-sequential": 1}
    quiet_repeats = 1 if quick else 3
    model = NCBI_LIKE
    yield Figure(
        "answer model",
        f"{model.fixed:g} s + {model.per_record * 1e3:g} ms a record (500 records: "
        f"{model.seconds(500):.2f} s), no API key ({INTERVAL_WITHOUT_KEY:g} s between requests), "
        f"batches of {BATCH}",
    )
    with SlowEutilsServer(ncbi_shaped_records(n, DAYS), model) as server:

        def measure(mode: str, dates, expected: int) -> Measured:
            with scratch() as folder:
                first = len(server.answers)
                env = run_environment(server, folder, BATCH, api_key=None)
                child = run_child(mode, env, *dates, folder)
                if stored_papers(folder) != expected:
                    raise RuntimeError(f"{mode} stored {stored_papers(folder)} of {expected}")
                return Measured(child, server.answers_since(first))

        def best(mode: str, dates, expected: int, times: int) -> Measured:
            runs = [measure(mode, dates, expected) for _ in range(times)]
            return min(runs, key=lambda m: m.child.run_seconds)

        results = {}
        for mode in LABELS:
            quiet = best(mode, after(DAYS), 0, quiet_repeats)
            busy = best(mode, window(DAYS), n, repeats[mode])
            results[mode] = quiet, busy
    quiet, busy = results["flow"]
    floor = busy.floor - quiet.floor
    searches = sum(a.endpoint == "esearch" for a in busy.answers)
    late = max(a.took - a.modelled for a in busy.answers)
    yield Figure(
        f"network floor F of a {n:,}-record backfill",
        f"{floor:.1f} s ({searches} esearch + {len(busy.answers) - searches} efetch: "
        f"{busy.floor:.1f} s, less the quiet run's {quiet.floor:.1f} s; answers came at most "
        f"{late * 1e3:.0f} ms later than modelled)",
    )
    for mode, label in LABELS.items():
        quiet, busy = results[mode]
        extra = busy.child.run_seconds - quiet.child.run_seconds
        efficiency = floor / extra
        judged = mode == "flow"
        yield Figure(
            f"backfill efficiency, {label}",
            f"T_run {busy.child.run_seconds:.1f} s, T_quiet {quiet.child.run_seconds:.1f} s: "
            f"F / (T_run - T_quiet) = {efficiency:.2f}",
            f">= {TARGET:g}" if judged else "",
            efficiency >= TARGET if judged else None,
        )
    for mode in ("plain", "plain-sequential"):
        stages = results[mode][1].child.stages
        yield Figure(
            f"  where the time of {LABELS[mode]} went",
            ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in stages.items()),
        )
