"""classify: how fast the classifier labels records."""

from __future__ import annotations

import time
from collections.abc import Iterator

from benchmarks.figures import Figure, best_of

RECORDS = 10_000
TARGET_SECONDS = 2.0  # for RECORDS; a quick run's target is scaled to its size
REPEATS = 3


def bench_classify(quick: bool) -> Iterator[Figure]:
    """10,000 full-length corpus records (title, abstract, publication types, MeSH terms)
    through flows.classify.classify_many, each a different text, and one at a time through
    flows.classify.classify; then the same records as a run labels them
    (flows.runs.classify_papers: the classifier and whatever else it adds)."""
    from flows import runs
    from flows.classify import PaperText, classify, classify_many
    from tests.eutils_server import pubmed_set
    from tests.factories import synthetic_records, varied_rows

    n = 1_000 if quick else RECORDS
    records = [
        PaperText(
            r["title"], r["abstract"], r.get("publication_types") or [], r.get("mesh_terms") or []
        )
        for r in varied_rows(n)
    ]
    classify(*records[0])  # anything loaded on first use is paid once a run, not a record
    repeats = 1 if quick else REPEATS
    seconds, _ = best_of(repeats, lambda: classify_many(records))
    target = TARGET_SECONDS * n / RECORDS
    yield Figure(
        f"classify {n:,} records",
        f"{seconds:.2f} s, {seconds / n * 1e6:.0f} us a record (best of {repeats})",
        f"< {target:g} s",
        seconds < target,
    )
    seconds, _ = best_of(1, lambda: [classify(*record) for record in records])
    yield Figure(
        "  the same records one at a time (flows.classify.classify)",
        f"{seconds:.2f} s, {seconds / n * 1e6:.0f} us a record (once)",
    )

    papers = runs.read_answer(pubmed_set(r.xml for r in synthetic_records(n)))
    start = time.perf_counter()
    runs.classify_papers(papers)
    seconds = time.perf_counter() - start
    yield Figure(
        "  the same records through flows.runs.classify_papers (what a run's read step does)",
        f"{seconds:.2f} s, {seconds / n * 1e6:.0f} us a record (once)",
    )
