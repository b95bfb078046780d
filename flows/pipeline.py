"""The weekly digest as a Prefect flow: thin task wrappers over flows.runs, put in order.

Tasks are coarse (a batch, not a paper: many small task runs make a SQLite-backed Prefect
server answer 503) and take settings, dates, ids, answers and papers, never open
connections. While one batch is read, classified and stored, the next is being fetched
(`fetch-batch` is submitted to Prefect's thread-pool task runner one batch ahead): the
fetch waits on the network, so the two overlap. Each batch is stored as soon as it is
classified, so a crash keeps what was done and a rerun completes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State
from prefect.utilities.annotations import quote

from flows import runs
from flows.backoff import retry_delay
from flows.designs import design
from flows.digest import PaperUpdate
from flows.errors import KratomWatchError, PubMedError
from flows.logs import quiet_expected_tracebacks
from flows.mail import MailParts
from flows.pubmed import SearchResult, WebEnvExpired, WindowTooLarge
from flows.runs import Collected, DigestPlan, Rendered, RunOptions
from flows.settings import Settings, check_reports_folder, load_settings
from flows.store import Upserted
from flows.windows import resolve_window, scheduled_window

MAX_SEARCH_RENEWALS = 2
# An answer that cannot be read (cut off, not XML) is asked for again this many times.
MAX_REREADS = 2

# quote() around batches and searches below: Prefect would otherwise walk every paper (or
# PMID) of a task's arguments looking for futures to resolve, about 2 ms a record.


@task(name="search-window", cache_policy=NONE)
def search_window(settings: Settings, since: date, until: date) -> SearchResult:
    return runs.search_window(settings, since, until)


@task(name="search-modified", cache_policy=NONE)
def search_modified(settings: Settings, since: date, until: date) -> SearchResult:
    return runs.search_modified(settings, since, until)


@task(name="fetch-batch", cache_policy=NONE)
def fetch_batch(settings: Settings, search: SearchResult, start: int) -> bytes:
    return runs.fetch_batch(settings, search, start)


@task(name="fetch-by-id", cache_policy=NONE)
def fetch_ids(settings: Settings, pmids: list[str]) -> bytes:
    return runs.fetch_ids(settings, pmids)


@task(name="store-batch", cache_policy=NONE)
def store_batch(
    settings: Settings, answer: bytes, listed: frozenset[str], run_id: int
) -> tuple[Upserted, int]:
    """Read, classify and store one efetch answer: the records PubMed listed, each once.
    Returns what was stored and how many other records the answer held.

    One task, not three: each task run costs the Prefect server work that, on a small
    machine, competes with the reading for the CPU (benchmarks: backfill)."""
    papers, extra = runs.listed_only(runs.classify_papers(runs.read_answer(answer)), listed)
    return runs.store_papers(settings, papers, run_id), extra


@task(name="render-digest", cache_policy=NONE)
def render(settings: Settings, since: date, until: date, plan: DigestPlan) -> Rendered:
    return runs.render(settings, since, until, plan)


@task(name="send-digest", cache_policy=NONE)
def send_digest(
    settings: Settings, run_id: int, key: str, parts: MailParts, subject: str, resend: bool
) -> list[str]:
    return runs.send_digest(settings, run_id, key, parts, subject, resend)


@flow(name="weekly-digest", log_prints=False)
def weekly_digest(
    since: date | None = None,
    until: date | None = None,
    kind: str = "manual",
    mark_sent: bool = False,
    send_email: bool = True,
    resend: bool = False,
    as_of: date | None = None,
):
    """Find, classify and store a window's new PubMed papers; write and mail its digest.

    kind="manual" (a rerun of any range; with no dates, the last complete
    Monday-to-Sunday week) reports everything in the window. kind="scheduled"
    (with no dates, what is new since the last scheduled run) leaves out papers
    an earlier scheduled digest sent, and marks the ones it sends; a manual run
    does that only with mark_sent. `as_of` is the run's "today" (default: now in
    KRATOM_WATCH_TIMEZONE), e.g. to catch up a missed scheduled run. Returns the
    paths of the files written.
    Settings come from the environment (flows.settings), never from
    parameters, so no secret is stored in Prefect.
    """
    quiet_expected_tracebacks()
    logger = get_run_logger()
    try:
        if kind == "scheduled" and (since is not None or until is not None):
            # The deployment's default kind, with dates given by hand: a rerun of that range.
            logger.info("dates given: running as a manual rerun of %s to %s", since, until)
            kind = "manual"
        options = RunOptions(kind, bool(mark_sent), bool(send_email), bool(resend))
        settings = load_settings()
        check_reports_folder(settings)
        today = as_of or datetime.now(settings.tz).date()
        with runs.open_store(settings) as store:
            if kind == "scheduled":
                since, until = scheduled_window(settings, store, today)
            else:
                since, until = resolve_window(settings, since, until, today)
            run_id = store.start_run(kind, since, until, settings.query, flow_run.id)
    except KratomWatchError as error:
        logger.error("run not started: %s", error)
        return Failed(message=str(error))

    try:
        report = _run(settings, run_id, since, until, options)
    except Exception as error:
        message = str(error) if isinstance(error, KratomWatchError) else _unexpected(error)
        _record_failure(settings, run_id, message, logger)
        logger.error("run failed: %s", message, exc_info=not isinstance(error, KratomWatchError))
        return Failed(message=message)
    with runs.open_store(settings) as store:
        store.finish_run(
            run_id, "completed", found=report.found, stored=report.found, new=report.new
        )
    _publish_artifacts(report, since, until, kind)
    return Completed(
        message=f"{report.rendered.papers} papers in the digest, {report.new} new in the store",
        data=[str(p) for p in report.rendered.paths],
    )


# Prefect's flow-run heartbeat exists for automations that spot crashed runs. A run started
# from the command line (by hand or from cron) reports a failure by its exit status, and the
# store marks a killed run abandoned at the next run. Stopping the heartbeat's thread costs a
# run up to a second (docs/field-notes.md), so a run started here goes without one unless this
# setting asks for it.
HEARTBEAT_SETTING = "PREFECT_FLOWS_HEARTBEAT_FREQUENCY"


def run_here(environ: Mapping[str, str], **parameters) -> State:
    """weekly_digest run in this process, as `kratom-watch run` starts it; its final state.

    Served deployments (`kratom-watch serve`) keep Prefect's heartbeat.
    """
    from prefect.settings import temporary_settings

    with temporary_settings(updates=heartbeat_updates(environ)):
        return weekly_digest(**parameters, return_state=True)


def heartbeat_updates(environ: Mapping[str, str]) -> dict:
    """The Prefect settings a run started here changes: no heartbeat, unless asked for."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY

    return {} if HEARTBEAT_SETTING in environ else {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}


def _unexpected(error: Exception) -> str:
    return f"unexpected {type(error).__name__}: {error}"


def _record_failure(settings: Settings, run_id: int, message: str, logger) -> None:
    """Mark the run failed; if even that fails, say so without losing the run's own error."""
    try:
        with runs.open_store(settings) as store:
            store.finish_run(run_id, "failed", error=message)
    except Exception as error:  # the store itself is the problem (disk full, locked)
        logger.error("could not record the failure of run %d in the store: %s", run_id, error)


@dataclass(frozen=True)
class Report:
    rendered: Rendered
    found: int  # records PubMed listed for the window
    new: int  # papers stored for the first time
    updates: list[PaperUpdate]
    mailed: list[str]


def _run(settings: Settings, run_id: int, since: date, until: date, options: RunOptions) -> Report:
    logger = get_run_logger()
    collected = Collected()
    _collect(settings, run_id, since, until, collected, logger)
    if options.kind == "scheduled":
        _revisit(settings, run_id, since, until, collected, logger)
    plan = runs.plan_digest(settings, run_id, collected, options)
    rendered = render(settings, since, until, quote(plan))
    logger.info("digest of %d papers written to %s", rendered.papers, rendered.paths[0].parent)

    mailed: list[str] = []
    key = runs.digest_key(since, until, plan.pmids, plan.updates)
    if settings.mail is not None and options.send_email:
        subject = runs.mail_subject(since, until, rendered.papers, rendered.relevant)
        parts = quote(rendered.mail)
        mailed = send_digest(settings, run_id, key, parts, subject, options.resend)
        logger.info("digest mailed to %d recipient(s)", len(mailed))
    if settings.mail is None or options.send_email:
        # Delivered (or, without mail, written): the updates reached their readers.
        runs.mark_reported(settings, plan, key)
    if options.marks_sent:
        runs.mark_sent(settings, run_id, plan.pmids)
    return Report(rendered, len(collected.pmids), collected.new, plan.updates, mailed)


def _collect(
    settings: Settings, run_id: int, since: date, until: date, collected: Collected, logger
) -> None:
    """Search the window and store every record it lists, or fail naming the missing ones.

    A window with more records than ESearch lists is split into as many shorter windows as
    its count needs (a piece still too large is split again). Every piece is searched
    first, so the batches of all of them are fetched one ahead without a gap for a search.
    """

    def search(piece_since: date, piece_until: date) -> SearchResult:
        logger.info("searching PubMed for records created %s to %s", piece_since, piece_until)
        return search_window(settings, piece_since, piece_until)

    searches = runs.search_pieces(search, since, until)
    batches = [
        (k, start)
        for k, (_, _, search) in enumerate(searches)
        for start in range(0, search.count, settings.batch_size)
    ]
    listed = [set(search.pmids) for _, _, search in searches]
    logger.info(
        "%d records; fetching in %d batch(es) of %d",
        sum(search.count for _, _, search in searches),
        len(batches),
        settings.batch_size,
    )

    def fetch(i: int) -> PrefectFuture:
        k, start = batches[i]
        return fetch_batch.submit(settings, quote(searches[k][2]), start)

    renewals, i = 0, 0
    pending = fetch(0) if batches else None
    while i < len(batches):
        k, start = batches[i]
        try:
            answer = pending.result()
        except WebEnvExpired:
            # NCBI forgets history searches after a few hours; search again, carry on.
            renewals += 1
            if renewals > MAX_SEARCH_RENEWALS:
                raise
            logger.warning("the search expired on NCBI's history server; searching again")
            piece_since, piece_until, _ = searches[k]
            search = search_window(settings, piece_since, piece_until)
            searches[k], listed[k] = (piece_since, piece_until, search), set(search.pmids)
            pending = fetch(i)
            continue
        # The next batch downloads while this one is read and stored.
        if i + 1 < len(batches):
            pending = fetch(i + 1)
        refetch = partial(fetch_batch, settings, quote(searches[k][2]), start)
        collected.keep(_store(settings, run_id, refetch, listed[k], logger, answer))
        i += 1

    every = [pmid for _, _, search in searches for pmid in search.pmids]
    missing = runs.missing_pmids(settings, every)
    if missing:
        # efetch can answer fewer articles than asked; ask again by id, once.
        logger.warning("%d records missing after the batches; fetching them by id", len(missing))
        refetch = partial(fetch_ids, settings, missing)
        collected.keep(_store(settings, run_id, refetch, missing, logger))
        missing = runs.missing_pmids(settings, missing)
    if missing:
        raise runs.unfetched_error(missing, len(every), since, until)
    collected.listed(every)
    logger.info("stored %d papers of %s to %s", len(every), since, until)


def _store(
    settings: Settings,
    run_id: int,
    fetch: Callable[[], bytes],
    listed: Iterable[str],
    logger,
    answer: bytes | None = None,
) -> Upserted:
    """Store the records PubMed listed of `fetch`'s answer (or of `answer`, already fetched
    by it); an answer that cannot be read is fetched again."""
    answer = fetch() if answer is None else answer
    listed = frozenset(listed)
    for attempt in range(1, MAX_REREADS + 2):
        try:
            stored, extra = store_batch(settings, answer, quote(listed), run_id)
            if extra:
                logger.warning(
                    "efetch answered %d record(s) the search did not list, or listed twice; "
                    "kept one of each listed record only",
                    extra,
                )
            return stored
        except PubMedError as error:
            if attempt > MAX_REREADS:
                raise
            delay = retry_delay(settings.retry_backoff, attempt)
            logger.warning("%s; retrying in %.1f s", error, delay)
            time.sleep(delay)
            answer = fetch()
    raise AssertionError("unreachable")


def _revisit(settings, run_id: int, since: date, until: date, collected: Collected, logger):
    """Fetch again the papers earlier digests listed that PubMed changed in the window.

    A retraction, erratum or comment, or publication types added by indexing,
    change a record long after it entered PubMed, outside any later created-date
    window: one search on the modification date ([mdat]) finds them.
    """
    try:
        search = search_modified(settings, since, until)
    except WindowTooLarge as error:
        logger.warning("%s; updates to earlier papers not checked this run", error)
        return
    candidates = runs.reported_candidates(settings, run_id, search, set(collected.pmids))
    logger.info("%d earlier-reported papers changed in PubMed; fetching them", len(candidates))
    for start in range(0, len(candidates), settings.batch_size):
        batch = candidates[start : start + settings.batch_size]
        refetch = partial(fetch_ids, settings, batch)
        collected.keep(_store(settings, run_id, refetch, batch, logger))


def _publish_artifacts(report: Report, since: date, until: date, kind: str) -> None:
    """What the run found, in the Prefect UI."""
    rendered = report.rendered
    lines = [
        f"# kratom-watch digest {since} to {until} ({kind})",
        "",
        f"- records PubMed listed for the window: {report.found}",
        f"- papers in the digest: {rendered.papers}, {rendered.relevant} on depression or mood",
        f"- new to the store: {report.new}; updates to earlier papers: {len(report.updates)}",
        f"- mailed to: {', '.join(report.mailed) if report.mailed else 'nobody this run'}",
        "",
        "| design | papers |",
        "|---|---|",
        *(f"| {design(label).heading} | {n} |" for label, n in rendered.designs.items()),
        "",
        f"Files: {', '.join(p.name for p in rendered.paths)}",
    ]
    create_markdown_artifact("\n".join(lines), key="digest-summary", description="Digest summary")
    shown = rendered.first
    description = "Papers in the digest"
    if len(shown) < rendered.papers:
        description += f" (the first {len(shown)} of {rendered.papers})"
    create_table_artifact(
        [
            {
                "pmid": p.pmid,
                "title": p.title_text,
                "design": p.design,
                "depression_relevant": p.depression_relevant,
                "evidence": p.evidence,
                "pubmed": p.pubmed_url,
            }
            for p in shown
        ],
        key="digest-papers",
        description=description,
    )
