"""A benchmark's figures, and the arithmetic the sections share."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Figure:
    """One measured line; `ok` None is context (no target), printed without a verdict."""

    name: str
    measured: str
    target: str = ""
    ok: bool | None = None

    def __str__(self) -> str:
        if self.ok is None:
            return f"{self.name}: {self.measured}"
        verdict = "OK" if self.ok else "MISS"
        return f"{self.name}: {self.measured} (target {self.target}) {verdict}"


def max_in_one_second(times: Sequence[float]) -> int:
    """The most requests that fall within any one second (a window [t, t + 1 s))."""
    times = sorted(times)
    most, first = 0, 0
    for last, t in enumerate(times):
        while t - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def network_floor(answer_seconds: Sequence[float], interval: float) -> float:
    """How long the network alone needs for these answers, asked one after another.

    A request leaves when the answer before it is in, but no sooner than `interval` after
    the request before it (the client's pacing: 0.45 s without an API key). This is the
    floor for a client that keeps one request in flight, as kratom-watch does.
    """
    clock, last_start = 0.0, None
    for seconds in answer_seconds:
        start = clock if last_start is None else max(clock, last_start + interval)
        last_start, clock = start, start + seconds
    return clock


def best_of(repeats: int, run: Callable[[], T]) -> tuple[float, T]:
    """The shortest wall time of `repeats` runs, and the last run's result.

    Best, not mean: other work on the machine only ever adds time.
    """
    best, result = math.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result
