"""Benchmarks: `python -m flows.bench` runs them all, `python -m flows.bench classify` one.

Each benchmark prints one line, "name: figure (target ...)". Add a section by writing a
function that returns that line and listing it in BENCHMARKS.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from flows.classify import classify

DEV_SET = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "dev.jsonl"
CLASSIFY_RECORDS = 10_000
CLASSIFY_TARGET_SECONDS = 2.0


def _dev_records() -> list[dict]:
    with open(DEV_SET, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def _varied(records: Sequence[dict], n: int) -> list[tuple[str, str, list[str], list[str]]]:
    """n full-length records made from the dev set, no two identical.

    Every copy gets a numbered title, and every other pass rotates the abstract's sentences,
    so nothing can be served from a cache and the work per record stays realistic.
    """
    out = []
    for i in range(n):
        r = records[i % len(records)]
        abstract = r["abstract"] or ""
        if (i // len(records)) % 2:
            first, _, rest = abstract.partition(". ")
            abstract = f"{rest} {first}." if rest else abstract
        out.append((f"{r['title']} ({i})", abstract, r["publication_types"], r["mesh_terms"]))
    return out


def bench_classify() -> str:
    records = _varied(_dev_records(), CLASSIFY_RECORDS)
    start = time.perf_counter()
    for title, abstract, publication_types, mesh_terms in records:
        classify(title, abstract, publication_types, mesh_terms)
    seconds = time.perf_counter() - start
    return (
        f"classify {CLASSIFY_RECORDS:,} records: {seconds:.2f} s "
        f"(target < {CLASSIFY_TARGET_SECONDS:g} s)"
    )


BENCHMARKS: dict[str, Callable[[], str]] = {
    "classify": bench_classify,
}


def main(argv: Sequence[str] | None = None) -> int:
    names = list(sys.argv[1:] if argv is None else argv) or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(
            f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}",
            file=sys.stderr,
        )
        return 2
    for name in names:
        print(BENCHMARKS[name](), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
