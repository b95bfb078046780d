"""The archive of every digest: reports/index.html, the Atom feed reports/feed.xml, the
evidence page reports/evidence.html and their charts.

`write_archive` writes them all after each digest. The index lists the digests found in the
reports folder: each digest leaves a small sidecar `<stem>.json` with its window and counts,
and a rerun of a window rewrites its sidecar, so the index replaces that entry instead of
adding a second one; a damaged sidecar is skipped with a warning.

The feed has one entry per paper, read from the store, not from the sidecars: the store is
the lasting record (reports/ is output anyone may wipe or serve elsewhere), it knows when a
paper was first listed and when it changed (a retraction, an erratum, a new label), and a
sidecar holds a digest's counts, not its papers. An entry's id comes from
the PMID, so it never changes; its digest link is there when that digest's file is.

Links in the feed are absolute when a base URL is given (KRATOM_WATCH_BASE_URL): feed
readers resolve relative ones inconsistently. Without one they are relative, which readers
that honour the feed's own address resolve against wherever reports/ is served.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from jinja2 import Environment

from flows.designs import BY_LABEL, DESIGNS
from flows.digest import period
from flows.errors import KratomWatchError
from flows.evidence import PaperCard, cards, evidence_from_store
from flows.files import write_file
from flows.settings import reports_url

if TYPE_CHECKING:
    from flows.digest import Digest
    from flows.store import Store

log = logging.getLogger(__name__)

SIDECAR = re.compile(r"kratom-watch_(\d{4}-\d{2}-\d{2})_(\d{4}-\d{2}-\d{2})\.json")
# The forms a digest is written in, in the order the index lists them.
FORMS = (
    (".html", "HTML"),
    (".txt", "text"),
    (".md", "Markdown"),
    (".csv", "CSV"),
    (".ris", "RIS"),
    (".png", "chart"),
)
# A sidecar holds a digest's window, counts and forms (about a kilobyte): a file far larger
# is not one of ours, and is not read.
MAX_SIDECAR_BYTES = 5_000_000
_FEED_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "kratom-watch:digests")

INDEX = "index.html"
FEED = "feed.xml"
EVIDENCE = "evidence.html"
ARCHIVE_CHART = "archive-chart.png"  # every paper in the store
EVIDENCE_CHART = "evidence-chart.png"  # the papers about depression or mood
# The feed carries the papers that changed last: a backfill's thousands would make every
# reader download them all each time it polls.
FEED_LIMIT = 500


def sidecar(digest: Digest) -> str:
    """What the archive needs to know about a digest, as stable JSON."""
    return (
        json.dumps(
            {
                "since": digest.since.isoformat(),
                "until": digest.until.isoformat(),
                "papers": digest.count,
                "relevant": digest.relevant_count,
                "other": digest.other_count,
                "updates": len(digest.updates),
                "designs": {d.label: n for d, n in digest.design_counts},
                # A scheduled window overlaps the last one: the index says what was new.
                **(
                    {"already_sent": digest.search.already_sent}
                    if digest.search is not None and digest.search.kind == "scheduled"
                    else {}
                ),
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )


@dataclass
class Entry:
    stem: str
    since: date
    until: date
    papers: int
    relevant: int
    other: int
    updates: int
    designs: list[tuple[str, int]]  # (heading, count) in evidence rank
    forms: list[tuple[str, str]]  # (file name, form name) of the files present
    # For a scheduled digest, records of its window that earlier digests had sent; None
    # for a rerun of a range, which lists everything in it.
    already_sent: int | None = None

    @property
    def href(self) -> str:
        return f"{self.stem}.html"

    @property
    def period(self) -> str:
        return period(self.since, self.until)


def entries(reports_dir: Path) -> list[Entry]:
    """Every digest in the folder, newest window first."""
    found = []
    for path in reports_dir.iterdir():
        if not SIDECAR.fullmatch(path.name):
            continue
        try:
            found.append(_entry(path))
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
            # One damaged sidecar must not stop this week's digest; the entry is left out.
            log.warning("skipping %s in the archive: %s", path.name, error)
    found.sort(key=lambda e: (e.until, e.since), reverse=True)
    return found


def _entry(path: Path) -> Entry:
    # A sidecar is a file anyone could edit, or a disk could damage: every field is checked.
    if path.stat().st_size > MAX_SIDECAR_BYTES:
        raise ValueError(f"larger than {MAX_SIDECAR_BYTES:,} bytes")
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("designs"), dict):
        raise ValueError("not a digest's sidecar (an object with a designs table)")
    stem = path.name.removesuffix(".json")
    counts = {label: int(n) for label, n in data["designs"].items()}
    return Entry(
        stem=stem,
        since=date.fromisoformat(data["since"]),
        until=date.fromisoformat(data["until"]),
        papers=int(data["papers"]),
        relevant=int(data["relevant"]),
        other=int(data["other"]),
        updates=int(data["updates"]),
        designs=[(d.heading, counts[d.label]) for d in DESIGNS if counts.get(d.label)]
        + [(label, n) for label, n in sorted(counts.items()) if label not in BY_LABEL and n],
        forms=[
            (f"{stem}{suffix}", name)
            for suffix, name in FORMS
            if (path.parent / f"{stem}{suffix}").exists()
        ],
        already_sent=int(data["already_sent"]) if "already_sent" in data else None,
    )


# The feed


@dataclass(frozen=True)
class FeedEntry:
    id: str
    title: str
    updated: str  # RFC 3339, UTC
    summary: str
    content: str  # HTML, escaped once more by the XML template
    links: tuple[tuple[str, str, str], ...]  # (rel, href, title)
    published: str = ""
    categories: tuple[tuple[str, str], ...] = ()  # (term, label)


def paper_entry_id(pmid: str) -> str:
    """A paper's entry id: the same in every feed written, whatever the base URL."""
    return f"urn:kratom-watch:pmid:{quote(pmid, safe='')}"


def feed_entries(
    store: Store, reports_dir: Path, env: Environment, base_url: str | None = None
) -> list[FeedEntry]:
    """One entry per paper a digest listed, the FEED_LIMIT that changed last first.

    `updated` is when the paper was first listed (its run started), or when an update to it
    was noted, whichever is later; both are kept in the store, so a rerun writes the same.
    """
    rows = store.listed_papers(FEED_LIMIT)
    papers = {p.pmid: p for p in store.papers(pmid for pmid, *_ in rows)}
    shown = cards(store, [papers[pmid] for pmid, *_ in rows if pmid in papers], reports_dir)
    by_pmid = {c.pmid: c for c in shown}
    partial = env.get_template("_evidence_paper.html")
    found = []
    for pmid, _, _, first_listed, last_changed in rows:
        card = by_pmid.get(pmid)
        if card is None:
            continue
        if card.digest_href:
            card = replace(card, digest_href=_absolute(base_url, card.digest_href))
        first = _rfc3339(first_listed)
        links = [("alternate", card.pubmed_url, f"PubMed {pmid}")]
        if card.digest_href:
            links.append(("related", card.digest_href, f"Digest {card.digest_window}"))
        # Readers filter on categories: the design, and whether it is about depression.
        categories = [(d.label, d.heading) for d in DESIGNS if d.label == card.design]
        if card.relevant:
            categories.append(("depression", "About depression or mood"))
        found.append(
            FeedEntry(
                id=paper_entry_id(pmid),
                title=("Retracted: " if card.retracted else "") + card.title_text,
                published=first,
                updated=max(first, _rfc3339(last_changed)) if last_changed else first,
                summary=_summary(card),
                content=partial.render(card=card, in_feed=True),
                links=tuple(links),
                categories=tuple(categories),
            )
        )
    return found


def _summary(card: PaperCard) -> str:
    about = "About depression or mood" if card.relevant else "Other kratom paper"
    source = " ".join(part for part in (card.journal, card.year) if part)
    text = f"{card.design_line}. {about}." + (f" {source}." if source else "")
    for heading, detail in card.updates:
        text += f" {heading}: {detail}."
    return text


def render_feed(
    entries: list[FeedEntry], env: Environment, updated: str, base_url: str | None = None
) -> str:
    return env.get_template("feed.xml").render(
        entries=entries,
        feed_id=_FEED_NAMESPACE.urn,
        updated=updated,
        home=_absolute(base_url, INDEX),
        self_href=_absolute(base_url, FEED),
        evidence=_absolute(base_url, EVIDENCE),
    )


# The feed-level <updated>, the first in the file (the template writes it before any entry).
_FEED_UPDATED = re.compile(r"^  <updated>([^<]+)</updated>$", re.MULTILINE)


def _feed_text(
    entries: list[FeedEntry], env: Environment, base_url: str | None, now: datetime, old: str
) -> str:
    """The feed, its `updated` the last time it was written with a change.

    Atom's feed-level updated is the last time the feed changed significantly, and readers
    (and HTTP caches, by the file's bytes) use it to skip a refetch: a rewrite that changes
    nothing keeps the old time, so the file stays byte-identical; any change is stamped
    `now`. A separate "written at" time would change the file on every run.
    """
    previous = _FEED_UPDATED.search(old)
    if previous and (same := render_feed(entries, env, previous.group(1), base_url)) == old:
        return same
    # Never older than its newest entry, whatever clock `now` came from.
    updated = max([_rfc3339(now), *(e.updated for e in entries)])
    return render_feed(entries, env, updated, base_url)


# The index and the whole archive


def render_index(
    reports_dir: Path, env: Environment, chart: str | None, evidence: str | None
) -> str:
    """index.html: every digest in the folder, newest first, with the chart and page given."""
    return env.get_template("index.html").render(
        entries=entries(reports_dir),
        chart=chart,
        chart_alt="Papers per publication year by study design, every paper in the store",
        evidence=evidence,
    )


def write_archive(
    reports_dir: Path,
    store: Store,
    base_url: str | None,
    now: datetime,
    env: Environment,
    searching: tuple[date, date] | None = None,
    store_chart: bytes | None = None,
) -> list[Path]:
    """Write the archive's files into reports_dir from the store and the digests there.

    `store_chart` is the chart of every stored paper when the caller has just drawn it (the
    digest's own chart is the same): it is not drawn twice.

    The charts (ARCHIVE_CHART, EVIDENCE_CHART) are redrawn from the store, then
    evidence.html (the evidence as of now's date), index.html and feed.xml; returns their
    paths in that order. Same store and folder, byte-identical files, except the evidence
    page's "as of" date.
    """
    base_url = reports_url(base_url)
    from flows import chart  # pandas and matplotlib: imported only when a chart is drawn

    reports_dir = Path(reports_dir)
    as_of = now.date()
    latest = chart.latest_plausible_year(as_of)
    evidence = evidence_from_store(store, as_of, reports_dir, searching)
    files = {
        ARCHIVE_CHART: lambda: (
            store_chart
            or chart.design_chart_png(store.years_and_designs(), "All papers in the store", latest)
        ),
        EVIDENCE_CHART: lambda: chart.design_chart_png(
            store.years_and_designs(relevant=True), "Papers about depression or mood", latest
        ),
        EVIDENCE: lambda: env.get_template("evidence.html").render(
            evidence=evidence, chart=EVIDENCE_CHART, index=INDEX, feed=FEED
        ),
        INDEX: lambda: render_index(reports_dir, env, ARCHIVE_CHART, EVIDENCE),
        FEED: lambda: feed_xml(reports_dir, store, base_url, now, env),
    }
    try:
        reports_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, content in files.items():
            write_file(reports_dir / name, content())
            paths.append(reports_dir / name)
    except OSError as error:
        raise KratomWatchError(
            f"cannot write the archive into {reports_dir}: {error.strerror or error}"
        ) from None
    return paths


def feed_xml(
    reports_dir: Path, store: Store, base_url: str | None, now: datetime, env: Environment
) -> str:
    """feed.xml as it should now read (its `updated` kept when nothing else changed)."""
    base_url = reports_url(base_url)
    listed = feed_entries(store, reports_dir, env, base_url)
    try:
        old = (reports_dir / FEED).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        old = ""
    return _feed_text(listed, env, base_url, now, old)


def _absolute(base_url: str | None, name: str) -> str:
    return f"{base_url}{quote(name)}" if base_url else name


def _rfc3339(moment: datetime | str) -> str:
    """As Atom writes time: UTC, seconds, "Z". Stored times are ISO strings in UTC."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
