"""The weekly digest as a Prefect flow: search, fetch batches, classify, store, render.

Tasks are coarse (a batch, not a paper: many small task runs make a
SQLite-backed Prefect server answer 503) and take dates, ids and paths; each
wraps a plain function of the other modules. Each batch is stored as soon as
it is classified, so a crash keeps what was done and a rerun completes it.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE
from prefect.states import Completed, Failed

from flows.classify import CLASSIFIER_VERSION, classify
from flows.digest import build_digest, render_digest
from flows.errors import KratomWatchError, PubMedError
from flows.models import Paper
from flows.pubmed import EutilsClient, SearchResult
from flows.settings import Settings, load_settings
from flows.store import Store


def last_complete_week(today: date) -> tuple[date, date]:
    """Monday to Sunday of the last week that has fully ended before `today`."""
    this_monday = today - timedelta(days=today.weekday())
    return this_monday - timedelta(days=7), this_monday - timedelta(days=1)


def resolve_window(settings: Settings, since: date | None, until: date | None) -> tuple[date, date]:
    """The window a run covers; with no dates, the last complete week in the set time zone."""
    today = datetime.now(settings.tz).date()
    if since is None and until is None:
        return last_complete_week(today)
    if since is None:
        raise KratomWatchError("--until needs --since: give both dates or neither")
    until = until or today
    if since > until:
        raise KratomWatchError(f"the window is reversed: --since {since} is after --until {until}")
    if since > today:
        raise KratomWatchError(f"the window starts in the future ({since}; today is {today})")
    return since, until


def classify_papers(papers: list[Paper]) -> list[Paper]:
    for paper in papers:
        result = classify(
            paper.title_text, paper.abstract_text, paper.publication_types, paper.mesh_terms
        )
        paper.design = result.design
        paper.depression_relevant = result.depression_relevant
        paper.evidence = list(result.evidence)
        paper.confidence = result.confidence
        paper.classifier_version = CLASSIFIER_VERSION
    return papers


@task(name="search-window", cache_policy=NONE)
def search_window(settings: Settings, since: date, until: date) -> SearchResult:
    return EutilsClient(settings).search_window(settings.query, since, until)


@task(name="fetch-batch", cache_policy=NONE)
def fetch_batch(settings: Settings, search: SearchResult, start: int) -> list[Paper]:
    return EutilsClient(settings).fetch_batch(search, start, settings.batch_size)


@task(name="fetch-missing", cache_policy=NONE)
def fetch_missing(settings: Settings, pmids: list[str]) -> list[Paper]:
    return EutilsClient(settings).fetch_ids(pmids)


@task(name="classify", cache_policy=NONE)
def classify_batch(papers: list[Paper]) -> list[Paper]:
    return classify_papers(papers)


@task(name="store", cache_policy=NONE)
def store_batch(db_path: Path, papers: list[Paper]) -> int:
    with Store(db_path) as store:
        return store.upsert_papers(papers)


@task(name="render-digest", cache_policy=NONE)
def render(
    db_path: Path, reports_dir: Path, since: date, until: date, pmids: list[str]
) -> list[Path]:
    with Store(db_path) as store:
        papers = store.papers(pmids)
    return render_digest(build_digest(papers, since, until), reports_dir)


@flow(name="weekly-digest", log_prints=False)
def weekly_digest(since: date | None = None, until: date | None = None, kind: str = "manual"):
    """Find, classify and store a window's new PubMed papers and write its digest.

    With no dates the window is the last complete Monday-to-Sunday week.
    Returns the paths of the files written. Settings come from the environment
    (flows.settings), never from parameters, so no secret is stored in Prefect.
    """
    logger = get_run_logger()
    try:
        settings = load_settings()
        since, until = resolve_window(settings, since, until)
    except KratomWatchError as error:
        return Failed(message=str(error))

    with Store(settings.db_path) as store:
        run_id = store.start_run(kind, since, until, settings.query)
    try:
        paths, found, stored, new = _collect_and_render(settings, since, until, logger)
    except KratomWatchError as error:
        with Store(settings.db_path) as store:
            store.finish_run(run_id, "failed", error=str(error))
        logger.error("run failed: %s", error)
        return Failed(message=str(error))
    with Store(settings.db_path) as store:
        store.record_run_papers(run_id, found)
        store.finish_run(run_id, "completed", found=len(found), stored=stored, new=new)
    return Completed(message=f"{len(found)} papers, {new} new", data=[str(p) for p in paths])


def _collect_and_render(settings: Settings, since: date, until: date, logger):
    logger.info("searching PubMed for records created %s to %s", since, until)
    search = search_window(settings, since, until)
    batches = math.ceil(search.count / settings.batch_size)
    logger.info(
        "%d records; fetching in %d batch(es) of %d", search.count, batches, settings.batch_size
    )
    new = 0
    for start in range(0, search.count, settings.batch_size):
        papers = fetch_batch(settings, search, start)
        new += store_batch(settings.db_path, classify_batch(papers))

    with Store(settings.db_path) as store:
        known = store.known_pmids(search.pmids)
    missing = [p for p in search.pmids if p not in known]
    if missing:
        # efetch can answer fewer articles than asked; ask again by id, once.
        logger.warning("%d records missing after the batches; fetching them by id", len(missing))
        new += store_batch(settings.db_path, classify_batch(fetch_missing(settings, missing)))
        with Store(settings.db_path) as store:
            known = store.known_pmids(missing)
        missing = [p for p in missing if p not in known]
    if missing:
        shown = ", ".join(missing[:20]) + (" ..." if len(missing) > 20 else "")
        raise PubMedError(
            f"{len(missing)} of {search.count} records PubMed listed could not be fetched "
            f"(PMIDs {shown}); no digest was written"
        )
    paths = render(settings.db_path, settings.reports_dir, since, until, list(search.pmids))
    logger.info(
        "stored %d papers (%d new); digest written to %s",
        search.count,
        new,
        ", ".join(str(p) for p in paths),
    )
    return paths, list(search.pmids), search.count, new
