"""The archive of every digest: reports/index.html and the Atom feed reports/feed.xml.

Both are rebuilt from the reports folder alone, never from the database: each digest leaves
a small sidecar `<stem>.json` with its window and counts. A rerun of a window rewrites its
sidecar, so the archive replaces that entry instead of adding a second one.

Links are relative (`kratom-watch_<since>_<until>.html`): there is no public base URL
setting yet, and readers resolve them against wherever the folder is served or opened.
Entry ids are `urn:uuid:` values derived from the window, so they never change on rerun.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment

from flows.designs import BY_LABEL, DESIGNS

if TYPE_CHECKING:
    from flows.digest import Digest

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
# A sidecar lists at most flows.digest.LIST_LIMIT papers: well under this.
MAX_SIDECAR_BYTES = 5_000_000
_FEED_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "kratom-watch:digests")


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
                # For the feed entry's content: what a feed reader lists (the papers the
                # digest lists, at most flows.digest.LIST_LIMIT).
                "items": [
                    {
                        "pmid": v.paper.pmid,
                        "title": v.title_text,
                        "url": v.pubmed_url,
                        "design": v.label,
                        "relevant": v.paper.depression_relevant,
                    }
                    for v in digest.papers
                ],
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
    items: list[dict]  # pmid, title (plain text), url, design, relevant

    @property
    def href(self) -> str:
        return f"{self.stem}.html"

    @property
    def unlisted(self) -> int:
        """Papers counted but not in `items` (a digest that hit its listing limit)."""
        return max(0, self.papers - len(self.items))

    @property
    def id(self) -> str:
        return uuid.uuid5(_FEED_NAMESPACE, self.stem).urn

    @property
    def updated(self) -> str:
        """The end of the window (RFC 3339): fixed for a window, so reruns change nothing."""
        return f"{self.until + timedelta(days=1)}T00:00:00Z"

    @property
    def title(self) -> str:
        return f"kratom-watch digest {self.since} to {self.until}"

    @property
    def summary(self) -> str:
        if not self.papers:
            text = "No new papers this week."
        else:
            s = "s" if self.papers != 1 else ""
            designs = "; ".join(f"{heading}: {n}" for heading, n in self.designs)
            text = (
                f"{self.papers} new paper{s}, {self.relevant} about depression or mood. {designs}."
            )
        if self.updates:
            s = "s" if self.updates != 1 else ""
            text += f" {self.updates} update{s} to papers from earlier digests."
        return text


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
    if not isinstance(data.get("items", []), list):
        raise ValueError("its items are not a list")
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
        items=[
            {
                "title": str(item["title"]),
                "url": _pubmed_url(str(item["url"])),
                "design": str(item["design"]),
                "relevant": bool(item["relevant"]),
            }
            for item in data.get("items", [])
        ],
        forms=[
            (f"{stem}{suffix}", name)
            for suffix, name in FORMS
            if (path.parent / f"{stem}{suffix}").exists()
        ],
    )


def _pubmed_url(url: str) -> str:
    # The sidecar is a file anyone could edit: only a PubMed address becomes a link.
    if not re.fullmatch(r"https://pubmed\.ncbi\.nlm\.nih\.gov/[0-9A-Za-z%]+/", url):
        raise ValueError(f"not a PubMed link: {url!r}")
    return url


def render_archive(reports_dir: Path, env: Environment) -> tuple[str, str]:
    """index.html and feed.xml for the digests in the folder."""
    listed = entries(reports_dir)
    chart = next((name for e in listed for name, form in e.forms if form == "chart"), None)
    index = env.get_template("index.html").render(entries=listed, chart=chart)
    content = {e.stem: env.get_template("_feed_entry.html").render(entry=e) for e in listed}
    feed = env.get_template("feed.xml").render(
        entries=listed,
        content=content,
        feed_id=_FEED_NAMESPACE.urn,
        updated=max((e.updated for e in listed), default="1970-01-01T00:00:00Z"),
    )
    return index, feed
