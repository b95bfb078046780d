"""A run's steps as plain functions: search, fetch, read, classify, store, find updates,
render, send.

Each step takes typed values (settings, dates, ids, answers, papers) and opens what it needs
itself, so it can run in a Prefect task, a test or a benchmark alike. flows.pipeline wraps
them in tasks and puts them in order; nothing here imports Prefect.
"""

from __future__ import annotations

import fcntl
import gc
import hashlib
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Protocol

from flows import pubmed
from flows.backoff import retry_delay
from flows.classify import CLASSIFIER_VERSION, PaperText, classify_many
from flows.digest import PaperUpdate, SearchNote, digest_from_store
from flows.errors import KratomWatchError, PubMedError
from flows.findings import finding, study_size
from flows.mail import MailParts, build_message, message_id, send_messages
from flows.models import Listing, Paper
from flows.parse import read_papers
from flows.pubmed import EutilsClient, SearchResult, WebEnvExpired, WindowTooLarge, window_term
from flows.render import import_chart_libraries, render_digest, render_mail
from flows.settings import MailSettings, Settings
from flows.store import Delivery, Store, Upserted

KINDS = ("manual", "scheduled")
# A backfill's table artifact would carry every paper to the Prefect server.
ARTIFACT_ROWS = 500
# How long a run waits for another run's delivery step before giving up.
DELIVERY_LOCK_TIMEOUT = 600.0


@dataclass(frozen=True)
class RunOptions:
    """How a run treats what it finds (the flow's parameters, checked)."""

    kind: str = "manual"  # "manual": a rerun of any range; "scheduled": what is new since
    mark_sent: bool = False  # count a manual run's papers as sent for later scheduled runs
    send_email: bool = True
    resend: bool = False  # mail recipients who already had this digest

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise KratomWatchError(f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")

    @property
    def marks_sent(self) -> bool:
        return self.kind == "scheduled" or self.mark_sent


@contextmanager
def start_up_frozen() -> Iterator[None]:
    """Leave what exists when a run starts (Prefect's objects, the libraries', the model) out
    of Python's garbage collections while the run lasts, and hand it back after (a `with`
    block, or a decorator of the function that runs the steps).

    A run makes millions of short-lived objects; now and then the collector scans every live
    one, and with Prefect loaded most of those are start-up's: a 10,000-record backfill
    spent 1.9 s collecting (the plain steps 1.0 s), 0.9 s with start-up frozen (0.8 s;
    docs/benchmarks.md). Young garbage is collected as before, so memory is the same.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def open_store(settings: Settings) -> Store:
    return Store(settings.db_path, timeout=settings.store_timeout)


# Searching and fetching


def search_window(settings: Settings, since: date, until: date) -> SearchResult:
    return EutilsClient(settings).search_window(settings.query, since, until)


def search_modified(settings: Settings, since: date, until: date) -> SearchResult:
    return EutilsClient(settings).search_modified(settings.query, since, until)


def fetch_batch(settings: Settings, search: SearchResult, start: int) -> bytes:
    """One batch of a search's records: the efetch answer, unread."""
    return EutilsClient(settings).fetch_batch(search, start, settings.batch_size)


def fetch_ids(settings: Settings, pmids: list[str]) -> bytes:
    return EutilsClient(settings).fetch_ids(pmids)


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


def search_pieces(
    search: Callable[[date, date], SearchResult], since: date, until: date
) -> list[tuple[date, date, SearchResult]]:
    """`search` of the window, or, when it lists more than ESearch can, of its pieces (a piece
    still too large is split again): each (since, until, result), in date order."""
    try:
        return [(since, until, search(since, until))]
    except WindowTooLarge as error:
        if since == until:
            raise PubMedError(f"{error} on the single day {since}; narrow the query") from None
        # pubmed.ESEARCH_MAX_IDS read now: tests lower it.
        pieces = split_window(since, until, error.count, pubmed.ESEARCH_MAX_IDS)
        return [found for a, b in pieces for found in search_pieces(search, a, b)]


# Reading and classifying


def read_answer(answer: bytes) -> list[Paper]:
    """The papers of an efetch answer, unclassified (PubMedError when it cannot be read)."""
    return read_papers(answer)


def classify_papers(papers: list[Paper]) -> list[Paper]:
    """Label each paper in place: its design and depression relevance (flows.classify), then
    what it found and how many it studied (flows.findings, which reads the design); returns
    the list."""
    texts = [
        PaperText(p.title_text, p.abstract_text, p.publication_types, p.mesh_terms) for p in papers
    ]
    for paper, text, result in zip(papers, texts, classify_many(texts), strict=True):
        abstract = text.abstract
        paper.design = result.design
        paper.depression_relevant = result.depression_relevant
        paper.evidence = list(result.evidence)
        paper.confidence = result.confidence
        paper.classifier_version = CLASSIFIER_VERSION
        paper.depression_evidence = result.depression_evidence
        paper.depression_reason = result.depression_reason
        paper.finding = finding(paper.abstract, paper.design)
        size = study_size(abstract, paper.design)
        paper.study_size = size.n if size else None
        paper.study_size_unit = size.unit if size else ""
        paper.study_size_phrase = size.phrase if size else ""
    return papers


def listed_only(papers: list[Paper], listed: Iterable[str]) -> tuple[list[Paper], int]:
    """The papers PubMed listed for the request, each once, in the answer's order; and how
    many others the answer held (a record the search never listed, a PMID given twice)."""
    wanted, kept = set(listed), {}
    for paper in papers:
        if paper.pmid in wanted and paper.pmid not in kept:
            kept[paper.pmid] = paper
    return list(kept.values()), len(papers) - len(kept)


# Storing


def store_papers(settings: Settings, papers: list[Paper], run_id: int) -> Upserted:
    """Store a batch; what changed in papers earlier digests reported is noted with it."""
    with open_store(settings) as store:
        return store.upsert_papers(papers, run_id)


@dataclass
class Collected:
    """What a window's search found and the store now holds."""

    pmids: list[str] = field(default_factory=list)  # every PMID PubMed listed, in its order
    # Papers stored for the first time: a count, since a paper is new only once in a store
    # (a backfill's 100,000 PMIDs need not be held twice).
    new: int = 0

    def keep(self, result: Upserted) -> None:
        self.new += len(result.new)

    def listed(self, pmids: Iterable[str]) -> None:
        """Add a search's PMIDs, in its order, once each."""
        seen = set(self.pmids)
        for pmid in pmids:
            if pmid not in seen:
                seen.add(pmid)
                self.pmids.append(pmid)


def missing_pmids(settings: Settings, pmids: Iterable[str]) -> list[str]:
    """The PMIDs of `pmids` the store does not hold, in their order."""
    pmids = list(pmids)
    with open_store(settings) as store:
        known = store.known_pmids(pmids)
    return [p for p in pmids if p not in known]


def unfetched_error(missing: list[str], count: int, since: date, until: date) -> PubMedError:
    shown = ", ".join(missing[:20]) + (" ..." if len(missing) > 20 else "")
    return PubMedError(
        f"{len(missing)} of {count} records PubMed listed for {since} to {until} "
        f"could not be fetched (PMIDs {shown}); no digest was written"
    )


def reported_candidates(
    settings: Settings, run_id: int, search: SearchResult, skip: set[str]
) -> list[str]:
    """PMIDs of a modification-date search that an earlier digest listed (and not in `skip`)."""
    candidates = [p for p in search.pmids if p not in skip]
    with open_store(settings) as store:
        reported = store.reported_before(run_id, candidates)
    return [p for p in candidates if p in reported]


def store_answer(
    settings: Settings, answer: bytes, listed: frozenset[str], run_id: int
) -> tuple[Upserted, int]:
    """Read, classify and store one efetch answer: the records PubMed listed, each once.
    Returns what was stored and how many other records the answer held."""
    papers, extra = listed_only(classify_papers(read_answer(answer)), listed)
    return store_papers(settings, papers, run_id), extra


# Collecting a window: every record a search lists, stored, or the run fails

MAX_SEARCH_RENEWALS = 2
# An answer that cannot be read (cut off, not XML) is asked for again this many times.
MAX_REREADS = 2


class Pending(Protocol):
    """A fetch under way (a concurrent.futures.Future or a Prefect future)."""

    def result(self) -> bytes: ...


@dataclass(frozen=True)
class CollectSteps:
    """How a Collector does each step: flows.pipeline passes its Prefect tasks, plain_steps
    the functions above, a benchmark its timed versions of them."""

    search: Callable[[date, date], SearchResult]
    search_modified: Callable[[date, date], SearchResult]
    # Starts fetching a batch (search, start) and returns at once; the answer is its result.
    submit_fetch: Callable[[SearchResult, int], Pending]
    fetch: Callable[[SearchResult, int], bytes]  # a batch again, now
    fetch_ids: Callable[[list[str]], bytes]
    store: Callable[[bytes, frozenset[str]], tuple[Upserted, int]]  # store_answer's result


def plain_steps(settings: Settings, run_id: int) -> CollectSteps:
    """The steps as this module's functions, each batch fetched when its turn comes."""

    def fetch_now(search: SearchResult, start: int) -> Pending:
        # As a submitted fetch does: what goes wrong is raised by result(), not here.
        future: Future[bytes] = Future()
        try:
            future.set_result(fetch_batch(settings, search, start))
        except Exception as error:
            future.set_exception(error)
        return future

    return CollectSteps(
        search=partial(search_window, settings),
        search_modified=partial(search_modified, settings),
        submit_fetch=fetch_now,
        fetch=partial(fetch_batch, settings),
        fetch_ids=partial(fetch_ids, settings),
        store=lambda answer, listed: store_answer(settings, answer, listed, run_id),
    )


@dataclass
class Collector:
    """Collects a run's records with its steps: every record a search lists is stored, or
    the run fails naming the missing ones. `collected` is what it found so far."""

    settings: Settings
    steps: CollectSteps
    log: logging.Logger | logging.LoggerAdapter
    collected: Collected = field(default_factory=Collected)

    def window(self, since: date, until: date) -> None:
        """Search the window and store every record it lists.

        A window with more records than ESearch lists is split into as many shorter windows
        as its count needs (a piece still too large is split again). Every piece is searched
        first, so the batches of all of them are fetched one ahead without a gap for a
        search: while one batch is read and stored, the next is being fetched
        (steps.submit_fetch).
        """
        steps, log, batch_size = self.steps, self.log, self.settings.batch_size

        def search(piece_since: date, piece_until: date) -> SearchResult:
            log.info("searching PubMed for records created %s to %s", piece_since, piece_until)
            return steps.search(piece_since, piece_until)

        searches = search_pieces(search, since, until)
        batches = [
            (k, start)
            for k, (_, _, found) in enumerate(searches)
            for start in range(0, found.count, batch_size)
        ]
        listed = [frozenset(found.pmids) for _, _, found in searches]
        log.info(
            "%d records; fetching in %d batch(es) of %d",
            sum(found.count for _, _, found in searches),
            len(batches),
            batch_size,
        )

        def fetch_ahead(i: int) -> Pending:
            k, start = batches[i]
            return steps.submit_fetch(searches[k][2], start)

        renewals, i = 0, 0
        pending = fetch_ahead(0) if batches else None
        if pending is not None:
            import_chart_libraries()  # while the first answer downloads
        while i < len(batches):
            k, start = batches[i]
            try:
                answer = pending.result()
            except WebEnvExpired:
                # NCBI forgets history searches after a few hours; search again, carry on.
                renewals += 1
                if renewals > MAX_SEARCH_RENEWALS:
                    raise
                log.warning("the search expired on NCBI's history server; searching again")
                piece_since, piece_until, _ = searches[k]
                found = steps.search(piece_since, piece_until)
                searches[k], listed[k] = (piece_since, piece_until, found), frozenset(found.pmids)
                pending = fetch_ahead(i)
                continue
            # The next batch downloads while this one is read and stored.
            if i + 1 < len(batches):
                pending = fetch_ahead(i + 1)
            self._store(partial(steps.fetch, searches[k][2], start), listed[k], answer)
            i += 1

        every = [pmid for _, _, found in searches for pmid in found.pmids]
        missing = missing_pmids(self.settings, every)
        if missing:
            # efetch can answer fewer articles than asked; ask again by id, once.
            log.warning("%d records missing after the batches; fetching them by id", len(missing))
            self._store(partial(steps.fetch_ids, missing), frozenset(missing))
            missing = missing_pmids(self.settings, missing)
        if missing:
            raise unfetched_error(missing, len(every), since, until)
        self.collected.listed(every)
        log.info("stored %d papers of %s to %s", len(every), since, until)

    def revisit(self, run_id: int, since: date, until: date) -> None:
        """Fetch again the papers earlier digests listed that PubMed changed in the window.

        A retraction, erratum or comment, or publication types added by indexing,
        change a record long after it entered PubMed, outside any later created-date
        window: one search on the modification date ([mdat]) finds them.
        """
        try:
            search = self.steps.search_modified(since, until)
        except WindowTooLarge as error:
            self.log.warning("%s; updates to earlier papers not checked this run", error)
            return
        skip = set(self.collected.pmids)
        candidates = reported_candidates(self.settings, run_id, search, skip)
        self.log.info(
            "%d earlier-reported papers changed in PubMed; fetching them", len(candidates)
        )
        size = self.settings.batch_size
        for batch in (candidates[i : i + size] for i in range(0, len(candidates), size)):
            self._store(partial(self.steps.fetch_ids, batch), frozenset(batch))

    def _store(
        self, fetch: Callable[[], bytes], listed: frozenset[str], answer: bytes | None = None
    ) -> None:
        """Store the records PubMed listed of `fetch`'s answer (or of `answer`, already
        fetched by it); an answer that cannot be read is fetched again."""
        answer = fetch() if answer is None else answer
        for attempt in range(1, MAX_REREADS + 2):
            try:
                stored, extra = self.steps.store(answer, listed)
            except PubMedError as error:
                if attempt > MAX_REREADS:
                    raise
                delay = retry_delay(self.settings.retry_backoff, attempt)
                self.log.warning("%s; retrying in %.1f s", error, delay)
                time.sleep(delay)
                answer = fetch()
                continue
            if extra:
                self.log.warning(
                    "efetch answered %d record(s) the search did not list, or listed twice; "
                    "kept one of each listed record only",
                    extra,
                )
            self.collected.keep(stored)
            return


# What the digest reports


@dataclass(frozen=True)
class DigestPlan:
    """Which papers and updates a run's digest reports."""

    pmids: list[str]  # in the window and not sent before (scheduled runs), in PubMed's order
    updates: list[PaperUpdate]
    kind: str = "manual"
    found: int = 0  # records the search listed for the window
    already_sent: int = 0  # of those, sent by earlier scheduled digests and left out


def plan_digest(
    settings: Settings, run_id: int, collected: Collected, options: RunOptions
) -> DigestPlan:
    """Record what the run found; leave out what scheduled digests sent; add every update
    to earlier papers that no delivered digest has reported yet (this run's or an earlier,
    failed run's)."""
    with open_store(settings) as store:
        store.record_run_papers(run_id, collected.pmids)
        sent = store.sent_pmids(collected.pmids) if options.kind == "scheduled" else set()
        pending = store.pending_updates()
        papers = {p.pmid: p for p in store.papers(pmid for pmid, _, _ in pending)}
    pmids = [p for p in collected.pmids if p not in sent]
    updates = [PaperUpdate(papers[pmid], kind, d) for pmid, kind, d in pending]
    return DigestPlan(
        pmids, updates, options.kind, found=len(collected.pmids), already_sent=len(sent)
    )


def mark_reported(settings: Settings, plan: DigestPlan, key: str) -> None:
    """The plan's updates reached their readers: later digests need not repeat them."""
    with open_store(settings) as store:
        store.mark_updates_reported(((u.paper.pmid, u.kind, u.detail) for u in plan.updates), key)


def digest_key(since: date, until: date, pmids: list[str], updates: list[PaperUpdate]) -> str:
    """What makes two digests the same one for delivery: the window and what it reports.

    Rerunning a window, or a scheduled and a manual run of it at once, gives the same key,
    so each recipient gets it once; a digest that reports something new is a new one.
    """
    content = sorted(pmids) + sorted(f"{u.kind}:{u.paper.pmid}:{u.detail}" for u in updates)
    digest = hashlib.sha256("\n".join(content).encode()).hexdigest()[:16]
    return f"{since}:{until}:{digest}"


def mail_subject(since: date, until: date, papers: int, relevant: int) -> str:
    s = "" if papers == 1 else "s"
    return (
        f"kratom-watch {since} to {until}: {papers} new paper{s}, {relevant} on depression or mood"
    )


# Rendering and sending


@dataclass(frozen=True)
class Rendered:
    """What the digest step wrote and what the run's summary needs to know of the digest."""

    paths: list[Path]
    papers: int
    relevant: int
    designs: dict[str, int]  # label: papers, in evidence rank
    first: list[Listing]  # the first papers listed (ARTIFACT_ROWS at most), in digest order
    mail: MailParts | None = None  # the e-mail's parts, when mail is set up


def render(settings: Settings, since: date, until: date, plan: DigestPlan) -> Rendered:
    """Write every form of the digest into the reports folder, and the archive."""
    search = SearchNote(
        query=settings.query,
        term=window_term(settings.query, since, until),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        classifier_version=CLASSIFIER_VERSION,
        kind=plan.kind,
        found=plan.found,
        already_sent=plan.already_sent,
    )
    with open_store(settings) as store:
        digest = digest_from_store(store, plan.pmids, since, until, plan.updates, search=search)
        digest.base_url = settings.base_url
        paths = render_digest(
            digest, settings.reports_dir, base_url=settings.base_url, now=datetime.now(settings.tz)
        )
        mail = render_mail(digest, paths) if settings.mail is not None else None
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
        mail=mail,
    )


def send_digest(
    settings: Settings, run_id: int, key: str, parts: MailParts, subject: str, resend: bool
) -> list[str]:
    """Mail the digest to each recipient that has not had it yet; returns who got it now.

    A recipient's copy of a digest (`key`) has one Message-ID, recorded as attempted before
    DATA and as delivered after the server's 250; a rerun sends again to everyone not
    delivered (a copy never confirmed, or refused, included) under the same Message-ID.
    `resend` sends everyone a new copy under a new one. `parts` are the renderer's
    (Rendered.mail).
    """
    mail = settings.mail
    if mail is None:
        return []
    # One delivery at a time per store: two runs at once cannot both send.
    with delivery_lock(settings.db_path), open_store(settings) as store:
        ids = _message_ids(key, mail, store.deliveries(key), run_id if resend else None)
        messages = {r: build_message(parts, subject, mail.sender, r, i) for r, i in ids.items()}
        return send_messages(
            mail, messages, _StoreLedger(store, key, run_id), backoff=2 * settings.retry_backoff
        )


def _message_ids(
    key: str, mail: MailSettings, earlier: dict[str, Delivery], resend_run: int | None
) -> dict[str, str]:
    """Who gets the digest now, each with the Message-ID of the copy."""
    ids = {}
    for recipient in mail.recipients:
        before = earlier.get(recipient)
        if resend_run is not None:
            ids[recipient] = message_id(key, recipient, mail.sender, f"resent by {resend_run}")
        elif before is None:
            ids[recipient] = message_id(key, recipient, mail.sender)
        elif before.status != "delivered":
            # Attempted: it may have arrived, so the same copy again. Refused: the address
            # may have been fixed since.
            ids[recipient] = before.message_id
    return ids


@dataclass(frozen=True)
class _StoreLedger:
    """The store's record of each recipient's copy of one digest, as send_messages goes."""

    store: Store
    key: str
    run_id: int

    def attempted(self, recipient: str, message_id: str) -> None:
        self.store.record_attempt(self.key, recipient, message_id, self.run_id)

    def delivered(self, recipient: str, message_id: str) -> None:
        self.store.record_delivery(self.key, recipient, message_id, self.run_id)

    def refused(self, recipient: str, message_id: str, answer: str) -> None:
        self.store.record_refusal(self.key, recipient, message_id, self.run_id, answer)


@contextmanager
def delivery_lock(db_path: Path, timeout: float = DELIVERY_LOCK_TIMEOUT) -> Iterator[None]:
    """The store's delivery lock (a file beside it), waited for at most `timeout` seconds."""
    lock_path = Path(f"{db_path}.lock")
    deadline = time.monotonic() + timeout
    with open(lock_path, "a") as lock:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise KratomWatchError(
                        f"another kratom-watch run has been mailing a digest for over "
                        f"{timeout:g} s (lock {lock_path}); try again later"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def mark_sent(settings: Settings, run_id: int, pmids: list[str]) -> None:
    with open_store(settings) as store:
        store.mark_sent(run_id, pmids)


# Keeping the store's labels current


def reclassify_store(settings: Settings) -> tuple[int, int]:
    """Classify again every stored paper labelled by another classifier version.

    Returns (labels changed, papers reclassified). Runs do this for the papers
    they fetch; this brings the rest of the store along.
    """
    with open_store(settings) as store:
        stale = store.papers_not_of_version(CLASSIFIER_VERSION)
        before = {p.pmid: p.design for p in stale}
        result = store.upsert_papers(classify_papers(stale))
    changed = sum(1 for _, now in result.changed if before[now.pmid] != now.design)
    return changed, len(stale)
