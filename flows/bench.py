"""Benchmarks of issue 7: `python -m flows.bench [--quick] [name ...]`.

    python -m flows.bench                    # every section except `suite` (see below)
    python -m flows.bench requests pacing    # some sections
    python -m flows.bench --quick            # smaller sizes: a smoke run, not figures to quote
    python -m flows.bench suite              # the whole test suite's wall time

Run it from the repository root: the PubMed sections start the project's own E-utilities test
server (`tests.eutils_server`) on 127.0.0.1 and serve it synthetic records: the real corpus rows
of tests/fixtures/dev.jsonl under new PMIDs (from 90,000,000) and created dates spread over
weeks. No section touches the network. The sections that need Prefect (`memory`, `prefect`)
start one `prefect server start` for the whole benchmark, with its own PREFECT_HOME in a
temporary folder, and stop it at exit. `suite` runs the test suite in a subprocess (about four
minutes), so it is left out of the default run; name it to run it.

Each section prints "name: figure (target ...) OK|MISS" lines (lines without a verdict are
context). Timings are the best of several runs because tests and other work may share the
machine. Add a section by writing a function that takes `quick` and returns its Figures, and
listing it in BENCHMARKS.
"""

from __future__ import annotations

import atexit
import copy
import io
import json
import logging
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar

from flows.classify import classify
from flows.localprefect import LocalPrefectServer

ROOT = Path(__file__).resolve().parent.parent
DEV_SET = ROOT / "tests" / "fixtures" / "dev.jsonl"
CLASSIFY_RECORDS = 10_000
CLASSIFY_TARGET_SECONDS = 2.0

FIRST_PMID = 90_000_000
FIRST_DAY = date(2025, 1, 6)  # a Monday, safely in the past
FAKE_API_KEY = "0123456789abcdef0123456789abcdef0123"  # alphanumeric, like NCBI's
PACING_LIMITS = {"without a key": (None, 3), "with a key": (FAKE_API_KEY, 10)}
THROUGHPUT_TARGET = 0.40
MEMORY_TARGET_MB = 100
PREFECT_TARGET_SECONDS = 3.0
SUITE_TARGET_SECONDS = 120.0
REPEATS = 3

log = logging.getLogger("kratom_watch.bench")
T = TypeVar("T")


@dataclass(frozen=True)
class Figure:
    name: str
    measured: str
    target: str = ""
    ok: bool | None = None  # None: context, no target

    def __str__(self) -> str:
        if self.ok is None:
            return f"{self.name}: {self.measured}"
        return f"{self.name}: {self.measured} (target {self.target}) {'OK' if self.ok else 'MISS'}"


# ---- shared helpers


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


def synthetic_records(n: int, days: int = 28) -> list:
    """n server records from the corpus rows: new PMIDs, created over `days` days from FIRST_DAY.

    Titles and abstracts vary as in `_varied`, so no two records are the same text.
    """
    from tests.eutils_server import Record, article_xml

    rows = _dev_records()
    records = []
    for i, (title, abstract, _, _) in enumerate(_varied(rows, n)):
        pmid = str(FIRST_PMID + i)
        created = FIRST_DAY + timedelta(days=i % days)
        row = {**rows[i % len(rows)], "pmid": pmid, "title": title, "abstract": abstract}
        records.append(Record(pmid, created, article_xml(row, created)))
    return records


# The parts of a real efetch record that the corpus does not have.
_GRAFTED = {
    "MedlineCitation": (
        "DateCompleted",
        "DateRevised",
        "ChemicalList",
        "CitationSubset",
        "CommentsCorrectionsList",
        "KeywordList",
        "CoiStatement",
        "OtherID",
        "GeneralNote",
        "NumberOfReferences",
    ),
    "MedlineCitation/Article": ("Pagination", "AuthorList", "GrantList", "ArticleDate"),
    "PubmedData": ("ReferenceList",),
}


def ncbi_shaped_records(n: int, days: int = 28) -> list:
    """`synthetic_records` with everything else a real efetch record carries.

    Each record takes, in turn from the six real NCBI records in tests/fixtures/eutils, their
    author list with affiliations, grants, keywords, chemicals, cited-reference lists and the
    rest of the History and ArticleIdList; title, abstract, publication types, MeSH terms and
    the dates of entry stay the corpus record's. A parser pays for the bytes it skips.
    """
    from lxml import etree

    from tests.eutils_server import SAMPLES, Record, record_from_sample

    samples = [
        etree.fromstring(record_from_sample(path, FIRST_DAY).xml)
        for path in sorted(SAMPLES.glob("pubmed*.xml"))
    ]
    shaped = []
    for i, record in enumerate(synthetic_records(n, days)):
        article = etree.fromstring(record.xml)
        sample = samples[i % len(samples)]
        for parent_path, tags in _GRAFTED.items():
            parent = article.find(parent_path)
            for tag in tags:
                for old in parent.findall(tag):
                    parent.remove(old)
                for element in sample.find(parent_path).findall(tag):
                    parent.append(copy.deepcopy(element))
        for notice in article.findall("MedlineCitation/CommentsCorrectionsList/*"):
            if notice.get("RefType") != "Cites":  # no retraction or erratum notices
                notice.getparent().remove(notice)
        history = article.find("PubmedData/History")
        for dated in sample.iterfind("PubmedData/History/PubMedPubDate"):
            if dated.get("PubStatus") not in ("pubmed", "entrez", "medline"):
                history.append(copy.deepcopy(dated))
        ids = article.find("PubmedData/ArticleIdList")
        for article_id in sample.iterfind("PubmedData/ArticleIdList/ArticleId"):
            if article_id.get("IdType") not in ("pubmed", "doi"):
                ids.append(copy.deepcopy(article_id))
        shaped.append(
            Record(record.pmid, record.created, etree.tostring(article, encoding="unicode"))
        )
    return shaped


def window(days: int) -> tuple[date, date]:
    """The window that holds every synthetic record created over `days` days."""
    return FIRST_DAY, FIRST_DAY + timedelta(days=days - 1)


@contextmanager
def eutils_server(records: list) -> Iterator:
    from tests.eutils_server import EutilsServer

    with EutilsServer(records) as server:
        yield server


def run_environment(
    server, folder: Path, batch_size: int, api_key: str | None = FAKE_API_KEY
) -> dict[str, str]:
    """The kratom-watch settings of a run against `server`, writing into `folder`."""
    config = folder / "kratom-watch.toml"  # empty: no config file from the cwd applies
    config.touch()
    env = {
        "NCBI_EMAIL": "bench@example.org",
        "KRATOM_WATCH_EUTILS_URL": server.base_url,
        "KRATOM_WATCH_DB": str(folder / "store.sqlite"),
        "KRATOM_WATCH_REPORTS": str(folder / "reports"),
        "KRATOM_WATCH_BATCH_SIZE": str(batch_size),
        "KRATOM_WATCH_CONFIG": str(config),
    }
    if api_key:
        env["NCBI_API_KEY"] = api_key
    return env


def settings_for(env: dict[str, str]):
    from flows.settings import load_settings

    return load_settings(env)


@contextmanager
def _tasks_as_functions() -> Iterator[None]:
    """The pipeline's tasks replaced by their plain functions (`.fn`), for a run without Prefect."""
    from flows import pipeline

    names = ("search_window", "search_modified", "fetch_batch", "fetch_missing")
    saved = {name: getattr(pipeline, name) for name in (*names, "store_batch", "render")}
    saved["send_digest"] = pipeline.send_digest
    for name, task in saved.items():
        setattr(pipeline, name, task.fn)
    quote = pipeline.quote
    pipeline.quote = lambda value: value  # Prefect's marker; plain functions take the value
    try:
        yield
    finally:
        for name, task in saved.items():
            setattr(pipeline, name, task)
        pipeline.quote = quote


def plain_digest(settings, since: date, until: date):
    """What `weekly_digest` does for a manual run with --no-email, minus Prefect.

    The flow's own steps (`flows.pipeline._run`: search with window splitting, fetch batches,
    classify, store, check every PMID, render) with each task called as its `.fn`.
    """
    from flows import pipeline
    from flows.store import Store

    with Store(settings.db_path) as store:
        run_id = store.start_run("manual", since, until, settings.query)
    with _tasks_as_functions():
        report = pipeline._run(settings, run_id, "manual", since, until, False, False, False, log)
    with Store(settings.db_path) as store:
        store.finish_run(
            run_id, "completed", found=report.found, stored=report.found, new=report.new
        )
    return report


def plain_digest_from_environment() -> None:
    """The plain-function child of `memory`: `python -c ... SINCE UNTIL`; settings from env."""
    from flows.settings import load_settings

    since, until = (date.fromisoformat(day) for day in sys.argv[1:3])
    report = plain_digest(load_settings(), since, until)
    print(report.found, file=sys.stderr)


def max_in_one_second(times: Sequence[float]) -> int:
    """The most requests that fall within any one second (a window [t, t + 1 s))."""
    times = sorted(times)
    most, first = 0, 0
    for last, t in enumerate(times):
        while t - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def best_of(repeats: int, run: Callable[[], T]) -> tuple[float, T]:
    """The shortest wall time of `repeats` runs, and the last run's result."""
    best, result = math.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


@contextmanager
def scratch() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="kratom-bench-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


_prefect: dict[str, str] = {}


def prefect_environment() -> dict[str, str]:
    """PREFECT_API_URL and PREFECT_HOME of a `prefect server start` run for this benchmark.

    Started on first use (10 to 20 s), in a temporary PREFECT_HOME on a free port, and stopped
    when the benchmark exits.
    """
    if not _prefect:
        server = LocalPrefectServer()
        atexit.register(server.stop)
        try:
            server.wait_until_ready()
        except RuntimeError as error:
            raise RuntimeError(f"{error}; see {server.log}") from None
        _prefect.update(server.env)
    return _prefect


@contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    """os.environ with `env` added, for code that reads its settings from the environment."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _quiet(*names: str) -> Iterator[None]:
    """Loggers that would print a line per run and task (Prefect's) held to warnings."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


PEAK_FILE_VARIABLE = "KRATOM_BENCH_PEAK_FILE"


def write_peak_rss() -> None:
    """At a child's exit: its peak RSS (VmHWM) plus its worker processes' into the file the
    benchmark named. Runs before flows.workers stops them (registered after it)."""
    from flows.workers import worker_pids

    peak_kb = sum(_peak_kb(pid) for pid in ("self", *worker_pids()))
    Path(os.environ[PEAK_FILE_VARIABLE]).write_text(str(peak_kb))


def _peak_kb(pid: int | str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))


def child_peak_rss_mb(code: str, args: list[str], env: dict[str, str], folder: Path) -> float:
    """Run `python -c code args...` from the repo root; its peak RSS in MB, with its workers'.

    The child reports its own VmHWM at exit. Not ru_maxrss: on Linux that also counts the
    parent's RSS at fork time (here the E-utilities server with 100,000 records, ~600 MB),
    which would hide a small run's real figure.
    """
    peak_file = folder / "peak-kb"
    code = (
        "import atexit, flows.bench, flows.workers; "
        f"atexit.register(flows.bench.write_peak_rss); {code}"
    )
    with open(folder / "child.out", "wb") as out, open(folder / "child.err", "wb") as err:
        result = subprocess.run(
            [sys.executable, "-c", code, *args],
            cwd=ROOT,
            env={**os.environ, **env, "PYTHONPATH": str(ROOT), PEAK_FILE_VARIABLE: str(peak_file)},
            stdout=out,
            stderr=err,
        )
    if result.returncode != 0:
        tail = (folder / "child.err").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{code} {' '.join(args)} failed ({result.returncode}):\n{tail}")
    return int(peak_file.read_text()) / 1024


# ---- sections


def bench_classify(quick: bool = False) -> list[Figure]:
    n = 1_000 if quick else CLASSIFY_RECORDS
    records = _varied(_dev_records(), n)

    def run() -> None:
        for title, abstract, publication_types, mesh_terms in records:
            classify(title, abstract, publication_types, mesh_terms)

    seconds, _ = best_of(1 if quick else REPEATS, run)
    target = CLASSIFY_TARGET_SECONDS * n / CLASSIFY_RECORDS
    return [
        Figure(f"classify {n:,} records", f"{seconds:.2f} s", f"< {target:g} s", seconds < target)
    ]


def bench_requests(quick: bool = False) -> list[Figure]:
    """Requests per window at the server; a window above the ESearch cap is split."""
    import flows.pubmed

    n, batch = (12, 5) if quick else (1_234, 500)
    capped_n, cap, days = (40, 10, 8) if quick else (1_000, 200, 20)
    figures = []
    with scratch() as folder, eutils_server(synthetic_records(n)) as server:
        settings = settings_for(run_environment(server, folder, batch))
        plain_digest(settings, *window(28))
        expected = 1 + math.ceil(n / batch)
        got = server.count("esearch"), server.count("efetch")
        figures.append(
            Figure(
                f"requests for {n:,} records, batch {batch}",
                f"{got[0]} esearch + {got[1]} efetch",
                f"1 + ceil({n:,}/{batch}) = {expected}",
                sum(got) == expected and got[0] == 1,
            )
        )
        figures.append(_retries_figure(server))

    # Monkeypatched so the split is quick to show: the same code splits at 9,999 in production.
    saved, flows.pubmed.ESEARCH_MAX_IDS = flows.pubmed.ESEARCH_MAX_IDS, cap
    try:
        with scratch() as folder, eutils_server(synthetic_records(capped_n, days)) as server:
            settings = settings_for(run_environment(server, folder, batch))
            report = plain_digest(settings, *window(days))
            from flows.store import Store

            with Store(settings.db_path) as store:
                stored = store.count_papers()
            searches, fetches = server.count("esearch"), server.count("efetch")
            figures.append(
                Figure(
                    f"window of {capped_n:,} records, ESearch cap patched to {cap}",
                    f"split in {searches} searches, {fetches} efetch; "
                    f"{stored:,} of {capped_n:,} PMIDs stored, {report.found:,} in the digest",
                    "every PMID stored",
                    stored == capped_n == report.found,
                )
            )
            figures.append(_retries_figure(server))
    finally:
        flows.pubmed.ESEARCH_MAX_IDS = saved
    return figures


def _retries_figure(server) -> Figure:
    """Requests that repeat an earlier one (same endpoint and parameters) are retries."""
    seen, repeated = set(), 0
    for request in server.requests:
        key = (request.endpoint, tuple(sorted(request.params.items())))
        repeated += key in seen or request.fault is not None
        seen.add(key)
    return Figure("  retries", str(repeated), "0", repeated == 0)


def bench_pacing(quick: bool = False) -> list[Figure]:
    """The most requests the server saw in any one second, batches of one record."""
    figures = []
    for label, (api_key, limit) in PACING_LIMITS.items():
        n = 6 if quick else 3 * limit  # about 3 s of requests at the allowed rate
        with scratch() as folder, eutils_server(synthetic_records(n)) as server:
            plain_digest(settings_for(run_environment(server, folder, 1, api_key)), *window(28))
            times = [r.time for r in server.requests]
            figures.append(
                Figure(
                    f"pacing {label}",
                    f"max {max_in_one_second(times)} requests in one second "
                    f"({len(times)} requests over {times[-1] - times[0]:.1f} s)",
                    f"<= {limit}",
                    max_in_one_second(times) <= limit,
                )
            )
    return figures


def bench_throughput(quick: bool = False) -> list[Figure]:
    """Parse + classify + store of one PubmedArticleSet vs lxml iterparse alone, same bytes.

    Measured on records shaped like NCBI's (the target) and on the compact corpus-only
    records the other sections use, whose few bytes leave lxml little to do. The answer is
    read as the pipeline reads one: by flows.workers with the default number of worker
    processes, started beforehand as a run starts them while its first answer downloads.
    """
    from flows import workers
    from flows.settings import default_workers
    from tests.eutils_server import pubmed_set

    n = 300 if quick else 10_000
    repeats = 1 if quick else REPEATS
    helpers = default_workers()
    started = time.perf_counter()
    workers.start_workers(helpers)
    workers.read_answer(pubmed_set(r.xml for r in synthetic_records(workers.MIN_ARTICLES)), helpers)
    figures = [
        Figure(
            "worker processes (KRATOM_WATCH_WORKERS default: cores - 1, at most 3)",
            f"{helpers}, started and first answer read in {time.perf_counter() - started:.2f} s",
        )
    ]
    for shape, records, judged in (
        ("NCBI-shaped", ncbi_shaped_records, True),
        ("compact", synthetic_records, False),
    ):
        body = pubmed_set(r.xml for r in records(n))
        alone, count = best_of(repeats, lambda body=body: _iterparse_alone(body))
        assert count == n, f"iterparse found {count} articles of {n}"
        with scratch() as folder:
            runs = iter(range(repeats))
            full, stored = best_of(
                repeats,
                lambda body=body, runs=runs: _read_and_store(
                    body, folder / f"{next(runs)}", helpers
                ),
            )
            stages = _stage_times(body, folder / "stages")
        assert stored == n, f"stored {stored} of {n}"
        ratio = alone / full
        size = f"{len(body) / 1e6:.0f} MB, {len(body) / n / 1e3:.1f} kB a record"
        figures += [
            Figure(
                f"{shape} records: lxml iterparse alone, {n:,} articles ({size})", _rate(alone, n)
            ),
            Figure(f"{shape} records: parse + classify + store", _rate(full, n)),
            Figure(
                "  each stage in this process alone",
                ", ".join(f"{k} {v:.2f} s" for k, v in stages.items()),
            ),
            Figure(
                f"{shape} records: throughput ratio (iterparse time / full time)",
                f"{ratio:.2f}",
                ">= 0.40" if judged else "",
                ratio >= THROUGHPUT_TARGET if judged else None,
            ),
        ]
    return figures


def _rate(seconds: float, n: int) -> str:
    return f"{seconds:.2f} s, {n / seconds:,.0f} records/s"


def _iterparse_alone(body: bytes) -> int:
    from lxml import etree

    count = 0
    for _, element in etree.iterparse(
        io.BytesIO(body),
        events=("end",),
        tag="PubmedArticle",
        load_dtd=False,
        resolve_entities=False,
        no_network=True,
        huge_tree=True,
    ):
        count += 1
        element.clear()
        while element.getprevious() is not None:
            del element.getparent()[0]
    return count


def _batches(items, size: int = 500) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _read_and_store(body: bytes, db_path: Path, helpers: int) -> int:
    """As the pipeline does with an efetch answer: read it, then upsert it 500 at a time."""
    from flows.store import Store
    from flows.workers import read_answer

    with Store(db_path) as store:
        for batch in _batches(read_answer(body, helpers)):
            store.upsert_papers(batch)
        return store.count_papers()


def _stage_times(body: bytes, db_path: Path) -> dict[str, float]:
    """Each stage alone, once, in one process: where the time goes."""
    from flows.parse import iter_papers
    from flows.store import Store
    from flows.workers import classify_papers

    start = time.perf_counter()
    papers = list(iter_papers(body))
    parsed = time.perf_counter()
    classify_papers(papers)
    classified = time.perf_counter()
    with Store(db_path) as store:
        for batch in _batches(papers):
            store.upsert_papers(batch)
    stored = time.perf_counter()
    return {
        "parse": parsed - start,
        "classify": classified - parsed,
        "store": stored - classified,
    }


def bench_memory(quick: bool = False) -> list[Figure]:
    """Peak RSS of a large backfill vs a small run, each a fresh process on the real pipeline."""
    # Quick: one size, the flow only (a child process costs ~5 s of imports alone).
    small, large, batch = (20, 20, 10) if quick else (100, 100_000, 2_000)
    days = 200  # 500 records a day at 100,000: the pipeline splits the window under 9,999
    records = synthetic_records(large, days)
    since, until = window(days)
    run_code = "from flows.cli import main; main()"
    run_args = ["run", "--since", str(since), "--until", str(until), "--no-email"]
    plain_code = "from flows.bench import plain_digest_from_environment as run; run()"
    plain_args = [str(since), str(until)]
    prefect_env = prefect_environment()
    peaks: dict[tuple[str, int], tuple[float, float]] = {}  # MB, seconds
    for n in dict.fromkeys((small, large)):
        # The small run's records are the first `small` of the large one, over the same days.
        with eutils_server(records[:n]) as server:
            variants = [("flow", run_code, run_args, prefect_env)]
            if not quick:
                variants.append(("plain", plain_code, plain_args, {}))
            for how, code, args, extra in variants:
                with scratch() as folder:
                    env = {**run_environment(server, folder, batch), **extra}
                    start = time.perf_counter()
                    megabytes = child_peak_rss_mb(code, args, env, folder)
                    peaks[how, n] = megabytes, time.perf_counter() - start
    figures = []
    for how, label in (("flow", "kratom-watch run (Prefect flow)"), ("plain", "plain functions")):
        if (how, large) not in peaks:
            continue
        (base, _), (peak, seconds) = peaks[how, small], peaks[how, large]
        figures.append(
            Figure(
                f"peak RSS, {label}",
                f"{base:.0f} MB for {small:,} records, {peak:.0f} MB for {large:,} "
                f"(batch {batch:,}, {seconds:.0f} s): +{peak - base:.0f} MB",
                f"+{MEMORY_TARGET_MB} MB at most",
                peak - base <= MEMORY_TARGET_MB,
            )
        )
    return figures


def bench_prefect(quick: bool = False) -> list[Figure]:
    """A typical week (20 papers) through `weekly_digest` on a running server vs plain functions."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    n, repeats = (3, 1) if quick else (20, REPEATS)
    days = 7
    since, until = window(days)
    prefect_env = prefect_environment()
    with eutils_server(synthetic_records(n, days)) as server:

        def flow_run() -> None:
            from flows.pipeline import weekly_digest

            with scratch() as folder, environment(run_environment(server, folder, 500)):
                state = weekly_digest(since, until, send_email=False, return_state=True)
                assert state.is_completed(), state.message

        def plain_run() -> None:
            with scratch() as folder:
                plain_digest(settings_for(run_environment(server, folder, 500)), since, until)

        with (
            temporary_settings({PREFECT_API_URL: prefect_env["PREFECT_API_URL"]}),
            _quiet("prefect.flow_runs", "prefect.task_runs"),
        ):
            first, _ = best_of(1, flow_run)
            flow_seconds, _ = best_of(repeats, flow_run)
        plain_seconds, _ = best_of(repeats, plain_run)
    difference = flow_seconds - plain_seconds
    return [
        Figure(
            f"weekly_digest flow, {n} papers, running Prefect server",
            f"{flow_seconds:.2f} s (first run in this process {first:.2f} s)",
        ),
        Figure("the same through plain functions", f"{plain_seconds:.2f} s"),
        Figure(
            "Prefect overhead",
            f"{difference:.2f} s",
            f"<= {PREFECT_TARGET_SECONDS:g} s",
            difference <= PREFECT_TARGET_SECONDS,
        ),
    ]


def bench_suite(quick: bool = False) -> list[Figure]:
    """Wall time of the whole test suite in a subprocess (quick: one small test file)."""
    selection = ["tests/test_markup.py"] if quick else []
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *selection],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    summary = (result.stdout.strip().splitlines() or ["no output"])[-1]
    what = f"pytest {' '.join(selection)}" if selection else "whole test suite"
    return [
        Figure(
            f"{what} ({summary})",
            f"{seconds:.0f} s",
            f"< {SUITE_TARGET_SECONDS:g} s, passing",
            seconds < SUITE_TARGET_SECONDS and result.returncode == 0,
        )
    ]


BENCHMARKS: dict[str, Callable[[bool], list[Figure]]] = {
    "classify": bench_classify,
    "requests": bench_requests,
    "pacing": bench_pacing,
    "throughput": bench_throughput,
    "memory": bench_memory,
    "prefect": bench_prefect,
    "suite": bench_suite,
}
NOT_BY_DEFAULT = ("suite",)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    quick = "--quick" in args
    names = [a for a in args if a != "--quick"] or [
        name for name in BENCHMARKS if name not in NOT_BY_DEFAULT
    ]
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(
            f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)} "
            "(and --quick)",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    missed = 0
    start = time.perf_counter()
    for name in names:
        for figure in BENCHMARKS[name](quick):
            print(figure, flush=True)
            missed += figure.ok is False
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    took = time.perf_counter() - start
    print(f"({took:.0f} s in all; {missed} missed; this process's peak RSS {own:.0f} MB)")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
