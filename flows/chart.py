"""The per-year chart: papers per publication year, stacked by design group.

Thirteen designs make an unreadable legend, so the chart groups them. The groups name
labels from flows.designs (the one table of labels) and are checked against it at import:
a label added there without a group here fails loudly. Systematic and narrative reviews are
apart: they sit at opposite ends of the evidence ranking.

Only plausible publication years are drawn (PLAUSIBLE_FROM to next year): the year range is
what the drawing costs, and one record with year 9999 once made every chart 8,000 bars wide
(75 s, 843 MB). Other years are counted as unknown, said on the chart and logged.
"""

from __future__ import annotations

import io
import logging
from collections import Counter
from collections.abc import Iterable
from datetime import date

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from flows.designs import LABELS
from flows.models import Paper, YearDesign

log = logging.getLogger(__name__)

# Group name -> labels, in the order the stack is drawn (bottom first) and the legend read:
# evidence rank (flows.designs), so the strongest designs are at the foot of every bar.
DESIGN_GROUPS: dict[str, tuple[str, ...]] = {
    "Systematic reviews": ("systematic_review",),
    "Trials": ("rct", "non_randomised_trial"),
    "Observational & qualitative": ("cohort", "case_control", "cross_sectional", "qualitative"),
    "Case reports": ("case_report",),
    "Narrative reviews": ("narrative_review",),
    "Preclinical": ("animal", "in_vitro"),
    "Opinion & other": ("opinion", "other"),
}
GROUP_OF: dict[str, str] = {
    label: group for group, labels in DESIGN_GROUPS.items() for label in labels
}
if sorted(GROUP_OF) != sorted(LABELS) or len(GROUP_OF) != sum(map(len, DESIGN_GROUPS.values())):
    raise RuntimeError("DESIGN_GROUPS must put each label of flows.designs in exactly one group")

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies. The two
# review groups are the dark and the light blue.
COLOURS = ("#0072B2", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#D55E00", "#999999")

# PubMed's oldest records are from the 1780s, but no kratom paper is older than this.
PLAUSIBLE_FROM = 1900
# Round steps between year labels, tried in order; the first that needs few enough labels wins.
TICK_STEPS = (1, 2, 5, 10, 20, 25, 50, 100)
MAX_TICKS = 12


def latest_plausible_year(today: date | None = None) -> int:
    """Next year: papers are dated ahead of print, never further."""
    return (today or date.today()).year + 1


def plausible(year: int | None, latest: int) -> bool:
    return year is not None and PLAUSIBLE_FROM <= year <= latest


def tally(papers: Iterable[Paper | YearDesign]) -> list[YearDesign]:
    """Papers counted by publication year and design (YearDesign rows are already counts)."""
    counts: Counter[tuple[int | None, str]] = Counter()
    for p in papers:
        counts[p.pub_year, p.design] += p.papers if isinstance(p, YearDesign) else 1
    return [YearDesign(year, label, n) for (year, label), n in counts.items()]


def papers_per_year(
    papers: Iterable[Paper | YearDesign], latest: int | None = None
) -> pd.DataFrame:
    """Rows: every year from the first plausible one to the last; columns: the design groups.

    Years outside PLAUSIBLE_FROM..`latest` (default next year) are left out with a warning
    that says how many papers had one.
    """
    latest = latest or latest_plausible_year()
    counted = tally(papers)
    implausible = sum(
        p.papers for p in counted if p.pub_year is not None and not plausible(p.pub_year, latest)
    )
    if implausible:
        log.warning(
            "%d paper%s with a publication year outside %d to %d counted as unknown year",
            implausible,
            "" if implausible == 1 else "s",
            PLAUSIBLE_FROM,
            latest,
        )
    rows = [
        (p.pub_year, GROUP_OF[p.design], p.papers)
        for p in counted
        if plausible(p.pub_year, latest) and p.design
    ]
    frame = pd.DataFrame(rows, columns=["year", "group", "papers"])
    table = frame.pivot_table(
        index="year", columns="group", values="papers", aggfunc="sum", fill_value=0
    ).reindex(columns=list(DESIGN_GROUPS), fill_value=0)
    if not table.empty:
        years = range(int(table.index.min()), int(table.index.max()) + 1)
        table = table.reindex(years, fill_value=0)
    table.index.name = "year"
    return table.astype(int)


def year_ticks(first: int, last: int, most: int = MAX_TICKS) -> list[int]:
    """The years to label on an axis from `first` to `last`: multiples of a round step."""
    for step in TICK_STEPS:
        ticks = [y for y in range(first, last + 1) if y % step == 0]
        if ticks and len(ticks) <= most:
            return ticks
    return [first]  # a span beyond PLAUSIBLE_FROM's range: never drawn


def draw_chart(
    papers: Iterable[Paper | YearDesign],
    title: str = "All papers in the store",
    latest: int | None = None,
) -> Figure:
    """The chart as a matplotlib Figure (design_chart_png saves it)."""
    latest = latest or latest_plausible_year()
    counted = tally(papers)
    table = papers_per_year(counted, latest)
    total = sum(p.papers for p in counted)
    unknown = total - int(table.to_numpy().sum())
    # The Figure API without pyplot: no global state, safe in Prefect's worker threads.
    # Fixed margins, room for the legend on the right: a layout engine draws the figure
    # twice to measure it, and the chart's parts never change size.
    figure = Figure(figsize=(8, 4.2), dpi=100)
    figure.subplots_adjust(left=0.08, right=0.75, top=0.86, bottom=0.12)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    if table.empty:
        ax.text(0.5, 0.5, "No papers with a publication year yet", ha="center", va="center")
        ax.set_axis_off()
    else:
        bottom = [0] * len(table)
        for group, colour in zip(DESIGN_GROUPS, COLOURS, strict=True):
            heights = table[group].tolist()
            # Only the bars there are: each one is an artist, and empty ones cost as much.
            drawn = [i for i, h in enumerate(heights) if h]
            ax.bar(
                drawn,
                [heights[i] for i in drawn],
                bottom=[bottom[i] for i in drawn],
                width=0.85,
                color=colour,
                edgecolor="white",
                linewidth=0.3,
            )
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        ax.set_xlim(-0.6, len(table) - 0.4)
        ax.set_xlabel("Publication year")
        ax.set_ylabel("Papers")
        ax.yaxis.get_major_locator().set_params(integer=True)
        first = int(table.index[0])
        ticks = year_ticks(first, int(table.index[-1]))
        ax.set_xticks([y - first for y in ticks], [str(y) for y in ticks])
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        # Legend beside the plot, top entry = top of the stack; every group, present or not,
        # so the colours read the same on every chart.
        handles = [Patch(facecolor=c, label=g) for g, c in zip(DESIGN_GROUPS, COLOURS, strict=True)]
        ax.legend(
            handles=handles[::-1],
            title="Study design",
            frameon=False,
            fontsize=8,
            title_fontsize=8,
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
        )
    figure.suptitle(f"{title}, by publication year and study design", fontsize=11)
    note = f"; {unknown} without a plausible publication year not shown" if unknown else ""
    shown = total - unknown
    ax.set_title(
        f"{shown} paper{'' if shown == 1 else 's'}{note}", fontsize=8, color="#555555", loc="left"
    )
    return figure


def design_chart_png(
    papers: Iterable[Paper | YearDesign],
    title: str = "All papers in the store",
    latest: int | None = None,
) -> bytes:
    """The chart as PNG bytes, identical for identical papers (no date or software stamp)."""
    out = io.BytesIO()
    draw_chart(papers, title, latest).savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()
