"""The weekly digest as a Prefect flow: search, fetch batches, classify, store, render, send.

Tasks are coarse (a batch, not a paper: many small task runs make a
SQLite-backed Prefect server answer 503) and take settings, dates, ids and
batches, never open connections; each wraps a plain function of the other
modules. Each batch is stored as soon as
it is classified, so a crash keeps what was done and a rerun completes it.
"""

from __future__ import annotations

import fcntl
import hashlib
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE
from prefect.states import Completed, Failed
from prefect.utilities.annotations import quote

from flows import pubmed, workers  # pubmed.ESEARCH_MAX_IDS is read at call time (tests lower it)
from flows.classify import CLASSIFIER_VERSION
from flows.designs import design
from flows.digest import PaperUpdate, digest_from_store, render_digest
from flows.errors import KratomWatchError, PubMedError
from flows.logs import quiet_expected_tracebacks
from flows.mail import DigestFiles, build_message, send_messages
from flows.models import NOTICE_KINDS, Listing, Paper
from flows.pubmed import EutilsClient, SearchResult, WebEnvExpired, WindowTooLarge
from flows.settings import Settings, check_reports_folder, load_settings
from flows.store import Store, Upserted
from flows.windows import resolve_window, scheduled_window

MAX_SEARCH_RENEWALS = 2
# A backfill's table artifact would carry every paper to the Prefect server.
ARTIFACT_ROWS = 500
KINDS = ("manual", "scheduled")


def open_store(settings: Settings) -> Store:
    return Store(settings.db_path, timeout=settings.store_timeout)


def paper_updates(changed: list[tuple[Paper, Paper]], reported: set[str]) -> list[PaperUpdate]:
    """What a reader of earlier digests should hear about papers that changed since."""
    updates = []
    for old, new in changed:
        if new.pmid not in reported:
            continue
        for notice in new.notices:
            if notice not in old.notices:
                kind, introduction = NOTICE_KINDS[notice[0]]
                updates.append(PaperUpdate(new, kind, f"{introduction}: {notice[1]}"))
        newly_retracted = "Retracted Publication" in (
            set(new.publication_types) - set(old.publication_types)
        )
        if newly_retracted and not any(u.kind == "retracted" and u.paper is new for u in updates):
            updates.append(PaperUpdate(new, "retracted", "PubMed now marks it retracted"))
        if old.design != new.design:
            before, after = design(old.design).heading, design(new.design).heading
            updates.append(PaperUpdate(new, "relabelled", f"{before} → {after}"))
    return updates


@task(name="search-window", cache_policy=NONE)
def search_window(settings: Settings, since: date, until: date) -> SearchResult:
    return EutilsClient(settings).search_window(settings.query, since, until)


@task(name="search-modified", cache_policy=NONE)
def search_modified(settings: Settings, since: date, until: date) -> SearchResult:
    return EutilsClient(settings).search_modified(settings.query, since, until)


@task(name="fetch-batch", cache_policy=NONE)
def fetch_batch(settings: Settings, search: SearchResult, start: int) -> list[Paper]:
    """One batch of the search, parsed and classified."""
    return _client(settings).fetch_batch(search, start, settings.batch_size)


@task(name="fetch-by-id", cache_policy=NONE)
def fetch_missing(settings: Settings, pmids: list[str]) -> list[Paper]:
    return _client(settings).fetch_ids(pmids)


def _client(settings: Settings) -> EutilsClient:
    # Each answer is parsed and classified as it is read, on several cores when it is
    # large: the pieces of an answer go to worker processes as bytes and come back as
    # classified papers (flows.workers).
    return EutilsClient(
        settings, read_articles=partial(workers.read_answer, workers=settings.workers)
    )


@task(name="store", cache_policy=NONE)
def store_batch(settings: Settings, papers: list[Paper]) -> Upserted:
    with open_store(settings) as store:
        return store.upsert_papers(papers)


@task(name="render-digest", cache_policy=NONE)
def render(
    settings: Settings, since: date, until: date, pmids: list[str], updates: list[PaperUpdate]
) -> Rendered:
    with open_store(settings) as store:
        digest = digest_from_store(store, pmids, since, until, updates)
        paths = render_digest(digest, settings.reports_dir, store.years_and_designs())
    return Rendered(
        paths=paths,
        papers=digest.count,
        relevant=digest.relevant_count,
        designs={d.label: n for d, n in digest.design_counts},
        first=[
            Listing(
                v.paper.pmid, v.paper.title, v.paper.design, v.paper.depression_relevant, v.evidence
            )
            for v in digest.papers[:ARTIFACT_ROWS]
        ],
    )


@dataclass(frozen=True)
class Rendered:
    """What render-digest wrote and what the run's summary needs to know of the digest."""

    paths: list[Path]
    papers: int
    relevant: int
    designs: dict[str, int]  # label: papers, in evidence rank
    first: list[Listing]  # the first papers listed (ARTIFACT_ROWS at most), in digest order


@task(name="send-digest", cache_policy=NONE)
def send_digest(
    settings: Settings, run_id: int, key: str, paths: list[Path], subject: str, resend: bool
) -> list[str]:
    """Mail the digest to each recipient that has not had it yet; returns who got it now."""
    mail = settings.mail
    files = DigestFiles.from_paths(paths)
    # One delivery at a time per store: two runs at once cannot both send.
    with _store_lock(settings.db_path), open_store(settings) as store:
        done = set() if resend else store.delivered_to(key)
        messages = {
            r: build_message(files, subject, mail.sender, r)
            for r in mail.recipients
            if r not in done
        }
        send_messages(
            mail,
            messages,
            lambda recipient, message_id: store.record_delivery(key, recipient, message_id, run_id),
            backoff=2 * settings.retry_backoff,
        )
    return list(messages)


@contextmanager
def _store_lock(db_path: Path) -> Iterator[None]:
    lock_path = Path(f"{db_path}.lock")
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def digest_key(since: date, until: date, pmids: list[str], updates: list[PaperUpdate]) -> str:
    """What makes two digests the same one for delivery: the window and what it reports.

    Rerunning a window, or a scheduled and a manual run of it at once, gives the same key,
    so each recipient gets it once; a digest that reports something new is a new one.
    """
    content = sorted(pmids) + sorted(f"{u.kind}:{u.paper.pmid}:{u.detail}" for u in updates)
    digest = hashlib.sha256("\n".join(content).encode()).hexdigest()[:16]
    return f"{since}:{until}:{digest}"


@dataclass
class Report:
    rendered: Rendered
    found: int
    new: int
    updates: list[PaperUpdate]
    mailed: list[str]


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
        if kind not in KINDS:
            raise KratomWatchError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if kind == "scheduled" and (since is not None or until is not None):
            # The deployment's default kind, with dates given by hand: a rerun of that range.
            logger.info("dates given: running as a manual rerun of %s to %s", since, until)
            kind = "manual"
        settings = load_settings()
        check_reports_folder(settings)
        today = as_of or datetime.now(settings.tz).date()
        with open_store(settings) as store:
            if kind == "scheduled":
                since, until = scheduled_window(settings, store, today)
            else:
                since, until = resolve_window(settings, since, until, today)
            run_id = store.start_run(kind, since, until, settings.query)
    except KratomWatchError as error:
        logger.error("run not started: %s", error)
        return Failed(message=str(error))

    try:
        report = _run(settings, run_id, kind, since, until, mark_sent, send_email, resend, logger)
    except KratomWatchError as error:
        with open_store(settings) as store:
            store.finish_run(run_id, "failed", error=str(error))
        logger.error("run failed: %s", error)
        return Failed(message=str(error))
    with open_store(settings) as store:
        store.finish_run(
            run_id, "completed", found=report.found, stored=report.found, new=report.new
        )
    _publish_artifacts(report, since, until, kind)
    return Completed(
        message=f"{report.rendered.papers} papers in the digest, {report.new} new in the store",
        data=[str(p) for p in report.rendered.paths],
    )


def _run(settings, run_id, kind, since, until, mark_sent, send_email, resend, logger) -> Report:
    collected = _collect(settings, since, until, logger)
    if kind == "scheduled":
        _revisit(settings, run_id, since, until, collected, logger)
    changed = list(collected.changed.values())
    with open_store(settings) as store:
        store.record_run_papers(run_id, collected.pmids)
        reported = store.reported_before(run_id, collected.changed)
        sent = store.sent_pmids(collected.pmids) if kind == "scheduled" else set()
    pmids = [p for p in collected.pmids if p not in sent]
    updates = paper_updates(changed, reported)
    # quote(): a backfill lists 100,000 papers, and Prefect would walk each one.
    rendered = render(settings, since, until, quote(pmids), updates)
    paths = rendered.paths
    logger.info("digest of %d papers written to %s", rendered.papers, paths[0].parent)

    mailed: list[str] = []
    if settings.mail is not None and send_email:
        subject = (
            f"kratom-watch {since} to {until}: {rendered.papers} new paper"
            f"{'' if rendered.papers == 1 else 's'}, {rendered.relevant} on depression or mood"
        )
        key = digest_key(since, until, pmids, updates)
        mailed = send_digest(settings, run_id, key, paths, subject, resend)
        logger.info("digest mailed to %d recipient(s)", len(mailed))
    if kind == "scheduled" or mark_sent:
        with open_store(settings) as store:
            store.mark_sent(run_id, pmids)
    return Report(rendered, len(collected.pmids), collected.new, updates, mailed)


def split_window(since: date, until: date, count: int, cap: int) -> list[tuple[date, date]]:
    """Consecutive windows covering since..until, enough of them for `count` records at `cap`
    each if the records were spread evenly (one more for the unevenness of real weeks)."""
    days = (until - since).days + 1
    pieces = min(days, math.ceil(count / cap) + 1)
    length = math.ceil(days / pieces)
    return [
        (since + timedelta(days=first), min(until, since + timedelta(days=first + length - 1)))
        for first in range(0, days, length)
    ]


@dataclass
class Collected:
    """What a window's search found and the store now holds."""

    pmids: list[str] = field(default_factory=list)  # every PMID PubMed listed, in its order
    # Papers stored for the first time: a count, since a paper is new only once in a store
    # (a backfill's 100,000 PMIDs need not be held twice).
    new: int = 0
    changed: dict[str, tuple[Paper, Paper]] = field(default_factory=dict)

    def keep(self, result: Upserted) -> None:
        self.new += len(result.new)
        for old, now in result.changed:
            # A paper stored twice in one run (refetched by id): before = the first old.
            before = self.changed[now.pmid][0] if now.pmid in self.changed else old
            self.changed[now.pmid] = (before, now)


def _collect(settings: Settings, since: date, until: date, logger, collected=None) -> Collected:
    """Search the window and store every record it lists, or fail naming the missing ones.

    A window with more records than ESearch lists is split into as many shorter
    windows as its count needs (a piece still too large is split again).
    """
    collected = collected or Collected()
    logger.info("searching PubMed for records created %s to %s", since, until)
    try:
        search = search_window(settings, since, until)
    except WindowTooLarge as error:
        if since == until:
            raise PubMedError(f"{error} on the single day {since}; narrow the query") from None
        for start, end in split_window(since, until, error.count, pubmed.ESEARCH_MAX_IDS):
            _collect(settings, start, end, logger, collected)
        return collected

    batches = math.ceil(search.count / settings.batch_size)
    if settings.workers and min(search.count, settings.batch_size) >= workers.MIN_ARTICLES:
        # An answer this large is read with workers: they start while the first downloads.
        workers.start_workers(settings.workers)
    logger.info(
        "%d records; fetching in %d batch(es) of %d", search.count, batches, settings.batch_size
    )
    start, renewals = 0, 0
    while start < search.count:
        try:
            papers = fetch_batch(settings, quote(search), start)
        except WebEnvExpired:
            # NCBI forgets history searches after a few hours; search again, carry on.
            renewals += 1
            if renewals > MAX_SEARCH_RENEWALS:
                raise
            logger.warning("the search expired on NCBI's history server; searching again")
            search = search_window(settings, since, until)
            continue
        collected.keep(_store(settings, papers))
        start += settings.batch_size

    with open_store(settings) as store:
        known = store.known_pmids(search.pmids)
    missing = [p for p in search.pmids if p not in known]
    if missing:
        # efetch can answer fewer articles than asked; ask again by id, once.
        logger.warning("%d records missing after the batches; fetching them by id", len(missing))
        collected.keep(_store(settings, fetch_missing(settings, missing)))
        with open_store(settings) as store:
            known = store.known_pmids(missing)
        missing = [p for p in missing if p not in known]
    if missing:
        shown = ", ".join(missing[:20]) + (" ..." if len(missing) > 20 else "")
        raise PubMedError(
            f"{len(missing)} of {search.count} records PubMed listed for {since} to {until} "
            f"could not be fetched (PMIDs {shown}); no digest was written"
        )
    seen = set(collected.pmids)
    collected.pmids.extend(p for p in search.pmids if p not in seen)
    logger.info("stored %d papers of %s to %s", search.count, since, until)
    return collected


def _store(settings: Settings, papers: list[Paper]) -> Upserted:
    # quote(): Prefect would otherwise walk every paper of the batch looking for
    # futures to resolve, about 2 ms a record (measured by flows/bench.py).
    return store_batch(settings, quote(papers))


def _revisit(settings, run_id, since, until, collected: Collected, logger) -> None:
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
    in_window = set(collected.pmids)
    candidates = [p for p in search.pmids if p not in in_window]
    with open_store(settings) as store:
        reported = store.reported_before(run_id, candidates)
    candidates = [p for p in candidates if p in reported]
    logger.info("%d earlier-reported papers changed in PubMed; fetching them", len(candidates))
    for start in range(0, len(candidates), settings.batch_size):
        batch = candidates[start : start + settings.batch_size]
        collected.keep(_store(settings, fetch_missing(settings, batch)))


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


def reclassify_store(settings: Settings) -> tuple[int, int]:
    """Classify again every stored paper labelled by another classifier version.

    Returns (labels changed, papers reclassified). Runs do this for the papers
    they fetch; this brings the rest of the store along.
    """
    with open_store(settings) as store:
        stale = store.papers_not_of_version(CLASSIFIER_VERSION)
        before = {p.pmid: p.design for p in stale}
        result = store.upsert_papers(workers.classify_papers(stale))
    changed = sum(1 for _, now in result.changed if before[now.pmid] != now.design)
    return changed, len(stale)
