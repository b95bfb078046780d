"""One kratom-watch run in a fresh process, as the benchmark's sections start it.

    python -m benchmarks.child flow|plain|plain-sequential|prefect-floor SINCE UNTIL

`flow` is `weekly_digest(SINCE, UNTIL, send_email=False)` on the Prefect server that
PREFECT_API_URL names; `plain` and `plain-sequential` are benchmarks.plain with and without
the next batch fetched ahead; `prefect-floor` is a flow of one task that does nothing, on
the same server: what any Prefect flow costs, whatever it does. Settings come from the
environment, as a user's run reads them. The last line printed is JSON: how long the
imports and the run took, this process's peak RSS, and for plain runs where their time went.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

MODES = ("flow", "plain", "plain-sequential", "prefect-floor")
PREFECT_MODES = ("flow", "prefect-floor")


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM), which only this process counts."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _floor_flow():
    """A flow of one task that does nothing, called as weekly_digest is."""
    from prefect import flow, task

    @task
    def nothing() -> None:
        return None

    @flow(name="prefect-floor")
    def floor(since: date, until: date, send_email: bool) -> None:
        nothing()

    return floor


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in MODES:
        print(f"Error: usage: python -m benchmarks.child {'|'.join(MODES)} SINCE UNTIL")
        return 2
    mode = argv[0]
    since, until = date.fromisoformat(argv[1]), date.fromisoformat(argv[2])
    atexit.register(gc.freeze)  # as flows.cli.main: no last collection on the way out
    from tests import netguard

    netguard.install()  # the benchmark never reaches past this machine

    start = time.perf_counter()
    if mode == "flow":
        from flows.pipeline import run_here
    elif mode == "prefect-floor":
        run_flow = _floor_flow()
    else:
        from benchmarks.plain import plain_digest
        from flows.settings import load_settings
    imported = time.perf_counter()
    result: dict = {}
    if mode in PREFECT_MODES:
        if mode == "flow":  # as `kratom-watch run --no-email` starts it
            state = run_here(os.environ, since=since, until=until, send_email=False)
        else:
            from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

            # Started as run_here starts weekly_digest: without the heartbeat.
            with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
                state = run_flow(since, until, send_email=False, return_state=True)
        if not state.is_completed():
            print(f"Error: the flow run ended {state.name}: {state.message}", file=sys.stderr)
            return 1
    else:
        run = plain_digest(load_settings(), since, until, ahead=mode == "plain")
        result = {"found": run.found, "in_digest": run.in_digest, "stages": dict(run.stages)}
    finished = time.perf_counter()
    result |= {
        "import_seconds": imported - start,
        "run_seconds": finished - imported,
        "peak_rss_mb": peak_rss_mb(),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
