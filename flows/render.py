"""Every form of a digest, written into the reports folder: HTML (CSS inlined for mail),
text, Markdown, CSV, RIS and the chart, then the archive and feed rebuilt.

The forms are renderers over the digest's data model (flows.digest): templates live in the
package (flows/templates, loaded with Jinja's PackageLoader, so an installed wheel renders
the same pages as a checkout); CSV, RIS and Markdown helpers are in flows.exports, the
archive and feed in flows.archive, the chart in flows.chart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import css_inline
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from flows import archive, exports
from flows.digest import Digest
from flows.errors import KratomWatchError
from flows.files import write_atomically
from flows.mail import ATTACHMENT_LIMIT, Attachment, MailParts


@cache
def environment() -> Environment:
    """The Jinja environment of the package's templates (.html and .xml autoescaped)."""
    env = Environment(
        loader=PackageLoader("flows", "templates"),
        autoescape=select_autoescape(["html", "xml"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["thousands"] = "{:,}".format  # 12345 -> "12,345"
    exports.add_markdown_filters(env)
    return env


@cache
def markdown_environment() -> Environment:
    """Markdown has no autoescape in Jinja: every value is escaped unless marked as Markdown."""
    env = environment().overlay(finalize=exports.markdown_finalize)
    return env


def import_chart_libraries() -> None:
    """Import what the charts are drawn with (pandas and matplotlib: about half a second).

    render_digest imports them itself; a run calls this while it waits for PubMed's first
    answer, so that half second is not spent after the last one. An import that fails here
    is left to fail in render_digest, which says so as the run's error (after the records are
    stored): whatever it raises here is dropped, and Python imports a failed module anew.
    """
    with suppress(Exception):
        from flows import chart  # noqa: F401


def render_html(digest: Digest) -> str:
    """The HTML digest with its CSS inlined, as mail clients want it."""
    return _inlined_html(digest, mail=None)


def _inlined_html(digest: Digest, mail: _MailExtras | None) -> str:
    """digest.html with its CSS inlined.

    The <style> block is dropped after inlining: the layout is a fluid single column that
    needs no media query, so the inline styles are the whole design and a client that
    strips <style> (Gmail apps, Outlook) shows the same page as a browser.
    """
    html = environment().get_template("digest.html").render(digest=digest, mail=mail)
    inlined = css_inline.CSSInliner(load_remote_stylesheets=False).inline(html)
    return _TAG_OR_TEXT.sub(_quote_text, inlined)


# A tag (quoted attribute values may hold ">") or a run of text between tags.
_TAG_OR_TEXT = re.compile(r"""<(?:[^>"']|"[^"]*"|'[^']*')*>|[^<]+""")


def _quote_text(match: re.Match) -> str:
    """Put back the &#34; that css-inline's serializer decodes in text.

    Harmless to a browser either way, but a record's `href="javascript:..."` shown as text
    should not appear verbatim in the file, where a mail filter or a grep would take it for
    markup.
    """
    piece = match.group()
    return piece if piece.startswith("<") else piece.replace('"', "&#34;")


# The e-mail's parts


@dataclass(frozen=True)
class _MailExtras:
    """What only the e-mail's HTML shows (templates/_mail.html)."""

    chart_cid: str  # "" without a chart
    oversize_note: str


_EXPORT_TYPES = {".csv": "text/csv", ".ris": "application/x-research-info-systems"}


def render_mail(
    digest: Digest, paths: Iterable[Path], attachment_limit: int = ATTACHMENT_LIMIT
) -> MailParts:
    """The e-mail's parts, from the digest and the files render_digest wrote (`paths`).

    The HTML is the digest's, with the chart inside the card as `cid:` and, when the CSV
    and RIS together pass `attachment_limit`, a note in place of them saying where they
    are (the text part says it too). A quiet week attaches nothing: its CSV would be a
    header and its RIS empty.
    """
    files = {p.suffix: p for p in paths if p.name.startswith(f"{digest.stem}.")}
    chart = files[".png"].read_bytes() if ".png" in files else None
    exports = [files[s] for s in _EXPORT_TYPES if s in files] if digest.count else []
    size = sum(p.stat().st_size for p in exports)
    note = ""
    if exports and size > attachment_limit:
        names = " and ".join(p.name for p in exports)
        note = (
            f"The CSV and RIS files ({size / 1e6:.0f} MB) are too large to attach; "
            f"they are in {exports[0].parent}: {names}."
        )
        exports = []
    chart_cid = f"chart.{digest.stem}@kratom-watch"
    extras = _MailExtras(chart_cid if chart is not None else "", note)
    text = files[".txt"].read_text(encoding="utf-8")  # the text digest, as just written
    if note:
        text = f"{text.rstrip()}\n\n{note}\n"
    return MailParts(
        text=text,
        html=_inlined_html(digest, extras),
        chart_png=chart,
        chart_cid=chart_cid,
        attachments=tuple(
            Attachment(p.name, p.read_bytes(), _EXPORT_TYPES[p.suffix]) for p in exports
        ),
    )


def render_digest(
    digest: Digest,
    reports_dir: Path,
    *,
    base_url: str | None = None,
    now: datetime | None = None,
) -> list[Path]:
    """Write every form of a digest, then the archive; return the paths written.

    The window's files come first (html, txt, md, csv, ris, png: the chart of every paper
    in the digest's store), then the archive's (flows.archive.write_archive: its charts,
    evidence.html, index.html, feed.xml). `base_url` makes the feed's links absolute;
    `now` (default: the current time) dates the evidence page and a changed feed. Same
    inputs, the same files but for the time the digest says it was written.
    """
    reports_dir = Path(reports_dir)
    now = now or datetime.now(UTC)
    env = environment()
    from flows import chart  # pandas and matplotlib: imported only when a chart is drawn

    def form(suffix: str) -> Path:
        return reports_dir / f"{digest.stem}{suffix}"

    # Every stored paper by year and design: the digest's chart, and the archive's.
    store_chart = chart.design_chart_png(
        digest.store.years_and_designs(),
        "All papers in the store",
        chart.latest_plausible_year(now.date()),
    )

    # Rendered one at a time, and the CSV and RIS straight into their files (together, in
    # one pass over the store): a backfill's digest is large, and holding all its forms at
    # once multiplied the peak memory (benchmarks: memory).
    steps: list[tuple[tuple[Path, ...], Callable[..., None], bool]] = [
        ((form(".html"),), lambda f: f.write(render_html(digest)), False),
        (
            (form(".txt"),),
            lambda f: f.write(env.get_template("digest.txt").render(digest=digest)),
            False,
        ),
        (
            (form(".md"),),
            lambda f: f.write(
                markdown_environment().get_template("digest.md").render(digest=digest)
            ),
            False,
        ),
        ((form(".csv"), form(".ris")), lambda c, r: exports.write_exports(digest, c, r), False),
        ((form(".png"),), lambda f: f.write(store_chart), True),
        # The sidecar last: the archive lists a digest only once all its files are there.
        ((form(".json"),), lambda f: f.write(archive.sidecar(digest)), False),
    ]
    try:
        reports_dir.mkdir(parents=True, exist_ok=True)
        for paths, write, binary in steps:
            write_atomically(paths, write, binary)
    except OSError as error:
        raise KratomWatchError(
            f"cannot write the digest into {reports_dir}: {error.strerror or error}"
        ) from None
    paths = [path for paths, _, _ in steps[:-1] for path in paths]
    searching = (digest.since, digest.until)
    return paths + archive.write_archive(
        reports_dir, digest.store, base_url, now, env, searching, store_chart
    )
