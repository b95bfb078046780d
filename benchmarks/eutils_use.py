"""requests, split, pacing: what a run asks of E-utilities, and how fast.

Each runs `weekly_digest` in a fresh process against the tests' E-utilities server (answers
at once) and counts what the server saw.
"""

from __future__ import annotations

from collections.abc import Iterator

from benchmarks.figures import Figure, max_in_one_second
from benchmarks.harness import (
    FAKE_API_KEY,
    expected_requests,
    run_child,
    run_environment,
    scratch,
    stored_papers,
)

# NCBI's limits: requests in any one second, without and with an API key.
PACING_LIMITS = (("without a key", None, 3), ("with a key", FAKE_API_KEY, 10))


def repeated_requests(requests) -> int:
    """Requests that repeat an earlier one (same endpoint and parameters): retries."""
    seen, repeated = set(), 0
    for request in requests:
        key = (request.endpoint, tuple(sorted(request.params.items())))
        repeated += key in seen or request.fault is not None
        seen.add(key)
    return repeated


def bench_requests(quick: bool) -> Iterator[Figure]:
    """A window's requests: one esearch, then one efetch per batch, and nothing asked twice."""
    from tests.eutils_server import EutilsServer
    from tests.factories import synthetic_records, window

    n, batch, days = (12, 5, 7) if quick else (1_234, 500, 28)
    with scratch() as folder, EutilsServer(synthetic_records(n, days)) as server:
        run_child("flow", run_environment(server, folder, batch), *window(days), folder)
        searches, fetches = server.count("esearch"), server.count("efetch")
        repeated = repeated_requests(server.requests)
        stored = stored_papers(folder)
    expected = expected_requests(n, batch)
    yield Figure(
        f"requests for {n:,} records, batch {batch:,}",
        f"{searches} esearch + {fetches} efetch, {repeated} repeated, {stored:,} stored",
        f"1 + ceil({n:,}/{batch}) = {expected}, none repeated, all stored",
        searches == 1 and searches + fetches == expected and repeated == 0 and stored == n,
    )


def bench_split(quick: bool) -> Iterator[Figure]:
    """A window with more records than ESearch lists is split, and every record stored."""
    from flows.pubmed import ESEARCH_MAX_IDS
    from tests.eutils_server import EutilsServer
    from tests.factories import synthetic_records, window

    n, batch, days = (10_100, 2_000, 10) if quick else (12_000, 500, 24)
    with scratch() as folder, EutilsServer(synthetic_records(n, days)) as server:
        run_child("flow", run_environment(server, folder, batch), *window(days), folder)
        searches, fetches = server.count("esearch"), server.count("efetch")
        repeated = repeated_requests(server.requests)
        stored = stored_papers(folder)
    yield Figure(
        f"window of {n:,} records (ESearch lists {ESEARCH_MAX_IDS:,}), batch {batch:,}",
        f"{searches} esearch + {fetches} efetch, {repeated} repeated, {stored:,} of {n:,} stored",
        "searched in shorter windows, every PMID stored, none repeated",
        searches > 1 and stored == n and repeated == 0,
    )


def bench_pacing(quick: bool) -> Iterator[Figure]:
    """The most requests the server saw in any one second, with batches of one record."""
    from tests.eutils_server import EutilsServer
    from tests.factories import synthetic_records, window

    for label, api_key, limit in PACING_LIMITS:
        n = 4 if quick else 3 * limit  # about 3 s of requests at the allowed rate
        with scratch() as folder, EutilsServer(synthetic_records(n, 7)) as server:
            run_child("flow", run_environment(server, folder, 1, api_key), *window(7), folder)
            times = [r.time for r in server.requests]
        most = max_in_one_second(times)
        yield Figure(
            f"pacing {label}",
            f"at most {most} requests in one second ({len(times)} requests over "
            f"{times[-1] - times[0]:.1f} s)",
            f"<= {limit}",
            most <= limit,
        )
