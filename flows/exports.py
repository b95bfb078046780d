"""Digest exports that are not HTML: RIS for reference managers, and Markdown escaping.

RIS type mapping. Every design kratom-watch labels is published as a journal item indexed in
PubMed: reviews, trials, case reports, editorials and letters alike. Zotero and EndNote import
all of them best as `JOUR` (their RIS types for editorials or letters either do not exist or
become generic items), so the type follows the design only through `RIS_TYPES`, which maps
every design to `JOUR`; a record without a journal name is `GEN`. The design itself travels in
`KW` (its heading) and the phrase that decided it in `N1`, where both stay searchable.
"""

from __future__ import annotations

import csv
import html
import io
import re
from typing import IO, TYPE_CHECKING

from jinja2 import Environment

from flows.designs import LABELS
from flows.markup import INLINE_TAG, one_line, one_lines

if TYPE_CHECKING:
    from flows.digest import Digest, PaperView

RIS_TYPES: dict[str, str] = dict.fromkeys(LABELS, "JOUR")

# Markdown punctuation that can start markup anywhere in a line (emphasis, code, links, raw
# HTML, entities, tables, strike-through). Escaped with a backslash, it shows as itself.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|&~])")
_MARKDOWN_INLINE = {"i": "*", "em": "*", "b": "**", "strong": "**"}


# Markdown


class MarkdownText(str):
    """A string that is already Markdown: `markdown_finalize` passes it through."""


def md_escape(value: object) -> str:
    """Any value as Markdown that shows exactly that text, on one line."""
    return _escape_specials(one_line(str(value)))


def _escape_specials(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def markdown_finalize(value: object) -> str:
    """Jinja `finalize` for Markdown templates: escape everything not marked as Markdown."""
    return value if isinstance(value, MarkdownText) else md_escape(value)


def md_inline(fragment: str) -> MarkdownText:
    """An inline-markup fragment (flows.markup) as Markdown: italics and bold kept, rest text."""
    out = []
    for piece in INLINE_TAG.split(one_line(fragment)):
        tag = INLINE_TAG.fullmatch(piece)
        if tag:
            out.append(_MARKDOWN_INLINE.get(piece.strip("</>"), ""))
        else:
            out.append(_escape_specials(html.unescape(piece)))
    return MarkdownText("".join(out))


def md_link(text: object, url: str) -> MarkdownText:
    """A Markdown link; the URL in <...> so parentheses in a DOI cannot end it early."""
    if not url:
        return MarkdownText(md_escape(text))
    if re.search(r"[\s<>]", url):
        raise ValueError(f"not a link target: {url!r}")
    return MarkdownText(f"[{md_escape(text)}](<{url}>)")


def add_markdown_filters(env: Environment) -> None:
    env.filters["md_inline"] = md_inline
    env.filters["md_link"] = md_link


# RIS


def ris_type(view: PaperView) -> str:
    return RIS_TYPES[view.paper.design] if view.journal else "GEN"


def ris_record(view: PaperView) -> list[str]:
    p = view.paper
    fields: list[tuple[str, object]] = [("TY", ris_type(view)), ("TI", view.title_text)]
    fields += [("AU", author) for author in p.authors if author.strip()]
    if view.journal:
        fields += [("JO", view.journal), ("T2", view.journal)]
    if p.pub_year:
        fields.append(("PY", p.pub_year))
    if p.abstract:
        fields.append(("AB", p.abstract_text))
    if view.doi_url:
        fields.append(("DO", p.doi.strip()))
    fields += [
        ("AN", p.pmid),
        ("UR", view.pubmed_url),
        ("DB", "PubMed"),
        ("KW", view.design.heading),
    ]
    if p.depression_relevant:
        fields.append(("KW", "depression-relevant"))
    if view.evidence:
        fields.append(("N1", f"Study design ({view.label}) from: {view.evidence}"))
    if view.size:
        fields.append(("N1", f"Study size: {view.size} ({p.study_size_phrase})"))
    if view.depression:
        fields.append(("N1", f"About depression: {view.depression}"))
    if view.finding:
        fields.append(("N1", f"Finding: {view.finding}"))
    if p.doi.strip() and not view.doi_url:
        fields.append(("N1", f"DOI as given by PubMed (not a DOI): {p.doi}"))
    # One line per field: a newline in a value must not start a forged tag line.
    values = one_lines([str(value) for _, value in fields])
    return [f"{tag}  - {value}" for (tag, _), value in zip(fields, values, strict=True)] + [
        "ER  - "
    ]


def digest_ris(digest: Digest) -> str:
    """Every paper of the digest as RIS, in digest order, CRLF line ends as the format says."""
    return _exports(digest)[1]


def _exports(digest: Digest) -> tuple[str, str]:
    csv_out, ris_out = io.StringIO(), io.StringIO()
    write_exports(digest, csv_out, ris_out)
    return csv_out.getvalue(), ris_out.getvalue()


def _write_ris_record(out: IO[str], view: PaperView, n: int) -> None:
    if n:
        out.write("\r\n")
    out.write("\r\n".join(ris_record(view)) + "\r\n")


def write_exports(digest: Digest, csv_out: IO[str], ris_out: IO[str]) -> None:
    """The CSV and the RIS of every paper in one pass over the store (a backfill's digest
    reads 100,000 records: once, not once for each file)."""
    writer = _csv_writer(csv_out)
    for n, view in enumerate(digest.every_view()):
        writer.writerow(_csv_row(view))
        _write_ris_record(ris_out, view, n)


# CSV

CSV_COLUMNS = (
    "pmid",
    "title",
    "authors",
    "journal",
    "year",
    "entry_date",
    "doi",
    "design",
    "design_name",
    "depression_relevant",
    "evidence",
    "depression_evidence",
    "not_depression_reason",
    "study_size",
    "study_size_unit",
    "finding",
    "confidence",
    "pubmed_url",
)


def _csv_cell(value: str) -> str:
    # A spreadsheet runs a cell starting with = + - @ as a formula; a leading ' keeps it text.
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def digest_csv(digest: Digest) -> str:
    """Every paper of the digest, listed or not, one row each in digest order."""
    return _exports(digest)[0]


def _csv_writer(out: IO[str]):
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    return writer


def _csv_row(view: PaperView) -> list[str]:
    p = view.paper
    row = [
        p.pmid,
        view.title_text,
        "; ".join(p.authors),
        p.journal,
        str(p.pub_year or ""),
        p.entry_date.isoformat() if p.entry_date else "",
        p.doi,
        p.design,
        view.design.heading,
        str(p.depression_relevant).lower(),
        view.evidence,
        view.depression,
        view.not_depression,
        "" if p.study_size is None else str(p.study_size),
        p.study_size_unit,
        view.finding,
        f"{p.confidence:.2f}",
        view.pubmed_url,
    ]
    return [_csv_cell(cell) for cell in row]
