"""weekly: a typical week through Prefect vs the same steps as plain functions (issue 14).

A week of 14 papers, against the E-utilities server at NCBI's pace without an API key, as
a user runs it: each run a fresh process, so interpreter start, imports and (for the flow)
connecting to a running `prefect server start` are all counted. Beside them, a flow of one
task that does nothing shows what Prefect costs whatever the flow does. The flow runs first once,
uncounted: a user's Prefect server has long been up and has run flows before. Then flow
and plain runs take turns, so load from elsewhere on the machine falls on both alike.
"""

from __future__ import annotations

from collections.abc import Iterator

from benchmarks.figures import Figure, network_floor
from benchmarks.harness import (
    INTERVAL_WITHOUT_KEY,
    ChildRun,
    run_child,
    run_environment,
    scratch,
)
from benchmarks.slow_eutils import NCBI_LIKE, SlowEutilsServer

PAPERS = 14
DAYS = 7
TARGET_RATIO = 1.5
REPEATS = 3


def bench_weekly(quick: bool) -> Iterator[Figure]:
    from tests.factories import synthetic_records, window

    repeats = 1 if quick else REPEATS
    runs: dict[str, list[ChildRun]] = {"flow": [], "plain": [], "prefect-floor": []}
    with SlowEutilsServer(synthetic_records(PAPERS, DAYS), NCBI_LIKE) as server:

        def run(mode: str) -> ChildRun:
            with scratch() as folder:
                env = run_environment(server, folder, 500, api_key=None)
                return run_child(mode, env, *window(DAYS), folder)

        first = run("flow")
        answers = len(server.answers)
        for _ in range(repeats):
            for mode in runs:
                runs[mode].append(run(mode))
        one_run = server.answers[:answers]
    floor = network_floor([a.modelled for a in one_run], INTERVAL_WITHOUT_KEY)
    flow = min(runs["flow"], key=lambda r: r.wall_seconds)
    plain = min(runs["plain"], key=lambda r: r.wall_seconds)
    nothing = min(runs["prefect-floor"], key=lambda r: r.wall_seconds)
    flow_import = min(r.import_seconds for r in runs["flow"])
    plain_import = min(r.import_seconds for r in runs["plain"])
    yield Figure(
        "import flows.pipeline",
        f"{flow_import:.2f} s (flows.runs and the plain steps: {plain_import:.2f} s), "
        f"best of {repeats}",
    )
    yield Figure(
        f"weekly_digest, {PAPERS} papers, running Prefect server",
        f"{flow.wall_seconds:.2f} s in a fresh process (imports {flow.import_seconds:.2f} s, "
        f"run {flow.run_seconds:.2f} s); the uncounted first run {first.wall_seconds:.2f} s",
    )
    yield Figure(
        "the same steps as plain functions",
        f"{plain.wall_seconds:.2f} s in a fresh process (imports {plain.import_seconds:.2f} s, "
        f"run {plain.run_seconds:.2f} s); the network needs {floor:.2f} s of that",
    )
    fixed = nothing.import_seconds + nothing.run_seconds
    yield Figure(
        "  Prefect's fixed cost: a flow of one task that does nothing, same server",
        f"imports {nothing.import_seconds:.2f} s + run {nothing.run_seconds:.2f} s = "
        f"{fixed:.2f} s; weekly_digest's cost above the plain steps: "
        f"{flow.wall_seconds - plain.wall_seconds:.2f} s; a flow doing nothing beside the plain "
        f"steps would already be {(plain.wall_seconds + fixed) / plain.wall_seconds:.2f}x",
    )
    ratio = flow.wall_seconds / plain.wall_seconds
    yield Figure(
        "weekly run through Prefect / plain functions",
        f"{ratio:.2f}x (+{flow.wall_seconds - plain.wall_seconds:.2f} s), best of {repeats}",
        f"<= {TARGET_RATIO:g}x",
        ratio <= TARGET_RATIO,
    )
