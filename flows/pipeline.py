"""The weekly digest as a Prefect flow: thin task wrappers over flows.runs, put in order.

Tasks are coarse (a batch, not a paper: many small task runs make a SQLite-backed Prefect
server answer 503) and take settings, dates, ids, answers and papers, never open
connections. While one batch is read, classified and stored, the next is being fetched
(`fetch-batch` is submitted to Prefect's thread-pool task runner one batch ahead): the
fetch waits on the network, so the two overlap. Each batch is stored as soon as it is
classified, so a crash keeps what was done and a rerun completes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State
from prefect.utilities.annotations import quote

from flows import runs
from flows.designs import design
from flows.digest import PaperUpdate
from flows.errors import KratomWatchError
from flows.logs import quiet_expected_tracebacks
from flows.mail import MailParts
from flows.pubmed import SearchResult
from flows.runs import DigestPlan, Rendered, RunOptions
from flows.settings import Settings, check_reports_folder, load_settings
from flows.store import Upserted
from flows.windows import resolve_window, scheduled_window

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
    """runs.store_answer. One task, not three (read, classify, store): each task run costs
    the Prefect server work that, on a small machine, competes with the reading for the CPU
    (benchmarks: backfill)."""
    return runs.store_answer(settings, answer, listed, run_id)


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


@runs.start_up_frozen()
def _run(settings: Settings, run_id: int, since: date, until: date, options: RunOptions) -> Report:
    logger = get_run_logger()
    collector = runs.Collector(settings, _steps(settings, run_id), logger)
    collector.window(since, until)
    if options.kind == "scheduled":
        collector.revisit(run_id, since, until)
    collected = collector.collected
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


def _steps(settings: Settings, run_id: int) -> runs.CollectSteps:
    """The collecting steps as this module's tasks; the next batch fetched on Prefect's
    thread-pool task runner while the current one is stored."""
    return runs.CollectSteps(
        search=partial(search_window, settings),
        search_modified=partial(search_modified, settings),
        submit_fetch=lambda search, start: fetch_batch.submit(settings, quote(search), start),
        fetch=lambda search, start: fetch_batch(settings, quote(search), start),
        fetch_ids=partial(fetch_ids, settings),
        store=lambda answer, listed: store_batch(settings, answer, quote(listed), run_id),
    )


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
